/**
 * Damaged data is refused, never served: a real LevelDB is damaged the way disks and people
 * damage it (a log or table file cut in half, a broken MANIFEST or CURRENT), and both the store
 * and the server process must refuse it with a message naming the folder and `npm run repair`,
 * which recovers what it can into a copy without touching the original.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, it } from 'node:test'
import * as Y from 'yjs'
import { DamagedDataError } from '../../server/storage/document-store.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'
import type * as decoding from 'lib0/decoding'
import { randomBytes } from 'node:crypto'
import { CloseCode, MessageType, decodeNoticePayload, type Notice } from '../../lib/protocol.ts'
import { startChorus } from '../support/chorus-process.ts'
import { connectClient, makeTempDir, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const run = promisify(execFile)
const REPO_ROOT = new URL('../..', import.meta.url).pathname
const DOCUMENTS = 20
const temps: Awaited<ReturnType<typeof makeTempDir>>[] = []

afterEach(async () => {
  for (const temp of temps.splice(0)) await temp.remove()
})

/** A data folder holding DOCUMENTS documents of 30 real Yjs records each, closed cleanly. */
async function dataFolder({ intoTables = false } = {}): Promise<string> {
  const temp = await makeTempDir('chorus-damage-')
  temps.push(temp)
  const dir = path.join(temp.dir, 'data')
  const store = await LevelDbStore.open(dir)
  for (let d = 0; d < DOCUMENTS; d++) {
    const ydoc = new Y.Doc()
    const records: Promise<void>[] = []
    for (let seq = 0; seq < 30; seq++) {
      const before = Y.encodeStateVector(ydoc)
      ydoc.getText('t').insert(0, `doc ${d} edit ${seq} `.repeat(20))
      records.push(store.appendRecord(`doc-${d}`, seq, [Y.encodeStateAsUpdate(ydoc, before)]))
    }
    await Promise.all(records)
  }
  await store.setViewId('doc-0', 'view-0', null)
  await store.close()
  if (intoTables) {
    // Opening again recovers the log into a table file (.ldb) and starts an empty log.
    await (await LevelDbStore.open(dir)).close()
  }
  return dir
}

const newest = (dir: string, extension: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith(extension) && statSync(path.join(dir, name)).size > 0)
    .sort()
    .at(-1)!

const cutInHalf = (file: string) => truncateSync(file, Math.floor(statSync(file).size / 2))

function fingerprint(dir: string): string {
  const hash = createHash('sha256')
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name)
    if (statSync(file).isFile()) hash.update(name).update(readFileSync(file))
  }
  return hash.digest('hex')
}

async function assertRefused(dir: string): Promise<DamagedDataError> {
  const error = await LevelDbStore.open(dir).then(
    async (store) => {
      await store.close()
      return null
    },
    (error: unknown) => error,
  )
  assert.ok(error instanceof DamagedDataError, `refused as damaged, got ${String(error)}`)
  assert.ok(error.message.includes(dir), 'names the folder')
  assert.match(error.message, /npm run repair/)
  return error
}

describe('damaged data', () => {
  it('refuses a store whose newest .log was cut in half (synced writes missing)', async () => {
    const dir = await dataFolder()
    cutInHalf(path.join(dir, newest(dir, '.log')))
    const error = await assertRefused(dir)
    assert.match(error.message, /synced writes are missing/)
  })

  it('refuses a store with a .ldb table file cut in half', async () => {
    const dir = await dataFolder({ intoTables: true })
    cutInHalf(path.join(dir, newest(dir, '.ldb')))
    await assertRefused(dir)
  })

  it('refuses a damaged MANIFEST, a damaged, empty or missing CURRENT', async () => {
    const manifest = await dataFolder()
    const manifestFile = path.join(manifest, readdirSync(manifest).find((name) => name.startsWith('MANIFEST-'))!)
    const bytes = readFileSync(manifestFile)
    bytes.fill(0xab, 8, Math.min(bytes.length, 40))
    writeFileSync(manifestFile, bytes)
    await assertRefused(manifest)

    const current = await dataFolder()
    writeFileSync(path.join(current, 'CURRENT'), 'MANIFEST-999999\n')
    await assertRefused(current)

    const empty = await dataFolder()
    writeFileSync(path.join(empty, 'CURRENT'), '')
    await assertRefused(empty)

    // Without CURRENT, LevelDB would create a new, empty database beside the old files.
    const missing = await dataFolder()
    unlinkSync(path.join(missing, 'CURRENT'))
    await assertRefused(missing)
  })

  it('the server process refuses to start on damaged data, naming the folder and npm run repair', async () => {
    const dir = await dataFolder({ intoTables: true })
    cutInHalf(path.join(dir, newest(dir, '.ldb')))
    await assert.rejects(startChorus({ entry: 'standalone', dataDir: dir }), (error: Error) => {
      assert.ok(error.message.includes(dir), 'names the folder')
      assert.match(error.message, /npm run repair/)
      return true
    })
  })

  it('npm run repair recovers into a copy, says what it recovered, and leaves the original as it was', async () => {
    const dir = await dataFolder()
    cutInHalf(path.join(dir, newest(dir, '.log')))
    const before = fingerprint(dir)
    const out = `${dir}-copy`
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'server/storage/repair.ts', dir, '--out', out], {
      cwd: REPO_ROOT,
    })
    assert.equal(fingerprint(dir), before, 'the original is untouched')
    const recovered = /Recovered (\d+) documents \((\d+) log records/.exec(stdout)
    assert.ok(recovered, stdout)
    assert.ok(Number(recovered[1]) > 0 && Number(recovered[1]) <= DOCUMENTS, stdout)
    assert.ok(Number(recovered[2]) < DOCUMENTS * 30, 'the cut records are not claimed')
    assert.ok(stdout.includes(`DATA_DIR=${out}`), 'says how to use the copy')
    const store = await LevelDbStore.open(out)
    try {
      const ydoc = new Y.Doc()
      for (const update of (await store.load('doc-0')).updates) Y.applyUpdate(ydoc, update)
      assert.match(ydoc.getText('t').toString(), /doc 0 edit/)
    } finally {
      await store.close()
    }
  })

  it('a document whose stored record rotted is closed with 4422 and a notice, never served; the others are', async () => {
    const temp = await makeTempDir('chorus-damage-')
    temps.push(temp)
    const dir = path.join(temp.dir, 'data')
    const store = await LevelDbStore.open(dir)
    // Random text, so snappy leaves it as it is and it can be found in the table file.
    const rotten = randomBytes(300).toString('base64')
    for (const [docId, content] of [
      ['rotten', rotten],
      ['sound', 'still here'],
    ]) {
      const ydoc = new Y.Doc()
      ydoc.getText('t').insert(0, content)
      await store.appendRecord(docId, 0, [Y.encodeStateAsUpdate(ydoc)])
    }
    await store.close()
    await (await LevelDbStore.open(dir)).close() // into a table file, which LevelDB reads unchecked
    const table = path.join(dir, newest(dir, '.ldb'))
    const bytes = readFileSync(table)
    const at = bytes.indexOf(Buffer.from(rotten.slice(100, 140)))
    assert.ok(at >= 0)
    bytes[at + 5] ^= 0x01 // one flipped bit, still valid text and a valid Yjs update
    writeFileSync(table, bytes)

    const chorus = await startChorus({ entry: 'standalone', dataDir: dir })
    const clients: TestClient[] = []
    try {
      const reader = connectClient(chorus.wsUrl, 'rotten')
      clients.push(reader)
      const notices: Notice[] = []
      const closeCodes: number[] = []
      reader.provider.messageHandlers[MessageType.Notice] = (_encoder, decoder: decoding.Decoder) => {
        notices.push(decodeNoticePayload(decoder))
      }
      reader.provider.on('connection-close', (event: CloseEvent | null) => void (event && closeCodes.push(event.code)))
      await waitFor(() => closeCodes.includes(CloseCode.DocumentUnavailable), 'closed with 4422')
      assert.equal(notices[0]?.code, 'document-unavailable')
      assert.equal(reader.doc.getText('t').length, 0, 'nothing of the damaged document was served')
      assert.equal(reader.provider.shouldConnect, false, 'the close is final')
      const sound = connectClient(chorus.wsUrl, 'sound')
      clients.push(sound)
      await whenSynced(sound)
      assert.equal(sound.doc.getText('t').toString(), 'still here')
      assert.match(chorus.output(), /document data is damaged; refusing to serve it.*checksum/)
    } finally {
      for (const client of clients) client.destroy()
      await chorus.cleanup()
    }
  })
})
