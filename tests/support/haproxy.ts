/**
 * A real HAProxy (Debian's package) in front of Chorus, for tests behind a proxy:
 *
 *   const proxy = await startHaproxy(backendPort)            // one server, HTTP mode, forwardfor
 *   const lb = await startShippedHaproxy([p1, p2, p3])        // docs/deploy/haproxy.cfg as shipped
 *   const rr = await startShippedHaproxy(ports, { balance: 'roundrobin' })   // no stickiness
 *   await proxy.stop()                                        // always, in a finally / after hook
 *
 * Runs in the foreground (-db) in its own process group, config in a temporary folder.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait-for.ts'
import { freePort, acceptsConnections } from './ports.ts'

export interface Haproxy {
  readonly port: number
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** ws://127.0.0.1:<port>/sync */
  readonly wsUrl: string
  stop(): Promise<void>
}

export function haproxyAvailable(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0
}

export async function startHaproxy(backendPort: number): Promise<Haproxy> {
  const port = await freePort()
  return runHaproxy(
    port,
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
}

export const SHIPPED_HAPROXY_CONFIG = fileURLToPath(new URL('../../docs/deploy/haproxy.cfg', import.meta.url))

/**
 * docs/deploy/haproxy.cfg as shipped, changed only where a test must: the bind address and the
 * three servers' addresses (each change must match exactly once, so a file that drifts fails
 * loudly), and, with `balance: 'roundrobin'`, the balancing line (every connection anywhere).
 */
export async function startShippedHaproxy(
  backendPorts: readonly number[],
  { balance = 'shipped' }: { balance?: 'shipped' | 'roundrobin' } = {},
): Promise<Haproxy> {
  if (backendPorts.length !== 3) throw new Error('the shipped config names three servers')
  const port = await freePort()
  const replacements: [string, string][] = [
    ['bind :80', `bind 127.0.0.1:${port}`],
    ...backendPorts.map((backendPort, i): [string, string] => [`10.0.0.1${i + 1}:3000`, `127.0.0.1:${backendPort}`]),
  ]
  if (balance === 'roundrobin') replacements.push(['balance uri depth 3', 'balance roundrobin'])
  return runHaproxy(port, templated(readFileSync(SHIPPED_HAPROXY_CONFIG, 'utf8'), replacements))
}

function templated(text: string, replacements: [string, string][]): string {
  for (const [from, to] of replacements) {
    const count = text.split(from).length - 1
    if (count !== 1) throw new Error(`docs/deploy/haproxy.cfg: expected "${from}" once, found it ${count} times`)
    text = text.replace(from, to)
  }
  return text
}

async function runHaproxy(port: number, configText: string): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-haproxy-'))
  const config = join(dir, 'haproxy.cfg')
  writeFileSync(config, configText)
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
  return { port, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/sync`, stop }
}
