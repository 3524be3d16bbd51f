/**
 * The measurement shared by the traffic scenarios (fan-out, many documents, idle connections,
 * saturation): open a layout of sockets spread over the load clients, let the writers edit at a
 * fixed rate for a fixed time, wait for the deliveries to drain, and read latencies, delivered
 * fraction and the server's CPU and memory.
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { LoadReport, OpenResult, SocketSpec } from './load-client.ts'
import type { LoadPool } from './load-pool.ts'
import { readUsage, type ProcessUsage, type ServerProcess } from './servers.ts'
import { distribution, type Distribution } from './stats.ts'

export const now = (): number => performance.timeOrigin + performance.now()
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * What a write phase reads its CPU and memory figures from: one server process, or the instances
 * of a cluster together (deployment.ts), which also report the CPU of the services they share.
 */
export interface Measured {
  usage(): ProcessUsage | null
  resetPeak(): void
  readonly sampledPeakKiB: number
  servicesCpuSeconds?(): { postgres: number | null; redis: number | null }
}

/** Sockets per load client (index = client). */
export type Layout = SocketSpec[][]

export interface OpenSummary {
  sockets: number
  failed: number
  connect: Distribution
  /** Connect-to-synced of the first socket of each document (the one that makes the server open it)… */
  connectFirstOfDocument: Distribution
  /** …and of the others, which join a document already open or opening. */
  connectJoining: Distribution
  /** Server RSS before the first socket and once all are synced (and 500 ms have passed), KiB. */
  rssBeforeKiB: number
  rssAfterKiB: number
  /** (rssAfter - rssBefore) / sockets, in KiB. */
  memoryPerConnectionKiB: number
}

export async function openLayout(
  server: ServerProcess,
  pool: LoadPool,
  layout: Layout,
  options: { concurrency?: number; timeoutMs?: number; settleMs?: number } = {},
): Promise<OpenSummary> {
  const rssBeforeKiB = server.usage()?.rssKiB ?? NaN
  const results = await Promise.all(
    layout.map((sockets, i) =>
      sockets.length
        ? pool.clients[i].open(server.wsBase, sockets, options.concurrency ?? 64, options.timeoutMs ?? 60_000)
        : Promise.resolve<OpenResult>({ synced: 0, failed: 0, connectMs: [], connectMsBySocket: [], syncedAtBySocket: [] }),
    ),
  )
  await sleep(options.settleMs ?? 500)
  const rssAfterKiB = server.usage()?.rssKiB ?? NaN
  const sockets = layout.reduce((n, s) => n + s.length, 0)
  // Which socket asked for each document first (clients start in parallel: by position in their list).
  const firstOfDocument = new Set<string>()
  const first: number[] = []
  const joining: number[] = []
  const longest = Math.max(0, ...layout.map((specs) => specs.length))
  for (let i = 0; i < longest; i++) {
    layout.forEach((specs, c) => {
      const spec = specs[i]
      if (!spec) return
      const ms = results[c].connectMsBySocket[i]
      if (!Number.isFinite(ms)) return
      if (firstOfDocument.has(spec.doc)) joining.push(ms)
      else {
        firstOfDocument.add(spec.doc)
        first.push(ms)
      }
    })
  }
  return {
    sockets,
    failed: results.reduce((n, r) => n + r.failed, 0),
    connect: distribution(results.flatMap((r) => r.connectMs)),
    connectFirstOfDocument: distribution(first),
    connectJoining: distribution(joining),
    rssBeforeKiB,
    rssAfterKiB,
    memoryPerConnectionKiB: (rssAfterKiB - rssBeforeKiB) / sockets,
  }
}

export interface PhaseResult {
  latency: Distribution
  /** Edits sent by all writers. */
  sent: number
  /** Deliveries owed: each edit to every other socket of its document. */
  expected: number
  received: number
  deliveredFraction: number
  /** Deliveries per second over the write window. */
  deliveriesPerSecond: number
  /** Edits actually sent per second (the load clients may fall behind the asked rate). */
  editsPerSecond: number
  /** Server CPU over the write window, percent of one core. */
  cpuPercent: number
  /** Of which on its main thread (the rest: libuv's pool with the disk writes, GC helpers). */
  mainThreadCpuPercent: number
  /** CPU of all load-client processes together over the same window (200 % = both cores). */
  clientsCpuPercent: number
  /** CPU of the shared PostgreSQL and Redis over the window (NaN: not used by this server). */
  postgresCpuPercent: number
  redisCpuPercent: number
  peakRssMiB: number
}

/** Writers edit at `rate` per second each for `durationMs`; then deliveries drain (bounded). */
export async function runWritePhase(
  server: Measured,
  pool: LoadPool,
  layout: Layout,
  options: { rate: number; durationMs: number; drainMs: number; warmupMs?: number; what?: 'edit' | 'caret' },
): Promise<PhaseResult> {
  if (options.warmupMs) {
    // The same load for a moment first, unrecorded: a fresh server's first edits pay for JIT
    // compilation and lazy allocations, which is not what the steady-state figures are about.
    await runWritePhase(server, pool, layout, {
      rate: options.rate,
      durationMs: options.warmupMs,
      drainMs: options.drainMs,
      what: options.what,
    })
  }
  await pool.all({ type: 'reset' })
  const epoch = now()
  const startAt = epoch + 200
  const endAt = startAt + options.durationMs
  // Read exactly at the window's edges, whatever the requests to the load clients are doing then.
  type Services = { postgres: number | null; redis: number | null }
  const cpu: {
    start: ProcessUsage | null
    end: ProcessUsage | null
    clientsStart: number
    clientsEnd: number
    servicesStart: Services | null
    servicesEnd: Services | null
  } = { start: null, end: null, clientsStart: NaN, clientsEnd: NaN, servicesStart: null, servicesEnd: null }
  const clientsCpu = (): number => pool.clients.reduce((sum, client) => sum + (readUsage(client.pid)?.cpuSeconds ?? NaN), 0)
  const cpuTimers = [
    setTimeout(() => {
      cpu.start = server.usage()
      cpu.clientsStart = clientsCpu()
      cpu.servicesStart = server.servicesCpuSeconds?.() ?? null
    }, startAt - now()),
    setTimeout(() => {
      cpu.end = server.usage()
      cpu.clientsEnd = clientsCpu()
      cpu.servicesEnd = server.servicesCpuSeconds?.() ?? null
    }, endAt - now()),
  ]
  server.resetPeak()
  await pool.all({ type: 'write', epoch, startAt, durationMs: options.durationMs, rate: options.rate, what: options.what })
  let reports = await pool.all<LoadReport>({ type: 'report' })
  const expected = expectedDeliveries(layout, reports)
  // Drain: wait until everything owed arrived, or give up after drainMs.
  const drainUntil = now() + options.drainMs
  let received = 0
  while (now() < drainUntil) {
    received = await pool.received()
    if (received >= expected) break
    await sleep(50)
  }
  if (!cpu.end) {
    cpu.end = server.usage()
    cpu.clientsEnd = clientsCpu()
    cpu.servicesEnd = server.servicesCpuSeconds?.() ?? null
  }
  const servicePercent = (which: keyof Services): number => {
    const start = cpu.servicesStart?.[which]
    const end = cpu.servicesEnd?.[which]
    return start == null || end == null ? NaN : ((end - start) / (options.durationMs / 1000)) * 100
  }
  for (const timer of cpuTimers) clearTimeout(timer)
  reports = await pool.all<LoadReport>({ type: 'report' })
  received = reports.reduce((n, r) => n + r.received, 0)
  const latencies = concat(reports.map((r) => r.latencies))
  const sent = reports.reduce((n, r) => n + r.writers.reduce((m, w) => m + w.sent, 0), 0)
  const seconds = options.durationMs / 1000
  return {
    latency: distribution(latencies),
    sent,
    expected,
    received,
    deliveredFraction: expected ? received / expected : NaN,
    deliveriesPerSecond: received / seconds,
    editsPerSecond: sent / seconds,
    cpuPercent: cpu.start && cpu.end ? ((cpu.end.cpuSeconds - cpu.start.cpuSeconds) / seconds) * 100 : NaN,
    mainThreadCpuPercent:
      cpu.start && cpu.end ? ((cpu.end.mainThreadCpuSeconds - cpu.start.mainThreadCpuSeconds) / seconds) * 100 : NaN,
    clientsCpuPercent: ((cpu.clientsEnd - cpu.clientsStart) / seconds) * 100,
    postgresCpuPercent: servicePercent('postgres'),
    redisCpuPercent: servicePercent('redis'),
    peakRssMiB: server.sampledPeakKiB / 1024,
  }
}

/** Each writer's edits are owed to every other socket of its document. */
function expectedDeliveries(layout: Layout, reports: LoadReport[]): number {
  const socketsPerDoc = new Map<string, number>()
  for (const sockets of layout) for (const s of sockets) socketsPerDoc.set(s.doc, (socketsPerDoc.get(s.doc) ?? 0) + 1)
  let owed = 0
  for (const report of reports) for (const w of report.writers) owed += w.sent * ((socketsPerDoc.get(w.doc) ?? 1) - 1)
  return owed
}

function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0))
  let offset = 0
  for (const a of arrays) {
    out.set(a, offset)
    offset += a.length
  }
  return out
}

/**
 * Spreads `perDoc` sockets of each of `docs` documents: writers (the first `writersPerDoc` of each
 * document) on client 0, the receivers round-robin over the other clients, so a writer's send
 * time is not held up by the bulk of the receiving work.
 */
export function spreadLayout(clients: number, docs: string[], perDoc: number, writersPerDoc: number, firstWriterId = 1): Layout {
  const layout: Layout = Array.from({ length: clients }, () => [])
  let writerId = firstWriterId
  let r = 0
  const receiverClients = clients > 1 ? clients - 1 : 1
  for (const doc of docs) {
    for (let i = 0; i < perDoc; i++) {
      if (i < writersPerDoc) layout[0].push({ doc, writer: writerId++ })
      else layout[clients > 1 ? 1 + (r++ % receiverClients) : 0].push({ doc })
    }
  }
  return layout
}

/**
 * Waits until the server is idle: for `quietMs` on end, every thread of it asleep (state S) at
 * every 20 ms sample and at most one clock tick of CPU used. For servers that cannot tell us when
 * their writes are done. Looking at the thread states, not only the CPU time, matters on a busy
 * machine: a server starved of CPU also uses little, but its threads are runnable (R), not asleep.
 * Resolves with the milliseconds waited; gives up after maxMs.
 */
export async function waitCpuIdle(server: ServerProcess, quietMs = 500, maxMs = 60_000): Promise<number> {
  const started = now()
  let quietSince = now()
  let cpuAtQuietStart = server.usage()?.cpuSeconds ?? 0
  while (now() - started < maxMs) {
    const usage = server.usage()
    if (!usage) break
    if (!allThreadsAsleep(server.pid) || usage.cpuSeconds - cpuAtQuietStart > 0.01) {
      quietSince = now()
      cpuAtQuietStart = usage.cpuSeconds
    } else if (now() - quietSince >= quietMs) {
      return quietSince - started
    }
    await sleep(20)
  }
  return now() - started
}

function allThreadsAsleep(pid: number): boolean {
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')
      if (stat[stat.lastIndexOf(')') + 2] !== 'S') return false
    }
    return true
  } catch {
    return true // the process is gone
  }
}
