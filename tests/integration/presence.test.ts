/**
 * Presence comes back at once: after a reconnect, or after the server restarted, the others see
 * a person again within a round trip, with stock y-websocket clients of two generations.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider as WebsocketProvider3 } from 'y-websocket'
// y-websocket 2.x, the generation most deployed apps still run.
import { WebsocketProvider as WebsocketProvider2 } from 'y-websocket-reference'
import { makeTempDir, startTestServer, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

/** Well under the 15 s after which a client renews its state anyway, which used to be the wait. */
const BACK_WITHIN_MS = 5000

interface StockClient {
  readonly doc: Y.Doc
  readonly provider: WebsocketProvider3
}

const generations = [
  { name: 'y-websocket 3.1', Provider: WebsocketProvider3 },
  { name: 'y-websocket 2.x', Provider: WebsocketProvider2 as unknown as typeof WebsocketProvider3 },
]

let temp: Awaited<ReturnType<typeof makeTempDir>>
let server: TestServer
const clients: StockClient[] = []
let docCounter = 0

before(async () => {
  temp = await makeTempDir()
  server = await startTestServer(temp.dir)
})

afterEach(() => {
  for (const { provider, doc } of clients.splice(0)) {
    provider.destroy()
    doc.destroy()
  }
})

after(async () => {
  await server.close()
  await temp.remove()
})

function stockClient(Provider: typeof WebsocketProvider3, docId: string, name: string): StockClient {
  const doc = new Y.Doc()
  const provider = new Provider(`ws://127.0.0.1:${server.port}/sync`, docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  })
  provider.awareness.setLocalStateField('user', { name, color: '#3355ff' })
  const client = { doc, provider }
  clients.push(client)
  return client
}

const sees = (watcher: StockClient, other: StockClient) => watcher.provider.awareness.getStates().has(other.doc.clientID)

for (const { name, Provider } of generations) {
  describe(`presence with ${name} clients`, () => {
    it('shows a person who reconnected to the others again at once', async () => {
      // Root cause: the server removed a closed connection's state one clock ahead, and nobody
      // told the client that its unchanged clock was stale, so its re-announcement was dropped.
      const docId = `presence-${++docCounter}`
      const ada = stockClient(Provider, docId, 'Ada')
      const bob = stockClient(Provider, docId, 'Bob')
      await waitFor(() => sees(bob, ada) && sees(ada, bob), 'both see each other')
      // A network blip: Ada's socket drops without her announcing that she leaves.
      ada.provider.ws!.close()
      await waitFor(() => !sees(bob, ada), 'Ada gone for Bob', 5000)
      await waitFor(() => ada.provider.wsconnected, 'Ada reconnected', 5000)
      await waitFor(() => sees(bob, ada), 'Bob sees Ada again', BACK_WITHIN_MS)
      assert.deepEqual(bob.provider.awareness.getStates().get(ada.doc.clientID)?.user, { name: 'Ada', color: '#3355ff' })
    })

    it('shows everyone to everyone again at once after the server restarted', async () => {
      const docId = `presence-${++docCounter}`
      const ada = stockClient(Provider, docId, 'Ada')
      const bob = stockClient(Provider, docId, 'Bob')
      await waitFor(() => sees(bob, ada) && sees(ada, bob), 'both see each other')
      const port = server.port
      await server.close()
      await waitFor(() => !sees(bob, ada) && !sees(ada, bob), 'both lost the other when the server went')
      server = await startTestServer(temp.dir, { port })
      await waitFor(() => ada.provider.wsconnected && bob.provider.wsconnected, 'both reconnected', 10_000)
      await waitFor(() => sees(bob, ada) && sees(ada, bob), 'both see each other again', BACK_WITHIN_MS)
    })
  })
}
