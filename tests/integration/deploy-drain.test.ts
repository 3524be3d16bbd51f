/**
 * Deploys without lost edits, on a real server process: SIGTERM turns readiness 503 at once, the
 * server keeps serving for DRAIN_SECONDS, then closes with 1012 and stores everything; a second
 * signal ends the drain but never the storing.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import * as Y from 'yjs'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'

async function readiness(chorus: ChorusServer): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${chorus.url}/readyz`)
  return { status: response.status, body: await response.json() }
}

/** The document's text as stored on disk (read after the server exited). */
async function storedText(dataDir: string, docId: string): Promise<string> {
  const store = await LevelDbStore.open(dataDir)
  try {
    const doc = new Y.Doc()
    for (const update of (await store.load(docId)).updates) Y.applyUpdate(doc, update)
    return doc.getText('t').toString()
  } finally {
    await store.close()
  }
}

function closeCodes(client: TestClient): number[] {
  const codes: number[] = []
  client.provider.on('connection-close', (event) => {
    if (event) codes.push(event.code)
  })
  return codes
}

const type = (client: TestClient, text: string) => client.doc.getText('t').insert(client.doc.getText('t').length, text)

describe('deploys without lost edits', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  it('SIGTERM: 503 at once, edits and new connections served and stored while draining, then 1012, and all of it on disk after a restart', {
    timeout: 40_000,
  }, async () => {
    const chorus = await startChorus({ entry: 'standalone', env: { DRAIN_SECONDS: '5', LOG_LEVEL: 'info' } })
    cleanups.push(() => chorus.cleanup())
    const ada = connectClient(chorus.wsUrl, 'drain-doc')
    cleanups.push(() => ada.destroy())
    const adaCloses = closeCodes(ada)
    await whenSynced(ada)
    type(ada, 'before. ')
    await ada.whenSaved()
    assert.equal((await readiness(chorus)).status, 200)

    const signalledAt = performance.now()
    const exited = chorus.stop('SIGTERM')
    await waitFor(async () => (await readiness(chorus)).status === 503, 'readiness 503 after SIGTERM')
    const readyFor = performance.now() - signalledAt
    assert.deepEqual(await readiness(chorus), { status: 503, body: { status: 'unavailable', reason: 'stopping' } })
    assert.ok(readyFor < 1000, `readiness turned 503 within ${Math.round(readyFor)} ms, well before the drain ends`)

    // Still serving: the connected editor's edits are stored ("Saved"), and a new one gets in.
    type(ada, 'during the drain. ')
    await ada.whenSaved()
    const bob = connectClient(chorus.wsUrl, 'drain-doc')
    cleanups.push(() => bob.destroy())
    const bobCloses = closeCodes(bob)
    await whenSynced(bob)
    type(bob, 'bob joined while draining. ')
    await bob.whenSaved()
    assert.ok(
      performance.now() - signalledAt < 5000,
      'all of that happened during the drain (make DRAIN_SECONDS longer if this machine is slower)',
    )
    assert.deepEqual(adaCloses, [], 'nobody was closed during the drain')

    await waitFor(() => adaCloses.length > 0 && bobCloses.length > 0, 'clients closed after the drain', 10_000)
    assert.deepEqual([adaCloses[0], bobCloses[0]], [1012, 1012])
    assert.equal(await exited, 0)
    assert.ok(performance.now() - signalledAt >= 5000, 'the server served for the whole drain')
    assert.match(chorus.output(), /draining: readiness is 503/)
    // Nothing reaches the next server from the clients: what it has comes from the disk.
    ada.destroy()
    bob.destroy()

    await chorus.restart()
    const reader = connectClient(chorus.wsUrl, 'drain-doc')
    cleanups.push(() => reader.destroy())
    await whenSynced(reader)
    const text = reader.doc.getText('t').toString()
    for (const part of ['before. ', 'during the drain. ', 'bob joined while draining. '])
      assert.ok(text.includes(part), `"${part}" in "${text}"`)
  })

  it('a second SIGTERM ends the drain at once, and what was received is still stored', { timeout: 40_000 }, async () => {
    // A long commit delay keeps the last record on its way to disk when the second signal comes.
    const chorus = await startChorus({
      entry: 'standalone',
      env: { DRAIN_SECONDS: '60', COMMIT_DELAY_MS: '800', LOG_LEVEL: 'info' },
    })
    cleanups.push(() => chorus.cleanup())
    const ada = connectClient(chorus.wsUrl, 'skip-doc')
    const bob = connectClient(chorus.wsUrl, 'skip-doc')
    cleanups.push(
      () => ada.destroy(),
      () => bob.destroy(),
    )
    await Promise.all([whenSynced(ada), whenSynced(bob)])

    const signalledAt = performance.now()
    const exited = chorus.stop('SIGTERM')
    await waitFor(() => /draining: readiness is 503/.test(chorus.output()), 'draining')
    type(ada, 'typed during the drain, not yet saved. ')
    // The server has it once it relayed it to Bob; Ada has not heard "Saved" yet.
    await waitFor(() => bob.doc.getText('t').length > 0, 'Bob has the edit')
    assert.equal(ada.savedStateVector?.get(ada.doc.clientID) ?? 0, 0, 'not yet stored when the second signal comes')
    // Copies of one signal within a second are one request (see graceful-stop.ts): wait past that.
    await waitFor(() => performance.now() - signalledAt > 1100, 'past the window that merges copies of one signal')
    process.kill(-chorus.pid, 'SIGTERM')
    assert.equal(await exited, 0)
    const stoppedAfter = performance.now() - signalledAt
    assert.ok(stoppedAfter < 10_000, `stopped ${Math.round(stoppedAfter)} ms after the first signal, not after the 60 s drain`)
    assert.match(chorus.output(), /second stop request: ending the drain now/)
    ada.destroy()
    bob.destroy()
    assert.equal(await storedText(chorus.dataDir, 'skip-doc'), 'typed during the drain, not yet saved. ')
  })
})
