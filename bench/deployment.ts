/**
 * What the cluster scenarios run against: the instances of one server kind, each its own process
 * (bench/servers.ts), with the services they share (bench/services.ts), and where a client
 * connects.
 *
 *   chorus-postgres, hocuspocus           one instance on a fresh database (the baselines)
 *   chorus-cluster                        3 Chorus instances on one fresh PostgreSQL database,
 *                                         connected through Redis; ready once each says so on /readyz
 *   hocuspocus-cluster                    3 Hocuspocus instances on one fresh database, with
 *                                         @hocuspocus/extension-redis on the same Redis
 *
 * No load balancer sits in between: the bench places each client on an instance itself, as the
 * balancer would. Round robin for "any balancing"; by document for what docs/deploy/haproxy.cfg
 * does (`balance uri` with `hash-type consistent`): every client of a document meets on one
 * instance, and when an instance dies only its documents move, spread over the others. Rendezvous
 * hashing has exactly those two properties and needs no ring, so it stands in for HAProxy's.
 */
import { createHash } from 'node:crypto'
import type { LoadPool } from './load-pool.ts'
import type { OpenResult, Protocol, SocketSpec } from './load-client.ts'
import type { MetricInfo, Metrics } from './scenario.ts'
import { isCluster, type ProcessUsage, ServerProcess, type ServerKind } from './servers.ts'
import { freshDatabase, redisUrl, servicesCpuSeconds } from './services.ts'
import { distribution, type Distribution } from './stats.ts'
import { type Layout, type Measured, runWritePhase, sleep } from './traffic.ts'

export const CLUSTER_SIZE = 3
const READY_TIMEOUT_MS = 30_000

export class Deployment implements Measured {
  private constructor(
    readonly kind: ServerKind,
    readonly instances: ServerProcess[],
    /** Whether Redis and PostgreSQL serve this deployment (their CPU is then reported). */
    private readonly usesServices: boolean,
  ) {}

  static async start(kind: ServerKind, size = CLUSTER_SIZE): Promise<Deployment> {
    if (!isCluster(kind)) {
      const server = await ServerProcess.launch(kind)
      return new Deployment(kind, [server], kind === 'chorus-postgres' || kind === 'hocuspocus')
    }
    const [database, redis] = await Promise.all([freshDatabase(), redisUrl()])
    const env = { DATABASE_URL: database, REDIS_URL: redis }
    const instanceKind = kind === 'chorus-cluster' ? 'chorus-postgres' : 'hocuspocus'
    const started = await Promise.allSettled(
      Array.from({ length: size }, () => ServerProcess.launch(instanceKind, { env: { ...env } })),
    )
    const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
    const deployment = new Deployment(kind, instances, true)
    const failure = started.find((s) => s.status === 'rejected')
    if (failure) {
      await deployment.cleanup()
      throw (failure as PromiseRejectedResult).reason
    }
    if (kind === 'chorus-cluster') await deployment.waitReady()
    return deployment
  }

  /** Until every instance is connected to Redis and its store accepts writes. */
  private async waitReady(): Promise<void> {
    const deadline = performance.now() + READY_TIMEOUT_MS
    for (const instance of this.instances) {
      for (;;) {
        const body = await fetch(`${instance.httpUrl}/readyz`)
          .then((response) => response.json() as Promise<{ status?: string }>)
          .catch(() => ({ status: 'unreachable' }))
        if (body.status === 'ready') break
        if (performance.now() > deadline) throw new Error(`instance on port ${instance.port} not ready: ${body.status}`)
        await sleep(50)
      }
    }
  }

  get protocol(): Protocol {
    return this.kind === 'hocuspocus' || this.kind === 'hocuspocus-cluster' ? 'hocuspocus' : 'y-websocket'
  }

  get live(): ServerProcess[] {
    return this.instances.filter((instance) => instance.running)
  }

  /** CPU and memory of the running instances together (CPU: seconds since each started). */
  usage(): ProcessUsage | null {
    const usages = this.live.map((instance) => instance.usage()).filter((u): u is ProcessUsage => u !== null)
    if (usages.length === 0) return null
    return {
      cpuSeconds: usages.reduce((n, u) => n + u.cpuSeconds, 0),
      mainThreadCpuSeconds: usages.reduce((n, u) => n + u.mainThreadCpuSeconds, 0),
      rssKiB: usages.reduce((n, u) => n + u.rssKiB, 0),
      hwmKiB: usages.reduce((n, u) => n + u.hwmKiB, 0),
    }
  }

  resetPeak(): void {
    for (const instance of this.live) instance.resetPeak()
  }

  /** The sum of each instance's own peak. */
  get sampledPeakKiB(): number {
    return this.instances.reduce((n, instance) => n + instance.sampledPeakKiB, 0)
  }

  servicesCpuSeconds(): { postgres: number | null; redis: number | null } {
    const cpu = servicesCpuSeconds()
    return this.usesServices
      ? { postgres: cpu.postgres, redis: isCluster(this.kind) ? cpu.redis : null }
      : { postgres: null, redis: null }
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.cleanup()))
  }
}

/** Where one socket connects: an index into the deployment's instances. */
export type Placement = (spec: SocketSpec, nth: number) => number

/** Every client to the next instance in turn, whatever its document ("any balancing"). */
export function roundRobin(size: number): Placement {
  return (_spec, nth) => nth % size
}

/**
 * All clients of a document to one instance, chosen among `candidates` (instance indexes) by
 * rendezvous hashing of the document's path.
 */
export function byDocument(candidates: number[]): Placement {
  return (spec) => instanceForDocument(spec.doc, candidates)
}

export function instanceForDocument(doc: string, candidates: number[]): number {
  let best = candidates[0]
  let bestScore = -1
  for (const candidate of candidates) {
    const score = createHash('sha1').update(`/sync/${doc}#${candidate}`).digest().readUInt32BE(0)
    if (score > bestScore) {
      best = candidate
      bestScore = score
    }
  }
  return best
}

export interface PlacedSocket {
  client: number
  spec: SocketSpec
  instance: number
}

/**
 * Each socket of the layout with the instance it goes to; `nth` counts the sockets client by
 * client, so round robin spreads the writers (all on the first load client) over the instances too.
 */
export function place(layout: Layout, placement: Placement): PlacedSocket[] {
  const placed: PlacedSocket[] = []
  let nth = 0
  layout.forEach((specs, client) => {
    for (const spec of specs) placed.push({ client, spec, instance: placement(spec, nth++) })
  })
  return placed
}

export interface PlacedOpen {
  sockets: number
  failed: number
  connect: Distribution
  /** When each socket synced (shared clock, see traffic.ts `now`; NaN: did not), in `placed` order. */
  syncedAt: number[]
}

/** Opens the placed sockets, each on its instance; resolves once all have synced or failed. */
export async function openPlaced(
  deployment: Deployment,
  pool: LoadPool,
  placed: PlacedSocket[],
  options: { concurrency?: number; timeoutMs?: number } = {},
): Promise<PlacedOpen> {
  const groups = new Map<string, { client: number; instance: number; indexes: number[] }>()
  placed.forEach((socket, index) => {
    const key = `${socket.client}/${socket.instance}`
    let group = groups.get(key)
    if (!group) groups.set(key, (group = { client: socket.client, instance: socket.instance, indexes: [] }))
    group.indexes.push(index)
  })
  const syncedAt = placed.map(() => NaN)
  const results = await Promise.all(
    [...groups.values()].map(async (group) => {
      const instance = deployment.instances[group.instance]
      const result: OpenResult = await pool.clients[group.client].open(
        instance.wsBase,
        group.indexes.map((i) => placed[i].spec),
        options.concurrency ?? 64,
        options.timeoutMs ?? 60_000,
        deployment.protocol,
      )
      group.indexes.forEach((placedIndex, i) => {
        syncedAt[placedIndex] = result.syncedAtBySocket[i]
      })
      return result
    }),
  )
  return {
    sockets: placed.length,
    failed: results.reduce((n, r) => n + r.failed, 0),
    connect: distribution(results.flatMap((r) => r.connectMs)),
    syncedAt,
  }
}

export const HOCUSPOCUS_STORES_LATER =
  'Hocuspocus stores a document 2 s after its last change and at most 10 s after the first: under steady typing its ' +
  'PostgreSQL work falls mostly after the measured window, so its PostgreSQL CPU here understates what it stores.'

/** The figures of a write phase on a deployment, as both cluster traffic scenarios report them. */
export const TRAFFIC_METRICS: MetricInfo[] = [
  { key: 'p50', label: 'latency p50', unit: 'ms', digits: 2, better: 'lower' },
  { key: 'p99', label: 'latency p99', unit: 'ms', digits: 2, better: 'lower' },
  { key: 'max', label: 'latency max', unit: 'ms', digits: 1, better: 'lower' },
  { key: 'delivered', label: 'delivered', unit: '%', digits: 2, better: 'higher' },
  { key: 'cpu', label: 'CPU of the instances together', unit: '%', digits: 1, better: 'lower' },
  { key: 'cpuPerUpdate', label: 'instances’ CPU per delivered update', unit: 'µs', digits: 1, better: 'lower' },
  { key: 'redisCpu', label: 'Redis CPU', unit: '%', digits: 1, better: 'lower' },
  { key: 'postgresCpu', label: 'PostgreSQL CPU', unit: '%', digits: 1, better: 'lower' },
  {
    key: 'totalCpuPerUpdate',
    label: 'CPU per delivered update, Redis and PostgreSQL included',
    unit: 'µs',
    digits: 1,
    better: 'lower',
  },
  { key: 'cpuPerEdit', label: 'instances’ CPU per edit (with all its deliveries)', unit: 'µs', digits: 0, better: 'lower' },
  { key: 'redisPerEdit', label: 'Redis CPU per edit', unit: 'µs', digits: 1, better: 'lower' },
  { key: 'postgresPerEdit', label: 'PostgreSQL CPU per edit', unit: 'µs', digits: 1, better: 'lower' },
  { key: 'rss', label: 'peak RSS, instances together', unit: 'MiB', digits: 0, better: 'lower' },
]

/** The same writers moving their carets instead of editing (CARET_METRICS), when asked for. */
export const CARET_METRICS: MetricInfo[] = [
  { key: 'caret.p99', label: 'carets: latency p99', unit: 'ms', digits: 2, better: 'lower' },
  { key: 'caret.delivered', label: 'carets: delivered', unit: '%', digits: 2, better: 'higher' },
  {
    key: 'caret.cpuPerMessage',
    label: 'carets: instances’ CPU per caret move (with all its deliveries)',
    unit: 'µs',
    digits: 0,
    better: 'lower',
  },
  { key: 'caret.redisPerMessage', label: 'carets: Redis CPU per caret move', unit: 'µs', digits: 1, better: 'lower' },
]

/**
 * Opens the layout as placed, runs the write phase, and returns TRAFFIC_METRICS' figures; with
 * `caretMs`, then the same writers move their carets (awareness updates, relayed and never
 * stored) at the same rate for that long, for CARET_METRICS.
 */
export async function measurePlacedTraffic(
  deployment: Deployment,
  pool: LoadPool,
  layout: Layout,
  placement: Placement,
  options: { rate: number; durationMs: number; warmupMs: number; caretMs?: number },
  log: (line: string) => void,
): Promise<Metrics> {
  const opened = await openPlaced(deployment, pool, place(layout, placement))
  if (opened.failed) throw new Error(`${opened.failed} of ${opened.sockets} sockets failed to sync`)
  await sleep(300)
  const phase = await runWritePhase(deployment, pool, layout, { ...options, drainMs: 5000 })
  const seconds = options.durationMs / 1000
  const perUpdate = (percent: number) => ((percent / 100) * seconds * 1e6) / phase.received
  const perEdit = (percent: number) => (Number.isNaN(percent) ? null : ((percent / 100) * seconds * 1e6) / phase.sent)
  const services =
    (Number.isNaN(phase.redisCpuPercent) ? 0 : phase.redisCpuPercent) +
    (Number.isNaN(phase.postgresCpuPercent) ? 0 : phase.postgresCpuPercent)
  const figures: Metrics = {
    p50: phase.latency.p50,
    p99: phase.latency.p99,
    max: phase.latency.max,
    delivered: phase.deliveredFraction * 100,
    cpu: phase.cpuPercent,
    cpuPerUpdate: perUpdate(phase.cpuPercent),
    redisCpu: Number.isNaN(phase.redisCpuPercent) ? null : phase.redisCpuPercent,
    postgresCpu: Number.isNaN(phase.postgresCpuPercent) ? null : phase.postgresCpuPercent,
    totalCpuPerUpdate: perUpdate(phase.cpuPercent + services),
    cpuPerEdit: perEdit(phase.cpuPercent),
    redisPerEdit: perEdit(phase.redisCpuPercent),
    postgresPerEdit: perEdit(phase.postgresCpuPercent),
    rss: phase.peakRssMiB,
  }
  if (options.caretMs) {
    const carets = await runWritePhase(deployment, pool, layout, {
      rate: options.rate,
      durationMs: options.caretMs,
      warmupMs: 500,
      drainMs: 5000,
      what: 'caret',
    })
    const perMove = (percent: number) =>
      Number.isNaN(percent) ? null : ((percent / 100) * (options.caretMs! / 1000) * 1e6) / carets.sent
    Object.assign(figures, {
      'caret.p99': carets.latency.p99,
      'caret.delivered': carets.deliveredFraction * 100,
      'caret.cpuPerMessage': perMove(carets.cpuPercent),
      'caret.redisPerMessage': perMove(carets.redisCpuPercent),
    })
    log(
      `  carets: p99 ${carets.latency.p99.toFixed(2)} ms, delivered ${carets.received}/${carets.expected}, ` +
        `${figures['caret.cpuPerMessage']?.toFixed(0)} µs per move`,
    )
  }
  log(
    `  ${deployment.instances.length} instance(s), ${opened.sockets} sockets: p50 ${phase.latency.p50.toFixed(2)} p99 ${phase.latency.p99.toFixed(2)} ms, ` +
      `delivered ${phase.received}/${phase.expected}, instances ${phase.cpuPercent.toFixed(1)} % ` +
      `(${figures.cpuPerUpdate?.toFixed(1)} µs/update), redis ${phase.redisCpuPercent.toFixed(1)} %, postgres ${phase.postgresCpuPercent.toFixed(1)} %`,
  )
  return figures
}
