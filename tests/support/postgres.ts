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
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { waitFor } from './wait-for.ts'

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
  /** Stops the server and deletes its folder. */
  remove(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
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
  let child: ChildProcess | null = null
  let output = ''

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
        const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 })
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

  installExitHook()
  live.set(dir, () => child?.pid)
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
    async remove() {
      await stop()
      live.delete(dir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
