/**
 * Starts a real Chorus server as a child process for integration and browser tests.
 *
 *   const chorus = await startChorus({ entry: 'standalone' })
 *   ... connect to chorus.wsUrl ...
 *   await chorus.kill9(); await chorus.restart()   // crash and come back on the same port + data
 *   await chorus.cleanup()                          // always, in a finally / fixture teardown
 *
 * Each server runs in its own process group and is always signalled as a group, so nothing it
 * starts survives it (PID 1 on our machines does not reap orphans). Servers still alive when the
 * test process exits or is terminated are killed and their temporary data dirs removed.
 *
 * Set CHORUS_TEST_ECHO=1 to see the servers' output live on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serverNodeArgs } from '../../scripts/server-command.mjs'

export type ChorusEntry = 'app' | 'standalone'

export interface StartChorusOptions {
  /** 'app': Next + sync on one port (production build needed); 'standalone': sync server only. */
  entry: ChorusEntry
  /** Reused as is and never deleted; default: a fresh temporary dir, deleted by cleanup(). */
  dataDir?: string
  /** Default 0: the server picks a free port, read back from its ready line. */
  port?: number
  /** Extra environment; wins over the defaults. A value of undefined removes the variable. */
  env?: Record<string, string | undefined>
  /** How long to wait for the ready line (default 30 s; a cold Next start on a busy 2-core box). */
  readyTimeoutMs?: number
  /** Repository to run (default: this one); lets the helper's own test use a stand-in. */
  root?: string
}

export interface ChorusServer {
  readonly entry: ChorusEntry
  readonly port: number
  /** http://127.0.0.1:<port> (https:// when the server serves TLS, as its ready line says) */
  readonly url: string
  /** ws://127.0.0.1:<port>/sync (wss:// with TLS), the y-websocket server URL (the client appends /<doc id>). */
  readonly wsUrl: string
  readonly dataDir: string
  /** Pid of the current server process (changes on restart()); also its process group id. */
  readonly pid: number
  readonly running: boolean
  /** Everything the server printed on stdout and stderr, across restarts. */
  output(): string
  /** Signals the group and waits for the exit; resolves to the exit code (128 + n if killed). */
  stop(signal?: NodeJS.Signals): Promise<number>
  /** SIGKILLs the whole group (a crash, no shutdown code runs) and waits for the exit. */
  kill9(): Promise<void>
  /** Starts again on the same port and data dir (stopping it first if it still runs). */
  restart(): Promise<void>
  /** Kills the group if alive and deletes the data dir if startChorus created it. Idempotent. */
  cleanup(): Promise<void>
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const READY_LINE = /Chorus listening on (https?):\/\/\S+?:(\d+)/
const STOP_TIMEOUT_MS = 10_000
const GROUP_EXIT_TIMEOUT_MS = 2_000
const MAX_OUTPUT_CHARS = 2_000_000

export async function startChorus(options: StartChorusOptions): Promise<ChorusServer> {
  const root = options.root ?? REPO_ROOT
  if (options.entry === 'app' && !existsSync(join(root, '.next', 'BUILD_ID'))) {
    throw new Error(
      'startChorus({ entry: "app" }) needs a production build: run `node scripts/build-if-stale.mjs` ' +
        '(the Playwright global setup does this)',
    )
  }
  const ownsDataDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chorus-test-'))
  const server = new ChorusProcess(options, root, dataDir, ownsDataDir)
  installExitHooks()
  try {
    await server.launch(options.port ?? 0)
  } catch (error) {
    await server.cleanup()
    throw error
  }
  return server
}

class ChorusProcess implements ChorusServer {
  readonly entry: ChorusEntry
  port = 0
  private scheme = 'http'
  private child: ChildProcess | undefined
  private exited: Promise<number> = Promise.resolve(0)
  private log = ''

  constructor(
    private readonly options: StartChorusOptions,
    private readonly root: string,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {
    this.entry = options.entry
  }

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`
  }

  get wsUrl(): string {
    return `${this.scheme === 'https' ? 'wss' : 'ws'}://127.0.0.1:${this.port}/sync`
  }

  get pid(): number {
    return this.child?.pid ?? 0
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null
  }

  output(): string {
    return this.log
  }

  /** Spawns the server and resolves once its ready line names the port. */
  async launch(port: number): Promise<void> {
    const script = this.entry === 'app' ? 'server/main.ts' : 'server/standalone.ts'
    const child = spawn(process.execPath, await serverNodeArgs(script), {
      cwd: this.root,
      env: this.childEnv(port),
      detached: true, // own process group, see killGroup()
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    live.add(this)
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)))
      // A failed spawn emits 'error' and never 'exit'; count it as exited so nothing waits forever.
      child.once('error', () => resolve(-1))
    })

    let beforeReady: string | undefined = '' // stdout until the ready line, then undefined
    const ready = new Promise<number>((resolve) => {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        this.record(chunk)
        if (beforeReady === undefined) return
        // The ready line may arrive split across chunks, so match on everything seen so far; colour
        // codes (FORCE_COLOR is set in Playwright workers) are stripped first.
        beforeReady += chunk
        // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which start with ESC
        const match = READY_LINE.exec(beforeReady.replace(/\x1b\[[0-9;]*m/g, ''))
        if (match) {
          beforeReady = undefined
          this.scheme = match[1]
          resolve(Number(match[2]))
        }
      })
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.record(chunk))
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(this.startError(`could not be spawned: ${error.message}`)))
      void this.exited.then((code) => reject(this.startError(`exited with code ${code} before it was ready`)))
    })
    const timeoutMs = this.options.readyTimeoutMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.startError(`did not print "Chorus listening on http://<host>:<port>" within ${timeoutMs} ms`)),
        timeoutMs,
      )
    })
    try {
      this.port = await Promise.race([ready, failed, timedOut])
    } catch (error) {
      await this.killAndWait()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (!this.running) return this.exited
    this.killGroup(signal)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)
    })
    const result = await Promise.race([this.exited, timedOut])
    clearTimeout(timer)
    if (result === 'timeout') {
      await this.killAndWait()
      throw new Error(
        `Chorus (${this.entry}) did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}; killed it.\n${this.outputForError()}`,
      )
    }
    await this.sweepGroup()
    return result
  }

  async kill9(): Promise<void> {
    await this.killAndWait()
  }

  async restart(): Promise<void> {
    if (this.running) await this.stop()
    this.record(`\n--- restarting on port ${this.port} ---\n`)
    await this.launch(this.port)
  }

  async cleanup(): Promise<void> {
    if (this.running) {
      // A chance to shut down cleanly (exercises that path), but never block a teardown on it.
      await this.stop().catch(() => undefined)
    }
    this.cleanupSync()
  }

  /** Synchronous, so it also works from the process 'exit' hook. */
  cleanupSync(): void {
    this.killGroup('SIGKILL')
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true })
    live.delete(this)
  }

  private childEnv(port: number): NodeJS.ProcessEnv {
    const env: Record<string, string | undefined> = {
      ...process.env,
      // The app entry is the production server (`npm start`): React and Next read NODE_ENV.
      ...(this.entry === 'app' ? { NODE_ENV: 'production' } : {}),
      PORT: String(port),
      // Loopback only, and IPv4 so the URLs above always reach it ('localhost' may resolve to ::1).
      HOST: '127.0.0.1',
      DATA_DIR: this.dataDir,
      LOG_LEVEL: 'warn',
      // Set by `node --test` in test files; a server inheriting it would misreport if it ever loaded node:test.
      NODE_TEST_CONTEXT: undefined,
      ...this.options.env,
    }
    return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as NodeJS.ProcessEnv
  }

  private record(chunk: string): void {
    this.log += chunk
    if (this.log.length > MAX_OUTPUT_CHARS) this.log = this.log.slice(-MAX_OUTPUT_CHARS)
    if (process.env.CHORUS_TEST_ECHO) process.stderr.write(chunk)
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (!this.child?.pid) return
    try {
      // Negative pid: the whole group (the server was spawned detached, so its pid is the group id).
      process.kill(-this.child.pid, signal)
    } catch {
      // ESRCH: nothing left in the group
    }
  }

  private async killAndWait(): Promise<void> {
    this.killGroup('SIGKILL')
    await this.exited
    await this.sweepGroup()
  }

  /**
   * The leader has exited; kill what it left in its group and wait until the group is empty, so a
   * restart never meets a straggler (tsx's esbuild helper outlives node by a moment, and anything
   * still holding the LevelDB lock would make the next start fail).
   */
  private async sweepGroup(): Promise<void> {
    const pgid = this.child?.pid
    if (!pgid) return
    const deadline = performance.now() + GROUP_EXIT_TIMEOUT_MS
    for (;;) {
      try {
        process.kill(-pgid, 'SIGKILL')
      } catch {
        return // ESRCH: the group is empty
      }
      // Give up quietly rather than fail a teardown: a zombie our PID 1 has not reaped yet still counts.
      if (performance.now() > deadline) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  private startError(what: string): Error {
    return new Error(
      `Chorus (${this.entry}, server/${this.entry === 'app' ? 'main' : 'standalone'}.ts) ${what}.\n${this.outputForError()}`,
    )
  }

  private outputForError(): string {
    const text = this.log.trimEnd()
    return text ? `--- server output ---\n${text.slice(-20_000)}\n--- end of server output ---` : '(the server printed nothing)'
  }
}

/** Servers not yet cleaned up, for the exit hooks. */
const live = new Set<ChorusProcess>()
let hooksInstalled = false

function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', cleanupAllSync)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Someone else handles this signal (Playwright workers ignore SIGINT/SIGTERM and run the
      // fixture teardowns themselves): leave it to them rather than pull servers out from under a test.
      if (process.listenerCount(signal) > 1) return
      // Otherwise the default action would end the process without an 'exit' event: clean up,
      // then die of the same signal as we would have.
      cleanupAllSync()
      process.removeListener(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

function cleanupAllSync(): void {
  for (const server of live) server.cleanupSync()
}
