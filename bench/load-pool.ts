/**
 * The parent's side of the load clients: a few forked processes (bench/load-client.ts), kept for
 * the whole run and reused by every scenario (they close all their sockets in between), so a quick
 * run does not pay a TypeScript start-up per measurement.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { LoadReport, LoadRequest, OpenResult, Protocol, SocketSpec } from './load-client.ts'
import { REPO_ROOT } from './paths.ts'

export class LoadClient {
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()

  private constructor(
    readonly index: number,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return
      const waiter = this.waiting.get(message.id)
      if (!waiter) return
      this.waiting.delete(message.id)
      if (message.error) waiter.reject(new Error(`load client ${index}: ${message.error}`))
      else waiter.resolve(message.result)
    })
    child.on('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`load client ${index} exited (${code})`))
      this.waiting.clear()
    })
  }

  static async start(index: number): Promise<LoadClient> {
    const child = fork(join(REPO_ROOT, 'bench', 'load-client.ts'), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', '--max-old-space-size=2048'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`load client ${index} exited (${code}) while starting`)))
    })
    return new LoadClient(index, child)
  }

  get pid(): number {
    return this.child.pid ?? 0
  }

  request<T>(request: LoadRequest): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send({ id, request })
    })
  }

  open(
    base: string,
    sockets: SocketSpec[],
    concurrency = 64,
    timeoutMs = 60_000,
    protocol: Protocol = 'y-websocket',
  ): Promise<OpenResult> {
    return this.request({ type: 'open', base, sockets, concurrency, timeoutMs, protocol })
  }

  report(): Promise<LoadReport> {
    return this.request({ type: 'report' })
  }

  close(): Promise<void> {
    return this.request({ type: 'close' })
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
  }
}

export class LoadPool {
  private constructor(readonly clients: LoadClient[]) {}

  static async start(size: number): Promise<LoadPool> {
    const clients = await Promise.all(Array.from({ length: size }, (_, i) => LoadClient.start(i)))
    live.add(clients)
    return new LoadPool(clients)
  }

  /** Sends `request` to every client and collects the answers in order. */
  all<T>(request: LoadRequest): Promise<T[]> {
    return Promise.all(this.clients.map((client) => client.request<T>(request)))
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()))
  }

  /** Total markers counted so far by every client. */
  async received(): Promise<number> {
    const counts = await this.all<{ received: number }>({ type: 'counts' })
    return counts.reduce((sum, c) => sum + c.received, 0)
  }

  async shutdown(): Promise<void> {
    for (const client of this.clients) client.kill()
    live.delete(this.clients)
  }
}

const live = new Set<LoadClient[]>()

export function killAllLoadClients(): void {
  for (const clients of live) for (const client of clients) client.kill()
}
