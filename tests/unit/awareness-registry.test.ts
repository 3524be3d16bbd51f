import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate as encodeWithYProtocols } from 'y-protocols/awareness'
import { AwarenessRegistry, decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../server/document/awareness-registry.ts'

function clientAwareness(name: string) {
  const awareness = new Awareness(new Y.Doc())
  awareness.setLocalStateField('user', { name })
  return awareness
}

describe('AwarenessRegistry', () => {
  it('decodes what y-protocols encodes and encodes what y-protocols reads', () => {
    const source = clientAwareness('Ada')
    const update = encodeWithYProtocols(source, [source.clientID])
    const entries = decodeAwarenessUpdate(update)
    assert.equal(entries.length, 1)
    assert.equal(entries[0].clientId, source.clientID)
    assert.deepEqual(JSON.parse(entries[0].json), { user: { name: 'Ada' } })
    const target = new Awareness(new Y.Doc())
    applyAwarenessUpdate(target, encodeAwarenessUpdate(entries), 'test')
    assert.deepEqual(target.getStates().get(source.clientID), { user: { name: 'Ada' } })
    source.destroy()
    target.destroy()
  })

  it("answers ownedBy with the same array until that owner's states change", () => {
    const registry = new AwarenessRegistry<string>()
    registry.apply([{ clientId: 1, clock: 1, json: '{"user":{"name":"Ada"}}' }], 'a')
    registry.apply([{ clientId: 2, clock: 1, json: '{"user":{"name":"Grace"}}' }], 'b')
    const first = registry.ownedBy('a')
    assert.deepEqual(first, [{ clientId: 1, clock: 1, json: '{"user":{"name":"Ada"}}' }])
    registry.apply([{ clientId: 2, clock: 2, json: '{"user":{"name":"Grace H"}}' }], 'b')
    assert.equal(registry.ownedBy('a'), first, "another owner's change leaves it")
    registry.apply([{ clientId: 1, clock: 1, json: '{"user":{"name":"Ada"}}' }], 'a')
    assert.equal(registry.ownedBy('a'), first, 'a stale clock changes nothing')
    registry.apply([{ clientId: 1, clock: 2, json: '{"user":{"name":"Ada L"}}' }], 'a')
    const renamed = registry.ownedBy('a')
    assert.notEqual(renamed, first)
    assert.deepEqual(renamed, [{ clientId: 1, clock: 2, json: '{"user":{"name":"Ada L"}}' }])
    // The client moves to another connection (a reconnect): the old owner has nothing any more.
    registry.apply([{ clientId: 1, clock: 3, json: '{"user":{"name":"Ada L"}}' }], 'c')
    assert.deepEqual(registry.ownedBy('a'), [])
    registry.removeOwnedBy('c')
    assert.deepEqual(registry.ownedBy('c'), [])
  })

  it('ignores stale clocks and reports whether anything changed', () => {
    const registry = new AwarenessRegistry<string>()
    assert.equal(registry.apply([{ clientId: 1, clock: 2, json: '{"a":1}' }], 'conn'), true)
    assert.equal(registry.apply([{ clientId: 1, clock: 1, json: '{"a":0}' }], 'conn'), false)
    assert.equal(registry.apply([{ clientId: 1, clock: 2, json: '{"a":2}' }], 'conn'), false)
    assert.equal(registry.size, 1)
    // A removal at the same clock still removes a live state, as in y-protocols.
    assert.equal(registry.apply([{ clientId: 1, clock: 2, json: 'null' }], 'conn'), true)
    assert.equal(registry.size, 0)
    assert.equal(registry.encodeAll(), null)
  })

  it('removes exactly the states a connection announced, with clocks others accept', () => {
    const registry = new AwarenessRegistry<string>()
    const ada = clientAwareness('Ada')
    const bob = clientAwareness('Bob')
    registry.apply(decodeAwarenessUpdate(encodeWithYProtocols(ada, [ada.clientID])), 'socket-a')
    registry.apply(decodeAwarenessUpdate(encodeWithYProtocols(bob, [bob.clientID])), 'socket-b')
    const observer = new Awareness(new Y.Doc())
    applyAwarenessUpdate(observer, registry.encodeAll()!, 'server')
    assert.ok(observer.getStates().has(ada.clientID) && observer.getStates().has(bob.clientID))

    const removal = registry.removeOwnedBy('socket-a')
    assert.ok(removal)
    applyAwarenessUpdate(observer, removal, 'server')
    assert.equal(observer.getStates().has(ada.clientID), false)
    assert.equal(observer.getStates().has(bob.clientID), true)
    assert.equal(registry.removeOwnedBy('socket-a'), null, 'nothing left to remove')
    for (const a of [ada, bob, observer]) a.destroy()
  })

  it('removes a state with its own clock, so the client coming back with that clock is asked to raise it', () => {
    // Root cause of 32 s invisible reconnects: removals went out one clock ahead of the state.
    const registry = new AwarenessRegistry<string>()
    const ada = clientAwareness('Ada')
    const observer = new Awareness(new Y.Doc())
    const announce = () => encodeWithYProtocols(ada, [ada.clientID])
    registry.apply(decodeAwarenessUpdate(announce()), 'socket-1')
    applyAwarenessUpdate(observer, registry.encodeAll()!, 'server')
    const clockBefore = ada.meta.get(ada.clientID)!.clock
    applyAwarenessUpdate(observer, registry.removeOwnedBy('socket-1')!, 'server')
    assert.equal(observer.getStates().has(ada.clientID), false)
    assert.equal(
      decodeAwarenessUpdate(encodeWithYProtocols(observer, [ada.clientID]))[0].clock,
      clockBefore,
      'removed at the same clock',
    )

    // Ada reconnects and announces her unchanged clock: the observer, rightly, ignores it...
    const again = decodeAwarenessUpdate(announce())
    const removals = registry.removalsToReannounce(again)
    registry.apply(again, 'socket-2')
    applyAwarenessUpdate(observer, announce(), 'server')
    assert.equal(observer.getStates().has(ada.clientID), false)
    // ...so she alone is told her state was removed, raises her clock, and is seen again.
    let reannounced: Uint8Array | null = null
    ada.on('update', ({ removed }: { removed: number[] }) => {
      if (removed.includes(ada.clientID)) reannounced = encodeWithYProtocols(ada, [ada.clientID])
    })
    applyAwarenessUpdate(ada, encodeAwarenessUpdate(removals), 'server')
    assert.ok(reannounced, 'Ada announced herself again')
    assert.equal(ada.getLocalState()?.user.name, 'Ada', 'her own state stays')
    assert.equal(registry.apply(decodeAwarenessUpdate(reannounced), 'socket-2'), true)
    applyAwarenessUpdate(observer, reannounced, 'server')
    assert.equal(observer.getStates().get(ada.clientID)?.user.name, 'Ada')
    assert.deepEqual(
      registry.removalsToReannounce(decodeAwarenessUpdate(reannounced)),
      [],
      'only the first announcement of a connection',
    )
    for (const a of [ada, observer]) a.destroy()
  })

  it('rejects truncated and trailing input', () => {
    assert.throws(() => decodeAwarenessUpdate(Uint8Array.of(1, 5)))
    assert.throws(() => decodeAwarenessUpdate(Uint8Array.of(0, 0)))
  })
})

describe('awareness input validation', () => {
  it('rejects a state that is not valid JSON, which every client would fail to parse', () => {
    const bad = encodeAwarenessUpdate([{ clientId: 1, clock: 1, json: '{"user": ' }])
    assert.throws(() => decodeAwarenessUpdate(bad), SyntaxError)
  })

  it('does not read a string past the end of its payload into a pooled buffer', () => {
    // Guards the lib0 pin (>= 0.2.120): older versions built string views over the whole pooled
    // ArrayBuffer without checking the payload's own length.
    const pool = new Uint8Array(1024).fill(0x41) // 'A'
    const payload = Uint8Array.of(1, 1, 1, 200, 1, 0x22) // one entry whose string claims 200 bytes
    pool.set(payload, 100)
    assert.throws(() => decodeAwarenessUpdate(pool.subarray(100, 100 + payload.length)))
  })
})
