/**
 * What stock Yjs clients meet: the room names their apps use, messages other servers' clients
 * send, large pastes and offline backlogs, and a document at its size cap. Each gets the answer
 * y-websocket's own server would give, or a clearer one; nothing is stranded.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import type * as decoding from 'lib0/decoding'
import { CloseCode, MessageType, decodeNoticePayload, encodeSyncStep1, encodeSyncUpdate } from '../../lib/protocol.ts'
import { TestScope, connectClient, makeTempDir, startTestServer, whenSynced, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const scope = new TestScope()
afterEach(() => scope.cleanup())
const { serverWith, client, rawSocket } = scope

/** Text that compresses badly, as pasted prose would not: Yjs stores it as it is. */
function prose(bytes: number): string {
  let text = ''
  let seed = 7
  while (text.length < bytes) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    text += ['lorem ', 'ipsum ', 'dolor ', 'sit ', 'amet, ', 'consectetur ', 'adipiscing ', 'elit. '][seed % 8]
  }
  return text.slice(0, bytes)
}

const healthz = async (server: TestServer) =>
  (await (await fetch(`http://127.0.0.1:${server.port}/healthz`)).json()) as { ignoredMessages: Record<string, number> }

describe('document names', () => {
  it('accepts the names Yjs apps use, each its own document, kept apart on disk', async () => {
    // Root cause: only [A-Za-z0-9_-]{1,64} was accepted; others got HTTP 400, retried forever.
    const names = ['notes.md', 'team:42', 'Über uns ✍️', 'a/log', 'a', '../../etc', 'x'.repeat(255), '%41', 'view']
    const temp = await makeTempDir()
    scope.defer(() => temp.remove())
    let server = await startTestServer(temp.dir)
    for (const name of names) {
      // y-websocket puts the room name into the URL as it is: the app encodes what needs it.
      const writer = connectClient(server.wsUrl, encodeURIComponent(name))
      await whenSynced(writer)
      writer.doc.getText('t').insert(0, `text of ${name}`)
      await writer.whenSaved()
      writer.destroy()
    }
    await server.close()
    server = await startTestServer(temp.dir)
    scope.defer(() => server.close())
    for (const name of names) {
      const reader = client(server, encodeURIComponent(name))
      await whenSynced(reader)
      assert.equal(reader.doc.getText('t').toString(), `text of ${name}`, `document ${JSON.stringify(name)}`)
    }
  })

  it('closes, with a final code and a reason, names it cannot take', async () => {
    const server = await serverWith()
    const refused = {
      'a/b': /'\/' in a name must be sent as %2F/,
      [encodeURIComponent('x'.repeat(256))]: /at most 255 bytes/,
      '%E0%A4%A': /not valid percent-encoded UTF-8/,
      '%0A': /control characters/,
    }
    for (const [path, reason] of Object.entries(refused)) {
      const closed = await (await rawSocket(`${server.wsUrl}/${path}`)).closed
      assert.equal(closed.code, CloseCode.MalformedMessage, path)
      assert.match(closed.reason, reason, path)
    }
    assert.equal(server.sync.documents.size, 0)
  })
})

describe('harmless input', () => {
  it("ignores and counts other servers' message types, empty updates and text frames, as y-websocket's server does", async () => {
    // Root cause: each of these closed the connection (4400), which y-websocket 3.1 takes as final.
    const server = await serverWith()
    const honest = client(server, 'lenient', { chorus: false })
    await whenSynced(honest)
    const other = await rawSocket(`${server.wsUrl}/lenient`)
    other.ws.send(Uint8Array.of(102, 3, 1, 2, 3)) // another server's extension (Hocuspocus sends 102)
    other.ws.send(Uint8Array.of(MessageType.Sync, 2, 0)) // an update with no bytes at all
    other.ws.send('hello') // a text frame
    const update = new Y.Doc()
    update.getText('t').insert(0, 'still heard')
    other.ws.send(encodeSyncUpdate(Y.encodeStateAsUpdate(update)))
    await waitFor(() => honest.doc.getText('t').toString() === 'still heard', 'the update after them relayed')
    assert.equal(other.ws.readyState, WebSocket.OPEN)
    assert.deepEqual((await healthz(server)).ignoredMessages, { 'text-frame': 1, 'unknown-message-type': 1, 'empty-update': 1 })
  })
})

describe('large changes', () => {
  it('delivers a paste over 1 MiB (MAX_MESSAGE_BYTES) to everyone and stores it', async () => {
    // Root cause: every frame was held to MAX_MESSAGE_BYTES, so the author was closed with 1009 and
    // reconnected, resent and was closed again, forever.
    const server = await serverWith()
    const author = client(server, 'paste', { chorus: true })
    const reader = client(server, 'paste', { chorus: false })
    await Promise.all([whenSynced(author), whenSynced(reader)])
    const paste = prose(1_300_000)
    author.doc.getText('t').insert(0, paste)
    await author.whenSaved(30_000)
    await waitFor(() => reader.doc.getText('t').length === paste.length, 'the reader has the paste', 30_000)
    assert.equal(reader.doc.getText('t').toString(), paste)
    author.doc.getText('t').insert(0, 'and after it: ')
    await waitFor(() => reader.doc.getText('t').toString().startsWith('and after it: '), 'later typing relayed')
  })

  it("delivers a stock client's offline backlog over 1 MiB when it comes back", async () => {
    const server = await serverWith()
    const reader = client(server, 'backlog', { chorus: false })
    const writer = client(server, 'backlog', { chorus: false })
    await Promise.all([whenSynced(reader), whenSynced(writer)])
    writer.provider.disconnect()
    const text = writer.doc.getText('t')
    for (let i = 0; i < 30; i++) text.insert(text.length, prose(50_000))
    writer.provider.connect()
    await waitFor(() => reader.doc.getText('t').length === 1_500_000, 'the backlog arrived', 30_000)
    assert.equal(reader.doc.getText('t').toString(), text.toString())
  })

  it('keeps presence and other messages to MAX_MESSAGE_BYTES', async () => {
    const server = await serverWith({ maxMessageBytes: 4096 })
    const honest = client(server, 'small')
    await whenSynced(honest)
    const bad = await rawSocket(`${server.wsUrl}/small`)
    const state = JSON.stringify({ user: { name: 'x'.repeat(10_000) } })
    const awareness = new TextEncoder().encode(state)
    const frame = new Uint8Array([
      MessageType.Awareness,
      ...varUint(awareness.length + 8),
      1,
      1,
      1,
      ...varUint(awareness.length),
      ...awareness,
      0,
      0,
      0,
      0,
      0,
    ])
    bad.ws.send(frame)
    assert.equal((await bad.closed).code, CloseCode.MessageTooBig)
    honest.doc.getText('t').insert(0, 'still fine')
    await honest.whenSaved()
  })
})

describe('the document size cap', () => {
  it('closes a stock client whose change it refuses, with a final code and a reason, and the others carry on', async () => {
    // Root cause: a stock client was never told; it stayed connected believing it was in sync.
    const server = await serverWith({ maxDocumentBytes: 4096 })
    const stock = client(server, 'full', { chorus: false })
    const other = client(server, 'full', { chorus: true })
    await Promise.all([whenSynced(stock), whenSynced(other)])
    const closed = new Promise<CloseEvent>((resolve) => stock.provider.on('connection-close', (event) => event && resolve(event)))
    stock.doc.getText('t').insert(0, 'x'.repeat(6000))
    const event = await closed
    assert.equal(event.code, CloseCode.ChangeTooLarge)
    assert.match(event.reason, /change too large/)
    other.doc.getText('t').insert(0, 'the others carry on')
    await other.whenSaved()
    assert.equal(server.sync.documents.get('full')?.ydoc.getText('t').toString(), 'the others carry on')
  })

  it('tells a Chorus page why before it closes, so the page can say so and stop sending', async () => {
    const server = await serverWith({ maxDocumentBytes: 2048 })
    const writer = client(server, 'capped')
    await whenSynced(writer)
    const notices: string[] = []
    writer.provider.messageHandlers[MessageType.Notice] = (_encoder, decoder: decoding.Decoder) => {
      notices.push(decodeNoticePayload(decoder).message)
    }
    writer.doc.getText('t').insert(0, 'a'.repeat(1000))
    await writer.whenSaved()
    const closed = new Promise<CloseEvent>((resolve) =>
      writer.provider.on('connection-close', (event) => event && resolve(event)),
    )
    writer.doc.getText('t').insert(1000, 'b'.repeat(1500))
    assert.equal((await closed).code, CloseCode.ChangeTooLarge)
    assert.match(notices.join(), /reached its size limit/)
    // y-websocket 3.1 stops on a 44xx close: the page does not send the change again.
    assert.equal(writer.provider.shouldConnect, false)
    const reader = client(server, 'capped')
    await whenSynced(reader)
    assert.equal(reader.doc.getText('t').toString(), 'a'.repeat(1000))
  })

  it('counts bytes still being written, so a burst cannot slip past the cap', async () => {
    // Root cause: records on their way to disk were counted nowhere; 120 KB got past a 100 KB cap.
    const server = await serverWith({ maxDocumentBytes: 100_000, commitDelayMs: 200 })
    const socket = await rawSocket(`${server.wsUrl}/burst`)
    socket.ws.send(encodeSyncStep1(Uint8Array.of(0)))
    const writer = new Y.Doc()
    const chunks: Uint8Array[] = []
    writer.on('update', (update: Uint8Array) => chunks.push(update))
    for (let i = 0; i < 12; i++) writer.getText('t').insert(writer.getText('t').length, prose(10_000))
    // One chunk per turn: each becomes a record that is still being written when the next comes.
    for (const chunk of chunks) {
      socket.ws.send(encodeSyncUpdate(chunk))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal((await socket.closed).code, CloseCode.ChangeTooLarge)
    await server.sync.documents.get('burst')?.whenStored()
    const stored = server.sync.documents.get('burst')?.ydoc.getText('t').length ?? 0
    assert.ok(stored <= 100_000, `stored ${stored} characters under a 100,000-byte cap`)
  })
})

function varUint(value: number): number[] {
  const bytes: number[] = []
  while (value > 0x7f) {
    bytes.push(0x80 | (value & 0x7f))
    value >>>= 7
  }
  bytes.push(value)
  return bytes
}
