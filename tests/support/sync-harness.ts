/**
 * Real parts for integration tests: a Chorus sync server in this process on a free port with a
 * LevelDB in a temporary folder, and real y-websocket clients connected to it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { WebsocketProvider } from 'y-websocket'
import { DEFAULT_CONFIG, type ServerConfig } from '../../server/config.ts'
import { startServer, type RunningServer } from '../../server/http-server.ts'
import { silentLogger, type Logger } from '../../server/logger.ts'
import { CHORUS_PROTOCOL_PARAM, CHORUS_PROTOCOL_VERSION, MessageType } from '../../lib/protocol.ts'
import { waitFor } from './wait-for.ts'

export async function makeTempDir(prefix = 'chorus-test-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

export interface TestServer extends RunningServer {
  readonly wsUrl: string
  readonly dataDir: string
}

export async function startTestServer(
  dataDir: string,
  overrides: Partial<ServerConfig> = {},
  logger: Logger = silentLogger,
): Promise<TestServer> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent', ...overrides }
  const server = await startServer({ config, logger })
  return Object.assign(server, { wsUrl: `ws://127.0.0.1:${server.port}/sync`, dataDir })
}

export interface TestClient {
  readonly doc: Y.Doc
  readonly provider: WebsocketProvider
  /** Latest durable state vector the server confirmed (Chorus clients only). */
  savedStateVector: Map<number, number> | null
  /** Resolves when every change this client made is confirmed durable by the server. */
  whenSaved(timeoutMs?: number): Promise<void>
  destroy(): void
}

export function connectClient(
  wsUrl: string,
  docId: string,
  { chorus = true, doc = new Y.Doc() }: { chorus?: boolean; doc?: Y.Doc } = {},
): TestClient {
  const provider = new WebsocketProvider(wsUrl, docId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: chorus ? { [CHORUS_PROTOCOL_PARAM]: String(CHORUS_PROTOCOL_VERSION) } : {},
  })
  const client: TestClient = {
    doc,
    provider,
    savedStateVector: null,
    whenSaved: (timeoutMs = 10_000) =>
      waitFor(
        () => {
          const mine = Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) ?? 0
          return client.savedStateVector !== null && (client.savedStateVector.get(doc.clientID) ?? 0) >= mine
        },
        `client ${doc.clientID} saved`,
        timeoutMs,
      ),
    destroy: () => {
      provider.destroy()
      doc.destroy()
    },
  }
  if (chorus) {
    provider.messageHandlers[MessageType.SavedState] = (_encoder, decoder: decoding.Decoder) => {
      client.savedStateVector = Y.decodeStateVector(decoding.readVarUint8Array(decoder))
    }
  }
  return client
}

export function whenSynced(client: TestClient, timeoutMs = 10_000): Promise<void> {
  return waitFor(() => client.provider.synced, `provider of ${client.doc.clientID} synced`, timeoutMs)
}
