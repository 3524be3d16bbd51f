import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SilentConnections } from '../../server/transport/silent-connections.ts'
import { waitFor } from '../support/wait-for.ts'

class Fake {
  closed: { code: number; reason: string } | null = null
  constructor(readonly name: string) {}
  close(code: number, reason: string): void {
    this.closed = { code, reason }
  }
}

function setUp(timeoutMs = 60_000, lendAfterMs = 1000) {
  const dismissed: [string, string, string][] = []
  const silent = new SilentConnections<Fake>(timeoutMs, lendAfterMs, (connection, address, why) => {
    dismissed.push([connection.name, address, why])
  })
  return { silent, dismissed }
}

describe('SilentConnections', () => {
  it('lends the place of the longest-silent connection of the same address, once it has been silent long enough', () => {
    const { silent, dismissed } = setUp()
    const [a, b, c] = [new Fake('a'), new Fake('b'), new Fake('c')]
    silent.watch(a, '1.1.1.1', 0)
    silent.watch(b, '1.1.1.1', 100)
    silent.watch(c, '2.2.2.2', 0)
    assert.equal(silent.replaceOne('1.1.1.1', 999), false, 'not silent for long enough yet')
    assert.equal(silent.replaceOne('3.3.3.3', 5000), false, 'nobody silent from that address')
    assert.equal(silent.replaceOne('1.1.1.1', 1000), true)
    assert.deepEqual(dismissed, [['a', '1.1.1.1', 'replaced']])
    assert.equal(silent.replaceOne('1.1.1.1', 1100), true)
    assert.equal(silent.replaceOne('1.1.1.1', 5000), false, 'each is replaced once')
    assert.deepEqual(
      dismissed.map(([name]) => name),
      ['a', 'b'],
    )
    silent.clear()
  })

  it('forgets a connection that spoke or closed: it is neither replaced nor timed out', async () => {
    const { silent, dismissed } = setUp(50)
    const [a, b] = [new Fake('a'), new Fake('b')]
    silent.watch(a, '1.1.1.1', 0)
    silent.watch(b, '1.1.1.1', 0)
    assert.equal(silent.forget(a), true)
    assert.equal(silent.forget(a), false)
    await waitFor(() => dismissed.length === 1, 'the silent one timed out')
    assert.deepEqual(dismissed, [['b', '1.1.1.1', 'timeout']])
    assert.equal(silent.size, 0)
    assert.equal(silent.replaceOne('1.1.1.1', 10_000), false)
  })
})
