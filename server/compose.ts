/**
 * The composition root: builds the server's parts from the config, wires them together, and
 * takes them apart again in order on a graceful stop. Nothing else constructs these parts.
 *
 *   storage     the store: PostgreSQL with DATABASE_URL, else LevelDB in DATA_DIR (or one passed
 *               in, e.g. a test's in-memory store)
 *   document    the registry of open documents, the view links
 *   transport   the sync endpoint (WebSocket upgrades → connections), the HTTP server
 *   cluster     with REDIS_URL, the relay between instances (server/cluster/)
 *   access      with OIDC_* or AUTH_JWT_*, who may open what (server/access/): checked by the
 *               sync endpoint before the first byte, changed through the access API, and every
 *               change re-checked on open sockets here and, through the relay, on other instances
 *   ops         health and readiness, metrics (on the main port or METRICS_PORT)
 */
import https from 'node:https'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServerConfig } from './config.ts'
import { DocumentRegistry, documentOptionsFrom } from './document/document-registry.ts'
import { ViewLinks } from './document/view-links.ts'
import { DocumentHistory } from './document/history.ts'
import { Health } from './ops/health.ts'
import { listenMetrics, Metrics } from './ops/metrics.ts'
import type { Logger } from './ops/logger.ts'
import type { DocumentStore, VersionStore, ViewLinkStore } from './storage/document-store.ts'
import { LevelDbStore } from './storage/leveldb-store.ts'
import { listen, type AppHandler } from './transport/http-server.ts'
import { SyncEndpoint } from './transport/sync-endpoint.ts'
import type http from 'node:http'
import { logCertificate, readTlsCredentials, tlsReloader, TlsFileError } from './transport/tls.ts'
import { EXIT_CONFIG, EXIT_FAILED, StartupFailure } from './ops/startup-failure.ts'
import type { DocumentRelay, RelayOptions } from './cluster/document-relay.ts'
import { REDIS_NEEDS_SHARED_STORE } from './config.ts'
import { AccessControl } from './access/access-control.ts'
import { AccessApi } from './access/access-api.ts'
import type { OidcSignIn } from './access/oidc.ts'
import { DocumentAccessRegistry } from './access/document-access.ts'
import type { DocumentAccess } from './access/permissions.ts'
import type { Sessions } from './access/sessions.ts'
import type { TokenVerifier } from './access/tokens.ts'
import { isAccessStore } from './storage/document-store.ts'
import { MemoryStore } from './storage/memory-store.ts'

/**
 * The checkout (where package.json and the Next app are): above server/ when run from the sources,
 * above .build/server/<build>/ when run from the bundle (scripts/build-server.mjs).
 */
export const PROJECT_ROOT = projectRoot(path.dirname(fileURLToPath(import.meta.url)))

function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(from, '..')
  }
}

export interface StartOptions {
  config: ServerConfig
  logger: Logger
  /** Serve the Next.js app too; `dev` runs it with hot reload. */
  next?: { dev: boolean }
  /** The store to serve from; by default a LevelDB store in `config.dataDir`. */
  store?: DocumentStore & ViewLinkStore & VersionStore
  /** With REDIS_URL: the relay's timings, when not the defaults (tests shorten them). */
  relay?: Partial<RelayOptions>
}

export interface RunningServer {
  readonly http: http.Server
  readonly sync: SyncEndpoint
  readonly documents: DocumentRegistry
  readonly history: DocumentHistory
  readonly health: Health
  readonly metrics: Metrics
  /** With REDIS_URL: the relay to the other instances. */
  readonly cluster: DocumentRelay | null
  /** Where /metrics is served: METRICS_PORT's actual port, or `port`. */
  readonly metricsPort: number
  readonly port: number
  /** http://host:port, or https://host:port with TLS */
  readonly url: string
  /**
   * With TLS: reads the certificate and key files again and serves new connections with them;
   * open ones are kept. Resolves false (and logs why) when the new files are refused, in which
   * case the previous certificate is still served. Undefined without TLS.
   */
  readonly reloadTls: (() => Promise<boolean>) | undefined
  /**
   * Graceful stop: no new connections, everything stored, sockets closed with 1012. Waits for
   * storage at most `stopTimeoutMs`, then rejects with StopTimeoutError.
   */
  close(): Promise<void>
}

/** A graceful stop that gave up waiting for storage (STOP_TIMEOUT_MS). */
export class StopTimeoutError extends Error {
  override name = 'StopTimeoutError'
  constructor(message: string) {
    super(message)
    // The log line says what was not stored; where in our code the timer fired says nothing.
    this.stack = `${this.name}: ${message}`
  }
}

export async function startServer({ config, logger, next, store: givenStore, relay }: StartOptions): Promise<RunningServer> {
  // First, so that a bad certificate stops the start (before the store opens), not every handshake.
  const tls = config.tls ? await readTlsCredentials(config.tls).catch(asStartupFailure) : undefined
  // Each instance would serve its own copy of every document; loadConfig says so too.
  if (config.redisUrl && !givenStore && !config.databaseUrl) throw new StartupFailure(REDIS_NEEDS_SHARED_STORE, EXIT_CONFIG)
  const store = givenStore ?? (await openStore(config, logger))
  const documents = new DocumentRegistry(store, documentOptionsFrom(config), logger)
  store.onHealthChange((health) => documents.storageHealthChanged(health))
  if (config.redisUrl && store instanceof LevelDbStore) {
    await store.close()
    throw new StartupFailure(REDIS_NEEDS_SHARED_STORE, EXIT_CONFIG)
  }
  // PostgreSQL's and Redis's clients are loaded only by servers configured to use them.
  const cluster = config.redisUrl ? await startRelay(config.redisUrl, config.redisCluster, documents, logger, relay) : null
  const history = new DocumentHistory(
    documents,
    store,
    { pauseMs: config.historyPauseMs, maxMs: config.historyMaxIntervalMs },
    logger.child({ component: 'history' }),
  )
  const viewLinks = new ViewLinks(store, (docId, viewId) => {
    sync.disconnectViewers(docId, viewId)
    cluster?.viewLinkReset(docId, viewId)
  })
  const access = await buildAccess(config, store, documents, (docId, changed) => {
    sync.reassess(docId, changed)
    cluster?.publishAccessChanged(docId)
  })
  if (cluster && access.registry) {
    const { registry } = access
    cluster.onAccessChanged = (docId) => {
      registry.get(docId).then(
        (changed) => changed && sync.reassess(docId, changed),
        (error: unknown) => logger.error('could not read changed access', { doc: docId, error }),
      )
    }
  }
  const sync = new SyncEndpoint(config, documents, viewLinks, logger, access.control)
  if (cluster) {
    cluster.viewers = {
      close: (docId, viewId) => sync.disconnectViewers(docId, viewId),
      recheck: () => void sync.recheckViewers(),
    }
  }
  const health = new Health(store, documents, sync, cluster)
  const metrics = new Metrics({ documents, sync, store, health, cluster }, config.metricsToken)
  const ownPort = config.metricsPort !== 0
  const app = next ? await startNextApp(config, next.dev) : null
  const accessApi = new AccessApi({
    config: config.access,
    allowedOrigins: config.allowedOrigins,
    control: access.control,
    sessions: access.sessions,
    oidc: access.oidc,
    registry: access.registry,
    logger: logger.child({ component: 'access' }),
  })
  const server = await listen(
    config,
    { health, sync, viewLinks, history, logger, app, metrics: ownPort ? null : metrics, accessApi },
    tls,
  ).catch(async (error: unknown) => {
    await cluster?.close()
    throw error
  })
  if (tls) logCertificate(logger, 'serving https and wss', tls.certificate)
  const metricsServer = ownPort
    ? await listenMetrics(metrics, config.metricsPort, config.host).catch(async (error: unknown) => {
        await new Promise((resolve) => server.http.close(resolve))
        await cluster?.close()
        throw error
      })
    : null
  const url = `http://${config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost'}:${server.port}`

  let closing: Promise<void> | null = null
  return {
    http: server.http,
    sync,
    documents,
    history,
    health,
    metrics,
    cluster,
    metricsPort: metricsServer?.port ?? server.port,
    port: server.port,
    url: tls ? url.replace(/^http:/, 'https:') : url,
    reloadTls: config.tls && server.http instanceof https.Server ? tlsReloader(server.http, config.tls, logger) : undefined,
    close() {
      closing ??= (async () => {
        health.markStopping()
        store.commitPromptly()
        const stopped = new Promise<void>((resolve) => server.http.close(() => resolve()))
        let timer: NodeJS.Timeout | undefined
        const stored = await Promise.race([
          sync
            .close()
            .then(() => documents.storeAll())
            // Pending edits become a version while the store is still open.
            .then(() => history.close())
            .then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), config.stopTimeoutMs))),
        ])
        clearTimeout(timer)
        // After the clients have gone: their presence removals went out through it.
        await cluster?.close()
        const unstored = stored ? null : documents.unstored()
        if (unstored) {
          logger.error('STOP TIMED OUT: could not store everything; the editors still hold it and resend it on reconnect', {
            timeoutMs: config.stopTimeoutMs,
            storage: store.health,
            documents: unstored.documents,
            updates: unstored.updates,
          })
        } else {
          await store.close()
        }
        server.http.closeIdleConnections()
        await app?.close()
        server.http.closeAllConnections()
        await stopped
        metrics.close()
        if (metricsServer) {
          metricsServer.http.closeAllConnections()
          await new Promise((resolve) => metricsServer.http.close(resolve))
        }
        if (unstored) {
          throw new StopTimeoutError(
            `stopped after ${config.stopTimeoutMs} ms without storing ${unstored.updates} updates of ${unstored.documents} documents`,
          )
        }
      })()
      return closing
    },
  }
}

/** Sign-in and tokens (server/access/), when configured; with neither, the link is the key. */
async function buildAccess(
  config: ServerConfig,
  store: DocumentStore,
  documents: DocumentRegistry,
  onChange: (docId: string, access: DocumentAccess) => void,
): Promise<{
  control: AccessControl
  sessions: Sessions | null
  oidc: OidcSignIn | null
  registry: DocumentAccessRegistry | null
}> {
  const { access } = config
  // jose and openid-client are loaded only by a server configured for tokens or sign-in.
  const tokens: TokenVerifier | null = access.jwt ? new (await import('./access/tokens.ts')).TokenVerifier(access.jwt) : null
  const secure = config.tls !== undefined || access.publicUrl?.startsWith('https:') === true
  const sessions: Sessions | null = access.oidc
    ? new (await import('./access/sessions.ts')).Sessions(access.sessionSecret, secure)
    : null
  const oidc: OidcSignIn | null =
    access.oidc && access.publicUrl ? new (await import('./access/oidc.ts')).OidcSignIn(access.oidc, access.publicUrl) : null
  // Stores made for tests of other things may not keep access; those keep it in memory.
  const registry = access.oidc
    ? new DocumentAccessRegistry(
        isAccessStore(store) ? store : new MemoryStore(),
        onChange,
        // An open document is never loaded again beside its registry: the PostgreSQL store keeps
        // per-document bookkeeping from the load it serves from. Open without an access record, it
        // can only be an old document whose public link let someone in.
        async (docId) => documents.get(docId) !== undefined || (await store.load(docId)).updates.length > 0,
        access.allowPublicLinks,
      )
    : null
  return { control: new AccessControl(access, tokens, sessions, registry), sessions, oidc, registry }
}

async function startRelay(
  redisUrl: string,
  redisCluster: boolean,
  documents: DocumentRegistry,
  logger: Logger,
  options: Partial<RelayOptions> | undefined,
): Promise<DocumentRelay> {
  const { DEFAULT_RELAY_OPTIONS, DocumentRelay } = await import('./cluster/document-relay.ts')
  const relay = new DocumentRelay(
    redisUrl,
    documents,
    logger.child({ component: 'cluster' }),
    { ...DEFAULT_RELAY_OPTIONS, ...options },
    { cluster: redisCluster },
  )
  relay.start()
  return relay
}

async function openStore(config: ServerConfig, logger: Logger): Promise<DocumentStore & ViewLinkStore & VersionStore> {
  if (!config.databaseUrl) return LevelDbStore.open(config.dataDir, { commitDelayMs: config.commitDelayMs, logger })
  const { PostgresConnectError, PostgresStore } = await import('./storage/postgres-store.ts')
  try {
    return await PostgresStore.open(config.databaseUrl, { commitDelayMs: config.commitDelayMs, logger })
  } catch (error) {
    // Wrong credentials or database name stay wrong (2); a database that is down may come back (1).
    if (error instanceof PostgresConnectError)
      throw new StartupFailure(error.message, error.isConfiguration ? EXIT_CONFIG : EXIT_FAILED)
    throw error
  }
}

async function startNextApp(config: ServerConfig, dev: boolean): Promise<AppHandler> {
  const { default: createNextApp } = await import('next')
  const app = createNextApp({ dev, dir: PROJECT_ROOT, hostname: config.host, port: config.port })
  await app.prepare()
  return { dev, handle: app.getRequestHandler(), close: () => app.close() }
}

function asStartupFailure(error: unknown): never {
  if (error instanceof TlsFileError) throw new StartupFailure(error.message, EXIT_CONFIG)
  throw error
}
