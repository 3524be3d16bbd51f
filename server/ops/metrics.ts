/**
 * `/metrics` in the Prometheus text format (prom-client). Every metric is listed, with its type
 * and meaning, in docs/metrics.md; docs/grafana-dashboard.json is built on these names.
 *
 * Where the figures come from, so that the hot paths pay nothing for them:
 *   - gauges (connections, open documents, unstored updates, store lag) are read when scraped;
 *   - the transport's plain counters (traffic.ts) are copied when scraped;
 *   - document events (document-events.ts) and the store's synced batches (LevelDbStore.onBatch)
 *     arrive at most once per record or batch, and are counted as they come.
 * Labels come from fixed sets: never a document id, a view id or an address.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'
import type { DocumentRegistry } from '../document/document-registry.ts'
import type { DocumentStore } from '../storage/document-store.ts'
import type { StoreBatch } from '../storage/leveldb-store.ts'
import { MESSAGE_KINDS, type MessageCounts } from '../transport/traffic.ts'
import type { SyncEndpoint } from '../transport/sync-endpoint.ts'
import type { Health } from './health.ts'
import type { DocumentRelay } from '../cluster/document-relay.ts'
import { EXIT_BUSY, EXIT_CONFIG, StartupFailure } from './startup-failure.ts'

export const METRICS_PATH = '/metrics'

/** A store that reports its synced batches (LevelDbStore does; an in-memory store need not). */
interface BatchReporting {
  onBatch(observer: (batch: StoreBatch) => void): void
}

function reportsBatches(store: DocumentStore): store is DocumentStore & BatchReporting {
  return typeof (store as Partial<BatchReporting>).onBatch === 'function'
}

export interface MetricsSources {
  documents: DocumentRegistry
  sync: SyncEndpoint
  store: DocumentStore
  health: Health
  /** The cluster relay, with REDIS_URL. */
  cluster?: DocumentRelay | null
}

// prom-client's index loads all of it (the push gateway, cluster aggregation, default metrics):
// 57 ms of every start. The four classes a server uses load in 7 ms, and the default metrics only
// with the first scrape (see processMetrics). These are prom-client 15's files; a release that moved
// them would fail every start, and so the tests.
const load = createRequire(import.meta.url)
const Registry: typeof PromClient.Registry = load('prom-client/lib/registry.js')
const Counter: typeof PromClient.Counter = load('prom-client/lib/counter.js')
const Gauge: typeof PromClient.Gauge = load('prom-client/lib/gauge.js')
const Histogram: typeof PromClient.Histogram = load('prom-client/lib/histogram.js')
type Registry = PromClient.Registry

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * The Node process's own metrics (event loop, GC, heap, CPU), one set per process: each set
 * installs observers that are never removed, and a test process starts many servers.
 *
 * They start with the first scrape, not with the server: measuring the event-loop delay wakes the
 * process every 10 ms, which costs an idle server most of its CPU (5.7 of 7.7 ms a second) and a
 * laptop its sleep, for figures that nobody may ever read. The first scrape waits a few of those
 * samples, so that its event-loop figures are readings rather than an empty histogram's.
 */
const EVENT_LOOP_FIRST_SAMPLES_MS = 100
let processRegistry: Promise<Registry> | null = null
function processMetrics(): Promise<Registry> {
  processRegistry ??= (async () => {
    const registry = new Registry()
    const collectDefaultMetrics: typeof PromClient.collectDefaultMetrics = load('prom-client/lib/defaultMetrics.js')
    collectDefaultMetrics({ register: registry })
    await new Promise((resolve) => setTimeout(resolve, EVENT_LOOP_FIRST_SAMPLES_MS))
    return registry
  })()
  return processRegistry
}

export class Metrics {
  /** This server's metrics. */
  private readonly registry = new Registry()
  /** What /metrics answers: the process's metrics and this server's (from the first scrape). */
  private exposed: Promise<Registry> | null = null
  private readonly unsubscribe: (() => void)[] = []

  constructor(
    { documents, sync, store, health, cluster }: MetricsSources,
    private readonly token: string | undefined,
  ) {
    const registers = [this.registry]

    // --- Connections and documents, read when scraped.
    new Gauge({
      name: 'chorus_connections',
      help: 'Open WebSocket connections, by role (editor: read-write; viewer: through a view link).',
      labelNames: ['role'],
      registers,
      collect() {
        const { editors, viewers } = sync.connectionsByRole()
        this.set({ role: 'editor' }, editors)
        this.set({ role: 'viewer' }, viewers)
      },
    })
    new Gauge({
      name: 'chorus_documents_open',
      help: 'Documents in memory (open, loading, or storing before they unload).',
      registers,
      collect() {
        this.set(documents.size)
      },
    })

    // --- Messages in and out, copied from the transport's counters when scraped.
    messageCounters(registers, 'received', 'from clients', sync.traffic.received)
    messageCounters(registers, 'sent', 'to clients (a relayed update counts once per receiver)', sync.traffic.sent)
    new Counter({
      name: 'chorus_refusals_total',
      help: 'WebSocket upgrades refused, by HTTP status and reason code (see docs/metrics.md).',
      labelNames: ['status', 'reason'],
      registers,
      collect() {
        this.reset()
        for (const { status, code, count } of sync.traffic.refusals.values())
          this.inc({ status: String(status), reason: code }, count)
      },
    })
    new Counter({
      name: 'chorus_closes_total',
      help: 'WebSocket connections closed, by close code (1012: server restart; 1006: dropped; "other": a code outside the known set).',
      labelNames: ['code'],
      registers,
      collect() {
        this.reset()
        for (const [code, count] of sync.traffic.closes) this.inc({ code }, count)
      },
    })
    new Counter({
      name: 'chorus_ignored_messages_total',
      help: 'Messages let pass without effect (text frames, unknown message types, empty updates).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset()
        for (const [kind, count] of Object.entries(sync.ignoredMessages.byKind)) this.inc({ kind }, count)
      },
    })

    // --- Documents, counted from their events.
    const events = documents.events
    // Updates are counted in plain numbers and handed to prom-client when scraped: these events
    // come once per batch of every document, and a labelled inc() hashes its labels every time.
    // Present from the start (client at 0), so that rate() and increase() see the first update.
    const appliedByOrigin = new Map<string, { updates: number; bytes: number }>([['client', { updates: 0, bytes: 0 }]])
    const stored = { updates: 0, bytes: 0 }
    this.unsubscribe.push(
      events.on('applied', ({ origin, updates, bytes }) => {
        let counts = appliedByOrigin.get(origin)
        if (!counts) appliedByOrigin.set(origin, (counts = { updates: 0, bytes: 0 }))
        counts.updates += updates
        counts.bytes += bytes
      }),
    )
    new Counter({
      name: 'chorus_updates_applied_total',
      help: 'Updates that changed a document (duplicates a reconnecting client resends are not counted), by origin.',
      labelNames: ['origin'],
      registers,
      collect() {
        this.reset()
        for (const [origin, counts] of appliedByOrigin) this.inc({ origin }, counts.updates)
      },
    })
    new Counter({
      name: 'chorus_applied_bytes_total',
      help: 'Bytes of the updates counted in chorus_updates_applied_total.',
      labelNames: ['origin'],
      registers,
      collect() {
        this.reset()
        for (const [origin, counts] of appliedByOrigin) this.inc({ origin }, counts.bytes)
      },
    })
    new Counter({
      name: 'chorus_stored_updates_total',
      help: 'Updates durably stored (synced to disk).',
      registers,
      collect() {
        this.reset()
        this.inc(stored.updates)
      },
    })
    new Counter({
      name: 'chorus_stored_bytes_total',
      help: 'Bytes of the updates durably stored.',
      registers,
      collect() {
        this.reset()
        this.inc(stored.bytes)
      },
    })
    const recordSeconds = new Histogram({
      name: 'chorus_store_record_duration_seconds',
      help: 'Per log record: from handing it to the store until it was synced (includes COMMIT_DELAY_MS and waiting for the batch before it).',
      // Finer around the default commit delay (50 ms), where most records land.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.06, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.unsubscribe.push(
      events.on('stored', ({ ms, updates, bytes }) => {
        stored.updates += updates
        stored.bytes += bytes
        recordSeconds.observe(ms / 1000)
      }),
    )
    const storeFailures = new Counter({
      name: 'chorus_store_failures_total',
      help: 'Log records that failed to store (they are kept in memory and retried).',
      registers,
    })
    events.on('store-failed', () => storeFailures.inc())
    const compactions = new Counter({
      name: 'chorus_compactions_total',
      help: 'Log compactions into a new snapshot, by result (ok, failed).',
      labelNames: ['result'],
      registers,
    })
    compactions.inc({ result: 'ok' }, 0)
    compactions.inc({ result: 'failed' }, 0)
    const compactionSeconds = new Histogram({
      name: 'chorus_compaction_duration_seconds',
      help: 'Successful compactions: encoding the snapshot and writing it.',
      buckets: SECONDS_BUCKETS,
      registers,
    })
    events.on('compacted', ({ ms }) => {
      compactions.inc({ result: 'ok' })
      compactionSeconds.observe(ms / 1000)
    })
    events.on('compaction-failed', () => compactions.inc({ result: 'failed' }))
    const loads = new Counter({
      name: 'chorus_document_loads_total',
      help: 'Documents loaded from storage, by result (ok; failed: worth a retry; damaged: refused until repaired).',
      labelNames: ['result'],
      registers,
    })
    for (const result of ['ok', 'failed', 'damaged']) loads.inc({ result }, 0)
    events.on('loaded', () => loads.inc({ result: 'ok' }))
    events.on('load-failed', ({ damaged }) => loads.inc({ result: damaged ? 'damaged' : 'failed' }))
    const quarantined = new Counter({
      name: 'chorus_documents_quarantined_total',
      help: 'Documents reloaded from disk because an update that passed the check failed to apply.',
      registers,
    })
    events.on('quarantined', () => quarantined.inc())

    // --- Storage, read when scraped.
    new Gauge({
      name: 'chorus_unstored_updates',
      help: 'Updates applied but not yet durably stored, over all open documents.',
      registers,
      collect() {
        this.set(documents.unstored().updates)
      },
    })
    new Gauge({
      name: 'chorus_store_lag_seconds',
      help: 'Age of the oldest applied update not yet durably stored (0 when everything is stored). While a write has failed, counted from the oldest update waiting then.',
      registers,
      collect() {
        this.set(documents.storeLagMs(performance.now()) / 1000)
      },
    })
    new Gauge({
      name: 'chorus_storage_failing',
      help: '1 while storage fails (from the first failed write until the store is reopened and verified), else 0.',
      registers,
      collect() {
        this.set(store.health === 'failing' ? 1 : 0)
      },
    })
    new Gauge({
      name: 'chorus_stopping',
      help: '1 from the stop signal on (draining, then storing): readiness answers 503.',
      registers,
      collect() {
        this.set(health.isStopping ? 1 : 0)
      },
    })

    if (cluster) clusterMetrics(registers, cluster)

    // --- The store's synced batches (group commit: one fsync for many records).
    if (reportsBatches(store)) {
      const batchSeconds = new Histogram({
        name: 'chorus_store_batch_duration_seconds',
        help: 'Synced LevelDB batches: from handing the batch to LevelDB until fsync returned.',
        buckets: SECONDS_BUCKETS,
        registers,
      })
      const batchWrites = new Histogram({
        name: 'chorus_store_batch_writes',
        help: 'Writes joined in one synced batch (log records of any documents, compactions, view links).',
        buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
        registers,
      })
      const batchBytes = new Histogram({
        name: 'chorus_store_batch_bytes',
        help: 'Bytes (keys and values) written in one synced batch.',
        buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
        registers,
      })
      const batchFailures = new Counter({
        name: 'chorus_store_batch_failures_total',
        help: 'Synced batches LevelDB refused.',
        registers,
      })
      store.onBatch(({ ms, writes, bytes, ok }) => {
        batchSeconds.observe(ms / 1000)
        batchWrites.observe(writes)
        batchBytes.observe(bytes)
        if (!ok) batchFailures.inc()
      })
    }
  }

  /** Serves /metrics: 401 without the token when METRICS_TOKEN is set. */
  handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' })
      response.end('Method not allowed\n')
      return
    }
    if (this.token !== undefined && !bearerMatches(request.headers.authorization, this.token)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer realm="chorus-metrics"', 'content-type': 'text/plain' })
      response.end('Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n')
      return
    }
    // Merged once, at the first scrape: the merged registry holds the metrics registered by then.
    this.exposed ??= processMetrics().then((node) => Registry.merge([node, this.registry]))
    this.exposed
      .then((exposed) => exposed.metrics())
      .then(
        (text) => {
          response.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' })
          response.end(request.method === 'HEAD' ? undefined : text)
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' })
          response.end(`metrics failed: ${(error as Error).message}\n`)
        },
      )
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe()
  }
}

/** `/metrics` on a port of its own (METRICS_PORT): nothing else is served there. */
export async function listenMetrics(
  metrics: Metrics,
  port: number,
  host: string | undefined,
): Promise<{ http: http.Server; port: number }> {
  const server = http.createServer((request, response) => {
    if (request.url?.split('?', 1)[0] === METRICS_PATH) return metrics.handle(request, response)
    response.writeHead(404, { 'content-type': 'text/plain' })
    response.end(`Not found: this port serves ${METRICS_PATH} only\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      // Otherwise the start would blame PORT (see startup-failure.ts).
      if (error.code === 'EADDRINUSE') {
        reject(
          new StartupFailure(
            `METRICS_PORT ${port} is already in use by another program; set METRICS_PORT to a free port`,
            EXIT_BUSY,
          ),
        )
      } else if (error.code === 'EACCES') {
        reject(
          new StartupFailure(`no permission to listen on METRICS_PORT ${port}; ports below 1024 need privileges`, EXIT_CONFIG),
        )
      } else {
        reject(error)
      }
    })
    server.listen(port, host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  return { http: server, port: (server.address() as AddressInfo).port }
}

function messageCounters(registers: Registry[], direction: 'received' | 'sent', whom: string, counts: MessageCounts): void {
  new Counter({
    name: `chorus_messages_${direction}_total`,
    help: `WebSocket messages ${direction} ${whom}, by kind (sync-update and sync-step2 carry updates; awareness carries carets and presence).`,
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset()
      for (const kind of MESSAGE_KINDS) this.inc({ kind }, counts.messages(kind))
    },
  })
  new Counter({
    name: `chorus_${direction}_bytes_total`,
    help: `Bytes of the messages in chorus_messages_${direction}_total (WebSocket payloads, without frame headers), by kind.`,
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset()
      for (const kind of MESSAGE_KINDS) this.inc({ kind }, counts.bytes(kind))
    },
  })
}

/** Compares in constant time (hashes first, so the lengths match too). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (!match) return false
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(match[1]), digest(token))
}

/** With REDIS_URL: whether this instance reaches the others, and what went between them. */
function clusterMetrics(registers: Registry[], cluster: DocumentRelay): void {
  new Gauge({
    name: 'chorus_redis_connected',
    help: '1 while connected to Redis and subscribed; 0 while Redis is unavailable (readiness says "degraded").',
    registers,
    collect() {
      this.set(cluster.connected ? 1 : 0)
    },
  })
  new Gauge({
    name: 'chorus_cluster_peers',
    help: 'Other instances heard from within the heartbeat expiry.',
    registers,
    collect() {
      this.set(cluster.peerCount)
    },
  })
  new Counter({
    name: 'chorus_cluster_messages_total',
    help: 'Cluster messages by outcome: published, unpublished (Redis away; reconciled later), received, rejected (unreadable or refused), reconciled (brought something new).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset()
      for (const [outcome, count] of Object.entries(cluster.counts)) this.inc({ outcome }, count)
    },
  })
}
