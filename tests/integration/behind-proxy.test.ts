/**
 * Chorus behind a reverse proxy (TRUST_PROXY): a real HAProxy with `option forwardfor` in front
 * of a real Chorus. Every client arrives from the proxy's one address; limits apply to the client
 * the proxy reports, and nobody can choose their own address by sending a header.
 *
 * Clients behind the proxy are told apart by their own source address: Linux routes all of
 * 127.0.0.0/8 to loopback, so each client binds a distinct 127.1.x.y and HAProxy reports it.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import {
  connectGradually,
  everyoneHolds,
  loopbackAddress,
  makeStormClients,
  offlineText,
  seedText,
  totals,
  type StormClient,
} from '../../bench/storm-clients.ts'
import { parseTrustProxy } from '../../server/transport/client-address.ts'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { haproxyAvailable, startHaproxy, type Haproxy } from '../support/haproxy.ts'
import { TestScope } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const scope = new TestScope()
afterEach(() => scope.cleanup())

before(() => {
  assert.ok(haproxyAvailable(), 'these tests need HAProxy (Debian: apt-get install haproxy; .ci/run installs it)')
})

/** The HTTP status an upgrade gets: 101 when accepted. */
function upgradeStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options)
    ws.on('unexpected-response', (_request, response) => {
      // The proxy may reset the connection after its answer; that is not this test's business.
      response.on('error', () => {})
      resolve(response.statusCode ?? 0)
      // Handling this event makes aborting the request ours to do.
      ws.terminate()
    })
    ws.on('open', () => {
      // Speak, as a real client does, then go.
      ws.send(Uint8Array.of(0, 0, 1, 0))
      ws.terminate()
      resolve(101)
    })
    ws.on('error', () => resolve(0))
  })
}

describe('behind a proxy: 2,000 clients over 500 documents through one proxy address', () => {
  let chorus: ChorusServer | undefined
  let proxy: Haproxy | undefined
  let clients: StormClient[] = []
  after(async () => {
    for (const client of clients) client.destroy()
    await proxy?.stop()
    await chorus?.cleanup()
  })

  it('reconnect after a restart: every one is resynced with its document, none is refused', async (t) => {
    // Root cause: behind a proxy every client had the proxy's address, so 600 new connections a minute was the whole team's budget.
    const layout = { clients: 2000, documents: 500 }
    chorus = await startChorus({
      entry: 'standalone',
      // Only the proxy is trusted: the clients' own loopback addresses (127.1.x.y) are not.
      env: { TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_ADDRESS_PER_MINUTE: '600' },
    })
    proxy = await startHaproxy(chorus.port)
    clients = makeStormClients(layout, 'storm', (i) => ({ localAddress: loopbackAddress(i) }), proxy.wsUrl)

    let started = performance.now()
    await connectGradually(clients, 200, (c) => c.generation >= 1 || c.refused > 0, 30_000)
    await waitFor(() => everyoneHolds(clients, layout, seedText), 'every client holds its document', 30_000)
    t.diagnostic(`first connect: ${clients.length} clients synced in ${(performance.now() - started).toFixed(0)} ms`)

    const before = clients.map((c) => c.generation)
    started = performance.now()
    await chorus.stop('SIGTERM')
    const stoppedAt = performance.now()
    // While it is down, the first client of each document edits: the others must get it on resync.
    for (let d = 0; d < layout.documents; d++) clients[d].text.insert(clients[d].text.length, offlineText(d))
    await chorus.restart()
    const readyAt = performance.now()
    await waitFor(
      () =>
        clients.every((c, i) => c.generation > before[i]) && everyoneHolds(clients, layout, (d) => seedText(d) + offlineText(d)),
      'every client resynced and holding its document with the offline edit',
      40_000,
    )
    const doneAt = performance.now()
    const { refused, other, opened, failed } = totals(clients)
    t.diagnostic(
      `restart: stop ${(stoppedAt - started).toFixed(0)} ms, start ${(readyAt - stoppedAt).toFixed(0)} ms, ` +
        `all ${clients.length} resynced ${(doneAt - readyAt).toFixed(0)} ms after the ready line; ` +
        `${opened} sockets opened, ${refused} refused (429), other answers while it was down: ${JSON.stringify(other)}, ` +
        `failed connection attempts ${failed}`,
    )
    assert.equal(refused, 0, 'no client was refused')
    assert.doesNotMatch(chorus.output(), /refused connection/)
  })
})

describe('behind a proxy: nobody chooses their own address', () => {
  const limited = { maxConnectionsPerAddressPerMinute: 3 }

  it('through the proxy, a client sending its own X-Forwarded-For is still counted as itself', async () => {
    const server = await scope.serverWith({ ...limited, trustProxy: parseTrustProxy('127.0.0.1') })
    const proxy = await startHaproxy(server.port)
    scope.defer(() => proxy.stop())
    const spoofer = (n: number) => ({ localAddress: '127.2.0.1', headers: { 'x-forwarded-for': `203.0.113.${n}` } })
    for (let n = 1; n <= 3; n++) assert.equal(await upgradeStatus(`${proxy.wsUrl}/spoof`, spoofer(n)), 101)
    assert.equal(await upgradeStatus(`${proxy.wsUrl}/spoof`, spoofer(4)), 429)
    // Another client behind the same proxy has a budget of its own.
    assert.equal(await upgradeStatus(`${proxy.wsUrl}/spoof`, { localAddress: '127.2.0.2' }), 101)
  })

  it('without TRUST_PROXY, X-Forwarded-For is ignored: the limit applies to the socket address', async () => {
    // Root cause guarded: believing the header from any peer would let one client reset its own limit at will.
    const server = await scope.serverWith(limited)
    const spoofed = (n: number) => ({ headers: { 'x-forwarded-for': `203.0.113.${n}` } })
    for (let n = 1; n <= 3; n++) assert.equal(await upgradeStatus(`${server.wsUrl}/direct`, spoofed(n)), 101)
    assert.equal(await upgradeStatus(`${server.wsUrl}/direct`, spoofed(4)), 429)
    assert.equal(await upgradeStatus(`${server.wsUrl}/direct`, { headers: { forwarded: 'for=203.0.113.5' } }), 429)
  })

  it('with TRUST_PROXY naming other proxies, a direct client cannot spoof either', async () => {
    const server = await scope.serverWith({ ...limited, trustProxy: parseTrustProxy('10.0.0.0/8,fd00::/8') })
    const spoofed = (n: number) => ({ headers: { 'x-forwarded-for': `203.0.113.${n}, 10.0.0.${n}` } })
    for (let n = 1; n <= 3; n++) assert.equal(await upgradeStatus(`${server.wsUrl}/direct`, spoofed(n)), 101)
    assert.equal(await upgradeStatus(`${server.wsUrl}/direct`, spoofed(4)), 429)
  })

  it('from a trusted peer, each reported client has its own budget', async () => {
    const server = await scope.serverWith({ ...limited, trustProxy: parseTrustProxy('loopback') })
    const from = (address: string) => ({ headers: { 'x-forwarded-for': address } })
    for (let n = 1; n <= 5; n++) assert.equal(await upgradeStatus(`${server.wsUrl}/trusted`, from(`203.0.113.${n}`)), 101)
    for (let n = 1; n <= 3; n++) assert.equal(await upgradeStatus(`${server.wsUrl}/trusted`, from('2001:db8::1')), 101)
    assert.equal(await upgradeStatus(`${server.wsUrl}/trusted`, from('2001:DB8:0::1')), 429, 'one IPv6 client, however written')
  })
})
