/**
 * Presence traffic with real parts: a Chorus server, a real LevelDB in a temporary folder and
 * real y-websocket clients, one of them set up as Chorus's browser sets up its own.
 */
import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import * as decoding from 'lib0/decoding'
import { MessageType } from '../../lib/protocol.ts'
import { decodeAwarenessUpdate } from '../../server/awareness-registry.ts'
import { sendOnlyOwnPresence } from '../../components/lib/own-presence-only.ts'
import { connectClient, makeTempDir, startTestServer, whenSynced, type TestClient, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

let temp: Awaited<ReturnType<typeof makeTempDir>>
let server: TestServer

before(async () => {
  temp = await makeTempDir()
  server = await startTestServer(temp.dir)
})

after(async () => {
  await server.close()
  await temp.remove()
})

/** The client ids of every awareness state this client sends from now on. */
function recordSentPresence(client: TestClient): number[] {
  const ids: number[] = []
  const socket = client.provider.ws!
  const send = socket.send.bind(socket)
  socket.send = (data) => {
    const frame = data as Uint8Array
    const decoder = decoding.createDecoder(frame)
    if (decoding.readVarUint(decoder) === MessageType.Awareness) {
      for (const entry of decodeAwarenessUpdate(decoding.readVarUint8Array(decoder))) ids.push(entry.clientId)
    }
    send(data)
  }
  return ids
}

const cursorOf = (viewer: TestClient, author: TestClient) =>
  (viewer.provider.awareness.getStates().get(author.doc.clientID) as { cursor?: number } | undefined)?.cursor

it("a page sends its own presence, never the others' it has received", async () => {
  const [ada, grace, bob] = [0, 1, 2].map(() => connectClient(server.wsUrl, 'presence'))
  try {
    sendOnlyOwnPresence(grace.provider)
    await Promise.all([ada, grace, bob].map((client) => whenSynced(client)))
    const fromGrace = recordSentPresence(grace)
    const fromBob = recordSentPresence(bob)

    for (let cursor = 1; cursor <= 5; cursor++) ada.provider.awareness.setLocalStateField('cursor', cursor)
    await waitFor(() => cursorOf(grace, ada) === 5 && cursorOf(bob, ada) === 5, "Ada's caret at Grace's and Bob's")
    // y-websocket as it comes sends what it receives back to the server: Bob echoes Ada's caret.
    await waitFor(() => fromBob.includes(ada.doc.clientID), "Bob's stock client echoing Ada's caret")
    assert.deepEqual(fromGrace, [])

    grace.provider.awareness.setLocalStateField('cursor', 7)
    await waitFor(() => cursorOf(ada, grace) === 7 && cursorOf(bob, grace) === 7, "Grace's caret at Ada's and Bob's")
    assert.deepEqual(new Set(fromGrace), new Set([grace.doc.clientID]))
  } finally {
    for (const client of [ada, grace, bob]) client.destroy()
  }
})
