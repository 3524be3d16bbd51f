/**
 * A real PostgreSQL (Debian's package) for one test file: its own cluster in a temporary folder,
 * on a free port, trust authentication for user `chorus`; a database per test when asked.
 *
 *   const cluster = await startPostgres()        // or skip: postgresMissing() says why
 *   const url = await cluster.createDatabase()   // postgres://chorus@127.0.0.1:<port>/<fresh name>
 *   await cluster.stop(); await cluster.start()  // a database outage mid-test, same data and port
 *   await cluster.remove()                       // always, in an after hook
 *
 * PostgreSQL refuses to run as root, so the folder belongs to `postgres` and the server runs
 * through runuser; it runs in the foreground in its own process group.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { waitFor } from './wait-for.ts'
import { freePort } from './ports.ts'

/** The newest installed server's bin folder (/usr/lib/postgresql/<version>/bin), or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? join(root, versions[0], 'bin') : null
}

/** Why PostgreSQL tests cannot run here, or null when they can (pass to `it(..., { skip })`). */
export function postgresMissing(): string | null {
  if (!postgresBinDir()) return 'PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)'
  if (spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) return 'no postgres user to run PostgreSQL as'
  return null
}

export interface PostgresCluster {
  readonly port: number
  /** postgres://chorus@127.0.0.1:<port>/postgres */
  readonly adminUrl: string
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>
  /** Stops the server (fast shutdown: connections are cut, as in an outage). */
  stop(): Promise<void>
  /** Starts it again on the same folder and port. */
  start(): Promise<void>
  /**
   * A streaming replica (pg_basebackup) on its own port, made the primary's synchronous standby
   * (synchronous_standby_names = '*'): from then on a commit returns once it is on both.
   */
  addSynchronousStandby(): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void>; remove(): Promise<void> }>
  /** Stops the server (and any standby) and deletes its folder. */
  remove(): Promise<void>
}

let databases = 0

/** Clusters not yet removed: an exiting test process takes them down (PID 1 here reaps no orphans). */
const live = new Map<string, () => number | undefined>()
let hooked = false
function removeAllSync(): void {
  for (const [dir, pid] of live) {
    const group = pid()
    if (group) {
      try {
        process.kill(-group, 'SIGKILL')
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true })
  }
  live.clear()
}
function installExitHook(): void {
  if (hooked) return
  hooked = true
  process.on('exit', removeAllSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Clean up, then pass the signal on: to the other handlers (chorus-process.ts's, a test
    // runner's), which decide, or to the default action. Deferring to them instead would leave
    // two handlers each waiting for the other, and the signal ignored.
    const onSignal = (): void => {
      removeAllSync()
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

/** Starts and stops one PostgreSQL server on `data`, in the foreground, in its own process group. */
function serverControl(bin: string, dir: string, data: string, port: number) {
  let child: ChildProcess | null = null
  let output = ''
  const url = `postgres://chorus@127.0.0.1:${port}/postgres`

  const start = async () => {
    output = ''
    const server = spawn(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        join(bin, 'postgres'),
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        // Small: three of these may run beside the app on a 2-core machine.
        '-c',
        'shared_buffers=16MB',
        '-c',
        'max_connections=40',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = server
    server.stdout?.on('data', (chunk) => (output += chunk))
    server.stderr?.on('data', (chunk) => (output += chunk))
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
    let dead = false
    void exited.then(() => (dead = true))
    await waitFor(
      async () => {
        if (dead) throw new Error(`PostgreSQL exited: ${output}`)
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
        try {
          await client.connect()
          await client.end()
          return true
        } catch {
          await client.end().catch(() => undefined)
          return false
        }
      },
      'PostgreSQL to accept connections',
      30_000,
    )
  }

  const stop = async () => {
    const server = child
    child = null
    if (!server || server.exitCode !== null || server.signalCode !== null) return
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
    // SIGINT to the postmaster is "fast shutdown": sessions are cut, as when a database goes away.
    try {
      process.kill(-server.pid!, 'SIGINT')
    } catch {
      return
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-server.pid!, 'SIGKILL')
      } catch {}
    }, 10_000)
    await exited
    clearTimeout(timer)
  }

  return { start, stop, pid: () => child?.pid }
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir()
  if (!bin) throw new Error(postgresMissing() ?? 'PostgreSQL is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'chorus-pg-'))
  const data = join(dir, 'data')
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
  chownSync(dir, uid, gid)
  const init = spawnSync(
    'runuser',
    ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'chorus', '--no-sync', '-E', 'UTF8'],
    { encoding: 'utf8' },
  )
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`)
  }
  const port = await freePort()
  const adminUrl = `postgres://chorus@127.0.0.1:${port}/postgres`
  const server = serverControl(bin, dir, data, port)
  const { start, stop } = server
  const standbys: (() => Promise<void>)[] = []

  installExitHook()
  live.set(dir, server.pid)
  try {
    await start()
  } catch (error) {
    await stop()
    live.delete(dir)
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    port,
    adminUrl,
    async createDatabase() {
      const name = `chorus_test_${process.pid}_${++databases}`
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      try {
        await admin.query(`CREATE DATABASE ${name}`)
      } finally {
        await admin.end()
      }
      return `postgres://chorus@127.0.0.1:${port}/${name}`
    },
    stop,
    start,
    async addSynchronousStandby() {
      const standbyDir = mkdtempSync(join(tmpdir(), 'chorus-pg-standby-'))
      chownSync(standbyDir, uid, gid)
      const standbyData = join(standbyDir, 'data')
      // -R writes standby.signal and primary_conninfo: it starts as a streaming replica.
      const copied = spawnSync(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          join(bin, 'pg_basebackup'),
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'chorus',
          '-D',
          standbyData,
          '-R',
          '-X',
          'stream',
          '--no-sync',
          // Not the default spread checkpoint, which takes minutes once anything was written.
          '--checkpoint=fast',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      )
      if (copied.status !== 0) {
        rmSync(standbyDir, { recursive: true, force: true })
        throw new Error(`pg_basebackup failed: ${copied.stderr || copied.stdout}`)
      }
      const standbyPort = await freePort()
      const standby = serverControl(bin, standbyDir, standbyData, standbyPort)
      live.set(standbyDir, standby.pid)
      const remove = async () => {
        await standby.stop()
        live.delete(standbyDir)
        rmSync(standbyDir, { recursive: true, force: true })
      }
      standbys.push(remove)
      await standby.start()
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      try {
        await admin.query("ALTER SYSTEM SET synchronous_standby_names = '*'")
        await admin.query('SELECT pg_reload_conf()')
        await waitFor(
          async () => (await admin.query("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")).rowCount === 1,
          'the standby to be synchronous',
          30_000,
        )
      } finally {
        await admin.end()
      }
      return { port: standbyPort, stop: standby.stop, start: standby.start, remove }
    },
    async remove() {
      for (const removeStandby of standbys.splice(0)) await removeStandby()
      await stop()
      live.delete(dir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
