/**
 * Presence across instances, at the document (memory store, recording connections): what a
 * connection here announces is handed out for the other instances; what another instance
 * relays is shown here under that instance's name, never handed out again, and removed at once
 * when that instance is gone.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { encodeAwarenessFrame, encodeSyncStep1, MessageType } from '../../lib/protocol.ts'
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../server/document/awareness-registry.ts'
import { DocumentRegistry, documentOptionsFrom } from '../../server/document/document-registry.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { TestConnection } from '../support/test-connection.ts'
import { waitFor } from '../support/wait-for.ts'

const state = (clientId: number, clock: number, name: string) => ({ clientId, clock, json: JSON.stringify({ user: { name } }) })

async function setup() {
  const registry = new DocumentRegistry(new MemoryStore(), documentOptionsFrom(DEFAULT_CONFIG), silentLogger)
  const published: Uint8Array[] = []
  registry.events.on('awareness-to-publish', ({ update }) => published.push(update))
  const document = registry.open('presence')
  const here = new TestConnection()
  document.join(here)
  document.receive(here, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
  await waitFor(() => document.isReady, 'loaded')
  const awarenessSeenHere = () =>
    here.frames.flatMap((frame) => {
      const decoder = decoding.createDecoder(frame)
      return decoding.readVarUint(decoder) === MessageType.Awareness
        ? decodeAwarenessUpdate(decoding.readVarUint8Array(decoder))
        : []
    })
  return { registry, document, here, published, awarenessSeenHere }
}

describe('presence across instances', () => {
  it("hands out a connection's awareness, and its removal when it leaves", async () => {
    const { document, here, published } = await setup()
    const update = encodeAwarenessUpdate([state(1, 1, 'Ann')])
    document.receive(here, encodeAwarenessFrame(update))
    assert.deepEqual(published, [update])
    document.leave(here)
    assert.deepEqual(decodeAwarenessUpdate(published[1]), [{ clientId: 1, clock: 1, json: 'null' }])
  })

  it("shows another instance's people here, never hands them out again, and drops them with it", async () => {
    const { document, here, published, awarenessSeenHere } = await setup()
    document.receive(here, encodeAwarenessFrame(encodeAwarenessUpdate([state(1, 1, 'Ann')])))
    published.length = 0
    here.frames.length = 0
    document.peers.applyAwareness(encodeAwarenessUpdate([state(2, 1, 'Bob'), state(3, 4, 'Cid')]), 'b')
    document.peers.applyAwareness(encodeAwarenessUpdate([state(4, 1, 'Dee')]), 'c')
    assert.deepEqual(published, [], 'no echo between instances')
    assert.deepEqual(
      awarenessSeenHere().map(({ clientId }) => clientId),
      [2, 3, 4],
    )
    // What this instance answers a newcomer instance with: its own people only.
    assert.deepEqual(
      decodeAwarenessUpdate(document.peers.encodeLocalAwareness()!).map(({ clientId }) => clientId),
      [1],
    )
    here.frames.length = 0
    document.peers.removeAwareness('b')
    assert.deepEqual(awarenessSeenHere(), [
      { clientId: 2, clock: 1, json: 'null' },
      { clientId: 3, clock: 4, json: 'null' },
    ])
    assert.deepEqual(published, [], 'each instance drops a gone instance itself')
  })

  it("refuses another instance's malformed awareness, changing nothing", async () => {
    const { document, here } = await setup()
    here.frames.length = 0
    assert.throws(() => document.peers.applyAwareness(Uint8Array.from([1, 2, 3]), 'b'))
    assert.deepEqual(here.frames, [])
  })
})
