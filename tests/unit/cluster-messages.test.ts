import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type ClusterMessage,
  decodeClusterMessage,
  documentChannel,
  encodeClusterMessage,
  encodeSender,
  instanceChannel,
  isFromSender,
  Kind,
} from '../../server/cluster/cluster-messages.ts'

describe('cluster messages', () => {
  it('recognises its own sender without decoding, for every kind', () => {
    const own = encodeSender('5a7c0d2e-0000-4000-8000-000000000001')
    const other = '5a7c0d2e-0000-4000-8000-000000000002'
    const messages: ClusterMessage[] = [
      { kind: Kind.Update, from: '', update: new Uint8Array([1]) },
      { kind: Kind.Leaving, from: '' },
      { kind: Kind.Heartbeat, from: '', storeLagMs: 3 },
    ]
    for (const message of messages) {
      assert.equal(isFromSender(encodeClusterMessage({ ...message, from: '5a7c0d2e-0000-4000-8000-000000000001' }), own), true)
      assert.equal(isFromSender(encodeClusterMessage({ ...message, from: other }), own), false)
      assert.equal(isFromSender(encodeClusterMessage({ ...message, from: 'short' }), own), false)
    }
    assert.equal(isFromSender(Buffer.from([1]), own), false)
  })

  it('round-trips every kind', () => {
    const bytes = new Uint8Array([1, 2, 3])
    const messages: ClusterMessage[] = [
      { kind: Kind.Update, from: 'i1', update: bytes },
      { kind: Kind.Awareness, from: 'i1', update: bytes },
      { kind: Kind.StateVector, from: 'i1', stateVector: bytes },
      {
        kind: Kind.Reply,
        from: 'i1',
        docId: 'd:1/é',
        update: bytes,
        stateVector: new Uint8Array([0]),
        awareness: new Uint8Array(),
      },
      { kind: Kind.CatchUp, from: 'i1', docId: 'd', update: bytes },
      { kind: Kind.Heartbeat, from: 'i1', storeLagMs: 0 },
      { kind: Kind.Heartbeat, from: 'i1', storeLagMs: 12_345 },
      { kind: Kind.Leaving, from: 'i1' },
      { kind: Kind.ViewLinkReset, from: 'i1', viewId: 'v1' },
    ]
    for (const message of messages) assert.deepEqual(decodeClusterMessage(encodeClusterMessage(message)), message)
  })

  it('reads a heartbeat without a store lag (an instance of an earlier version) as lag 0', () => {
    const earlier = encodeClusterMessage({ kind: Kind.Leaving, from: 'i1' })
    earlier[0] = Kind.Heartbeat
    assert.deepEqual(decodeClusterMessage(earlier), { kind: Kind.Heartbeat, from: 'i1', storeLagMs: 0 })
  })

  it('refuses what it cannot read', () => {
    assert.throws(() => decodeClusterMessage(new Uint8Array([99, 1, 65])), /unknown cluster message kind 99/)
    assert.throws(() => decodeClusterMessage(new Uint8Array([1, 5])))
  })

  it('names the channels', () => {
    assert.equal(documentChannel('abc'), 'chorus:doc:abc')
    assert.equal(instanceChannel('i1'), 'chorus:instance:i1')
  })
})
