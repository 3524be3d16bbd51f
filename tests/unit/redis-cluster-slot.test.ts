/**
 * The slot the cluster link computes for a channel is the cluster's own (CLUSTER KEYSLOT; the
 * integration test checks it against a real cluster too): a wrong one would subscribe on a
 * master that does not own the channel.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { keySlot } from '../../server/cluster/redis-cluster-link.ts'

describe('keySlot', () => {
  it('matches Redis Cluster slots, hash tags included', () => {
    // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
    assert.equal(keySlot('foo'), 12182)
    assert.equal(keySlot('bar'), 5061)
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'))
    assert.equal(keySlot('{user1000}.following'), keySlot('user1000'))
    // An empty tag hashes the whole key.
    assert.notEqual(keySlot('foo{}{bar}'), keySlot('bar'))
    assert.ok(keySlot('chorus:doc:é✓') >= 0 && keySlot('chorus:doc:é✓') < 16384)
  })
})
