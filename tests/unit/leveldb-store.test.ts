import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import * as encoding from 'lib0/encoding'
import { LevelDbStore, decodeRecord, encodeRecord } from '../../server/storage/leveldb-store.ts'
import { DamagedDataError, StorageError } from '../../server/storage/document-store.ts'
import { makeTempDir } from '../support/sync-harness.ts'

const bytes = (...values: number[]) => Uint8Array.from(values)

describe('LevelDbStore', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>
  let store: LevelDbStore

  beforeEach(async () => {
    temp = await makeTempDir()
    store = await LevelDbStore.open(temp.dir)
  })
  afterEach(async () => {
    await store.close()
    await temp.remove()
  })

  it('loads an unknown document as empty', async () => {
    const stored = await store.load('nothing-here')
    assert.deepEqual(stored, { updates: [], firstLogSeq: 0, nextSeq: 0, logRecords: 0, logBytes: 0, snapshotBytes: 0 })
  })

  it('appends records and loads them back in order, after a reopen', async () => {
    await Promise.all([
      store.appendRecord('d', 0, [bytes(1), bytes(2)]),
      store.appendRecord('d', 1, [bytes(3)]),
      store.appendRecord('other', 0, [bytes(9)]),
    ])
    await store.close()
    store = await LevelDbStore.open(temp.dir)
    const stored = await store.load('d')
    assert.deepEqual(stored.updates, [bytes(1), bytes(2), bytes(3)])
    assert.equal(stored.nextSeq, 2)
    assert.equal(stored.logRecords, 2)
    assert.deepEqual((await store.load('other')).updates, [bytes(9)])
  })

  it('orders log records numerically past the first hex digit', async () => {
    for (let seq = 0; seq < 20; seq++) await store.appendRecord('d', seq, [bytes(seq)])
    const stored = await store.load('d')
    assert.deepEqual(
      stored.updates,
      Array.from({ length: 20 }, (_, i) => bytes(i)),
    )
    assert.equal(stored.nextSeq, 20)
  })

  it('replaces a log prefix with a snapshot atomically, keeping later records', async () => {
    for (let seq = 0; seq < 5; seq++) await store.appendRecord('d', seq, [bytes(seq)])
    await store.replaceLogWithSnapshot('d', bytes(100), 0, 2)
    const stored = await store.load('d')
    assert.deepEqual(stored.updates, [bytes(100), bytes(3), bytes(4)])
    assert.equal(stored.firstLogSeq, 3)
    assert.equal(stored.nextSeq, 5)
    assert.equal(stored.snapshotBytes, 1)
  })

  it('refuses a stored record or snapshot whose bytes changed on disk as damaged data', async () => {
    // Random, so snappy finds nothing to compress and the values are in the file as they are.
    const values = [randomBytes(256), randomBytes(256)]
    await store.appendRecord('d', 0, [values[0]])
    await store.replaceLogWithSnapshot('s', values[1], 0, -1)
    await store.close()
    // Reopening moves the log into a table file, whose blocks LevelDB does not verify on reads
    // (leveldown cannot ask it to): only the records' own checksums can notice bit rot there.
    await (await LevelDbStore.open(temp.dir)).close()
    const table = readdirSync(temp.dir).find((name) => name.endsWith('.ldb'))!
    const onDisk = readFileSync(path.join(temp.dir, table))
    for (const value of values) {
      const at = onDisk.indexOf(value)
      assert.ok(at >= 0, 'the value is in the table file as it was written')
      onDisk[at + 100] ^= 0x01
    }
    writeFileSync(path.join(temp.dir, table), onDisk)
    store = await LevelDbStore.open(temp.dir)
    await assert.rejects(store.load('d'), DamagedDataError)
    await assert.rejects(store.load('s'), DamagedDataError)
  })

  it('does not mix documents whose ids share a prefix', async () => {
    await store.appendRecord('doc', 0, [bytes(1)])
    await store.appendRecord('doc2', 0, [bytes(2)])
    assert.deepEqual((await store.load('doc')).updates, [bytes(1)])
  })

  it('completes pending writes on close and refuses writes after it', async () => {
    const pending = store.appendRecord('d', 0, [bytes(7)])
    await store.close()
    await pending
    await assert.rejects(store.appendRecord('d', 1, [bytes(8)]), StorageError)
    store = await LevelDbStore.open(temp.dir)
    assert.deepEqual((await store.load('d')).updates, [bytes(7)])
  })
})

describe('log records', () => {
  it('refuse to decode when a byte changed (their checksum), or with stray bytes', () => {
    const record = encodeRecord([bytes(1, 2, 3), new Uint8Array(100).fill(9)])
    for (const position of [0, 3, 50, record.length - 1]) {
      const damaged = Buffer.from(record)
      damaged[position] ^= 0x10
      assert.throws(() => decodeRecord(damaged), /checksum|malformed|Unexpected|Integer/, `byte ${position}`)
    }
    assert.throws(() => decodeRecord(Buffer.concat([record, bytes(0)])), /malformed/)
  })

  it('round-trips a list of updates', () => {
    const updates = [bytes(), bytes(1, 2, 3), new Uint8Array(300).fill(5)]
    assert.deepEqual(decodeRecord(encodeRecord(updates)), updates)
  })

  it('are written byte for byte as lib0 encodes them, so stored logs stay readable', () => {
    for (const sizes of [[], [0], [1, 127, 128, 300], [16_383, 16_384, 70_000], Array.from({ length: 130 }, (_, i) => i)]) {
      const updates = sizes.map((size) => new Uint8Array(size).fill(size % 251))
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, updates.length)
      for (const update of updates) encoding.writeVarUint8Array(encoder, update)
      const lib0 = encoding.toUint8Array(encoder)
      const record = new Uint8Array(encodeRecord(updates))
      assert.deepEqual(record.subarray(0, lib0.length), lib0, `sizes ${sizes.slice(0, 5).join(',')}`)
      assert.equal(record.length, lib0.length + 5, 'followed by the checksum trailer only')
      // A record written before the trailer existed still loads.
      assert.deepEqual(decodeRecord(lib0), updates)
    }
  })
})
