/**
 * A real Redis Cluster of three masters (Debian's redis-server 7.0, no replicas) for the sharded
 * pub/sub tests: three servers in temporary folders on free loopback ports, joined with
 * `redis-cli --cluster create`. A master can be killed and started again on the same port and
 * folder; it rejoins with its slots from its nodes.conf.
 *
 *   if (redisClusterMissing()) test.skip(...)
 *   const cluster = await startRedisCluster()   // cluster.url: the three seeds, comma-separated
 *   await cluster.masters[1].stop(); await cluster.masters[1].start()
 *   await cluster.remove()                      // always, in an after hook
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './ports.ts'
import { REDIS_SERVER, redisServerProcess } from './redis.ts'
import { waitFor } from './wait-for.ts'

export const REDIS_CLI = '/usr/bin/redis-cli'

/** Why a Redis Cluster cannot be started here, or false. */
export function redisClusterMissing(): string | false {
  for (const binary of [REDIS_SERVER, REDIS_CLI]) {
    if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).status !== 0) {
      return `${binary} not found (apt-get install -y redis-server; .ci/run installs it)`
    }
  }
  return false
}

export interface ClusterMaster {
  readonly port: number
  /** "127.0.0.1:<port>", as CLUSTER NODES names it. */
  readonly address: string
  readonly running: boolean
  /** SIGKILL: no goodbye to its clients. */
  stop(): Promise<void>
  start(): Promise<void>
}

export interface TestRedisCluster {
  readonly masters: ClusterMaster[]
  /** redis://127.0.0.1:<p1>,redis://127.0.0.1:<p2>,redis://127.0.0.1:<p3> (REDIS_URL with REDIS_CLUSTER=true) */
  readonly url: string
  /** The address of the master that owns `key`'s slot, by CLUSTER KEYSLOT and CLUSTER NODES. */
  ownerOf(key: string): Promise<string>
  /** Moves `slot` (with no keys in it) to the master at `toAddress`, as a resharding does. */
  moveSlot(slot: number, toAddress: string): Promise<void>
  /** How many connections are subscribed (SSUBSCRIBE) to `channel` on the master at `address`. */
  shardSubscribers(address: string, channel: string): Promise<number>
  /** Until every master answers cluster_state:ok. */
  whenHealthy(): Promise<void>
  remove(): Promise<void>
}

async function clusterInfo(port: number): Promise<string> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, connectTimeout: 500 })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return String(await redis.call('CLUSTER', 'INFO'))
  } catch {
    return ''
  } finally {
    redis.disconnect()
  }
}

function startMaster(port: number, dir: string): ClusterMaster {
  const server = redisServerProcess(
    port,
    dir,
    [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      // A master down is noticed in a second; the other masters' slots keep serving meanwhile.
      '--cluster-node-timeout',
      '1000',
      '--cluster-require-full-coverage',
      'no',
    ],
    async () => (await clusterInfo(port)) !== '',
  )
  return {
    port,
    address: `127.0.0.1:${port}`,
    get running() {
      return server.running
    },
    start: () => server.start(),
    stop: () => server.stop(),
  }
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dirs: string[] = []
  const masters: ClusterMaster[] = []
  const remove = async () => {
    await Promise.all(masters.map((master) => master.stop()))
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'chorus-redis-cluster-'))
      dirs.push(dir)
      masters.push(startMaster(await freePort(), dir))
    }
    await Promise.all(masters.map((master) => master.start()))
    const create = spawnSync(
      REDIS_CLI,
      ['--cluster', 'create', ...masters.map((master) => master.address), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`)
  } catch (error) {
    await remove()
    throw error
  }
  const cluster: TestRedisCluster = {
    masters,
    url: masters.map((master) => `redis://${master.address}`).join(','),
    async whenHealthy() {
      await waitFor(
        async () =>
          (await Promise.all(masters.map((master) => clusterInfo(master.port)))).every((info) =>
            info.includes('cluster_state:ok'),
          ),
        'every master says cluster_state:ok',
        20_000,
      )
    },
    async moveSlot(slot, toAddress) {
      const ids = new Map<string, string>()
      const any = masters.find((master) => master.running)!
      const probe = new Redis({ port: any.port, host: '127.0.0.1' })
      let fromAddress = ''
      try {
        for (const line of String(await probe.call('CLUSTER', 'NODES'))
          .trim()
          .split('\n')) {
          const fields = line.split(' ')
          const address = fields[1]!.split('@')[0]!
          ids.set(address, fields[0]!)
          for (const range of fields.slice(8)) {
            const [from, to = from] = range.split('-').map(Number)
            if (slot >= from! && slot <= to!) fromAddress = address
          }
        }
      } finally {
        probe.disconnect()
      }
      const on = async (address: string, ...args: string[]) => {
        const redis = new Redis({ port: Number(address.split(':')[1]), host: '127.0.0.1' })
        try {
          await redis.call('CLUSTER', ...args)
        } finally {
          redis.disconnect()
        }
      }
      // The order the Redis Cluster specification gives for moving a slot by hand.
      await on(toAddress, 'SETSLOT', String(slot), 'IMPORTING', ids.get(fromAddress)!)
      await on(fromAddress, 'SETSLOT', String(slot), 'MIGRATING', ids.get(toAddress)!)
      for (const address of [toAddress, fromAddress, ...masters.map((master) => master.address)]) {
        await on(address, 'SETSLOT', String(slot), 'NODE', ids.get(toAddress)!)
      }
    },
    async shardSubscribers(address, channel) {
      const redis = new Redis({ port: Number(address.split(':')[1]), host: '127.0.0.1' })
      try {
        const answer = (await redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number]
        return Number(answer[1])
      } finally {
        redis.disconnect()
      }
    },
    async ownerOf(key) {
      const running = masters.find((master) => master.running)!
      const redis = new Redis({ port: running.port, host: '127.0.0.1' })
      try {
        const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key))
        const nodes = String(await redis.call('CLUSTER', 'NODES'))
        for (const line of nodes.trim().split('\n')) {
          const fields = line.split(' ')
          if (!fields[2]!.includes('master')) continue
          for (const range of fields.slice(8)) {
            const [from, to = from] = range.split('-').map(Number)
            if (slot >= from! && slot <= to!) return fields[1]!.split('@')[0]!
          }
        }
        throw new Error(`no master owns slot ${slot} (of ${key})`)
      } finally {
        redis.disconnect()
      }
    },
    remove,
  }
  await cluster.whenHealthy()
  return cluster
}
