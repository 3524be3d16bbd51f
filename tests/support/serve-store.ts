/**
 * A real Chorus server (the composition root, without the app) over a given store, on a free
 * loopback port: real sockets and real y-websocket clients around a store whose faults a test
 * injects (server/storage/memory-store.ts). The real LevelDB behaviour is tested on a real small
 * disk (full-disk.test.ts).
 */
import { DEFAULT_CONFIG, type ServerConfig } from '../../server/config.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import type { DocumentStore, VersionStore, ViewLinkStore } from '../../server/storage/document-store.ts'
import type { SyncEndpoint } from '../../server/transport/sync-endpoint.ts'
import { startServer, type RunningServer } from '../../server/compose.ts'

export interface StoreServer {
  readonly sync: SyncEndpoint
  readonly server: RunningServer
  readonly wsUrl: string
  close(): Promise<void>
}

export async function serveStore(
  store: DocumentStore & ViewLinkStore & VersionStore,
  overrides: Partial<ServerConfig> = {},
): Promise<StoreServer> {
  const config = {
    ...DEFAULT_CONFIG,
    port: 0,
    host: '127.0.0.1',
    rateLimitMessagesPerSecond: 0,
    rateLimitBytesPerSecond: 0,
    stopTimeoutMs: 1000,
    ...overrides,
  }
  const server = await startServer({ config, logger: silentLogger, store })
  return {
    sync: server.sync,
    server,
    wsUrl: `ws://127.0.0.1:${server.port}/sync`,
    // A store made to fail can hold a graceful stop until its timeout; that is not this test's subject.
    close: () => server.close().catch(() => {}),
  }
}
