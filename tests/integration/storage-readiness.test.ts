/**
 * A failing store, seen from outside: readiness turns 503 'storage-failing' and back to 200 once
 * writes succeed again, and /metrics shows the failure and an honest store lag meanwhile. The
 * store is the in-memory store with fault injection under a real server (real sockets, real y-websocket
 * clients); the real disk's own recovery is full-disk.test.ts's.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { serveStore } from '../support/serve-store.ts'
import { delta, sample, scrapeMetrics, type Scrape } from '../support/scrape-metrics.ts'
import { connectClient, whenSynced } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

describe('readiness and metrics while storage fails', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('503 storage-failing while writes fail, a growing store lag, and all back without a restart once writes succeed', {
    timeout: 30_000,
  }, async () => {
    const store = new MemoryStore()
    const served = await serveStore(store)
    cleanups.push(() => served.close())
    const url = served.server.url
    const ready = async () => {
      const response = await fetch(`${url}/readyz`)
      return { status: response.status, body: await response.json() }
    }
    const scrape = () => scrapeMetrics(`${url}/metrics`)
    const ada = connectClient(served.wsUrl, 'failing-doc')
    cleanups.push(() => ada.destroy())
    await whenSynced(ada)
    ada.doc.getText('t').insert(0, 'stored. ')
    await ada.whenSaved()
    const before: Scrape = await scrape()
    assert.equal((await ready()).status, 200)
    assert.equal(sample(before, 'chorus_storage_failing'), 0)
    assert.equal(sample(before, 'chorus_store_lag_seconds'), 0)

    store.fillDisk()
    ada.doc.getText('t').insert(0, 'kept in memory while the disk fails. ')
    await waitFor(() => store.failedAppends > 0, 'a write failed')
    assert.deepEqual(await ready(), { status: 503, body: { status: 'unavailable', reason: 'storage-failing' } })
    const failing = await scrape()
    assert.equal(sample(failing, 'chorus_storage_failing'), 1)
    assert.ok(delta(before, failing, 'chorus_store_failures_total') >= 1)
    assert.ok(sample(failing, 'chorus_unstored_updates') >= 1)
    const lag = sample(failing, 'chorus_store_lag_seconds')
    assert.ok(lag > 0, 'the unstored update has an age')
    await waitFor(
      async () => sample(await scrape(), 'chorus_store_lag_seconds') >= lag + 0.2,
      'the lag grows while nothing is stored',
    )

    store.freeDisk()
    await waitFor(async () => (await ready()).status === 200, 'readiness back to 200')
    await ada.whenSaved()
    await waitFor(async () => {
      const recovered = await scrape()
      return sample(recovered, 'chorus_store_lag_seconds') === 0 && sample(recovered, 'chorus_unstored_updates') === 0
    }, 'nothing left to store')
    const recovered = await scrape()
    assert.equal(sample(recovered, 'chorus_storage_failing'), 0)
    assert.equal(delta(before, recovered, 'chorus_stored_updates_total'), 1, 'the kept update, stored once by the retry')
  })
})
