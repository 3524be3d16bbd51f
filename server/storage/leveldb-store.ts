/**
 * DocumentStore on LevelDB (leveldown).
 *
 * Keys, with each document name percent-encoded (`encodeURIComponent`: one-to-one, and never a
 * `/`, so a name can neither contain the separator nor reach into another document's keys; the
 * app's generated ids encode to themselves):
 *   doc/<id>/log/<seq, 12 hex digits>   one record: the updates of one turn
 *   doc/<id>/snapshot                    the merged state of all compacted records
 *   doc/<id>/snapshot-crc                its CRC-32 (absent for snapshots written before it)
 *   link/doc/<id>                        the document's view id
 *   link/view/<viewId>                   the document a view id opens
 *   access/doc/<id>                      the document's owner, people and link setting (JSON)
 *   access/member/<email>/<id>           the role of a person added to it ("shared with me")
 *   hist/<id>/meta/<seq, 12 hex>         a version's description (JSON), listed without snapshots
 *   hist/<id>/snap/<seq, 12 hex>         its Yjs snapshot (kept apart from doc/, so loading a
 *                                        document never reads its history)
 *
 *   meta/commits                         how many synced batches this store has written
 *
 * Group commit: every write waits in one queue; while a synced batch is on its way to disk the
 * next batch fills up, so N documents editing at once cost one fsync per round, not N.
 *
 * A failed write makes the store unsound. LevelDB 1.20 (leveldown 6.1.1) can leave a partial
 * record in its log file when a write fails (full disk); records appended to that log after it are
 * misaligned and silently dropped at the next open, although their synced writes succeeded. So
 * after a failure nothing more is written to that log: writes wait in the queue, and the store is
 * closed and reopened (which recovers the log into a table and starts a new log file) once a probe
 * file shows the disk takes writes again. Only then is the queue written.
 *
 * Damage is refused, never served: `open` reads every key once (a table file LevelDB cannot read
 * fails there) and compares the commit count with the seal file, which records a count that was
 * durably stored (written a second after the last commit and at close). Fewer commits in LevelDB
 * than the seal names means synced writes vanished (a cut or lost log file), which LevelDB's own
 * recovery does not report. leveldown 6.1.1 exposes neither `paranoid_checks` nor
 * `verify_checksums`, so these checks are ours.
 */
import { constants } from 'node:fs'
import { crc32 } from 'node:zlib'
import { mkdir, open as openFile, readdir, readFile, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import leveldown, { type LevelDown } from 'leveldown'
import * as decoding from 'lib0/decoding'
import type { AbstractBatch } from 'abstract-leveldown'
import {
  DamagedDataError,
  StorageError,
  type DocumentStore,
  type StorageHealth,
  type StoredDocument,
  type StoredVersion,
  type VersionStore,
  type ViewLinkStore,
  type AccessStore,
} from './document-store.ts'
import type { DocumentAccess } from '../access/permissions.ts'
import { silentLogger, type Logger } from '../ops/logger.ts'

const SEQ_DIGITS = 12

const docPrefix = (docId: string) => `doc/${encodeURIComponent(docId)}/`
const logKey = (docId: string, seq: number) => `${docPrefix(docId)}log/${seq.toString(16).padStart(SEQ_DIGITS, '0')}`
const snapshotKey = (docId: string) => `${docPrefix(docId)}snapshot`
const snapshotChecksumKey = (docId: string) => `${docPrefix(docId)}snapshot-crc`
const docLinkKey = (docId: string) => `link/doc/${encodeURIComponent(docId)}`
const viewLinkKey = (viewId: string) => `link/view/${viewId}`
const accessKey = (docId: string) => `access/doc/${encodeURIComponent(docId)}`
const memberPrefix = (email: string) => `access/member/${encodeURIComponent(email)}/`
const histPrefix = (docId: string, part: 'meta' | 'snap') => `hist/${encodeURIComponent(docId)}/${part}/`
const histKey = (docId: string, part: 'meta' | 'snap', seq: number) =>
  `${histPrefix(docId, part)}${seq.toString(16).padStart(SEQ_DIGITS, '0')}`
const COMMITS_KEY = 'meta/commits'
/** Not a LevelDB file name, so LevelDB (and its repair) leaves it alone. */
export const SEAL_FILE = 'CHORUS-SEAL'
const PROBE_FILE = 'CHORUS-PROBE'
/** A reopen needs room for a table of the recovered log and a new log: probe with this much. */
const PROBE_BYTES = 1024 * 1024
const SEAL_DELAY_MS = 1000
const RECOVERY_FIRST_DELAY_MS = 200
const RECOVERY_MAX_DELAY_MS = 5000
/** A write that succeeded this recently answers "does storage accept writes?" without a probe. */
const WRITABLE_CACHE_MS = 2000

/**
 * A record: the number of updates, then each as a length-prefixed byte string (lib0's varUint
 * encoding, as lib0's encoder would write it), then a checksum trailer: CHECKSUM_MARK and the
 * CRC-32 of everything before it. leveldown cannot ask LevelDB to verify its block checksums on
 * reads, so records carry their own. Records written before the trailer existed end right after
 * their updates and still load. Written straight into one Buffer: a record is cut for almost
 * every edit, and lib0's growable encoder costs two allocations outside the heap each.
 */
export function encodeRecord(updates: readonly Uint8Array[]): Buffer {
  let size = varUintSize(updates.length)
  for (const update of updates) size += varUintSize(update.byteLength) + update.byteLength
  const record = Buffer.allocUnsafe(size + TRAILER_BYTES)
  let offset = writeVarUint(record, 0, updates.length)
  for (const update of updates) {
    offset = writeVarUint(record, offset, update.byteLength)
    record.set(update, offset)
    offset += update.byteLength
  }
  record[offset] = CHECKSUM_MARK
  record.writeUInt32LE(crc32(record.subarray(0, offset)), offset + 1)
  return record
}

const CHECKSUM_MARK = 0xc5
const TRAILER_BYTES = 5

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

/** Throws (with "checksum" or lib0's message) for a record that is not what was written. */
export function decodeRecord(record: Uint8Array): Uint8Array[] {
  const decoder = decoding.createDecoder(record)
  const count = decoding.readVarUint(decoder)
  const updates: Uint8Array[] = []
  for (let i = 0; i < count; i++) updates.push(decoding.readVarUint8Array(decoder))
  const end = decoder.pos
  if (end === record.byteLength) return updates
  if (end + TRAILER_BYTES !== record.byteLength || record[end] !== CHECKSUM_MARK) {
    throw new Error(`malformed record: ${record.byteLength - end} bytes after its updates`)
  }
  const expected = new DataView(record.buffer, record.byteOffset + end + 1, 4).getUint32(0, true)
  if (crc32(record.subarray(0, end)) !== expected) throw new Error('record checksum mismatch')
  return updates
}

/** The snapshot's CRC-32, stored beside it in the same atomic write. */
function snapshotChecksum(snapshot: Uint8Array): Buffer {
  const value = Buffer.allocUnsafe(4)
  value.writeUInt32LE(crc32(snapshot))
  return value
}

interface PendingWrite {
  operations: AbstractBatch<string, Buffer>[]
  resolve: () => void
  reject: (error: Error) => void
}

export interface LevelDbStoreOptions {
  /**
   * How long the first write of an idle queue waits for others to join its synced batch.
   * Relaying never waits for storage, so this only delays "Saved" a little, and in exchange one
   * fsync serves every edit of those milliseconds (PostgreSQL's commit_delay).
   */
  commitDelayMs?: number
  logger?: Logger
}

/** The message every refusal of damaged data ends with: where it is and the way out. */
export function damagedMessage(location: string, detail: string): string {
  return (
    `the LevelDB data in ${location} is damaged (${detail}). Chorus does not serve damaged data. ` +
    `Stop Chorus and run \`DATA_DIR=${location} npm run repair\`: it repairs a copy, says what it recovered, ` +
    `and leaves ${location} as it is; then start Chorus with DATA_DIR set to the repaired copy.`
  )
}

/** One synced batch, as /metrics sees it (see LevelDbStore.onBatch). */
export interface StoreBatch {
  /** From handing the batch to LevelDB until it was synced (or failed). */
  ms: number
  /** Writes joined in this batch (records of any documents, compactions, view links, probes). */
  writes: number
  /** Bytes of the keys and values written. */
  bytes: number
  ok: boolean
}

export class LevelDbStore implements DocumentStore, ViewLinkStore, AccessStore, VersionStore {
  private queue: PendingWrite[] = []
  private writing: Promise<void> | null = null
  private closed = false
  /** Set from the first failed write until the reopen succeeded: nothing is written meanwhile. */
  private unsound: { since: number; error: string; failedWrites: number } | null = null
  private dbOpen = true
  /** A close-and-reopen under way: reads wait for it. */
  private reopening: Promise<void> | null = null
  private activeReads = 0
  private readsDone: (() => void) | null = null
  private drainWaiters: (() => void)[] = []
  private prompt = false
  private flushTimer: NodeJS.Timeout | null = null
  private readonly healthListeners: ((health: StorageHealth) => void)[] = []
  private commitCount: number
  private durableCommits: number
  private sealTimer: NodeJS.Timeout | null = null
  private sealedCommits: number
  private lastWriteOkAt = -Infinity
  private probing: Promise<boolean> | null = null
  private readonly batchObservers: ((batch: StoreBatch) => void)[] = []

  private constructor(
    private db: LevelDown,
    readonly location: string,
    private readonly commitDelayMs: number,
    private readonly logger: Logger,
    commits: number,
    sealed: number,
  ) {
    this.commitCount = commits
    this.durableCommits = commits
    this.sealedCommits = sealed
  }

  /**
   * Opens (creating if needed) and verifies the store. Throws DamagedDataError for data it must
   * not serve, StorageError (with LevelDB's message and the folder) for anything else.
   */
  static async open(
    location: string,
    { commitDelayMs = 0, logger = silentLogger }: LevelDbStoreOptions = {},
  ): Promise<LevelDbStore> {
    await mkdir(location, { recursive: true })
    await refuseMissingCurrent(location)
    const db = leveldown(location)
    try {
      await openDb(db)
    } catch (error) {
      const raw = (error as Error).message
      if (/corrupt|MANIFEST|CURRENT/i.test(raw)) throw new DamagedDataError(damagedMessage(location, raw))
      throw new StorageError(`cannot open LevelDB at ${location}: ${raw}`)
    }
    try {
      const started = performance.now()
      const keys = await readEveryKey(db)
      const commits = await readCommits(db)
      const sealed = await readSeal(location)
      if (sealed > commits) {
        throw new DamagedDataError(
          damagedMessage(location, `synced writes are missing: LevelDB holds ${commits} commits, ${sealed} were stored`),
        )
      }
      logger.debug('storage verified', { keys, commits, ms: Math.round(performance.now() - started) })
      return new LevelDbStore(db, location, commitDelayMs, logger, commits, sealed)
    } catch (error) {
      await closeDb(db).catch(() => undefined)
      if (error instanceof StorageError) throw error
      throw new DamagedDataError(damagedMessage(location, (error as Error).message))
    }
  }

  get health(): StorageHealth {
    return this.unsound ? 'failing' : 'ok'
  }

  onHealthChange(listener: (health: StorageHealth) => void): void {
    this.healthListeners.push(listener)
  }

  /** Called after every synced batch, with its duration and size (for /metrics). */
  onBatch(observer: (batch: StoreBatch) => void): void {
    this.batchObservers.push(observer)
  }

  /**
   * Whether storage accepts writes now: false while unsound; otherwise true if a write succeeded
   * in the last two seconds, else after a real synced probe write (whose failure makes the store
   * unsound like any other).
   */
  async acceptsWrites(): Promise<boolean> {
    if (this.unsound || this.closed) return false
    if (performance.now() - this.lastWriteOkAt < WRITABLE_CACHE_MS) return true
    this.probing ??= this.enqueue([{ type: 'put', key: 'meta/probe', value: Buffer.from(String(Date.now())) }]).then(
      () => true,
      () => false,
    )
    const probing = this.probing
    void probing.finally(() => {
      if (this.probing === probing) this.probing = null
    })
    return probing
  }

  async load(docId: string): Promise<StoredDocument> {
    return this.read(async (db) => {
      const prefix = docPrefix(docId)
      // One iterator over the whole document reads from one implicit LevelDB snapshot, so a
      // concurrent compaction cannot make us see the new snapshot without the old log, or neither.
      const iterator = db.iterator({ gte: prefix, lt: `${prefix}\xff`, keyAsBuffer: false, valueAsBuffer: true })
      const stored: StoredDocument = { updates: [], firstLogSeq: -1, nextSeq: 0, logRecords: 0, logBytes: 0, snapshotBytes: 0 }
      const logPrefix = `${prefix}log/`
      let snapshot: Uint8Array | null = null
      let snapshotCrc: number | null = null
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
          } else if (key === snapshotChecksumKey(docId)) {
            snapshotCrc = value.byteLength === 4 ? value.readUInt32LE(0) : -1
          }
        }
        if (snapshotCrc !== null && (snapshot === null || crc32(snapshot) !== snapshotCrc)) {
          throw new Error('snapshot checksum mismatch')
        }
      } catch (error) {
        throw classifyReadError(error, `document ${docId}`, this.location)
      } finally {
        // Releasing the iterator needs no waiting: nothing read depends on it.
        iterator.end(() => {})
      }
      if (stored.firstLogSeq < 0) stored.firstLogSeq = stored.nextSeq
      stored.updates = snapshot ? [snapshot, ...logUpdates] : logUpdates
      return stored
    })
  }

  appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void> {
    return this.enqueue([{ type: 'put', key: logKey(docId, seq), value: encodeRecord(updates) }])
  }

  replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void> {
    const operations: AbstractBatch<string, Buffer>[] = [
      { type: 'put', key: snapshotKey(docId), value: Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength) },
      { type: 'put', key: snapshotChecksumKey(docId), value: snapshotChecksum(snapshot) },
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
    // Someone is waiting on an HTTP request: an answer now beats one after the disk is freed.
    if (this.unsound) return Promise.reject(new StorageError('storage is failing; the view link cannot be stored now'))
    const operations: AbstractBatch<string, Buffer>[] = [
      { type: 'put', key: docLinkKey(docId), value: Buffer.from(viewId) },
      { type: 'put', key: viewLinkKey(viewId), value: Buffer.from(docId) },
    ]
    if (previousViewId !== null) operations.push({ type: 'del', key: viewLinkKey(previousViewId) })
    return this.enqueue(operations)
  }

  async getAccess(docId: string): Promise<DocumentAccess | null> {
    const json = await this.getString(accessKey(docId))
    return json === null ? null : (JSON.parse(json) as DocumentAccess)
  }

  setAccess(docId: string, access: DocumentAccess, previous: DocumentAccess | null): Promise<void> {
    if (this.unsound) return Promise.reject(new StorageError('storage is failing; access cannot be stored now'))
    const operations: AbstractBatch<string, Buffer>[] = [
      { type: 'put', key: accessKey(docId), value: Buffer.from(JSON.stringify(access)) },
    ]
    const kept = new Set(access.members.map((member) => member.email))
    for (const member of previous?.members ?? []) {
      if (!kept.has(member.email)) operations.push({ type: 'del', key: memberPrefix(member.email) + encodeURIComponent(docId) })
    }
    for (const member of access.members) {
      operations.push({
        type: 'put',
        key: memberPrefix(member.email) + encodeURIComponent(docId),
        value: Buffer.from(member.role),
      })
    }
    return this.enqueue(operations)
  }

  async documentsSharedWith(email: string): Promise<string[]> {
    const prefix = memberPrefix(email)
    return (await this.scan(prefix, false)).map(([key]) => decodeURIComponent(key.slice(prefix.length)))
  }

  appendVersion(docId: string, version: StoredVersion): Promise<void> {
    if (this.unsound) return Promise.reject(new StorageError('storage is failing; the version cannot be stored now'))
    const { seq, meta, snapshot } = version
    return this.enqueue([
      { type: 'put', key: histKey(docId, 'meta', seq), value: Buffer.from(meta) },
      {
        type: 'put',
        key: histKey(docId, 'snap', seq),
        value: Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength),
      },
    ])
  }

  async listVersions(
    docId: string,
    { beforeSeq, limit }: { beforeSeq: number | null; limit: number },
  ): Promise<{ seq: number; meta: string }[]> {
    const prefix = histPrefix(docId, 'meta')
    const upper = beforeSeq === null ? `${prefix}\xff` : histKey(docId, 'meta', beforeSeq)
    const entries = await this.scanRange({ gte: prefix, lt: upper, reverse: true, limit }, true)
    return entries.map(([key, value]) => ({ seq: parseInt(key.slice(prefix.length), 16), meta: value!.toString() }))
  }

  async readVersions(docId: string, fromSeq: number, toSeq: number): Promise<StoredVersion[]> {
    const range = (part: 'meta' | 'snap') => ({ gte: histKey(docId, part, fromSeq), lte: histKey(docId, part, toSeq) })
    const [metas, snaps] = await Promise.all([this.scanRange(range('meta'), true), this.scanRange(range('snap'), true)])
    const snapshots = new Map(snaps.map(([key, value]) => [key.slice(-SEQ_DIGITS), value!]))
    return metas.map(([key, value]) => {
      const snapshot = snapshots.get(key.slice(-SEQ_DIGITS))
      if (!snapshot) throw new DamagedDataError(`version ${key} has no snapshot`)
      return { seq: parseInt(key.slice(-SEQ_DIGITS), 16), meta: value!.toString(), snapshot: new Uint8Array(snapshot) }
    })
  }

  /** Every stored document's id (anything with a log record or a snapshot), for a migration. */
  async documentIds(): Promise<string[]> {
    const ids = new Set<string>()
    for (const [key] of await this.scan('doc/', false)) {
      const match = /^doc\/([^/]+)\/(log\/|snapshot$)/.exec(key)
      // Keys hold the percent-encoded name.
      if (match) ids.add(decodeURIComponent(match[1]))
    }
    return [...ids]
  }

  /** Every document's view link, for a migration. */
  async viewLinks(): Promise<{ docId: string; viewId: string }[]> {
    const links = await this.scan('link/doc/', true)
    return links.map(([key, value]) => ({ docId: decodeURIComponent(key.slice('link/doc/'.length)), viewId: value!.toString() }))
  }

  /** Every document's owner, people and link setting, for a migration. */
  async accessRecords(): Promise<{ docId: string; access: DocumentAccess }[]> {
    const records = await this.scan('access/doc/', true)
    return records.map(([key, value]) => ({
      docId: decodeURIComponent(key.slice('access/doc/'.length)),
      access: JSON.parse(value!.toString()) as DocumentAccess,
    }))
  }

  private scan(prefix: string, values: boolean): Promise<[string, Buffer | undefined][]> {
    return this.scanRange({ gte: prefix, lt: `${prefix}\xff` }, values)
  }

  private scanRange(
    range: { gte: string; lt?: string; lte?: string; reverse?: boolean; limit?: number },
    values: boolean,
  ): Promise<[string, Buffer | undefined][]> {
    const prefix = range.gte
    return this.read(async (db) => {
      const iterator = db.iterator({
        ...range,
        keys: true,
        values,
        keyAsBuffer: false,
        valueAsBuffer: true,
      })
      const entries: [string, Buffer | undefined][] = []
      try {
        for (;;) {
          const entry = await new Promise<[string, Buffer | undefined] | null>((resolve, reject) =>
            iterator.next((error, key, value) =>
              error
                ? reject(classifyReadError(error, prefix, this.location))
                : resolve(key === undefined ? null : [key as unknown as string, value as Buffer | undefined]),
            ),
          )
          if (!entry) return entries
          entries.push(entry)
        }
      } finally {
        iterator.end(() => {})
      }
    })
  }

  private getString(key: string): Promise<string | null> {
    return this.read(
      (db) =>
        new Promise((resolve, reject) =>
          db.get(key, { asBuffer: false }, (error, value) => {
            // leveldown's NotFound error has no code; its message is the only marker.
            if (error)
              return /NotFound/i.test(error.message) ? resolve(null) : reject(classifyReadError(error, key, this.location))
            resolve(value as unknown as string)
          }),
        ),
    )
  }

  /**
   * Completes pending writes and closes the store. While the store is unsound this waits for its
   * recovery, however long that takes: the caller bounds it (graceful stop, STOP_TIMEOUT_MS).
   */
  commitPromptly(): void {
    this.prompt = true
    if (!this.flushTimer) return
    clearTimeout(this.flushTimer)
    this.flushTimer = null
    setImmediate(() => void this.flush())
  }

  async close(): Promise<void> {
    if (this.closed) return
    while (this.writing || this.queue.length > 0) await this.whenDrained()
    this.closed = true
    if (this.sealTimer) clearTimeout(this.sealTimer)
    this.sealTimer = null
    if (this.reopening) await this.reopening.catch(() => undefined)
    if (!this.dbOpen) return
    this.dbOpen = false
    await this.waitForReads()
    await closeDb(this.db)
    await this.writeSeal()
  }

  /** Writes queued or on their way to disk (for the stop report). */
  get pendingWrites(): number {
    return this.queue.length
  }

  private whenDrained(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.drainWaiters.push(resolve))
  }

  private async read<T>(operation: (db: LevelDown) => Promise<T>): Promise<T> {
    if (this.reopening) await this.reopening.catch(() => undefined)
    if (this.closed) throw new StorageError('store is closed')
    if (!this.dbOpen) throw new StorageError(`storage at ${this.location} is unavailable while it recovers from a failed write`)
    this.activeReads++
    try {
      return await operation(this.db)
    } finally {
      if (--this.activeReads === 0 && this.readsDone) {
        this.readsDone()
        this.readsDone = null
      }
    }
  }

  private waitForReads(): Promise<void> {
    if (this.activeReads === 0) return Promise.resolve()
    return new Promise((resolve) => (this.readsDone = resolve))
  }

  private enqueue(operations: AbstractBatch<string, Buffer>[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new StorageError('store is closed'))
        return
      }
      this.queue.push({ operations, resolve, reject })
      // While unsound, the recovery writes the queue once the store is reopened.
      if (this.unsound) return
      // Flush on a later turn rather than now, so that every write of this turn (and of the
      // commit delay) joins the batch.
      if (this.queue.length === 1 && !this.writing) {
        if (this.commitDelayMs > 0 && !this.prompt) {
          this.flushTimer = setTimeout(() => {
            this.flushTimer = null
            void this.flush()
          }, this.commitDelayMs)
        } else setImmediate(() => void this.flush())
      }
    })
  }

  private flush(): Promise<void> {
    if (this.writing || this.queue.length === 0 || this.unsound || !this.dbOpen) return this.writing ?? Promise.resolve()
    const batch = this.queue
    this.queue = []
    const commit = ++this.commitCount
    const operations: AbstractBatch<string, Buffer>[] = []
    for (const write of batch) for (const operation of write.operations) operations.push(operation)
    operations.push({ type: 'put', key: COMMITS_KEY, value: Buffer.from(String(commit)) })
    const started = performance.now()
    this.writing = new Promise<void>((done) => {
      this.db.batch(operations, { sync: true }, (error) => {
        this.writing = null
        if (this.batchObservers.length > 0) this.observeBatch(started, batch.length, operations, !error)
        if (error) {
          // Stop writing before anyone hears of the failure: the next write must not reach this log.
          this.becomeUnsound(error, batch.length)
          const failure = new StorageError(`LevelDB write failed: ${error.message}`)
          for (const write of batch) write.reject(failure)
        } else {
          this.durableCommits = commit
          this.lastWriteOkAt = performance.now()
          this.scheduleSeal()
          for (const write of batch) write.resolve()
        }
        done()
        if (this.queue.length > 0 && !this.unsound) void this.flush()
        else if (this.queue.length === 0) for (const resolve of this.drainWaiters.splice(0)) resolve()
      })
    })
    return this.writing
  }

  private observeBatch(started: number, writes: number, operations: AbstractBatch<string, Buffer>[], ok: boolean): void {
    let bytes = 0
    for (const operation of operations) {
      bytes += operation.key.length
      if (operation.type === 'put') bytes += operation.value.byteLength
    }
    const batch: StoreBatch = { ms: performance.now() - started, writes, bytes, ok }
    for (const observer of this.batchObservers) observer(batch)
  }

  private becomeUnsound(error: Error, writes: number): void {
    if (this.unsound) {
      this.unsound.failedWrites += writes
      return
    }
    this.unsound = { since: performance.now(), error: error.message, failedWrites: writes }
    // One line per episode, without a stack: the stack says nothing about a full disk.
    this.logger.error('STORAGE FAILING: a write failed; holding every write until the store is reopened', {
      dataDir: this.location,
      error: error.message,
    })
    for (const listener of this.healthListeners) listener('failing')
    void this.recover()
  }

  /** Probes for space, then closes and reopens LevelDB, retrying with backoff until it works. */
  private async recover(): Promise<void> {
    let delayMs = RECOVERY_FIRST_DELAY_MS
    let attempts = 0
    for (;;) {
      // Unref'd: what keeps the process alive is the server, or a stop waiting for this store.
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref())
      attempts++
      try {
        await probeWritable(this.location)
        await this.reopen()
        break
      } catch (error) {
        if (error instanceof DamagedDataError) {
          // Nothing more is confirmed from this store: writes wait, readiness fails, a stop is
          // bounded and says what it could not store.
          this.logger.error('STORAGE DAMAGED: confirmed writes are missing after reopening; not writing again', {
            error: error.message,
          })
          return
        }
        this.logger.debug('storage still failing', { error: (error as Error).message, attempts })
        delayMs = Math.min(delayMs * 2, RECOVERY_MAX_DELAY_MS)
      }
    }
    const episode = this.unsound!
    this.unsound = null
    this.logger.warn('storage recovered: reopened LevelDB, writing what waited', {
      dataDir: this.location,
      failingMs: Math.round(performance.now() - episode.since),
      failedWrites: episode.failedWrites,
      waitingWrites: this.queue.length,
      attempts,
    })
    for (const listener of this.healthListeners) listener('ok')
    if (this.queue.length > 0) void this.flush()
    else for (const resolve of this.drainWaiters.splice(0)) resolve()
  }

  private async reopen(): Promise<void> {
    const reopening = (async () => {
      if (this.dbOpen) {
        this.dbOpen = false
        await this.waitForReads()
        await closeDb(this.db)
      }
      const db = leveldown(this.location)
      await openDb(db)
      this.db = db
      this.dbOpen = true
      const stored = await readCommits(db)
      // The verification: every commit confirmed before the failure came back with the log.
      if (stored < this.durableCommits) {
        throw new DamagedDataError(
          damagedMessage(this.location, `after reopening, LevelDB holds ${stored} commits; ${this.durableCommits} were stored`),
        )
      }
      // A write that reported failure may still have reached the log; never reuse its count.
      this.commitCount = Math.max(this.commitCount, stored)
    })()
    this.reopening = reopening
    try {
      await reopening
    } finally {
      if (this.reopening === reopening) this.reopening = null
    }
  }

  private scheduleSeal(): void {
    if (this.sealTimer) return
    this.sealTimer = setTimeout(() => {
      this.sealTimer = null
      void this.writeSeal()
    }, SEAL_DELAY_MS)
    this.sealTimer.unref()
  }

  /** Records a commit count that is durably stored. Best effort: a failure only weakens the check. */
  private async writeSeal(): Promise<void> {
    const commits = this.durableCommits
    if (commits <= this.sealedCommits) return
    try {
      await writeFileDurably(path.join(this.location, SEAL_FILE), `${JSON.stringify({ commits })}\n`)
      this.sealedCommits = Math.max(this.sealedCommits, commits)
    } catch (error) {
      this.logger.debug('could not write the seal file', { error: (error as Error).message })
    }
  }
}

function openDb(db: LevelDown): Promise<void> {
  return new Promise((resolve, reject) => db.open({ createIfMissing: true }, (error) => (error ? reject(error) : resolve())))
}

function closeDb(db: LevelDown): Promise<void> {
  return new Promise((resolve, reject) => db.close((error) => (error ? reject(error) : resolve())))
}

function readCommits(db: LevelDown): Promise<number> {
  return new Promise((resolve, reject) =>
    db.get(COMMITS_KEY, { asBuffer: false }, (error, value) => {
      if (error) return /NotFound/i.test(error.message) ? resolve(0) : reject(error)
      const commits = Number(value)
      if (!Number.isSafeInteger(commits)) reject(new Error(`unreadable commit count ${JSON.stringify(String(value))}`))
      else resolve(commits)
    }),
  )
}

/** Reads every key once, so that a table file LevelDB cannot read fails now, not in a session. */
async function readEveryKey(db: LevelDown): Promise<number> {
  const iterator = db.iterator({ keys: true, values: false, fillCache: false })
  let count = 0
  try {
    for (;;) {
      const more = await new Promise<boolean>((resolve, reject) =>
        iterator.next((error, key) => (error ? reject(error) : resolve(key !== undefined))),
      )
      if (!more) return count
      count++
    }
  } finally {
    await new Promise<void>((resolve) => iterator.end(() => resolve()))
  }
}

async function readSeal(location: string): Promise<number> {
  let text: string
  try {
    text = await readFile(path.join(location, SEAL_FILE), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw error
  }
  const commits = (JSON.parse(text) as { commits?: unknown }).commits
  if (typeof commits !== 'number' || !Number.isSafeInteger(commits)) throw new Error(`${SEAL_FILE} is unreadable`)
  return commits
}

/**
 * With CURRENT gone, LevelDB would create an empty database beside the old files and serve every
 * document as empty.
 */
async function refuseMissingCurrent(location: string): Promise<void> {
  const names = await readdir(location)
  if (names.includes('CURRENT')) return
  if (names.some((name) => /^(MANIFEST-\d+|\d+\.(log|ldb|sst))$/.test(name))) {
    throw new DamagedDataError(damagedMessage(location, 'CURRENT is missing but LevelDB files are there'))
  }
}

function classifyReadError(error: unknown, what: string, location: string): StorageError {
  if (error instanceof StorageError) return error
  const raw = (error as Error).message
  // leveldown reports LevelDB's status as text: "Corruption: ..." for damaged data; decodeRecord
  // throws lib0's errors for a record that is not ours.
  // "Invalid argument" and "truncated" are what a table file cut short gives on a read.
  if (/corrupt|checksum|truncated|bad magic|Invalid argument|Unexpected end|Integer out of Range|malformed/i.test(raw)) {
    return new DamagedDataError(`stored data of ${what} in ${location} is damaged: ${raw}`)
  }
  return new StorageError(`reading ${what} failed: ${raw}`)
}

async function probeWritable(location: string): Promise<void> {
  const file = path.join(location, PROBE_FILE)
  try {
    const handle = await openFile(file, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC)
    try {
      await handle.write(Buffer.alloc(PROBE_BYTES))
      await handle.sync()
    } finally {
      await handle.close()
    }
  } finally {
    await unlink(file).catch(() => undefined)
  }
}

async function writeFileDurably(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp`
  const handle = await openFile(temporary, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, file)
  const directory = await openFile(path.dirname(file), constants.O_RDONLY)
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}
