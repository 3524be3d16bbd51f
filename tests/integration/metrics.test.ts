/**
 * /metrics on a real server process, with real y-websocket clients editing: the counters move by
 * exactly what the clients did, the token guards it, METRICS_PORT moves it, and no label names a
 * document.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { delta, parseLabels, sample, scrapeMetrics, type Scrape } from '../support/scrape-metrics.ts'
import { waitFor } from '../support/wait-for.ts'
import { freePort } from '../support/ports.ts'

const TOKEN = 'metrics-test-token'

/** The bytes of the y-websocket message that carries `update` (what the server receives and relays). */
function updateMessageBytes(update: Uint8Array): number {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0) // sync
  encoding.writeVarUint(encoder, 2) // update
  encoding.writeVarUint8Array(encoder, update)
  return encoding.length(encoder)
}

/** A refused upgrade: resolves with the HTTP status, or the close code if it was accepted and closed. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_request, response) => {
      resolve(`http ${response.statusCode}`)
      ws.terminate()
    })
    ws.on('close', (code) => resolve(`close ${code}`))
    ws.on('error', () => undefined)
  })
}

describe('/metrics', () => {
  let chorus: ChorusServer
  const clients: TestClient[] = []
  before(async () => {
    chorus = await startChorus({ entry: 'standalone', env: { METRICS_TOKEN: TOKEN } })
  })
  after(async () => {
    for (const client of clients) client.destroy()
    await chorus?.cleanup()
  })

  it('is guarded by METRICS_TOKEN', async () => {
    assert.equal((await scrapeMetrics(`${chorus.url}/metrics`)).status, 401)
    assert.equal((await scrapeMetrics(`${chorus.url}/metrics`, 'wrong')).status, 401)
    const scrape = await scrapeMetrics(`${chorus.url}/metrics`, TOKEN)
    assert.equal(scrape.status, 200)
    // Node's own figures: event-loop lag, GC, heap.
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total']) {
      assert.ok(scrape.samples.has(name), `${name} exported`)
    }
    // The event loop is measured from the first scrape on, and that scrape already has readings (an
    // empty histogram reads a minimum of 9.2e9 s and a mean of NaN): at least the 10 ms sampling.
    const [min, mean] = ['nodejs_eventloop_lag_min_seconds', 'nodejs_eventloop_lag_mean_seconds'].map((name) =>
      scrape.samples.get(name),
    )
    assert.ok(min !== undefined && min >= 0.009 && min < 1, `first event-loop minimum ${min} s`)
    assert.ok(mean !== undefined && mean >= min && mean < 1, `first event-loop mean ${mean} s`)
    // Its series appear with the first garbage collection, which a fresh server may not have had yet.
    assert.match(scrape.text, /^# TYPE nodejs_gc_duration_seconds histogram$/m)
  })

  it('counts connections, messages, updates, storage, refusals and closes by exactly what happened', {
    timeout: 30_000,
  }, async () => {
    const docId = `metrics-doc-${process.pid}`
    const response = await fetch(`${chorus.url}/api/documents/${docId}/view-link`, { method: 'POST' })
    const { viewId } = (await response.json()) as { viewId: string }
    const ada = connectClient(chorus.wsUrl, docId)
    const bob = connectClient(chorus.wsUrl, docId)
    const viewer = connectClient(`${chorus.wsUrl}/view`, viewId, { chorus: false })
    clients.push(ada, bob, viewer)
    await Promise.all([ada, bob, viewer].map((client) => whenSynced(client)))
    const scrape = () => scrapeMetrics(`${chorus.url}/metrics`, TOKEN)
    // Awareness on connect settles: each client's first state was broadcast to everyone present.
    let before: Scrape = await scrape()
    await waitFor(async () => {
      const next = await scrape()
      const settled = delta(before, next, 'chorus_messages_sent_total', { kind: 'awareness' }) === 0
      before = next
      return settled
    }, 'awareness settled')
    assert.equal(sample(before, 'chorus_connections', { role: 'editor' }), 2)
    assert.equal(sample(before, 'chorus_connections', { role: 'viewer' }), 1)
    assert.equal(sample(before, 'chorus_documents_open'), 1)

    const updates: Uint8Array[] = []
    ada.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== ada.provider) updates.push(update)
    })
    const N = 20
    for (let i = 0; i < N; i++) ada.doc.getText('t').insert(i, 'x')
    ada.provider.awareness.setLocalStateField('user', { name: 'Ada' })
    await waitFor(() => bob.doc.getText('t').length === N && viewer.doc.getText('t').length === N, 'both readers have every edit')
    await ada.whenSaved()
    const afterEdits = await scrape()

    assert.equal(updates.length, N, 'one update per insert')
    const updateBytes = updates.reduce((sum, update) => sum + update.byteLength, 0)
    const messageBytes = updates.reduce((sum, update) => sum + updateMessageBytes(update), 0)
    const moved = (name: string, labels?: Record<string, string>) => delta(before, afterEdits, name, labels)
    assert.equal(moved('chorus_messages_received_total', { kind: 'sync-update' }), N)
    assert.equal(moved('chorus_received_bytes_total', { kind: 'sync-update' }), messageBytes)
    // Relayed as received, to Bob and the viewer.
    assert.equal(moved('chorus_messages_sent_total', { kind: 'sync-update' }), 2 * N)
    assert.equal(moved('chorus_sent_bytes_total', { kind: 'sync-update' }), 2 * messageBytes)
    assert.equal(moved('chorus_updates_applied_total', { origin: 'client' }), N)
    assert.equal(moved('chorus_applied_bytes_total', { origin: 'client' }), updateBytes)
    assert.equal(moved('chorus_stored_updates_total'), N)
    assert.equal(moved('chorus_stored_bytes_total'), updateBytes)
    assert.ok(moved('chorus_store_record_duration_seconds_count') >= 1, 'records stored')
    assert.ok(moved('chorus_store_batch_duration_seconds_count') >= 1, 'synced batches')
    assert.ok(
      moved('chorus_store_batch_writes_sum') >= moved('chorus_store_record_duration_seconds_count'),
      'every record was in a batch',
    )
    assert.ok(moved('chorus_store_batch_bytes_sum') > updateBytes, 'a batch holds the updates and their keys')
    assert.equal(moved('chorus_store_failures_total'), 0)
    assert.equal(moved('chorus_store_batch_failures_total'), 0)
    assert.equal(sample(afterEdits, 'chorus_unstored_updates'), 0)
    assert.equal(sample(afterEdits, 'chorus_store_lag_seconds'), 0)
    // Ada's new state, broadcast once to the three of them (echoed to her too, which keeps stock
    // clients alive). Stock clients send on every change they see, remote ones included: Bob's
    // and the viewer's copies of Ada's state change nothing and go no further.
    assert.ok(moved('chorus_messages_received_total', { kind: 'awareness' }) >= 1, 'awareness received')
    assert.equal(moved('chorus_messages_sent_total', { kind: 'awareness' }), 3)

    assert.equal(await refusedUpgrade(`${chorus.wsUrl}/${docId}`, { origin: 'https://elsewhere.example' }), 'http 403')
    assert.equal(await refusedUpgrade(`${chorus.wsUrl}/view/no-such-view-link`), 'close 4404')
    bob.destroy()
    await waitFor(async () => sample(await scrape(), 'chorus_connections', { role: 'editor' }) === 1, 'Bob gone')
    const final = await scrape()
    assert.equal(delta(afterEdits, final, 'chorus_refusals_total', { status: '403', reason: 'origin' }), 1)
    assert.equal(delta(afterEdits, final, 'chorus_refusals_total', { status: '404', reason: 'unknown-view-link' }), 1)
    const closes = [...final.samples].filter(([key]) => key.startsWith('chorus_closes_total{'))
    // Bob's close only (a refusal is counted as one, even when its socket is accepted to be closed
    // with a code); y-websocket closes without a code, which the server sees as 1005.
    assert.equal(
      closes.reduce((sum, [key, value]) => sum + value - (afterEdits.samples.get(key) ?? 0), 0),
      1,
    )
    assert.equal(delta(afterEdits, final, 'chorus_closes_total', { code: '1005' }), 1)

    // Bounded labels: no document id, view id or address anywhere, and only known label names.
    assert.ok(!final.text.includes(docId) && !final.text.includes(viewId) && !final.text.includes('127.0.0.1'))
    const labelNames = new Set<string>()
    for (const key of final.samples.keys()) {
      const braces = /\{(.*)\}$/.exec(key)
      if (braces) for (const name of Object.keys(parseLabels(braces[1]))) labelNames.add(name)
    }
    const allowed = [
      'role',
      'kind',
      'origin',
      'result',
      'status',
      'reason',
      'code',
      'le',
      'type',
      'space',
      'kind',
      'version',
      'major',
      'minor',
      'patch',
    ]
    assert.deepEqual(
      [...labelNames].filter((name) => !allowed.includes(name)),
      [],
    )
  })
})

describe('METRICS_PORT', () => {
  it('serves /metrics on its own port, and only there', { timeout: 30_000 }, async () => {
    const metricsPort = await freePort()
    const chorus = await startChorus({ entry: 'standalone', env: { METRICS_PORT: String(metricsPort) } })
    try {
      const scrape = await scrapeMetrics(`http://127.0.0.1:${metricsPort}/metrics`)
      assert.equal(scrape.status, 200)
      assert.equal(sample(scrape, 'chorus_connections', { role: 'editor' }), 0)
      assert.equal((await fetch(`${chorus.url}/metrics`)).status, 404, 'not on the main port')
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 404, 'nothing else on the metrics port')
      assert.equal((await fetch(`${chorus.url}/healthz`)).status, 200)
    } finally {
      await chorus.cleanup()
    }
  })

  it('in use: the start fails with one line naming METRICS_PORT, exit 3', { timeout: 30_000 }, async () => {
    // Root cause: the listen error would have been described as PORT being in use (startup-failure.ts).
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const { port } = holder.address() as net.AddressInfo
    try {
      await assert.rejects(
        startChorus({ entry: 'standalone', env: { METRICS_PORT: String(port) } }),
        (error: Error) =>
          error.message.includes(`chorus: METRICS_PORT ${port} is already in use`) && /exited with code 3/.test(error.message),
      )
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })
})
