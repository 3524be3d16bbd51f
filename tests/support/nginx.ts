/**
 * Runs the shipped nginx config (docs/deploy/nginx.conf) with Debian's nginx in front of a test's
 * Chorus server. The file is used as shipped except for what a test must change: its listen
 * ports (on loopback), the certificate paths and the upstream address. Each change must match
 * exactly once, so a shipped file that drifts from what these replacements expect fails loudly
 * instead of being tested half-changed.
 *
 *   const proxy = await startNginx({ upstreamPort: chorus.port, certificate })
 *   ... https://127.0.0.1:<proxy.httpsPort>/ ...
 *   await proxy.stop()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait-for.ts'
import { freePort, acceptsConnections } from './ports.ts'

export const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((path) => existsSync(path))
export const SHIPPED_CONFIG = fileURLToPath(new URL('../../docs/deploy/nginx.conf', import.meta.url))

export interface NginxProxy {
  httpPort: number
  httpsPort: number
  /** https://127.0.0.1:<httpsPort> */
  httpsUrl: string
  /** wss://127.0.0.1:<httpsPort>/sync, for y-websocket clients. */
  wssUrl: string
  /** nginx's stderr and error log. */
  output(): string
  stop(): Promise<void>
}

export interface StartNginxOptions {
  /** Chorus's port on 127.0.0.1. */
  upstreamPort: number
  certificate: { certFile: string; keyFile: string }
}

export async function startNginx({ upstreamPort, certificate }: StartNginxOptions): Promise<NginxProxy> {
  if (!NGINX) throw new Error('nginx not found: install it (apt-get install nginx)')
  const dir = mkdtempSync(join(tmpdir(), 'chorus-nginx-'))
  const [httpPort, httpsPort] = await Promise.all([freePort(), freePort()])
  const ipv6 = await loopbackV6()
  const site = templated(readFileSync(SHIPPED_CONFIG, 'utf8'), [
    ['listen 80;', `listen 127.0.0.1:${httpPort};`],
    ['listen [::]:80;', ipv6 ? `listen [::1]:${httpPort};` : ''],
    ['listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`],
    ['listen [::]:443 ssl http2;', ipv6 ? `listen [::1]:${httpsPort} ssl http2;` : ''],
    ['/etc/letsencrypt/live/chorus.example.com/fullchain.pem;', `${certificate.certFile};`],
    ['/etc/letsencrypt/live/chorus.example.com/privkey.pem;', `${certificate.keyFile};`],
    ['server 127.0.0.1:3000;', `server 127.0.0.1:${upstreamPort};`],
  ])
  writeFileSync(join(dir, 'chorus.conf'), site)
  // The main file a distribution's nginx.conf would be, cut down to a test's: everything in this
  // folder. Workers as root (when we are) so they can use the temp folders here.
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
      `  include ${join(dir, 'chorus.conf')};`,
      '}',
      '',
    ].join('\n'),
  )

  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    detached: true, // its own group: the master and its worker go together
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  live.add(child)
  installExitHook()
  const output = () => {
    const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''
    return `${stderr}${log}`
  }
  const stop = async () => {
    killGroup(child, 'SIGTERM')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))])
    clearTimeout(timer)
    killGroup(child, 'SIGKILL')
    live.delete(child)
    rmSync(dir, { recursive: true, force: true })
  }

  let gone = false
  void exited.then(() => (gone = true))
  try {
    await waitFor(
      async () => gone || ((await acceptsConnections(httpsPort)) && (await acceptsConnections(httpPort))),
      'nginx listening',
      10_000,
    )
    if (gone) throw new Error('exited')
  } catch (error) {
    const text = output()
    await stop()
    throw new Error(`nginx did not start (${(error as Error).message}):\n${text}`)
  }
  return {
    httpPort,
    httpsPort,
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    wssUrl: `wss://127.0.0.1:${httpsPort}/sync`,
    output,
    stop,
  }
}

function templated(text: string, replacements: [string, string][]): string {
  for (const [from, to] of replacements) {
    const count = text.split(from).length - 1
    if (count !== 1) throw new Error(`docs/deploy/nginx.conf: expected "${from}" once, found it ${count} times`)
    text = text.replace(from, to)
  }
  return text
}

function loopbackV6(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(0, '::1', () => server.close(() => resolve(true)))
  })
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return // never started
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

const live = new Set<ChildProcess>()
let hookInstalled = false

/** nginx outlives a test process that dies without its teardown; kill what is left on exit. */
function installExitHook(): void {
  if (hookInstalled) return
  hookInstalled = true
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL')
  })
}
