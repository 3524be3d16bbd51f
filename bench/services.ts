/**
 * The services a cluster needs, one of each for the whole bench run, started on first use: a real
 * PostgreSQL (Debian's package, through tests/support/postgres.ts: its own folder, a free port) and
 * a real redis-server (tests/support/redis.ts). Each measurement gets a fresh database; Redis
 * keeps nothing between measurements (Chorus only publishes through it, Hocuspocus's locks
 * expire), so one server is enough.
 *
 * Their CPU time is read from /proc like the instances': it is the price of a cluster that an
 * instance's own figure does not show, and what the capacity model needs to size Redis and
 * PostgreSQL.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { postgresMissing, startPostgres, type PostgresCluster } from '../tests/support/postgres.ts'
import { REDIS_MISSING, redisAvailable, startRedis, type TestRedis } from '../tests/support/redis.ts'

const CLOCK_TICKS = 100

interface PostgresService {
  cluster: PostgresCluster
  postmasterPid: number
}

interface RedisService {
  server: TestRedis
  pid: number
  dir: string
}

let postgres: Promise<PostgresService> | null = null
let redis: Promise<RedisService> | null = null
/** The same once started, for the synchronous readers (CPU samples, exit hooks). */
let postgresStarted: PostgresService | null = null
let redisStarted: RedisService | null = null

export { postgresMissing }

/** Why a scenario needing PostgreSQL and Redis cannot run here, or null. */
export function servicesMissing(): string | null {
  return postgresMissing() ?? (redisAvailable() ? null : REDIS_MISSING)
}

function sharedPostgres(): Promise<PostgresService> {
  postgres ??= (async () => {
    const cluster = await startPostgres()
    const client = new pg.Client({ connectionString: cluster.adminUrl })
    await client.connect()
    try {
      const { rows } = await client.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
      const postmasterPid = Number(readFileSync(join(rows[0].setting, 'postmaster.pid'), 'utf8').split('\n')[0])
      postgresStarted = { cluster, postmasterPid }
      return postgresStarted
    } finally {
      await client.end()
    }
  })()
  return postgres
}

function sharedRedis(): Promise<RedisService> {
  redis ??= (async () => {
    const server = await startRedis()
    const client = new Redis(server.url, { lazyConnect: true })
    await client.connect()
    try {
      const info = await client.info('server')
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
      const [, dir] = (await client.config('GET', 'dir')) as [string, string]
      redisStarted = { server, pid, dir }
      return redisStarted
    } finally {
      client.disconnect()
    }
  })()
  return redis
}

/** postgres://… of a new, empty database on the run's PostgreSQL. */
export async function freshDatabase(): Promise<string> {
  return (await sharedPostgres()).cluster.createDatabase()
}

/** redis://… of the run's Redis. */
export async function redisUrl(): Promise<string> {
  return (await sharedRedis()).server.url
}

function ticksOf(pid: number, withChildren: boolean): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime, stime; with children: also cutime, cstime (the backends it has reaped).
  return Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0)
}

/**
 * CPU seconds used so far by PostgreSQL (the postmaster, its live backends and helpers, and the
 * backends that have exited) and by redis-server; null for a service not started.
 */
export function servicesCpuSeconds(): { postgres: number | null; redis: number | null } {
  const pg = postgresStarted
  const rs = redisStarted
  let postgresTicks: number | null = null
  if (pg) {
    try {
      postgresTicks = ticksOf(pg.postmasterPid, true)
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
          if (ppid === pg.postmasterPid) postgresTicks += ticksOf(Number(entry), false)
        } catch {
          // exited meanwhile: its time is in the postmaster's cutime now
        }
      }
    } catch {
      postgresTicks = null
    }
  }
  let redisTicks: number | null = null
  if (rs) {
    try {
      redisTicks = ticksOf(rs.pid, false)
    } catch {
      redisTicks = null
    }
  }
  return {
    postgres: postgresTicks === null ? null : postgresTicks / CLOCK_TICKS,
    redis: redisTicks === null ? null : redisTicks / CLOCK_TICKS,
  }
}

/** Stops both (the end of the run). */
export async function stopServices(): Promise<void> {
  const pg = postgres
  const rs = redis
  postgres = null
  redis = null
  postgresStarted = null
  redisStarted = null
  await Promise.all([
    pg?.then((s) => s.cluster.remove()).catch(() => undefined),
    rs?.then((s) => s.server.remove()).catch(() => undefined),
  ])
}

/**
 * For exit hooks, which cannot wait: kills redis-server's process group and removes its folder
 * (PostgreSQL's helper installs its own exit hook).
 */
export function killServicesSync(): void {
  if (!redisStarted) return
  try {
    process.kill(-redisStarted.pid, 'SIGKILL')
  } catch {
    // gone already
  }
  rmSync(redisStarted.dir, { recursive: true, force: true })
}
