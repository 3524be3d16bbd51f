/**
 * A document's lifecycle around storage failures, with a real SyncEndpoint, real sockets and real
 * y-websocket clients over an in-memory store whose writes and loads a test fails on purpose (MemoryStore's fault injection).
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import * as Y from 'yjs'
import type * as decoding from 'lib0/decoding'
import { CloseCode, MessageType, decodeNoticePayload, type Notice } from '../../lib/protocol.ts'
import { DamagedDataError, StorageError } from '../../server/storage/document-store.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { serveStore, type StoreServer } from '../support/serve-store.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const clients: TestClient[] = []
const servers: StoreServer[] = []

async function setup(): Promise<{ store: MemoryStore; server: StoreServer }> {
  const store = new MemoryStore()
  const server = await serveStore(store)
  servers.push(server)
  return { store, server }
}

interface Watched extends TestClient {
  notices: Notice[]
  closeCodes: number[]
}

function watch(server: StoreServer, docId: string): Watched {
  const client = connectClient(server.wsUrl, docId) as Watched
  clients.push(client)
  client.notices = []
  client.closeCodes = []
  client.provider.messageHandlers[MessageType.Notice] = (_encoder, decoder: decoding.Decoder) => {
    client.notices.push(decodeNoticePayload(decoder))
  }
  client.provider.on('connection-close', (event: CloseEvent | null) => {
    if (event) client.closeCodes.push(event.code)
  })
  return client
}

const savedClock = (client: TestClient) => client.savedStateVector?.get(client.doc.clientID) ?? 0
const ownClock = (client: TestClient) => Y.decodeStateVector(Y.encodeStateVector(client.doc)).get(client.doc.clientID) ?? 0

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  for (const server of servers.splice(0)) await server.close()
})

describe('storage failures', () => {
  // Root cause: a record that became durable after an earlier record failed moved its
  // contributors to `unsavedFrom`; when the retry had already been cut (with its own
  // contributors), nobody confirmed them again and they kept "Saving…" for good.
  it('confirms a client whose record succeeded while the retry of an earlier failed record was already on its way', async () => {
    const { store, server } = await setup()
    const a = watch(server, 'race')
    const b = watch(server, 'race')
    await Promise.all([whenSynced(a), whenSynced(b)])
    store.holdWrites()
    a.doc.getText('t').insert(0, 'a1')
    await waitFor(() => store.held.length === 1, 'record 0 (a) held')
    b.doc.getText('t').insert(0, 'b1')
    await waitFor(() => store.held.length === 2, 'record 1 (b) held')
    store.release(0, 'fail')
    // The retry of a's record (with a's new edit) is cut before b's record completes.
    a.doc.getText('t').insert(0, 'a2')
    await waitFor(() => store.held.some((write) => write.seq === 2), 'record 2 (retry, a) held')
    store.release(1, 'ok')
    store.release(2, 'ok')
    await a.whenSaved(5000)
    await b.whenSaved(5000)
    assert.ok(savedClock(b) >= ownClock(b))
  })

  // Root cause: an update that arrives before one it depends on (another tab sent it over the
  // BroadcastChannel first) waits as pending structs; its sender was confirmed with a state
  // vector that lacked it, and when the missing update arrived from someone else, only that
  // sender was confirmed.
  it('confirms a client whose update waited for an update of another client', async () => {
    const { server } = await setup()
    const a = watch(server, 'pending')
    await whenSynced(a)
    // b's edit reaches a's document first (as over a BroadcastChannel), not the server.
    const bDoc = new Y.Doc()
    bDoc.getText('t').insert(0, 'from b ')
    Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(bDoc), a.provider)
    a.doc.getText('t').insert(7, 'then a')
    await waitFor(() => a.savedStateVector !== null && savedClock(a) === 0, 'a told, without its pending edit')
    assert.ok(savedClock(a) < ownClock(a))
    const bClient = connectClient(server.wsUrl, 'pending', { doc: bDoc })
    clients.push(bClient)
    await bClient.whenSaved(5000)
    await a.whenSaved(5000)
  })

  it('keeps a failed write, retries it, and confirms only once it is stored', async () => {
    const { store, server } = await setup()
    const a = watch(server, 'retry')
    await whenSynced(a)
    store.fillDisk()
    a.doc.getText('t').insert(0, 'kept')
    await waitFor(() => store.failedAppends > 0, 'a write failed')
    assert.ok(savedClock(a) < ownClock(a), 'not confirmed while writes fail')
    store.freeDisk()
    await a.whenSaved(10_000)
    const stored = new Y.Doc()
    for (const update of (await store.load('retry')).updates) Y.applyUpdate(stored, update)
    assert.equal(stored.getText('t').toString(), 'kept')
  })

  it('tells editors while storage fails, tells joiners too, and withdraws it on recovery', async () => {
    const { store, server } = await setup()
    const a = watch(server, 'notice')
    await whenSynced(a)
    store.setHealth('failing')
    await waitFor(() => a.notices.some((n) => n.code === 'storage-failing' && n.message !== ''), 'a told')
    const b = watch(server, 'notice')
    await waitFor(() => b.notices.some((n) => n.code === 'storage-failing' && n.message !== ''), 'joiner told')
    assert.equal(a.notices[0].level, 'error')
    store.setHealth('ok')
    await waitFor(() => a.notices.at(-1)?.message === '' && b.notices.at(-1)?.message === '', 'notice withdrawn')
    assert.equal(a.notices.at(-1)?.code, 'storage-failing')
  })

  it('refuses a document whose data is damaged with a notice and a final close, and writes nothing', async () => {
    const { store, server } = await setup()
    store.failLoads(new DamagedDataError('stored data of document broken is damaged: Corruption: checksum mismatch'))
    const a = watch(server, 'broken')
    a.doc.getText('t').insert(0, 'not to be written over the damaged data')
    await waitFor(() => a.closeCodes.includes(CloseCode.DocumentUnavailable), 'closed with 4422')
    assert.equal(a.notices[0]?.code, 'document-unavailable')
    assert.equal(a.provider.shouldConnect, false, 'y-websocket 3.1 does not reconnect after 4422')
    assert.deepEqual(store.storedDocumentIds(), [], 'nothing was written')
  })

  it('asks clients to come back when a load fails for a passing reason', async () => {
    const { store, server } = await setup()
    store.failLoads(new StorageError('storage is unavailable while it recovers from a failed write'))
    const a = watch(server, 'later')
    await waitFor(() => a.closeCodes.includes(CloseCode.InternalError), 'closed with 4500')
    store.failLoads(null)
    await whenSynced(a, 10_000)
  })

  it('still confirms and keeps everything when compaction fails', async () => {
    const { store, server } = await setup()
    const a = watch(server, 'compact')
    await whenSynced(a)
    store.failCompactions()
    const text = a.doc.getText('t')
    // Past the byte threshold (256 KiB), so compaction is attempted.
    for (let i = 0; i < 5; i++) text.insert(text.length, 'x'.repeat(60_000))
    await a.whenSaved(10_000)
    const stored = new Y.Doc()
    for (const update of (await store.load('compact')).updates) Y.applyUpdate(stored, update)
    assert.equal(stored.getText('t').length, 300_000)
  })
})
