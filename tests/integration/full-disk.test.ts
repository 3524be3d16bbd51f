/**
 * A full disk, for real: a 16 MiB tmpfs is filled while edits are written, then freed. Nothing
 * confirmed may be missing after the next restart.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type * as decoding from 'lib0/decoding'
import { MessageType, decodeNoticePayload, type Notice } from '../../lib/protocol.ts'
import { readdirSync, statSync, truncateSync } from 'node:fs'
import path from 'node:path'
import { createLogger } from '../../server/ops/logger.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { mountSmallDisk, type SmallDisk } from '../support/small-disk.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'
import { clockOf } from '../../lib/state-vector.ts'

interface Editor extends TestClient {
  notices: Notice[]
  /** Highest clock of its own the server has confirmed. */
  confirmed: number
}

function editor(chorus: ChorusServer, docId: string): Editor {
  const client = connectClient(chorus.wsUrl, docId) as Editor
  client.notices = []
  client.confirmed = 0
  const onSaved = client.provider.messageHandlers[MessageType.SavedState]
  client.provider.messageHandlers[MessageType.SavedState] = (encoder, decoder: decoding.Decoder, ...rest) => {
    onSaved(encoder, decoder, ...rest)
    client.confirmed = Math.max(client.confirmed, client.savedStateVector?.get(client.doc.clientID) ?? 0)
  }
  client.provider.messageHandlers[MessageType.Notice] = (_encoder, decoder: decoding.Decoder) => {
    client.notices.push(decodeNoticePayload(decoder))
  }
  return client
}

async function health(
  chorus: ChorusServer,
  path: '/healthz' | '/readyz',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(chorus.url + path)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** Types into each editor's text every few milliseconds until stopped. */
function keepTyping(editors: Editor[]): () => void {
  let n = 0
  const timer = setInterval(() => {
    for (const e of editors) {
      const text = e.doc.getText('t')
      text.insert(text.length, `${e.doc.clientID % 100}:${n++};`)
    }
  }, 5)
  return () => clearInterval(timer)
}

const record = (seq: number) => {
  const bytes = new Uint8Array(10_000).fill(7)
  new DataView(bytes.buffer).setUint32(0, seq)
  return bytes
}
const seqOf = (update: Uint8Array) => new DataView(update.buffer, update.byteOffset, 4).getUint32(0)

describe('full disk', () => {
  const disks: SmallDisk[] = []
  const disk = (): SmallDisk | string => {
    const mounted = mountSmallDisk()
    if ('skip' in mounted) return mounted.skip
    disks.push(mounted)
    return mounted
  }
  after(() => {
    for (const mounted of disks) mounted.unmount()
  })

  // Root cause: LevelDB 1.20 leaves a partial record in its log when a write fails; synced writes
  // appended to that log afterwards are dropped at the next open. The store must reopen first.
  it('LevelDbStore: every write confirmed after the disk was freed is there after a reopen', async (t) => {
    const small = disk()
    if (typeof small === 'string') return t.skip(small)
    let store = await LevelDbStore.open(small.dir)
    let seq = 0
    for (; seq < 20; seq++) await store.appendRecord('d', seq, [record(seq)])
    small.fill()
    // Write until the disk refuses one; later writes wait while the store is unsound.
    const failed: number[] = []
    const waiting: Promise<void>[] = []
    while (failed.length === 0 && seq < 2000) {
      const attempt = seq++
      const write = store.appendRecord('d', attempt, [record(attempt)])
      waiting.push(write.catch(() => void failed.push(attempt)))
      await Promise.race([write.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 20))])
    }
    assert.ok(failed.length > 0, 'a write failed on the full disk')
    assert.equal(store.health, 'failing')
    small.free()
    await waitFor(() => store.health === 'ok', 'the store recovered after the disk was freed', 20_000)
    await Promise.all(waiting)
    const confirmed: number[] = []
    for (let i = 0; i < 200; i++, seq++) {
      await store.appendRecord('d', seq, [record(seq)])
      confirmed.push(seq)
    }
    await store.close()
    store = await LevelDbStore.open(small.dir)
    const stored = await store.load('d')
    await store.close()
    const present = new Set<number>()
    // Each record holds one update that starts with its seq.
    for (const update of stored.updates) present.add(seqOf(update))
    const missing = confirmed.filter((s) => !present.has(s))
    assert.equal(stored.nextSeq, seq, 'the last confirmed record is there')
    assert.deepEqual(missing, [], `${missing.length} of ${confirmed.length} confirmed records are missing`)
    assert.ok(stored.logRecords >= 20 + 200, `${stored.logRecords} records stored`)
  })

  it('LevelDbStore: a reopen that brings back fewer commits than were confirmed keeps the store failing', async (t) => {
    const small = disk()
    if (typeof small === 'string') return t.skip(small)
    const lines: string[] = []
    const store = await LevelDbStore.open(small.dir, { logger: createLogger('error', (line) => lines.push(line)) })
    let seq = 0
    for (; seq < 40; seq++) await store.appendRecord('d', seq, [record(seq)])
    small.fill()
    const waiting: Promise<unknown>[] = []
    while (store.health === 'ok' && seq < 2000) {
      waiting.push(store.appendRecord('d', seq++, [record(seq)]).catch(() => undefined))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    // Confirmed records vanish behind the store's back before it reopens.
    const log = readdirSync(small.dir)
      .filter((name) => name.endsWith('.log'))
      .sort()
      .at(-1)!
    truncateSync(path.join(small.dir, log), Math.floor(statSync(path.join(small.dir, log)).size / 4))
    const late = store.appendRecord('d', seq++, [record(seq)])
    let settled = false
    void late.then(
      () => (settled = true),
      () => (settled = true),
    )
    small.free()
    await waitFor(() => lines.some((line) => /STORAGE DAMAGED/.test(line)), 'the reopen noticed the missing commits', 20_000)
    assert.equal(store.health, 'failing')
    assert.equal(await store.acceptsWrites(), false)
    assert.equal(settled, false, 'a write made after the failure is never confirmed')
  })

  for (const restart of ['kill -9', 'SIGTERM'] as const) {
    it(`server: 4 editors through fill, fail, free, edit; every confirmed update survives ${restart} and restart`, async (t) => {
      const small = disk()
      if (typeof small === 'string') return t.skip(small)
      const chorus = await startChorus({ entry: 'standalone', dataDir: small.dir, env: { STOP_TIMEOUT_MS: '3000' } })
      const editors: Editor[] = []
      let stopTyping = () => {}
      try {
        for (const docId of ['disk-a', 'disk-a', 'disk-b', 'disk-b']) editors.push(editor(chorus, docId))
        await Promise.all(editors.map((e) => whenSynced(e)))
        stopTyping = keepTyping(editors)
        await waitFor(() => editors.every((e) => e.confirmed > 50), 'confirmations before the disk fills', 20_000)
        small.fill()
        await waitFor(
          async () => (await health(chorus, '/healthz')).body.storage === 'failing',
          'healthz reports failing storage',
          20_000,
        )
        assert.equal((await health(chorus, '/healthz')).status, 200, 'healthz stays a liveness check')
        assert.deepEqual(await health(chorus, '/readyz'), {
          status: 503,
          body: { status: 'unavailable', reason: 'storage-failing' },
        })
        await waitFor(
          () => editors.every((e) => e.notices.at(-1)?.code === 'storage-failing' && e.notices.at(-1)?.message !== ''),
          'editors told',
        )
        // Nothing is confirmed while the store is unsound.
        const confirmedWhileFull = editors.map((e) => e.confirmed)
        await new Promise((resolve) => setTimeout(resolve, 500))
        assert.deepEqual(
          editors.map((e) => e.confirmed),
          confirmedWhileFull,
          'no confirmation while the disk is full',
        )
        small.free()
        await waitFor(() => editors.every((e) => e.notices.at(-1)?.message === ''), 'the notice withdrawn after recovery', 30_000)
        assert.equal((await health(chorus, '/healthz')).body.storage, 'ok')
        assert.equal((await health(chorus, '/readyz')).status, 200)
        // Edit after the recovery: these are the writes LevelDB used to drop.
        const recoveredAt = editors.map((e) => e.confirmed)
        await waitFor(() => editors.every((e, i) => e.confirmed > recoveredAt[i] + 100), 'confirmations after recovery', 20_000)
        stopTyping()
        await Promise.all(editors.map((e) => e.whenSaved(20_000)))
        const confirmed = editors.map((e) => ({ docId: e.provider.roomname, client: e.doc.clientID, clock: e.confirmed }))
        const output = chorus.output()
        t.diagnostic(
          `confirmed ${confirmed.reduce((sum, c) => sum + c.clock, 0)} updates (${recoveredAt.reduce((a, b) => a + b, 0)} before the recovery); ` +
            (/storage recovered.*/.exec(output)?.[0] ?? ''),
        )
        assert.equal(output.match(/STORAGE FAILING/g)?.length, 1, 'one line for the failure episode')
        assert.match(output, /storage recovered: reopened LevelDB.*failingMs=\d+/)
        assert.doesNotMatch(output, /\n\s+at /, 'no stack traces')
        for (const e of editors.splice(0)) e.destroy()

        if (restart === 'kill -9') await chorus.kill9()
        await chorus.restart()
        for (const docId of ['disk-a', 'disk-b']) {
          const reader = connectClient(chorus.wsUrl, docId)
          try {
            await whenSynced(reader, 20_000)
            for (const c of confirmed.filter((c) => c.docId === docId)) {
              assert.ok(
                clockOf(reader.doc, c.client) >= c.clock,
                `${docId}: client ${c.client} has ${clockOf(reader.doc, c.client)} of ${c.clock} confirmed`,
              )
            }
          } finally {
            reader.destroy()
          }
        }
      } finally {
        stopTyping()
        for (const e of editors) e.destroy()
        await chorus.cleanup()
      }
    })
  }

  it('server: a graceful stop on a full disk ends within STOP_TIMEOUT_MS, says what it could not store, and the editor still has it', async (t) => {
    const small = disk()
    if (typeof small === 'string') return t.skip(small)
    const chorus = await startChorus({ entry: 'standalone', dataDir: small.dir, env: { STOP_TIMEOUT_MS: '1500' } })
    const writer = editor(chorus, 'stop')
    try {
      await whenSynced(writer)
      writer.doc.getText('t').insert(0, 'stored before the disk filled')
      await writer.whenSaved()
      small.fill()
      writer.doc.getText('t').insert(0, 'x'.repeat(50_000))
      await waitFor(async () => (await health(chorus, '/healthz')).body.storage === 'failing', 'storage failing', 20_000)
      const started = performance.now()
      const code = await chorus.stop('SIGTERM')
      const ms = performance.now() - started
      assert.notEqual(code, 0, 'exits non-zero')
      assert.ok(ms < 1500 + 3000, `stopped in ${Math.round(ms)} ms`)
      assert.match(chorus.output(), /STOP TIMED OUT.*documents=1 updates=\d+/)
      small.free()
      await chorus.restart()
      // The editor reconnects and sends what the stop could not store.
      await writer.whenSaved(30_000)
      const reader = connectClient(chorus.wsUrl, 'stop')
      try {
        await whenSynced(reader)
        assert.equal(reader.doc.getText('t').length, 50_000 + 'stored before the disk filled'.length)
      } finally {
        reader.destroy()
      }
    } finally {
      writer.destroy()
      await chorus.cleanup()
    }
  })
})
