/**
 * A real HAProxy (Debian's package) in front of a server, for tests of Chorus behind a proxy:
 * HTTP mode with `option forwardfor`, so each request (WebSocket upgrades included) reaches the
 * server from the proxy's address with the client's address appended in X-Forwarded-For.
 *
 *   const proxy = await startHaproxy(backendPort)   // proxy.port, proxy.wsUrl
 *   await proxy.stop()                              // always, in a finally / after hook
 *
 * Runs in the foreground (-db) in its own process group, config in a temporary folder.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from './wait-for.ts'
import { freePort, acceptsConnections } from './ports.ts'

export interface Haproxy {
  readonly port: number
  /** ws://127.0.0.1:<port>/sync */
  readonly wsUrl: string
  stop(): Promise<void>
}

export function haproxyAvailable(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0
}

export async function startHaproxy(backendPort: number): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-haproxy-'))
  const port = await freePort()
  const config = join(dir, 'haproxy.cfg')
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 6000', // two descriptors each, under the usual limit of 20000
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 60s',
      '  timeout server 60s',
      // An upgraded WebSocket is a tunnel; without this it would be cut after `timeout client`.
      '  timeout tunnel 1h',
      '  option forwardfor',
      'frontend chorus_in',
      `  bind 127.0.0.1:${port}`,
      '  default_backend chorus',
      'backend chorus',
      `  server chorus1 127.0.0.1:${backendPort} maxconn 6000`,
      '',
    ].join('\n'),
  )
  let output = ''
  const child = spawn('haproxy', ['-db', '-f', config], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // ESRCH: gone already
    }
  }
  process.once('exit', killGroup)
  const stop = async (): Promise<void> => {
    killGroup()
    await exited
    process.off('exit', killGroup)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${output}`)
        return acceptsConnections(port)
      },
      'haproxy accepting connections',
      10_000,
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { port, wsUrl: `ws://127.0.0.1:${port}/sync`, stop }
}
