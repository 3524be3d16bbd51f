/**
 * Slow and silent clients are bounded by time, and honest clients get through meanwhile: trickled
 * request headers and bodies are cut off (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS), and
 * WebSockets that say nothing are closed (FIRST_MESSAGE_TIMEOUT_MS) without locking their
 * address's other clients out. Real sockets against a real server; small timeouts keep it short.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { afterEach, describe, it } from 'node:test'
import WebSocket from 'ws'
import { CloseCode } from '../../lib/protocol.ts'
import { TestScope, whenSynced } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const scope = new TestScope()
afterEach(() => scope.cleanup())
const { serverWith, client } = scope

interface Trickler {
  socket: net.Socket
  closedAt: number | null
  response: string
}

/** A raw TCP client that sends `head` at once, then one byte of `rest` every `everyMs`. */
function trickle(port: number, head: string, rest: string, everyMs: number): Trickler {
  const socket = net.connect(port, '127.0.0.1')
  const trickler: Trickler = { socket, closedAt: null, response: '' }
  let sent = 0
  let connected = false
  // Only once connected: written earlier, a trickled byte could overtake the head.
  const timer = setInterval(() => {
    if (connected && sent < rest.length && socket.writable) socket.write(rest[sent++])
  }, everyMs)
  socket.on('connect', () => {
    socket.write(head)
    connected = true
  })
  socket.setEncoding('utf8').on('data', (chunk: string) => (trickler.response += chunk))
  socket.on('error', () => {})
  socket.on('close', () => {
    clearInterval(timer)
    trickler.closedAt = performance.now()
  })
  scope.defer(() => {
    clearInterval(timer)
    socket.destroy()
  })
  return trickler
}

describe('slow HTTP clients', () => {
  it('cuts off trickled request bodies and headers within their timeouts, while others are served', async () => {
    // Root cause: Node's own limits (request 300 s, checked every 30 s) let trickled bodies hold sockets for minutes.
    const server = await serverWith({ httpHeadersTimeoutMs: 500, httpRequestTimeoutMs: 1000 })
    const started = performance.now()
    const bodies = Array.from({ length: 100 }, (_, i) =>
      trickle(
        server.port,
        `POST /api/documents/slow-${i}/view-link HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
        '{'.repeat(1000),
        50,
      ),
    )
    const headers = Array.from({ length: 100 }, () =>
      trickle(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', `X-Slow: ${'a'.repeat(1000)}`, 50),
    )
    // Honest requests are answered meanwhile.
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`)
    assert.equal(health.status, 200)
    const link = await fetch(`http://127.0.0.1:${server.port}/api/documents/fast/view-link`, { method: 'POST' })
    assert.equal(link.status, 200)

    await waitFor(() => [...bodies, ...headers].every((t) => t.closedAt !== null), 'every trickling socket closed', 10_000)
    const latest = (list: Trickler[]) => Math.max(...list.map((t) => t.closedAt! - started))
    // The timeout plus the checking interval (a tenth of the headers timeout) plus a busy machine's lag.
    assert.ok(latest(headers) < 500 + 2500, `trickled headers closed after ${latest(headers).toFixed(0)} ms`)
    assert.ok(latest(bodies) < 1000 + 2500, `trickled bodies closed after ${latest(bodies).toFixed(0)} ms`)
    // Those whose headers never completed are told why.
    assert.ok(
      headers.every((t) => t.response.startsWith('HTTP/1.1 408')),
      headers[0].response,
    )
  })
})

describe('silent WebSocket upgrades', () => {
  it('closes upgrades that say nothing, and honest clients from the same address connect meanwhile', async () => {
    // Root cause: an upgrade that never speaks kept its place in the address's budget (600 a minute) for the whole minute.
    const timeoutMs = 4000
    const server = await serverWith({ firstMessageTimeoutMs: timeoutMs, maxConnectionsPerAddressPerMinute: 600 })
    const started = performance.now()
    const silent: { open: boolean; status: number | null; close: { code: number; reason: string } | null; closedAt: number }[] =
      []
    for (let i = 0; i < 700; i++) {
      const ws = new WebSocket(`${server.wsUrl}/silent-${i % 50}`)
      const entry = {
        open: false,
        status: null as number | null,
        close: null as { code: number; reason: string } | null,
        closedAt: 0,
      }
      silent.push(entry)
      ws.on('open', () => (entry.open = true))
      ws.on('unexpected-response', (_request, response) => {
        entry.status = response.statusCode ?? 0
        response.resume()
      })
      ws.on('error', () => {})
      ws.on('close', (code, reason) => {
        entry.close = { code, reason: reason.toString() }
        entry.closedAt = performance.now()
      })
      scope.defer(() => ws.terminate())
    }
    await waitFor(() => silent.every((s) => s.open || s.status !== null), 'every silent upgrade answered', 20_000)
    const opened = silent.filter((s) => s.open).length
    assert.ok(opened >= 600, `${opened} silent upgrades accepted`)

    // Once they have been silent a moment, honest clients (stock and Chorus) take their places.
    await waitFor(() => performance.now() - started > 1200, 'the silent ones have been silent for a second')
    const honest = Array.from({ length: 8 }, (_, i) => client(server, `honest-${i % 4}`, { chorus: i % 2 === 0 }))
    await Promise.all(honest.map((c) => whenSynced(c, 20_000)))
    const stillSilent = silent.filter((s) => s.open && s.close === null).length
    assert.ok(stillSilent > 0, 'honest clients got in while silent upgrades were still open')

    await waitFor(() => silent.every((s) => !s.open || s.close !== null), 'every silent upgrade closed', timeoutMs + 10_000)
    for (const s of silent.filter((s) => s.open)) {
      assert.equal(s.close!.code, CloseCode.Silent)
      assert.match(s.close!.reason, /^nothing received/)
    }
    const last = Math.max(...silent.filter((s) => s.open).map((s) => s.closedAt - started))
    assert.ok(last < timeoutMs + 8000, `last silent upgrade closed after ${last.toFixed(0)} ms`)
    assert.ok(
      honest.every((c) => c.provider.wsconnected),
      'the honest clients stay connected',
    )
  })

  it('keeps editors and viewers that speak at once, stock or Chorus, past the first-message timeout', async () => {
    const timeoutMs = 300
    const server = await serverWith({ firstMessageTimeoutMs: timeoutMs })
    const editor = client(server, 'spoken', { chorus: true })
    const stock = client(server, 'spoken', { chorus: false })
    await Promise.all([whenSynced(editor), whenSynced(stock)])
    const { viewId } = (await (
      await fetch(`http://127.0.0.1:${server.port}/api/documents/spoken/view-link`, { method: 'POST' })
    ).json()) as {
      viewId: string
    }
    const viewer = client(server, `view/${viewId}`, { chorus: true })
    await whenSynced(viewer)
    let closes = 0
    for (const c of [editor, stock, viewer]) c.provider.on('connection-close', () => closes++)
    const since = performance.now()
    await waitFor(() => performance.now() - since > 4 * timeoutMs, 'four first-message timeouts have passed')
    assert.equal(closes, 0)
    assert.equal(server.sync.connectionCount, 3)
  })
})

describe('peers that reset', () => {
  it('survives upgrades reset by the peer around a refusal', async () => {
    // Root cause: Node takes its error listener off a socket handed over for an upgrade; a reset before ws took it crashed the process.
    const server = await serverWith({ maxConnectionsPerAddressPerMinute: 1 })
    const request =
      'GET /sync/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    const closed = await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<void>((resolve) => {
            const socket = net.connect(server.port, '127.0.0.1', () => socket.write(request, () => socket.resetAndDestroy()))
            socket.on('error', () => {})
            socket.on('close', () => resolve())
          }),
      ),
    )
    assert.equal(closed.length, 50)
    // Still serving: the process did not die of an unhandled 'error'.
    await waitFor(() => server.sync.connectionCount === 0, 'the accepted one is gone')
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status, 200)
  })
})
