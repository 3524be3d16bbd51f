/**
 * Real parts for integration tests: a Chorus sync server in this process on a free port with a
 * LevelDB in a temporary folder, and real y-websocket clients connected to it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { DEFAULT_CONFIG, type ServerConfig } from '../../server/config.ts'
import { startServer, type RunningServer } from '../../server/compose.ts'
import { silentLogger, type Logger } from '../../server/ops/logger.ts'
import { CHORUS_PROTOCOL_PARAM, CHORUS_PROTOCOL_VERSION, MessageType } from '../../lib/protocol.ts'
import { clockOf, decodeSavedStatePayload } from '../../lib/state-vector.ts'
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
  { chorus = true, doc = new Y.Doc(), ca }: { chorus?: boolean; doc?: Y.Doc; ca?: string[] } = {},
): TestClient {
  const provider = new WebsocketProvider(wsUrl, docId, doc, {
    WebSocketPolyfill: (ca ? trustingWebSocket(ca) : WebSocket) as unknown as typeof globalThis.WebSocket,
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
          return client.savedStateVector !== null && (client.savedStateVector.get(doc.clientID) ?? 0) >= clockOf(doc)
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
    provider.messageHandlers[MessageType.SavedState] = (_encoder, decoder) => {
      client.savedStateVector = decodeSavedStatePayload(decoder)
    }
  }
  return client
}

/** ws trusting these certificates, for wss to a server with a self-signed one. */
export function trustingWebSocket(ca: string[]) {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { ca })
    }
  }
}

export function whenSynced(client: TestClient, timeoutMs = 10_000): Promise<void> {
  return waitFor(() => client.provider.synced, `provider of ${client.doc.clientID} synced`, timeoutMs)
}

export interface RawSocket {
  ws: WebSocket
  /** Every frame received, in order. */
  frames: Buffer[]
  closed: Promise<{ code: number; reason: string }>
}

/**
 * What one test starts (servers, clients, raw sockets), stopped after it in reverse order:
 *
 *   const scope = new TestScope()
 *   afterEach(() => scope.cleanup())
 *   const server = await scope.serverWith({ maxDocumentBytes: 4096 })
 */
export class TestScope {
  private readonly cleanups: (() => unknown)[] = []

  /** Runs `cleanup` after the test, before whatever was deferred earlier. */
  readonly defer = (...cleanups: (() => unknown)[]): void => {
    this.cleanups.push(...cleanups)
  }

  readonly cleanup = async (): Promise<void> => {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup()
  }

  /** A server in this process, on a free port and a fresh LevelDB, with these settings. */
  readonly serverWith = async (overrides: Partial<ServerConfig> = {}, logger?: Logger): Promise<TestServer> => {
    const temp = await makeTempDir()
    const server = await startTestServer(temp.dir, overrides, logger)
    this.defer(
      () => temp.remove(),
      () => server.close(),
    )
    return server
  }

  readonly client = (server: TestServer, docId: string, options?: Parameters<typeof connectClient>[2]): TestClient => {
    const client = connectClient(server.wsUrl, docId, options)
    this.defer(() => client.destroy())
    return client
  }

  /** A bare WebSocket, open, that records what it receives and how it was closed. */
  readonly rawSocket = async (url: string, options: WebSocket.ClientOptions = {}): Promise<RawSocket> => {
    const ws = new WebSocket(url, options)
    const frames: Buffer[] = []
    ws.on('message', (data: Buffer) => frames.push(data))
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    )
    this.defer(() => ws.terminate())
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return { ws, frames, closed }
  }
}
