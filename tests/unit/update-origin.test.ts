/**
 * Update origins: each kind's one policy (pure logic), and the document applying updates of a
 * client and of other origins as those policies say (memory store, recording connections).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { encodeSyncStep1, encodeSyncUpdate } from '../../lib/protocol.ts'
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { DocumentRegistry, documentOptionsFrom } from '../../server/document/document-registry.ts'
import type { DocumentEvent } from '../../server/document/document-events.ts'
import { DocumentTooLargeError } from '../../server/document/update-check.ts'
import { policyOf, senderOf, type UpdateOrigin, type UpdateOriginKind } from '../../server/document/update-origin.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { TestConnection } from '../support/test-connection.ts'
import { waitFor } from '../support/wait-for.ts'

describe('update origin policies', () => {
  it('gives each kind exactly one policy: relay, store, confirm, publish', () => {
    const table = Object.fromEntries(
      (['client', 'peer', 'restore', 'server'] as UpdateOriginKind[]).map((kind) => [kind, { ...policyOf(kind) }]),
    )
    assert.deepEqual(table, {
      client: { relayTo: 'others', store: true, confirms: 'sender', publish: true },
      peer: { relayTo: 'everyone', store: false, confirms: 'nobody', publish: false },
      restore: { relayTo: 'everyone', store: true, confirms: 'nobody', publish: true },
      server: { relayTo: 'everyone', store: true, confirms: 'nobody', publish: true },
    })
  })

  it('looks the policy up by origin as by kind, and names the sender of a client origin only', () => {
    const connection = { id: 'c1' }
    const origins: UpdateOrigin<typeof connection>[] = [
      { kind: 'client', connection },
      { kind: 'peer', instanceId: 'b' },
      { kind: 'restore', requestedBy: null },
      { kind: 'server', reason: 'import' },
    ]
    for (const origin of origins) assert.equal(policyOf(origin), policyOf(origin.kind))
    assert.deepEqual(origins.map(senderOf), [connection, null, null, null])
  })

  it('never publishes what came from another instance (no echo between instances)', () => {
    assert.equal(policyOf('peer').publish, false)
  })
})

describe('a document applies updates as their origin says', () => {
  async function setup() {
    const store = new MemoryStore()
    const registry = new DocumentRegistry(store, documentOptionsFrom(DEFAULT_CONFIG), silentLogger)
    const applied: DocumentEvent<'applied'>[] = []
    registry.events.on('applied', (event) => applied.push(event))
    let stored = 0
    registry.events.on('stored', () => stored++)
    // What the cluster relay would send to the other instances.
    const published: Uint8Array[] = []
    registry.events.on('update-to-publish', ({ update }) => published.push(update))
    const document = registry.open('origins')
    const a = new TestConnection()
    const b = new TestConnection()
    const aDoc = new Y.Doc()
    for (const connection of [a, b]) {
      document.join(connection)
      document.receive(connection, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    }
    await waitFor(
      () => document.isReady && a.savedStates.length === 1 && b.savedStates.length === 1,
      'loaded, both told what is saved',
    )
    return { store, registry, document, a, b, aDoc, applied, published, storedRecords: () => stored }
  }

  it('a client: relayed to the others (not back), stored, and confirms its sender', async () => {
    const { store, document, a, b, aDoc, applied, published } = await setup()
    aDoc.getText('t').insert(0, 'from a')
    const update = Y.encodeStateAsUpdate(aDoc)
    document.receive(a, encodeSyncUpdate(update))
    await waitFor(() => a.savedClockOf(aDoc.clientID) >= Y.getState(aDoc.store, aDoc.clientID), 'a told "Saved"')
    assert.deepEqual(b.relayed, [update], 'b got the same bytes')
    assert.deepEqual(a.relayed, [], 'not echoed to a')
    assert.equal(b.savedStates.length, 1, 'b was not confirmed for what a wrote')
    assert.deepEqual(
      applied.map(({ origin, updates }) => ({ origin, updates })),
      [{ origin: 'client', updates: 1 }],
    )
    assert.equal((await store.load('origins')).logRecords, 1)
    assert.deepEqual(published, [update], 'published for the other instances')
  })

  it("a socket read's updates are published to the other instances once, merged", async () => {
    const { document, a, b, aDoc, published } = await setup()
    const updates: Uint8Array[] = []
    aDoc.on('update', (update: Uint8Array) => updates.push(update))
    for (const key of 'abc') aDoc.getText('t').insert(0, key)
    for (const update of updates) document.receive(a, encodeSyncUpdate(update))
    await waitFor(() => b.relayed.length === 3, 'relayed one by one')
    assert.equal(published.length, 1, 'one message for the batch')
    const merged = new Y.Doc()
    Y.applyUpdate(merged, published[0])
    assert.equal(merged.getText('t').toString(), 'cba')
  })

  it('a server-side edit: relayed to everyone, stored, and confirms nobody', async () => {
    const { store, document, a, b, applied, published, storedRecords } = await setup()
    const edit = new Y.Doc()
    edit.getText('t').insert(0, 'from the server')
    const update = Y.encodeStateAsUpdate(edit)
    assert.equal(document.applyUpdate(update, { kind: 'server', reason: 'test' }), true)
    assert.deepEqual(a.relayed, [update])
    assert.deepEqual(b.relayed, [update])
    await waitFor(() => storedRecords() === 1, 'stored')
    assert.equal((await store.load('origins')).logRecords, 1)
    assert.equal(document.ydoc.getText('t').toString(), 'from the server')
    assert.equal(a.savedStates.length, 1, 'a not confirmed for the server edit')
    assert.equal(b.savedStates.length, 1, 'b not confirmed for the server edit')
    assert.deepEqual(
      applied.map(({ origin, updates, bytes }) => ({ origin, updates, bytes })),
      [{ origin: 'server', updates: 1, bytes: update.byteLength }],
    )
    assert.deepEqual(published, [update], 'published for the other instances')
  })

  it("another instance's update: relayed to everyone here, not stored again", async () => {
    const { store, document, a, b, applied, published } = await setup()
    const edit = new Y.Doc()
    edit.getText('t').insert(0, 'from instance b')
    const update = Y.encodeStateAsUpdate(edit)
    assert.equal(document.applyUpdate(update, { kind: 'peer', instanceId: 'b' }), true)
    assert.deepEqual(a.relayed, [update])
    assert.deepEqual(b.relayed, [update])
    await document.whenStored()
    assert.equal(store.storedAppends, 0, 'nothing written')
    assert.deepEqual(
      applied.map(({ origin }) => origin),
      ['peer'],
    )
    assert.deepEqual(published, [], 'not published again: no echo between instances')
  })

  it('refuses a server-side edit past the size cap, changing nothing', async () => {
    const { document, a } = await setup()
    const edit = new Y.Doc()
    edit.getText('t').insert(0, 'x'.repeat(DEFAULT_CONFIG.maxDocumentBytes))
    assert.throws(
      () => document.applyUpdate(Y.encodeStateAsUpdate(edit), { kind: 'server', reason: 'test' }),
      DocumentTooLargeError,
    )
    assert.deepEqual(a.relayed, [])
    assert.equal(document.ydoc.getText('t').length, 0)
  })

  it('refuses a malformed update from any origin, changing nothing', async () => {
    const { document, a } = await setup()
    assert.throws(() => document.applyUpdate(Uint8Array.from([1, 2, 3]), { kind: 'server', reason: 'test' }))
    assert.deepEqual(a.relayed, [])
    assert.equal(document.ydoc.getText('t').toString(), '')
  })
})
