/**
 * The servers under test, launched uniformly as child processes on loopback:
 *
 *   floor              bench/floor-server.ts: rebroadcasts frames, the transport's lower bound
 *   reference          y-websocket@2.1.0's bin/server.cjs, in memory
 *   reference-leveldb  the same with YPERSISTENCE (y-leveldb)
 *   chorus             server/standalone.ts, bundled as `npm run server` runs it, with its LevelDB
 *                      store (sync:true, group commit)
 *   chorus-postgres    the same with DATABASE_URL: a fresh database on the run's PostgreSQL
 *   hocuspocus         bench/hocuspocus-server.ts: Hocuspocus 4.7 storing to a fresh database the same way
 *   chorus-app         server/main.ts: the Next app and the sync server on one port (browser scenario)
 *   chorus-baseline    server/standalone.ts of another checkout (BENCH_BASELINE_DIR, with its own
 *                      node_modules): an earlier Chorus measured in the same run, to show what a
 *                      change costs on a machine whose speed drifts between runs. It runs the way
 *                      that checkout runs it: from its bundle, or through tsx if it predates one
 *
 * and two kinds that are several of these (bench/deployment.ts starts them):
 *
 *   chorus-cluster      3 x chorus-postgres on one database, connected through Redis (REDIS_URL)
 *   hocuspocus-cluster  3 x hocuspocus on one database, with @hocuspocus/extension-redis on the same Redis
 *
 * Each runs in its own process group (detached) and is always signalled as a group: PID 1 on our
 * machines does not reap orphans, and nothing a server starts may outlive it. CPU time and memory
 * are read from /proc/<pid> of the server process itself (all its threads, including libuv's
 * pool that does LevelDB's fsyncs).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path, { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { REPO_ROOT } from './paths.ts'
import { freshDatabase } from './services.ts'

export const SERVER_KINDS = [
  'floor',
  'reference',
  'reference-leveldb',
  'chorus',
  'chorus-baseline',
  'chorus-postgres',
  'hocuspocus',
  'chorus-cluster',
  'hocuspocus-cluster',
] as const
export type ServerKind = (typeof SERVER_KINDS)[number]
export const CLUSTER_KINDS = ['chorus-cluster', 'hocuspocus-cluster'] as const
export type ClusterKind = (typeof CLUSTER_KINDS)[number]
export type LaunchKind = Exclude<ServerKind, ClusterKind> | 'chorus-app'

export const SERVER_LABELS: Record<ServerKind | LaunchKind, string> = {
  floor: 'floor (ws relay)',
  reference: 'y-websocket',
  'reference-leveldb': 'y-websocket + LevelDB',
  chorus: 'Chorus (LevelDB, sync)',
  'chorus-baseline': 'Chorus baseline',
  'chorus-postgres': 'Chorus (PostgreSQL)',
  hocuspocus: 'Hocuspocus (PostgreSQL)',
  'chorus-cluster': 'Chorus cluster (3 + Redis + PostgreSQL)',
  'hocuspocus-cluster': 'Hocuspocus cluster (3 + Redis + PostgreSQL)',
  'chorus-app': 'Chorus app',
}

/**
 * The servers a scenario runs on unless it says otherwise: the single-process relays of the
 * original comparison. PostgreSQL, Hocuspocus and the clusters take part only in the scenarios
 * written for them (persistence, cluster-*), which keeps the default run's length.
 */
export function isClassic(kind: ServerKind): boolean {
  return (
    kind === 'floor' || kind === 'reference' || kind === 'reference-leveldb' || kind === 'chorus' || kind === 'chorus-baseline'
  )
}

export function isCluster(kind: ServerKind | LaunchKind): kind is ClusterKind {
  return (CLUSTER_KINDS as readonly string[]).includes(kind)
}

/** True for the kinds that keep documents on disk (and so take part in the persistence scenarios). */
export function isPersistent(kind: ServerKind | LaunchKind): boolean {
  return kind === 'reference-leveldb' || (confirmsSaves(kind) && kind !== 'chorus-cluster')
}

/** Chorus, whatever its store or checkout: it confirms what it stored (SavedState, `?chorus=1`). */
export function confirmsSaves(kind: ServerKind | LaunchKind): boolean {
  return (
    kind === 'chorus' ||
    kind === 'chorus-postgres' ||
    kind === 'chorus-cluster' ||
    kind === 'chorus-app' ||
    kind === 'chorus-baseline'
  )
}

/** The checkout that `chorus-baseline` runs (BENCH_BASELINE_DIR), or null when none is set. */
export function baselineDir(): string | null {
  return process.env.BENCH_BASELINE_DIR || null
}

const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000
/** Clock ticks per second of utime/stime in /proc/<pid>/stat (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS = 100

/**
 * Chorus's abuse limits are per address and per connection; here every client is 127.0.0.1 and
 * the load is deliberate, so they are lifted (the other servers have none). Every other setting
 * is Chorus's default.
 */
export const CHORUS_LIMITS_OFF: Record<string, string> = {
  MAX_CONNECTIONS_PER_ADDRESS_PER_MINUTE: '0',
  RATE_LIMIT_MESSAGES_PER_SECOND: '0',
  RATE_LIMIT_BYTES_PER_SECOND: '0',
}

interface Recipe {
  args: string[]
  env: Record<string, string>
  ready: RegExp
  /** Whether the server can be told PORT=0 and reports the real port in its ready line. */
  reportsPort: boolean
}

async function recipe(kind: LaunchKind, port: number, dataDir: string, root: string): Promise<Recipe> {
  const base = { HOST: '127.0.0.1', PORT: String(port) }
  switch (kind) {
    case 'floor':
      return {
        args: ['--import', 'tsx', 'bench/floor-server.ts'],
        env: base,
        ready: /floor listening on http:\/\/[^:]+:(\d+)/,
        reportsPort: true,
      }
    case 'reference':
    case 'reference-leveldb':
      return {
        args: ['node_modules/y-websocket-reference/bin/server.cjs'],
        env: kind === 'reference-leveldb' ? { ...base, YPERSISTENCE: dataDir } : base,
        // It prints the PORT it was given, not the bound one, so it gets a port picked for it.
        ready: /running at '[^']*' on port (\d+)/,
        reportsPort: false,
      }
    case 'hocuspocus':
      return {
        args: ['--import', 'tsx', 'bench/hocuspocus-server.ts'],
        env: base,
        ready: /hocuspocus listening on http:\/\/[^:]+:(\d+)/,
        reportsPort: true,
      }
    case 'chorus':
    case 'chorus-postgres':
    case 'chorus-app':
    case 'chorus-baseline':
      return {
        args: await chorusNodeArgs(root, kind === 'chorus-app' ? 'server/main.ts' : 'server/standalone.ts'),
        env: {
          ...base,
          DATA_DIR: dataDir,
          LOG_LEVEL: process.env.BENCH_CHORUS_LOG_LEVEL ?? 'warn',
          ...CHORUS_LIMITS_OFF,
          ...(kind === 'chorus-app' ? { NODE_ENV: 'production' } : {}),
        },
        ready: /Chorus listening on https?:\/\/[^:]+:(\d+)/,
        reportsPort: true,
      }
  }
}

export interface ProcessUsage {
  /** utime + stime of the server process (all threads), in seconds. */
  cpuSeconds: number
  /** The main thread's share: JavaScript, parsing, sending. The rest is libuv's pool (LevelDB, fsync) and V8's helpers (GC). */
  mainThreadCpuSeconds: number
  /** Resident set size now, in KiB. */
  rssKiB: number
  /** Peak resident set size since the process started (VmHWM), in KiB. */
  hwmKiB: number
}

export function readUsage(pid: number): ProcessUsage | null {
  try {
    const cpu = runTimes(pid) ?? tickTimes(pid)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return {
      cpuSeconds: cpu.all,
      mainThreadCpuSeconds: cpu.main,
      rssKiB: kib('VmRSS'),
      hwmKiB: kib('VmHWM'),
    }
  } catch {
    return null
  }
}

/**
 * Time on a CPU in nanoseconds per thread (/proc/<pid>/task/<tid>/schedstat), in seconds: the
 * clock ticks of /proc/<pid>/stat are 10 ms, 3 % of a 3 s slice of the fan-out's server CPU.
 * A thread that has exited is missing here; a server's threads (libuv's pool, V8's helpers) live
 * as long as it does. Null where schedstat is missing: then the ticks are used.
 */
function runTimes(pid: number): { all: number; main: number } | null {
  try {
    let all = 0
    let main = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const seconds = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9
      all += seconds
      if (tid === String(pid)) main = seconds
    }
    return { all, main }
  } catch {
    return null
  }
}

/** utime + stime of the process (all its threads, exited ones too) and of its main thread, in seconds. */
function tickTimes(pid: number): { all: number; main: number } {
  const ticks = (file: string) => {
    const stat = readFileSync(file, 'utf8')
    // The command name (field 2) may contain spaces and parentheses: fields are counted after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  }
  return { all: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) }
}

/** A free TCP port on loopback, for servers that cannot report the one they bound. Never 3000. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = net.createServer()
      probe.once('error', reject)
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo
        probe.close(() => resolve(port))
      })
    })
    if (port !== 3000) return port
  }
  throw new Error('could not find a free port')
}

export interface LaunchOptions {
  /** Reuse this data dir (never deleted by cleanup); default: a fresh temp dir. */
  dataDir?: string
  env?: Record<string, string>
  /** Run the server from this checkout instead of this one (a baseline build to compare with). */
  cwd?: string
}

export class ServerProcess {
  port = 0
  private child: ChildProcess | null = null
  private exited: Promise<number | null> = Promise.resolve(null)
  private output = ''
  private sampler: NodeJS.Timeout | null = null
  /** Highest VmRSS seen by the sampler since the last resetPeak(), in KiB. */
  sampledPeakKiB = 0

  private constructor(
    readonly kind: LaunchKind,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    private readonly extraEnv: Record<string, string>,
    private readonly cwd: string = REPO_ROOT,
  ) {}

  static async launch(kind: ServerKind | LaunchKind, options: LaunchOptions = {}): Promise<ServerProcess> {
    if (isCluster(kind)) throw new Error(`${kind} is several processes: start it with Deployment.start (bench/deployment.ts)`)
    const env = { ...options.env }
    // Each measurement starts on an empty store, as on LevelDB with a fresh folder.
    if ((kind === 'chorus-postgres' || kind === 'hocuspocus') && !env.DATABASE_URL) env.DATABASE_URL = await freshDatabase()
    const ownsDataDir = options.dataDir === undefined
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `chorus-bench-${kind}-`))
    const server = new ServerProcess(kind, dataDir, ownsDataDir, env, options.cwd)
    live.add(server)
    try {
      await server.start(0)
    } catch (error) {
      await server.cleanup()
      throw error
    }
    return server
  }

  get pid(): number {
    return this.child?.pid ?? 0
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Base URL that the load clients append `/<docId>` to; the same path works on every server. */
  get wsBase(): string {
    return `ws://127.0.0.1:${this.port}/sync`
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`
  }

  usage(): ProcessUsage | null {
    return this.running ? readUsage(this.pid) : null
  }

  log(): string {
    return this.output
  }

  /** Starts (or restarts on the same port); resolves with the milliseconds until the ready line. */
  async start(port: number): Promise<number> {
    const root = this.kind === 'chorus-baseline' ? baselineCheckout() : this.cwd
    const r = await recipe(this.kind, port || (this.kindNeedsPort() ? await freePort() : 0), this.dataDir, root)
    const started = performance.now()
    // For diagnosis only: BENCH_CPU_PROF=<dir> makes every server write a V8 CPU profile there when
    // it exits (gracefully); BENCH_CHORUS_NODE_ARGS adds node options to Chorus (e.g.
    // --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/heap).
    const diagnosis = [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      ...(this.kind.startsWith('chorus') ? (process.env.BENCH_CHORUS_NODE_ARGS?.split(' ').filter(Boolean) ?? []) : []),
    ]
    const child = spawn(process.execPath, [...diagnosis, ...r.args], {
      cwd: root,
      env: { ...process.env, ...r.env, ...this.extraEnv },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)))
      child.once('error', () => resolve(-1))
    })
    let seen = ''
    const ready = new Promise<number>((resolve) => {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        this.record(chunk)
        seen += chunk
        const match = r.ready.exec(seen)
        if (match) resolve(Number(match[1]))
      })
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.record(chunk))
    let timer: NodeJS.Timeout | undefined
    const failed = new Promise<never>((_, reject) => {
      void this.exited.then((code) =>
        reject(new Error(`${this.kind} exited (${code}) before it was ready:\n${this.output.slice(-4000)}`)),
      )
      timer = setTimeout(
        () => reject(new Error(`${this.kind} not ready within ${READY_TIMEOUT_MS} ms:\n${this.output.slice(-4000)}`)),
        READY_TIMEOUT_MS,
      )
    })
    try {
      const reported = await Promise.race([ready, failed])
      this.port = r.reportsPort ? reported : Number(r.env.PORT)
    } catch (error) {
      this.killGroup('SIGKILL')
      await this.exited
      throw error
    } finally {
      clearTimeout(timer)
    }
    this.startSampler()
    return performance.now() - started
  }

  private kindNeedsPort(): boolean {
    return this.kind === 'reference' || this.kind === 'reference-leveldb'
  }

  /** Peak RSS is sampled every 100 ms (VmHWM would also count the start-up's transient peak). */
  private startSampler(): void {
    this.stopSampler()
    this.sampler = setInterval(() => {
      const usage = this.usage()
      if (usage && usage.rssKiB > this.sampledPeakKiB) this.sampledPeakKiB = usage.rssKiB
    }, 100)
    this.sampler.unref()
  }

  private stopSampler(): void {
    if (this.sampler) clearInterval(this.sampler)
    this.sampler = null
  }

  resetPeak(): void {
    this.sampledPeakKiB = this.usage()?.rssKiB ?? 0
  }

  /** SIGTERM to the group; resolves with the exit code and the milliseconds the exit took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> {
    this.stopSampler()
    if (!this.running) return { code: await this.exited, ms: 0 }
    const started = performance.now()
    this.killGroup(signal)
    let timer: NodeJS.Timeout | undefined
    const result = await Promise.race([
      this.exited,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS))),
    ])
    clearTimeout(timer)
    const ms = performance.now() - started
    this.killGroup('SIGKILL')
    if (result === 'timeout') {
      await this.exited
      return { code: null, ms }
    }
    return { code: result, ms }
  }

  async kill9(): Promise<void> {
    this.stopSampler()
    this.killGroup('SIGKILL')
    await this.exited
  }

  async restart(): Promise<number> {
    if (this.running) await this.stop()
    this.record(`\n--- restart on port ${this.port} ---\n`)
    return this.start(this.port)
  }

  async cleanup(): Promise<void> {
    if (this.running) await this.stop().catch(() => undefined)
    this.cleanupSync()
  }

  cleanupSync(): void {
    this.stopSampler()
    this.killGroup('SIGKILL')
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true })
    live.delete(this)
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (!this.child?.pid) return
    try {
      process.kill(-this.child.pid, signal)
    } catch {
      // ESRCH: the group is gone already
    }
  }

  private record(chunk: string): void {
    this.output += chunk
    if (this.output.length > 200_000) this.output = this.output.slice(-100_000)
    if (process.env.BENCH_ECHO) process.stderr.write(`[${this.kind}] ${chunk}`)
  }
}

const live = new Set<ServerProcess>()

/** Kills every server still running (exit hooks call this). */
export function cleanupAllServers(): void {
  for (const server of live) server.cleanupSync()
}

/**
 * How a checkout runs its server: its own scripts/server-command.mjs says (a bundle since this one;
 * through tsx before, when serverNodeArgs answered at once and took no options).
 */
async function chorusNodeArgs(root: string, entry: string): Promise<string[]> {
  const command = pathToFileURL(path.join(root, 'scripts', 'server-command.mjs')).href
  const { serverNodeArgs } = (await import(command)) as {
    serverNodeArgs(entry: string, options: { root: string }): string[] | Promise<string[]>
  }
  return serverNodeArgs(entry, { root })
}

function baselineCheckout(): string {
  const dir = baselineDir()
  if (!dir)
    throw new Error('chorus-baseline needs BENCH_BASELINE_DIR: a checkout of the Chorus to compare with, with its node_modules')
  return dir
}
