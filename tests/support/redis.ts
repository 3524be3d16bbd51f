/**
 * A real redis-server (Debian's package, 7.0) for the cluster tests, in a temporary folder on a
 * free loopback port, one per test file. No persistence: the relay carries messages, it keeps
 * nothing in Redis. It can be stopped and started again mid-test on the same port, so that the
 * instances' clients reconnect to "the same Redis coming back".
 *
 *   if (!redisAvailable()) test.skip(REDIS_MISSING)
 *   const redis = await startRedis()   // redis.url
 *   await redis.stop(); await redis.start()
 *   await redis.remove()               // always, in an after hook
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './wait-for.ts'
import { freePort } from './ports.ts'

export const REDIS_SERVER = '/usr/bin/redis-server'
export const REDIS_MISSING = `redis-server not found at ${REDIS_SERVER} (apt-get install -y redis-server; .ci/run installs it)`

export function redisAvailable(): boolean {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0
}

export interface TestRedis {
  readonly port: number
  /** redis://127.0.0.1:<port> */
  readonly url: string
  readonly running: boolean
  /** Stops the server (SIGKILL: no goodbye to its clients); the port stays ours to start on again. */
  stop(): Promise<void>
  /** Starts it again on the same port. */
  start(): Promise<void>
  /** Stops it and deletes its folder. */
  remove(): Promise<void>
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.setTimeout(500, () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * One redis-server on `port` with its folder `dir` (no persistence) and `args` besides: `start`
 * waits until `ready` says it serves, `stop` kills it (SIGKILL: no goodbye to its clients). Both
 * may be called again: it comes back on the same port and folder.
 */
export function redisServerProcess(
  port: number,
  dir: string,
  args: readonly string[],
  ready: () => Promise<boolean>,
): { readonly running: boolean; start(): Promise<void>; stop(): Promise<void> } {
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  return {
    get running() {
      return child !== null
    },
    async start() {
      let output = ''
      const all = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args, '--save', '', '--appendonly', 'no']
      const started = spawn(REDIS_SERVER, all, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      started.stdout!.on('data', (chunk: Buffer) => (output += chunk))
      started.stderr!.on('data', (chunk: Buffer) => (output += chunk))
      let gone = false
      exited = new Promise((resolve) =>
        started.once('exit', () => {
          gone = true
          resolve()
        }),
      )
      child = started
      await waitFor(async () => {
        if (gone) throw new Error(`redis-server exited at start:\n${output}`)
        return ready()
      }, `redis-server on port ${port}`)
    },
    async stop() {
      if (!child) return
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
      await exited
      child = null
    },
  }
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-redis-'))
  const port = await freePort()
  const server = redisServerProcess(port, dir, [], () => answersPing(port))
  await server.start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return server.running
    },
    stop: () => server.stop(),
    start: () => server.start(),
    async remove() {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
