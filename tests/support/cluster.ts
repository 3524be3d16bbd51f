/**
 * Several Chorus instances in this process, each with its own sockets, documents and Redis
 * connections, over one shared in-memory database (shared-store.ts: the stand-in for PostgreSQL
 * until that store lands; then these tests can run the instances as separate processes).
 */
import type * as Y from 'yjs'
import { startServer, type RunningServer } from '../../server/compose.ts'
import type { RelayOptions } from '../../server/cluster/document-relay.ts'
import { DEFAULT_CONFIG, type ServerConfig } from '../../server/config.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import { connectClient, type TestClient } from './sync-harness.ts'
import type { SharedDatabase, SharedStoreInstance } from './shared-store.ts'
import { waitFor } from './wait-for.ts'

export interface Instance {
  readonly server: RunningServer
  readonly store: SharedStoreInstance
  readonly wsUrl: string
  readonly name: string
  close(): Promise<void>
}

export async function startInstance(
  db: SharedDatabase,
  redisUrl: string,
  name: string,
  overrides: Partial<ServerConfig> = {},
  relay?: Partial<RelayOptions>,
  { waitForRedis = true } = {},
): Promise<Instance> {
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    host: '127.0.0.1',
    rateLimitMessagesPerSecond: 0,
    rateLimitBytesPerSecond: 0,
    stopTimeoutMs: 2000,
    commitDelayMs: 5,
    redisUrl,
    ...overrides,
  }
  const store = db.instance()
  const server = await startServer({ config, logger: silentLogger, store, relay })
  if (waitForRedis) await waitFor(() => server.cluster?.connected === true, `instance ${name} connected to Redis`)
  return { server, store, wsUrl: `ws://127.0.0.1:${server.port}/sync`, name, close: () => server.close().catch(() => {}) }
}

/** A stock y-websocket client (with Chorus's Saved messages) that shows itself as `name`. */
export function person(instance: Instance, docId: string, name: string): TestClient {
  const client = connectClient(instance.wsUrl, docId)
  client.provider.awareness.setLocalStateField('user', { name, color: '#3355ff' })
  return client
}

/** The names this client sees present (its own included). */
export function namesSeenBy(client: TestClient): string[] {
  const names: string[] = []
  for (const state of client.provider.awareness.getStates().values()) {
    const name = (state as { user?: { name?: string } }).user?.name
    if (name) names.push(name)
  }
  return names.sort()
}

export function text(client: TestClient | Y.Doc): string {
  return ('doc' in client ? client.doc : client).getText('t').toString()
}

/** Types `token` at the end of the client's text. */
export function type(client: TestClient, token: string): void {
  const t = client.doc.getText('t')
  t.insert(t.length, token)
}

export async function allSee(clients: TestClient[], expected: (text: string) => boolean, what: string, timeoutMs = 10_000) {
  await waitFor(() => clients.every((client) => expected(text(client))), what, timeoutMs)
}

export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1
}
