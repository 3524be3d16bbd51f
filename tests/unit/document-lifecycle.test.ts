/**
 * A document's lifecycle (load, serve, store, compact, unload) around storage faults, driven
 * without sockets or LevelDB: the real DocumentRegistry and SharedDocument over the in-memory
 * store's fault injection, with connections that only record what they are sent. Each test
 * carries the line of the spec (issue 11, Part A) it checks.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import * as Y from 'yjs'
import { CloseCode, encodeSyncStep1, encodeSyncUpdate } from '../../lib/protocol.ts'
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { DocumentRegistry, documentOptionsFrom } from '../../server/document/document-registry.ts'
import type { DocumentEvent, DocumentEventName } from '../../server/document/document-events.ts'
import type { DocumentOptions } from '../../server/document/document-registry.ts'
import type { SharedDocument } from '../../server/document/shared-document.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import { DamagedDataError, StorageError } from '../../server/storage/document-store.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { TestConnection } from '../support/test-connection.ts'
import { waitFor } from '../support/wait-for.ts'

const EVENT_NAMES: DocumentEventName[] = [
  'loaded',
  'load-failed',
  'applied',
  'stored',
  'store-failed',
  'compacted',
  'compaction-failed',
  'quarantined',
  'unloaded',
]

type Recorded = { [K in DocumentEventName]: { name: K; event: DocumentEvent<K> } }[DocumentEventName]

interface Setup {
  store: MemoryStore
  registry: DocumentRegistry
  events: Recorded[]
  named<K extends DocumentEventName>(name: K): DocumentEvent<K>[]
}

const opened: { store: MemoryStore; registry: DocumentRegistry }[] = []

function setup(options: Partial<DocumentOptions> = {}): Setup {
  const store = new MemoryStore()
  // A short first retry, so that a failed write is retried within the test.
  const registry = new DocumentRegistry(
    store,
    { ...documentOptionsFrom(DEFAULT_CONFIG), retryDelayMs: 5, ...options },
    silentLogger,
  )
  // As the composition root wires it.
  store.onHealthChange((health) => registry.storageHealthChanged(health))
  opened.push({ store, registry })
  const events: Recorded[] = []
  for (const name of EVENT_NAMES) registry.events.on(name, (event) => events.push({ name, event } as Recorded))
  const named = <K extends DocumentEventName>(name: K) =>
    events.flatMap((recorded) => (recorded.name === name ? [recorded.event as DocumentEvent<K>] : []))
  return { store, registry, events, named }
}

afterEach(async () => {
  // Lets every document settle, so no timer of one test fires in the next; after a failed test
  // its faults are lifted first, and a document that still cannot settle is not waited for long.
  for (const { store, registry } of opened.splice(0)) {
    store.holdWrites(false)
    store.releaseAll()
    store.freeDisk()
    store.failCompactions(false)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([registry.storeAll(), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))])
    clearTimeout(timer)
  }
})

/** A client: its own Y.Doc, joined to the document as `connection`, synced like y-websocket. */
async function joinClient(registry: DocumentRegistry, docId: string, options: { wantsExtensions?: boolean } = {}) {
  const connection = new TestConnection(options)
  const document = registry.open(docId)
  document.join(connection)
  const doc = new Y.Doc()
  // y-websocket opens with its step 1; a Chorus client gets its SavedState in answer too.
  document.receive(connection, encodeSyncStep1(Y.encodeStateVector(doc)))
  await waitFor(() => document.isReady, 'document loaded')
  return { connection, doc, document }
}

/** Makes an edit in the client's doc and sends it as one update message. */
function edit(client: { connection: TestConnection; doc: Y.Doc; document: SharedDocument }, text: string): Uint8Array {
  const before = Y.encodeStateVector(client.doc)
  client.doc.getText('t').insert(client.doc.getText('t').length, text)
  const update = Y.encodeStateAsUpdate(client.doc, before)
  client.document.receive(client.connection, encodeSyncUpdate(update))
  return update
}

const ownClock = (doc: Y.Doc) => Y.getState(doc.store, doc.clientID)

async function storedText(store: MemoryStore, docId: string): Promise<string> {
  const doc = new Y.Doc()
  for (const update of (await store.load(docId)).updates) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

/** Lets pending immediates and microtasks run (a write that could happen has happened). */
const turns = async (count = 5) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('document lifecycle (memory store, no sockets)', () => {
  // spec: a failed write is retried, then "Saved"
  it('a failed write is retried, then "Saved": SavedState is sent only once the retry is durable', async () => {
    const { store, registry, named } = setup()
    const client = await joinClient(registry, 'retry')
    store.holdWrites()
    edit(client, 'kept')
    await waitFor(() => store.held.length === 1, 'record 0 held')
    store.release(0, 'fail')
    await waitFor(() => named('store-failed').length === 1, 'the write failed')
    // The retry is its own record, cut after the failure.
    await waitFor(() => store.held.length === 1, 'the retry held')
    assert.equal(store.held[0].seq, 1)
    await turns()
    assert.ok(
      client.connection.savedClockOf(client.doc.clientID) < ownClock(client.doc),
      'no "Saved" before the retry is durable',
    )
    store.release(1, 'ok')
    await waitFor(() => client.connection.savedClockOf(client.doc.clientID) >= ownClock(client.doc), '"Saved" after the retry')
    assert.equal(await storedText(store, 'retry'), 'kept')
    assert.equal(named('stored').length, 1)
  })

  // spec: a compaction fails
  it('a compaction fails: the log stays intact, the document still unloads, the next load has everything', async () => {
    const { store, registry, named } = setup({ compactAfterRecords: 2 })
    const client = await joinClient(registry, 'compact')
    store.failCompactions()
    for (const word of ['one ', 'two ', 'three']) {
      const stored = named('stored').length
      edit(client, word)
      await waitFor(() => named('stored').length === stored + 1, `"${word}" stored`)
    }
    await waitFor(() => named('compaction-failed').length > 0, 'compaction attempted and failed')
    await waitFor(() => client.connection.savedClockOf(client.doc.clientID) >= ownClock(client.doc), 'still "Saved"')
    client.document.leave(client.connection)
    await waitFor(() => named('unloaded').length === 1, 'unloaded despite the failed compaction')
    assert.equal(registry.get('compact'), undefined)
    assert.equal(named('compacted').length, 0)
    assert.equal((await store.load('compact')).logRecords, 3, 'every record still in the log')
    store.failCompactions(false)
    const again = await joinClient(registry, 'compact')
    assert.equal(again.document.ydoc.getText('t').toString(), 'one two three')
  })

  // spec: a document unloads while a write is in flight
  it('a document left while a write is in flight waits for it; nothing is lost; the reload has it', async () => {
    const { store, registry, named } = setup()
    const client = await joinClient(registry, 'inflight')
    store.holdWrites()
    edit(client, 'in flight')
    await waitFor(() => store.held.length === 1, 'record held')
    client.document.leave(client.connection)
    await turns(20)
    assert.equal(registry.get('inflight'), client.document, 'still in memory while its write is in flight')
    assert.equal(named('unloaded').length, 0)
    store.holdWrites(false)
    store.release(0, 'ok')
    await waitFor(() => named('unloaded').length === 1, 'unloaded once stored')
    assert.equal(named('compacted').length, 1, 'a snapshot left behind before leaving memory')
    const again = await joinClient(registry, 'inflight')
    assert.notEqual(again.document, client.document)
    assert.equal(again.document.ydoc.getText('t').toString(), 'in flight')
  })

  // spec: load — messages that arrive while the document loads wait, in order, until it is ready
  it('holds messages sent while loading and handles them in order once loaded; too many close the sender', async () => {
    const { store, registry } = setup({ maxQueuedMessages: 3 })
    const document = registry.open('early')
    const patient = new TestConnection()
    const flooder = new TestConnection()
    document.join(patient)
    document.join(flooder)
    const doc = new Y.Doc()
    for (const word of ['one ', 'two ', 'three']) {
      const before = Y.encodeStateVector(doc)
      doc.getText('t').insert(doc.getText('t').length, word)
      document.receive(patient, encodeSyncUpdate(Y.encodeStateAsUpdate(doc, before)))
    }
    for (let i = 0; i < 4; i++) document.receive(flooder, encodeSyncStep1(Y.encodeStateVector(new Y.Doc())))
    assert.equal(document.isReady, false, 'all sent before the load completed')
    assert.equal(flooder.closedWith?.code, CloseCode.MalformedMessage)
    await waitFor(() => document.isReady, 'loaded')
    assert.equal(document.ydoc.getText('t').toString(), 'one two three')
    assert.equal(patient.closedWith, null)
    await document.whenStored()
    assert.equal(await storedText(store, 'early'), 'one two three')
  })

  // spec: a load fails (damaged data)
  it('a load of damaged data fails: a notice and a final close 4422, never served, nothing written', async () => {
    const { store, registry, named } = setup()
    store.failLoads(new DamagedDataError('stored data is damaged (injected)'))
    const connection = new TestConnection()
    const document = registry.open('broken')
    document.join(connection)
    document.receive(connection, encodeSyncUpdate(Y.encodeStateAsUpdate(docWith('not to be written over it'))))
    await waitFor(() => connection.closedWith !== null, 'closed')
    assert.equal(connection.closedWith?.code, CloseCode.DocumentUnavailable)
    assert.equal(connection.notices[0]?.code, 'document-unavailable')
    assert.deepEqual(
      connection.received.filter((message) => message.type !== 'notice'),
      [],
      'neither a sync step nor any of the document was sent',
    )
    assert.deepEqual(
      named('load-failed').map(({ damaged }) => damaged),
      [true],
    )
    assert.equal(registry.get('broken'), undefined)
    // Its Y.Doc never held the stored document: nobody may take it for the final state.
    assert.deepEqual(
      named('unloaded').map(({ final }) => final),
      [null],
    )
    await turns()
    assert.deepEqual(store.storedDocumentIds(), [])
  })

  // spec: a load fails (a passing failure)
  it('a load that fails for a passing reason closes with 4500 (reconnect), and the next open loads', async () => {
    const { store, registry, named } = setup()
    store.failLoads(new StorageError('storage is recovering (injected)'))
    const connection = new TestConnection()
    registry.open('later').join(connection)
    await waitFor(() => connection.closedWith !== null, 'closed')
    assert.equal(connection.closedWith?.code, CloseCode.InternalError)
    assert.deepEqual(
      named('load-failed').map(({ damaged }) => damaged),
      [false],
    )
    assert.equal(registry.get('later'), undefined)
    store.failLoads(null)
    const client = await joinClient(registry, 'later')
    assert.equal(client.connection.closedWith, null)
    assert.equal(client.connection.received[0]?.type, 'sync-step1', 'greeted once loaded')
  })

  // spec: a disk-full episode, then recovery
  it('a full disk: editors are told, nothing is "Saved" while it lasts; after it everything is stored and confirmed', async () => {
    const { store, registry, named } = setup()
    const client = await joinClient(registry, 'full')
    store.fillDisk()
    edit(client, 'first ')
    await waitFor(() => named('store-failed').length >= 1, 'a write failed')
    await waitFor(() => client.connection.notices.some((n) => n.code === 'storage-failing' && n.message !== ''), 'editor told')
    edit(client, 'second')
    await waitFor(() => named('store-failed').length >= 2, 'the retry failed too')
    assert.ok(
      client.connection.savedClockOf(client.doc.clientID) < ownClock(client.doc),
      'nothing "Saved" while the disk is full',
    )
    assert.equal(await store.acceptsWrites(), false)
    store.freeDisk()
    await waitFor(
      () => client.connection.savedClockOf(client.doc.clientID) >= ownClock(client.doc),
      '"Saved" after recovery',
      10_000,
    )
    assert.equal(client.connection.notices.at(-1)?.code, 'storage-failing')
    assert.equal(client.connection.notices.at(-1)?.message, '', 'notice withdrawn')
    assert.equal(await storedText(store, 'full'), 'first second')
    assert.equal(await store.acceptsWrites(), true)
  })

  // spec: documents emit typed events (loaded, applied, stored, compacted, unloaded)
  it('emits the typed events, in order, with their fields', async () => {
    const { registry, events } = setup()
    const client = await joinClient(registry, 'events')
    const update = edit(client, 'hello')
    await waitFor(() => events.some((recorded) => recorded.name === 'stored'), 'stored')
    client.document.leave(client.connection)
    await waitFor(() => events.some((recorded) => recorded.name === 'unloaded'), 'unloaded')
    assert.deepEqual(
      events.map((recorded) => recorded.name),
      ['loaded', 'applied', 'stored', 'compacted', 'unloaded'],
    )
    const [loaded, applied, stored, compacted, unloaded] = events.map((recorded) => recorded.event as Record<string, unknown>)
    assert.deepEqual({ ...loaded, ms: 0 }, { docId: 'events', ms: 0, records: 0, bytes: 0 })
    assert.equal(typeof loaded.ms, 'number')
    assert.deepEqual(applied, {
      docId: 'events',
      origin: 'client',
      updates: 1,
      bytes: update.byteLength,
      writers: [client.connection],
    })
    assert.deepEqual({ ...stored, ms: 0 }, { docId: 'events', ms: 0, updates: 1, bytes: update.byteLength })
    assert.ok((stored.ms as number) >= 0)
    assert.equal(compacted.docId, 'events')
    assert.equal(compacted.records, 1)
    assert.ok((compacted.snapshotBytes as number) > 0)
    assert.equal(unloaded.docId, 'events')
    // Left fully stored: the final state comes with it (the history versions it without a reload).
    assert.equal((unloaded.final as Y.Doc).getText('t').toString(), 'hello')
  })

  // spec: the events of failures (store failed, compaction failed) carry their error
  it('emits store-failed and compaction-failed with the error', async () => {
    const { store, registry, named } = setup({ compactAfterRecords: 1 })
    const client = await joinClient(registry, 'failures')
    store.failNextWrites(1)
    store.failCompactions()
    edit(client, 'x')
    await waitFor(() => named('compaction-failed').length > 0, 'compaction failed')
    assert.equal(named('store-failed').length, 1)
    assert.ok(named('store-failed')[0].error instanceof StorageError)
    assert.equal(named('store-failed')[0].docId, 'failures')
    assert.ok(named('compaction-failed')[0].error instanceof StorageError)
  })
})

function docWith(text: string): Y.Doc {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return doc
}
