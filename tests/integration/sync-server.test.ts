/**
 * The sync server with real parts: a server on a free port, real y-websocket clients, a real
 * LevelDB in a temporary folder.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { CloseCode, MessageType, encodeSyncUpdate } from '../../lib/protocol.ts'
import {
  connectClient,
  makeTempDir,
  startTestServer,
  whenSynced,
  type TestClient,
  type TestServer,
} from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'
import { decodeAwarenessUpdate } from '../../server/document/awareness-registry.ts'
import { sendOnlyOwnPresence } from '../../components/lib/own-presence-only.ts'

let temp: Awaited<ReturnType<typeof makeTempDir>>
let server: TestServer
const clients: TestClient[] = []
let docCounter = 0
const freshDocId = () => `doc-${process.pid}-${++docCounter}`

function client(docId: string, options?: Parameters<typeof connectClient>[2]): TestClient {
  const c = connectClient(server.wsUrl, docId, options)
  clients.push(c)
  return c
}

before(async () => {
  temp = await makeTempDir()
  server = await startTestServer(temp.dir)
})

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy()
})

after(async () => {
  await server.close()
  await temp.remove()
})

describe('sync between clients', () => {
  it('two clients converge on concurrent edits', async () => {
    const docId = freshDocId()
    const a = client(docId)
    const b = client(docId)
    await Promise.all([whenSynced(a), whenSynced(b)])
    a.doc.getText('t').insert(0, 'from a ')
    b.doc.getText('t').insert(0, 'from b ')
    await waitFor(() => a.doc.getText('t').length === 14 && b.doc.getText('t').length === 14, 'both edits on both sides')
    assert.equal(a.doc.getText('t').toString(), b.doc.getText('t').toString())
  })

  it('relays and stores every keystroke typed inside formatted text', async () => {
    // Regression: Yjs follows such an update with an empty formatting-cleanup transaction, which
    // made the server take the update for a no-op and drop it.
    const docId = freshDocId()
    const a = client(docId)
    const b = client(docId)
    await Promise.all([whenSynced(a), whenSynced(b)])
    // The editor's shape: marks are formatting attributes with object values on an XmlText.
    const paragraph = new Y.XmlElement('paragraph')
    const text = new Y.XmlText()
    paragraph.insert(0, [text])
    a.doc.getXmlFragment('default').insert(0, [paragraph])
    for (const [i, char] of [...'loud'].entries()) text.insert(i, char, { bold: {} })
    const received = () => (b.doc.getXmlFragment('default').get(0) as Y.XmlElement | undefined)?.get(0) as Y.XmlText | undefined
    await waitFor(() => received()?.toString() === '<bold>loud</bold>', 'all four keystrokes relayed')
    await a.whenSaved()
    a.destroy()
    b.destroy()
    await waitFor(() => server.sync.documents.get(docId) === undefined, 'document unloaded')
    const check = client(docId)
    await whenSynced(check)
    const stored = (check.doc.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText
    assert.deepEqual(stored.toDelta(), [{ insert: 'loud', attributes: { bold: {} } }])
  })

  it('a late joiner receives the full state', async () => {
    const docId = freshDocId()
    const a = client(docId)
    await whenSynced(a)
    a.doc.getMap('m').set('title', 'Plans')
    a.doc.getText('t').insert(0, 'x'.repeat(1000))
    await a.whenSaved()
    const late = client(docId)
    await whenSynced(late)
    assert.equal(late.doc.getText('t').toString(), 'x'.repeat(1000))
    assert.equal(late.doc.getMap('m').get('title'), 'Plans')
  })

  it('greets and fills each fresh client with the document as it is when that client joins', async () => {
    // The greeting and the whole document are encoded once per state: each edit must renew them.
    const docId = freshDocId()
    const writer = client(docId)
    await whenSynced(writer)
    const text = writer.doc.getText('t')
    for (const word of ['one ', 'two ', 'three']) {
      text.insert(text.length, word)
      await writer.whenSaved()
      const fresh = client(docId)
      await whenSynced(fresh)
      assert.equal(fresh.doc.getText('t').toString(), text.toString())
      // A stock socket's first frame is our sync step 1, carrying the server's state vector.
      const raw = new WebSocket(`${server.wsUrl}/${docId}`)
      const greeting = await new Promise<Buffer>((resolve) => raw.once('message', resolve))
      raw.close()
      const decoder = decoding.createDecoder(greeting)
      assert.deepEqual([decoding.readVarUint(decoder), decoding.readVarUint(decoder)], [MessageType.Sync, 0])
      assert.deepEqual(
        Y.decodeStateVector(decoding.readVarUint8Array(decoder)),
        Y.decodeStateVector(Y.encodeStateVector(writer.doc)),
      )
    }
  })

  it('relays each update to every other client as the very bytes it was sent, small or large', async () => {
    // Relayed frames are framed once and written straight to each socket; ws on the receiving
    // side parses them, across the three ways a frame can give its length.
    const docId = freshDocId()
    const open = (url: string) =>
      new Promise<{ ws: WebSocket; frames: Buffer[] }>((resolve, reject) => {
        const ws = new WebSocket(url)
        const frames: Buffer[] = []
        ws.on('message', (data: Buffer) => frames.push(data))
        ws.once('open', () => resolve({ ws, frames }))
        ws.once('error', reject)
      })
    const [writer, ...readers] = await Promise.all([1, 2, 3].map(() => open(`${server.wsUrl}/${docId}`)))
    const author = new Y.Doc()
    const sent: Buffer[] = []
    for (const length of [20, 1_000, 100_000]) {
      const text = author.getText('t')
      const before = Y.encodeStateVector(author)
      text.insert(text.length, 'x'.repeat(length))
      const frame = Buffer.from(encodeSyncUpdate(Y.encodeStateAsUpdate(author, before)))
      sent.push(frame)
      writer.ws.send(frame)
    }
    const isUpdate = (frame: Buffer) => frame[0] === MessageType.Sync && frame[1] === 2
    for (const reader of readers) {
      await waitFor(() => reader.frames.filter(isUpdate).length === sent.length, 'all updates relayed')
      assert.deepEqual(reader.frames.filter(isUpdate), sent)
    }
    for (const { ws } of [writer, ...readers]) ws.close()
  })

  it("removes a closed client's awareness state for the others at once", async () => {
    const docId = freshDocId()
    const a = client(docId)
    const b = client(docId)
    await Promise.all([whenSynced(a), whenSynced(b)])
    a.provider.awareness.setLocalStateField('user', { name: 'Ada', color: '#ff0000' })
    await waitFor(() => b.provider.awareness.getStates().has(a.doc.clientID), 'b sees a')
    // Close the socket without the client announcing its own removal, as a crashed tab would.
    a.provider.shouldConnect = false
    a.provider.ws?.close()
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), 'a gone for b', 2000)
  })

  it("has a Chorus page send its own presence, never the others' it has received", async () => {
    const docId = freshDocId()
    const [ada, grace, bob] = [client(docId), client(docId), client(docId)]
    // Grace is set up as Chorus's browser sets up its provider; Bob is y-websocket as it comes.
    sendOnlyOwnPresence(grace.provider)
    await Promise.all([ada, grace, bob].map((c) => whenSynced(c)))
    const fromGrace = recordSentPresence(grace)
    const fromBob = recordSentPresence(bob)
    const cursorOf = (viewer: TestClient, author: TestClient) =>
      (viewer.provider.awareness.getStates().get(author.doc.clientID) as { cursor?: number } | undefined)?.cursor

    for (let cursor = 1; cursor <= 5; cursor++) ada.provider.awareness.setLocalStateField('cursor', cursor)
    await waitFor(() => cursorOf(grace, ada) === 5 && cursorOf(bob, ada) === 5, "Ada's caret at Grace's and Bob's")
    // A stock client sends what it receives back to the server: Bob echoes Ada's caret.
    await waitFor(() => fromBob.includes(ada.doc.clientID), "Bob's stock client echoing Ada's caret")
    // Her own state she may send (she re-announces it when the server asks her to raise its clock).
    assert.deepEqual(
      fromGrace.filter((id) => id !== grace.doc.clientID),
      [],
    )

    grace.provider.awareness.setLocalStateField('cursor', 7)
    await waitFor(() => cursorOf(ada, grace) === 7 && cursorOf(bob, grace) === 7, "Grace's caret at Ada's and Bob's")
    assert.deepEqual(new Set(fromGrace), new Set([grace.doc.clientID]))
  })

  it('never sends a stock client a message type it does not know', async () => {
    const docId = freshDocId()
    const chorusClient = client(docId)
    await whenSynced(chorusClient)
    const types = new Set<number>()
    const stock = new WebSocket(`${server.wsUrl}/${docId}`)
    stock.binaryType = 'nodebuffer'
    stock.on('message', (data: Buffer) => types.add(decoding.readVarUint(decoding.createDecoder(data))))
    await new Promise((resolve) => stock.once('open', resolve))
    // Edit from both sides, so that saves happen while the stock client is connected.
    const stockDoc = new Y.Doc()
    stockDoc.getText('t').insert(0, 'stock edit')
    stock.send(encodeSyncUpdate(Y.encodeStateAsUpdate(stockDoc)))
    chorusClient.doc.getText('t').insert(0, 'chorus edit ')
    await chorusClient.whenSaved()
    await waitFor(() => chorusClient.doc.getText('t').toString().includes('stock edit'), 'stock edit relayed')
    // The stock client's own update was stored as well: a fresh client sees it.
    const check = client(docId)
    await whenSynced(check)
    assert.match(check.doc.getText('t').toString(), /stock edit/)
    stock.close()
    assert.ok(types.has(MessageType.Sync), 'stock client got sync messages')
    assert.deepEqual(
      [...types].filter((t) => t !== MessageType.Sync && t !== MessageType.Awareness),
      [],
    )
  })

  it('confirms saves only to clients that asked, with a state vector covering their edits', async () => {
    const docId = freshDocId()
    const a = client(docId)
    await whenSynced(a)
    a.doc.getText('t').insert(0, 'durable')
    await a.whenSaved()
    const clock = Y.decodeStateVector(Y.encodeStateVector(a.doc)).get(a.doc.clientID)
    assert.equal(a.savedStateVector?.get(a.doc.clientID), clock)
  })

  it('tells a client that joins while writes are pending what is saved, once it is', async () => {
    const docId = freshDocId()
    const writer = client(docId)
    await whenSynced(writer)
    writer.doc.getText('t').insert(0, 'on its way to disk')
    // Joins within the commit delay, before the write lands: the answer has to wait for it.
    const joiner = client(docId)
    await whenSynced(joiner)
    await waitFor(() => joiner.savedStateVector !== null, 'joiner told what is saved')
    await writer.whenSaved()
    const clock = Y.decodeStateVector(Y.encodeStateVector(writer.doc)).get(writer.doc.clientID)
    await waitFor(() => joiner.savedStateVector?.get(writer.doc.clientID) === clock, "joiner's saved state covers the write")
  })
})

describe('persistence', () => {
  it('a stored document survives a restart of the server', async () => {
    const local = await makeTempDir()
    let first: TestServer | null = await startTestServer(local.dir)
    try {
      const docId = freshDocId()
      const a = connectClient(first.wsUrl, docId)
      await whenSynced(a)
      a.doc.getText('t').insert(0, 'before restart')
      await a.whenSaved()
      a.destroy()
      await first.close()
      first = null
      const second = await startTestServer(local.dir)
      try {
        const b = connectClient(second.wsUrl, docId)
        await whenSynced(b)
        assert.equal(b.doc.getText('t').toString(), 'before restart')
        b.destroy()
      } finally {
        await second.close()
      }
    } finally {
      await first?.close()
      await local.remove()
    }
  })

  it('compacts a long log into a snapshot and loads the same document back', async () => {
    const local = await makeTempDir()
    const small = await startTestServer(local.dir, { compactAfterRecords: 10, compactMinLogBytes: 1 << 30 })
    const docId = freshDocId()
    try {
      const a = connectClient(small.wsUrl, docId)
      await whenSynced(a)
      const text = a.doc.getText('t')
      for (let i = 0; i < 60; i++) {
        text.insert(text.length, `${i},`)
        await a.whenSaved() // one record per edit, so the log passes the threshold many times
      }
      a.destroy()
      await waitFor(() => small.sync.documents.size === 0, 'document unloaded after compaction')
      const b = connectClient(small.wsUrl, docId)
      await whenSynced(b)
      assert.equal(b.doc.getText('t').toString(), Array.from({ length: 60 }, (_, i) => `${i},`).join(''))
      b.destroy()
      await small.close()
      // What is on disk: a snapshot and a log shorter than the threshold, not 60 records.
      const store = await LevelDbStore.open(local.dir)
      const stored = await store.load(docId)
      await store.close()
      assert.ok(stored.snapshotBytes > 0, 'a snapshot was written')
      assert.ok(stored.logRecords < 10, `log holds ${stored.logRecords} records`)
    } finally {
      await small.close()
      await local.remove()
    }
  })

  it('leaves one snapshot behind when an idle document unloads, so its next load is one apply', async () => {
    const local = await makeTempDir()
    const own = await startTestServer(local.dir)
    const docId = freshDocId()
    try {
      const a = connectClient(own.wsUrl, docId)
      await whenSynced(a)
      for (const word of ['one ', 'two ', 'three ', 'four ']) {
        a.doc.getText('t').insert(a.doc.getText('t').length, word)
        await a.whenSaved() // one log record each
      }
      a.destroy()
      await waitFor(() => own.sync.documents.size === 0, 'document unloaded')
      await own.close()
      const store = await LevelDbStore.open(local.dir)
      const stored = await store.load(docId)
      await store.close()
      assert.equal(stored.logRecords, 0)
      assert.equal(stored.updates.length, 1, 'only the snapshot')
      const doc = new Y.Doc()
      Y.applyUpdate(doc, stored.updates[0])
      assert.equal(doc.getText('t').toString(), 'one two three four ')
    } finally {
      await own.close()
      await local.remove()
    }
  })

  it('unloads a document once its last client left and everything is stored', async () => {
    const docId = freshDocId()
    const a = client(docId)
    await whenSynced(a)
    assert.ok(server.sync.documents.get(docId), 'document open while a client is connected')
    a.doc.getText('t').insert(0, 'bye')
    a.destroy()
    await waitFor(() => server.sync.documents.get(docId) === undefined, 'document unloaded')
    const b = client(docId)
    await whenSynced(b)
    assert.equal(b.doc.getText('t').toString(), 'bye')
  })
})

describe('connections', () => {
  it('closes a connection that sends a malformed frame, and the others carry on', async () => {
    const docId = freshDocId()
    const good = client(docId)
    await whenSynced(good)
    good.doc.getText('t').insert(0, 'intact')
    await good.whenSaved()
    const bad = new WebSocket(`${server.wsUrl}/${docId}`)
    await new Promise((resolve) => bad.once('open', resolve))
    const closed = new Promise<number>((resolve) => bad.once('close', (code) => resolve(code)))
    bad.send(Uint8Array.of(0, 2, 200)) // sync update whose length runs past the frame
    assert.equal(await closed, CloseCode.MalformedMessage)
    good.doc.getText('t').insert(6, '!')
    await good.whenSaved()
    const check = client(docId)
    await whenSynced(check)
    assert.equal(check.doc.getText('t').toString(), 'intact!')
  })

  it('drops a peer that stops answering pings and removes its presence', async () => {
    const local = await makeTempDir()
    const fast = await startTestServer(local.dir, { pingIntervalMs: 100 })
    try {
      const docId = freshDocId()
      const watcher = connectClient(fast.wsUrl, docId)
      await whenSynced(watcher)
      // A peer whose process hangs: it never answers pings.
      const silent = new WebSocket(`${fast.wsUrl}/${docId}`, { autoPong: false })
      await new Promise((resolve) => silent.once('open', resolve))
      const ghost = new Y.Doc()
      const { Awareness, encodeAwarenessUpdate } = await import('y-protocols/awareness')
      const awareness = new Awareness(ghost)
      awareness.setLocalStateField('user', { name: 'Ghost', color: '#000000' })
      const { encodeAwarenessFrame } = await import('../../lib/protocol.ts')
      silent.send(encodeAwarenessFrame(encodeAwarenessUpdate(awareness, [ghost.clientID])))
      await waitFor(() => watcher.provider.awareness.getStates().has(ghost.clientID), 'ghost visible')
      await waitFor(() => !watcher.provider.awareness.getStates().has(ghost.clientID), 'ghost removed', 3000)
      awareness.destroy()
      silent.terminate()
      watcher.destroy()
    } finally {
      await fast.close()
      await local.remove()
    }
  })

  it('on graceful close stores everything and closes sockets with a code clients reconnect on', async () => {
    const local = await makeTempDir()
    const temporary = await startTestServer(local.dir)
    const docId = freshDocId()
    const raw = new WebSocket(`${temporary.wsUrl}/${docId}`)
    await new Promise((resolve) => raw.once('open', resolve))
    const closeCode = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)))
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'sent just before shutdown')
    raw.send(encodeSyncUpdate(Y.encodeStateAsUpdate(doc)))
    await waitFor(() => temporary.sync.documents.get(docId)?.ydoc.getText('t').length === 25, 'update applied')
    await temporary.close()
    assert.equal(await closeCode, CloseCode.ServiceRestart)
    const again = await startTestServer(local.dir)
    try {
      const check = connectClient(again.wsUrl, docId)
      await whenSynced(check)
      assert.equal(check.doc.getText('t').toString(), 'sent just before shutdown')
      check.destroy()
    } finally {
      await again.close()
      await local.remove()
    }
  })
})

/** The client ids of every awareness state `sender` sends from now on. */
function recordSentPresence(sender: TestClient): number[] {
  const ids: number[] = []
  const socket = sender.provider.ws!
  const send = socket.send.bind(socket)
  socket.send = (data) => {
    const decoder = decoding.createDecoder(data as Uint8Array)
    if (decoding.readVarUint(decoder) === MessageType.Awareness) {
      for (const entry of decodeAwarenessUpdate(decoding.readVarUint8Array(decoder))) ids.push(entry.clientId)
    }
    send(data)
  }
  return ids
}
