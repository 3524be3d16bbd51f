/**
 * DocumentStore on LevelDB (leveldown).
 *
 * Keys, with each document name percent-encoded (`encodeURIComponent`: one-to-one, and never a
 * `/`, so a name can neither contain the separator nor reach into another document's keys; the
 * app's generated ids encode to themselves):
 *   doc/<id>/log/<seq, 12 hex digits>   one record: the updates of one turn
 *   doc/<id>/snapshot                    the merged state of all compacted records
 *   link/doc/<id>                        the document's view id
 *   link/view/<viewId>                   the document a view id opens
 *
 * Group commit: every write waits in one queue; while a synced batch is on its way to disk the
 * next batch fills up, so N documents editing at once cost one fsync per round, not N.
 */
import { mkdir } from 'node:fs/promises'
import leveldown, { type LevelDown } from 'leveldown'
import * as decoding from 'lib0/decoding'
import type { AbstractBatch } from 'abstract-leveldown'
import { StorageError, type DocumentStore, type StoredDocument, type ViewLinkStore } from './document-store.ts'

const SEQ_DIGITS = 12

const docPrefix = (docId: string) => `doc/${encodeURIComponent(docId)}/`
const logKey = (docId: string, seq: number) => `${docPrefix(docId)}log/${seq.toString(16).padStart(SEQ_DIGITS, '0')}`
const snapshotKey = (docId: string) => `${docPrefix(docId)}snapshot`
const docLinkKey = (docId: string) => `link/doc/${encodeURIComponent(docId)}`
const viewLinkKey = (viewId: string) => `link/view/${viewId}`

/**
 * A record: the number of updates, then each as a length-prefixed byte string (lib0's varUint
 * encoding, as lib0's encoder would write it). Written straight into one Buffer: a record is cut
 * for almost every edit, and lib0's growable encoder costs two allocations outside the heap each.
 */
export function encodeRecord(updates: readonly Uint8Array[]): Buffer {
  let size = varUintSize(updates.length)
  for (const update of updates) size += varUintSize(update.byteLength) + update.byteLength
  const record = Buffer.allocUnsafe(size)
  let offset = writeVarUint(record, 0, updates.length)
  for (const update of updates) {
    offset = writeVarUint(record, offset, update.byteLength)
    record.set(update, offset)
    offset += update.byteLength
  }
  return record
}

function varUintSize(value: number): number {
  let size = 1
  while (value > 0x7f) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

function writeVarUint(target: Buffer, offset: number, value: number): number {
  while (value > 0x7f) {
    target[offset++] = 0x80 | (value & 0x7f)
    value = Math.floor(value / 128)
  }
  target[offset++] = value
  return offset
}

export function decodeRecord(record: Uint8Array): Uint8Array[] {
  const decoder = decoding.createDecoder(record)
  const count = decoding.readVarUint(decoder)
  const updates: Uint8Array[] = []
  for (let i = 0; i < count; i++) updates.push(decoding.readVarUint8Array(decoder))
  return updates
}

interface PendingWrite {
  operations: AbstractBatch<string, Buffer>[]
  resolve: () => void
  reject: (error: Error) => void
}

export class LevelDbStore implements DocumentStore, ViewLinkStore {
  private queue: PendingWrite[] = []
  private writing: Promise<void> | null = null
  private closed = false

  private constructor(
    private readonly db: LevelDown,
    private readonly commitDelayMs: number,
  ) {}

  /**
   * `commitDelayMs`: how long the first write of an idle queue waits for others to join its
   * synced batch. Relaying never waits for storage, so this only delays "Saved" a little, and in
   * exchange one fsync serves every edit of those milliseconds (PostgreSQL's commit_delay).
   */
  static async open(location: string, { commitDelayMs = 0 }: { commitDelayMs?: number } = {}): Promise<LevelDbStore> {
    await mkdir(location, { recursive: true })
    const db = leveldown(location)
    await new Promise<void>((resolve, reject) =>
      db.open({ createIfMissing: true }, (error) =>
        error ? reject(new StorageError(`cannot open LevelDB at ${location}: ${error.message}`)) : resolve(),
      ),
    )
    return new LevelDbStore(db, commitDelayMs)
  }

  async load(docId: string): Promise<StoredDocument> {
    this.assertOpen()
    const prefix = docPrefix(docId)
    // One iterator over the whole document reads from one implicit LevelDB snapshot, so a
    // concurrent compaction cannot make us see the new snapshot without the old log, or neither.
    const iterator = this.db.iterator({ gte: prefix, lt: prefix + '\xff', keyAsBuffer: false, valueAsBuffer: true })
    const stored: StoredDocument = { updates: [], firstLogSeq: -1, nextSeq: 0, logRecords: 0, logBytes: 0, snapshotBytes: 0 }
    const logPrefix = prefix + 'log/'
    let snapshot: Uint8Array | null = null
    const logUpdates: Uint8Array[] = []
    try {
      for (;;) {
        const entry = await new Promise<[string, Buffer] | null>((resolve, reject) =>
          iterator.next((error, key, value) =>
            error ? reject(error) : resolve(key === undefined ? null : [key as unknown as string, value as Buffer]),
          ),
        )
        if (entry === null) break
        const [key, value] = entry
        if (key.startsWith(logPrefix)) {
          const seq = parseInt(key.slice(logPrefix.length), 16)
          if (stored.firstLogSeq < 0) stored.firstLogSeq = seq
          stored.nextSeq = seq + 1
          stored.logRecords++
          stored.logBytes += value.byteLength
          for (const update of decodeRecord(value)) logUpdates.push(update)
        } else if (key === snapshotKey(docId)) {
          snapshot = new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
          stored.snapshotBytes = value.byteLength
        }
      }
    } finally {
      // Releasing the iterator needs no waiting: nothing read depends on it.
      iterator.end(() => {})
    }
    if (stored.firstLogSeq < 0) stored.firstLogSeq = stored.nextSeq
    stored.updates = snapshot ? [snapshot, ...logUpdates] : logUpdates
    return stored
  }

  appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void> {
    return this.enqueue([{ type: 'put', key: logKey(docId, seq), value: encodeRecord(updates) }])
  }

  replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void> {
    const operations: AbstractBatch<string, Buffer>[] = [
      { type: 'put', key: snapshotKey(docId), value: Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength) },
    ]
    for (let seq = fromSeq; seq <= toSeq; seq++) operations.push({ type: 'del', key: logKey(docId, seq) })
    return this.enqueue(operations)
  }

  getViewId(docId: string): Promise<string | null> {
    return this.getString(docLinkKey(docId))
  }

  resolveViewId(viewId: string): Promise<string | null> {
    return this.getString(viewLinkKey(viewId))
  }

  setViewId(docId: string, viewId: string, previousViewId: string | null): Promise<void> {
    const operations: AbstractBatch<string, Buffer>[] = [
      { type: 'put', key: docLinkKey(docId), value: Buffer.from(viewId) },
      { type: 'put', key: viewLinkKey(viewId), value: Buffer.from(docId) },
    ]
    if (previousViewId !== null) operations.push({ type: 'del', key: viewLinkKey(previousViewId) })
    return this.enqueue(operations)
  }

  private getString(key: string): Promise<string | null> {
    this.assertOpen()
    return new Promise((resolve, reject) =>
      this.db.get(key, { asBuffer: false }, (error, value) => {
        // leveldown's NotFound error has no code; its message is the only marker.
        if (error) return /NotFound/i.test(error.message) ? resolve(null) : reject(new StorageError(error.message))
        resolve(value as unknown as string)
      }),
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    while (this.writing || this.queue.length > 0) await (this.writing ?? this.flush())
    this.closed = true
    await new Promise<void>((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())))
  }

  private enqueue(operations: AbstractBatch<string, Buffer>[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new StorageError('store is closed'))
        return
      }
      this.queue.push({ operations, resolve, reject })
      // Flush on a later turn rather than now, so that every write of this turn (and of the
      // commit delay) joins the batch.
      if (this.queue.length === 1 && !this.writing) {
        if (this.commitDelayMs > 0) setTimeout(() => void this.flush(), this.commitDelayMs)
        else setImmediate(() => void this.flush())
      }
    })
  }

  private flush(): Promise<void> {
    if (this.writing || this.queue.length === 0) return this.writing ?? Promise.resolve()
    const batch = this.queue
    this.queue = []
    const operations = batch.length === 1 ? batch[0].operations : batch.flatMap((write) => write.operations)
    this.writing = new Promise<void>((done) => {
      this.db.batch(operations, { sync: true }, (error) => {
        this.writing = null
        if (error) {
          const failure = new StorageError(`LevelDB write failed: ${error.message}`)
          for (const write of batch) write.reject(failure)
        } else {
          for (const write of batch) write.resolve()
        }
        done()
        if (this.queue.length > 0) void this.flush()
      })
    })
    return this.writing
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('store is closed')
  }
}
