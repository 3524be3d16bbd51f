/**
 * DocumentStore and ViewLinkStore on PostgreSQL (node-postgres), shareable by several instances.
 *
 * Tables (migrations in postgres-schema.ts):
 *   documents     (doc_id PK, snapshot, snapshot_version)   the merged state of compacted records
 *   document_log  (id bigserial PK, doc_id, seq, record)    one row per record, keyed by its row id
 *   view_links    (doc_id PK, view_id UNIQUE)               the read-only link of each document
 *   document_versions (doc_id, seq PK; meta, snapshot)     each document's version history
 *
 * Several instances append to one document at once, so the `seq` a journal hands to appendRecord
 * (its own, instance-local numbering) is never a key: rows are ordered by their bigserial id
 * (commit order may differ, which is harmless: Yjs updates commute). The store keeps, per open
 * document, which row each of its seqs became; `seq` is stored only so that a load can continue
 * the numbering the previous owner used.
 *
 * "Saved" means committed with synchronous_commit on (PostgreSQL's default; the store checks it at
 * open and sets it per transaction if the server turns it off). Group commit, as in LevelDbStore:
 * the records waiting from all documents go in one multi-row INSERT, one transaction, one WAL
 * flush; while it is on its way the next batch fills up.
 *
 * Compaction is safe whatever another instance did meanwhile: under a row lock on the document
 * (which serialises compactions of it), the new snapshot is merged with every row it deletes that
 * this instance never loaded or appended, and with the stored snapshot when another instance
 * replaced it since this one last saw it. A record whose updates are not in the caller's memory
 * is therefore never lost, only folded into the snapshot.
 *
 * Failures: a failed write rejects with StorageError and makes health 'failing'. Appends made
 * meanwhile wait in the queue (as in LevelDbStore) while a probe write is retried with backoff;
 * once one commits, health is 'ok' again and the queue is written at once, so "Saved" follows the
 * database's return within about a second, not after the journal's longer retry backoff.
 * Nothing resolves before COMMIT; reads fail with StorageError meanwhile.
 */
import pg from 'pg'
import * as Y from 'yjs'
import { silentLogger, type Logger } from '../ops/logger.ts'
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
import { decodeRecord, encodeRecord, type StoreBatch } from './leveldb-store.ts'
import { migrate } from './postgres-schema.ts'
import { redactUrl } from '../config.ts'

/** A write that succeeded this recently answers "does storage accept writes?" without a probe. */
const WRITABLE_CACHE_MS = 2000
/** A query that takes longer is given up (and its connection dropped): storage is failing. */
const QUERY_TIMEOUT_MS = 15_000
const CONNECT_TIMEOUT_MS = 5_000
const RECOVERY_FIRST_DELAY_MS = 100
const RECOVERY_MAX_DELAY_MS = 1_000

export interface PostgresStoreOptions {
  /** How long the first write of an idle queue waits for others to join its commit (COMMIT_DELAY_MS). */
  commitDelayMs?: number
  logger?: Logger
  /** Connections in the pool: one writes batches, the others load, compact and link. */
  maxConnections?: number
}

interface PendingAppend {
  docId: string
  seq: number
  record: Buffer
  resolve: () => void
  reject: (error: Error) => void
}

/** What this instance knows of a document: which row each of its seqs is, which snapshot it saw. */
interface KnownDocument {
  rows: Map<number, string>
  snapshotVersion: string
}

export class PostgresStore implements DocumentStore, ViewLinkStore, AccessStore, VersionStore {
  private queue: PendingAppend[] = []
  private writing: Promise<void> | null = null
  private flushTimer: NodeJS.Timeout | null = null
  private prompt = false
  private closed = false
  private failing: { since: number; error: string } | null = null
  private lastWriteOkAt = -Infinity
  private probing: Promise<boolean> | null = null
  private drainWaiters: (() => void)[] = []
  private readonly healthListeners: ((health: StorageHealth) => void)[] = []
  private readonly batchObservers: ((batch: StoreBatch) => void)[] = []
  private readonly known = new Map<string, KnownDocument>()

  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly commitDelayMs: number,
    private readonly logger: Logger,
    /** The server's default turns synchronous commit off: each transaction turns it on again. */
    private readonly forceSynchronousCommit: boolean,
  ) {}

  /**
   * Connects, creates or migrates the schema, and checks synchronous commit. Throws
   * PostgresConnectError (with PostgreSQL's reason and the URL without its password).
   */
  static async open(
    url: string,
    { commitDelayMs = 0, logger = silentLogger, maxConnections = 4 }: PostgresStoreOptions = {},
  ): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: maxConnections,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'chorus',
    })
    // An idle connection that the server ends (restart, failover) emits here; unhandled, it would
    // end the process. The next query opens a new connection, or fails and says so.
    pool.on('error', (error) => logger.debug('PostgreSQL connection lost', { error: error.message }))
    try {
      await migrate(pool, logger)
      const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')
      const setting = rows[0]?.synchronous_commit ?? 'on'
      const force = setting === 'off'
      if (force) {
        logger.warn('PostgreSQL has synchronous_commit off; Chorus turns it on for its own transactions', {
          synchronousCommit: setting,
        })
      }
      return new PostgresStore(pool, redactUrl(url), commitDelayMs, logger, force)
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw new PostgresConnectError(url, error)
    }
  }

  get health(): StorageHealth {
    return this.failing ? 'failing' : 'ok'
  }

  onHealthChange(listener: (health: StorageHealth) => void): void {
    this.healthListeners.push(listener)
  }

  /** Called after every batch commit, with its duration and size (for /metrics). */
  onBatch(observer: (batch: StoreBatch) => void): void {
    this.batchObservers.push(observer)
  }

  /**
   * True if a write succeeded in the last two seconds, else after a real committed probe write
   * (whose success also ends a failing episode, as any write's does).
   */
  async acceptsWrites(): Promise<boolean> {
    // While failing, the recovery loop probes; its success ends the episode.
    if (this.closed || this.failing) return false
    if (performance.now() - this.lastWriteOkAt < WRITABLE_CACHE_MS) return true
    this.probing ??= this.probe().then(
      () => {
        this.writeSucceeded()
        return true
      },
      (error: unknown) => {
        this.writeFailed(error)
        return false
      },
    )
    const probing = this.probing
    void probing.finally(() => {
      if (this.probing === probing) this.probing = null
    })
    return probing
  }

  async load(docId: string): Promise<StoredDocument> {
    if (this.closed) throw new StorageError('store is closed')
    // One statement reads from one MVCC snapshot: a concurrent compaction cannot make us see the
    // new snapshot without the old log, or neither.
    let rows: { id: string | null; seq: string | null; data: string | null; version: string | null }[]
    try {
      ;({ rows } = await this.pool.query(
        // base64, not bytea's hex text: a third shorter on the wire and faster to decode, which
        // is most of a large document's cold load.
        `SELECT NULL::bigint AS id, NULL::bigint AS seq, encode(snapshot, 'base64') AS data, snapshot_version AS version, 0 AS part
           FROM documents WHERE doc_id = $1
         UNION ALL
         SELECT id, seq, encode(record, 'base64'), NULL, 1 FROM document_log WHERE doc_id = $1
         ORDER BY part, id`,
        [docId],
      ))
    } catch (error) {
      throw new StorageError(`reading document ${docId} from PostgreSQL failed: ${messageOf(error)}`)
    }
    const stored: StoredDocument = { updates: [], firstLogSeq: 0, nextSeq: 0, logRecords: 0, logBytes: 0, snapshotBytes: 0 }
    const known: KnownDocument = { rows: new Map(), snapshotVersion: '0' }
    let seq = 0
    for (const row of rows) {
      const data = row.data === null ? null : Buffer.from(row.data, 'base64')
      if (row.id === null) {
        known.snapshotVersion = row.version ?? '0'
        if (data && data.byteLength > 0) {
          stored.updates.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          stored.snapshotBytes = data.byteLength
        }
        continue
      }
      if (stored.logRecords === 0) seq = stored.firstLogSeq = Number(row.seq ?? 0)
      try {
        for (const update of decodeRecord(data!)) stored.updates.push(update)
      } catch (error) {
        throw new DamagedDataError(`record ${row.id} of document ${docId} in PostgreSQL is damaged: ${messageOf(error)}`)
      }
      known.rows.set(seq++, row.id)
      stored.logRecords++
      stored.logBytes += data!.byteLength
    }
    // Numbered on from the first row's seq, whoever appended the rest: seqs are this instance's.
    stored.nextSeq = stored.logRecords === 0 ? 0 : seq
    this.known.set(docId, known)
    return stored
  }

  appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new StorageError('store is closed'))
        return
      }
      this.queue.push({ docId, seq, record: encodeRecord(updates), resolve, reject })
      // While failing, the recovery writes the queue once the database takes writes again.
      if (this.failing) return
      if (this.queue.length === 1 && !this.writing && !this.flushTimer) {
        // A later turn (or the commit delay), so that every write of this turn joins the batch.
        this.flushTimer = setTimeout(
          () => {
            this.flushTimer = null
            void this.flush()
          },
          this.prompt ? 0 : this.commitDelayMs,
        )
      }
    })
  }

  async replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void> {
    if (this.closed) throw new StorageError('store is closed')
    const known = this.known.get(docId)
    const ownRows = new Set<string>()
    let lastRow = 0n
    for (let seq = fromSeq; seq <= toSeq; seq++) {
      const row = known?.rows.get(seq)
      if (row === undefined) continue
      ownRows.add(row)
      if (BigInt(row) > lastRow) lastRow = BigInt(row)
    }
    let version = ''
    try {
      await this.transaction(async (client) => {
        await client.query('INSERT INTO documents (doc_id) VALUES ($1) ON CONFLICT (doc_id) DO NOTHING', [docId])
        // The row lock serialises compactions of this document across instances.
        const current = await client.query<{ snapshot: Buffer | null; snapshot_version: string }>(
          'SELECT snapshot, snapshot_version FROM documents WHERE doc_id = $1 FOR UPDATE',
          [docId],
        )
        const stored = current.rows[0]
        // Every row up to the last one of this range goes, those of other instances included
        // (they may sit between ours): what is deleted is merged below unless it is in memory here.
        const deleted = await client.query<{ id: string; record: Buffer }>(
          'DELETE FROM document_log WHERE doc_id = $1 AND id <= $2 RETURNING id, record',
          [docId, lastRow.toString()],
        )
        const parts: Uint8Array[] = []
        if (stored.snapshot && stored.snapshot.byteLength > 0 && stored.snapshot_version !== known?.snapshotVersion) {
          parts.push(stored.snapshot)
        }
        for (const row of deleted.rows)
          if (!ownRows.has(row.id)) for (const update of decodeRecord(row.record)) parts.push(update)
        const merged = parts.length === 0 ? snapshot : Y.mergeUpdates([snapshot, ...parts])
        const updated = await client.query<{ snapshot_version: string }>(
          'UPDATE documents SET snapshot = $2, snapshot_version = snapshot_version + 1 WHERE doc_id = $1 RETURNING snapshot_version',
          [docId, Buffer.from(merged.buffer, merged.byteOffset, merged.byteLength)],
        )
        version = updated.rows[0].snapshot_version
      })
    } catch (error) {
      this.writeFailed(error)
      throw error instanceof StorageError
        ? error
        : new StorageError(`compacting ${docId} in PostgreSQL failed: ${messageOf(error)}`)
    }
    this.writeSucceeded()
    const now = this.known.get(docId)
    if (now) {
      now.snapshotVersion = version
      for (let seq = fromSeq; seq <= toSeq; seq++) now.rows.delete(seq)
      for (const [seq, row] of now.rows) if (BigInt(row) <= lastRow) now.rows.delete(seq)
    } else {
      this.known.set(docId, { rows: new Map(), snapshotVersion: version })
    }
  }

  async getViewId(docId: string): Promise<string | null> {
    const { rows } = await this.query<{ view_id: string }>('SELECT view_id FROM view_links WHERE doc_id = $1', [docId])
    return rows[0]?.view_id ?? null
  }

  async resolveViewId(viewId: string): Promise<string | null> {
    const { rows } = await this.query<{ doc_id: string }>('SELECT doc_id FROM view_links WHERE view_id = $1', [viewId])
    return rows[0]?.doc_id ?? null
  }

  async setViewId(docId: string, viewId: string, _previousViewId: string | null): Promise<void> {
    // Someone is waiting on an HTTP request: an answer now beats one after the database is back.
    if (this.failing) throw new StorageError('storage is failing; the view link cannot be stored now')
    // One row per document: replacing its view id forgets the previous one in the same statement.
    try {
      await this.transaction((client) =>
        client.query(
          'INSERT INTO view_links (doc_id, view_id) VALUES ($1, $2) ON CONFLICT (doc_id) DO UPDATE SET view_id = EXCLUDED.view_id',
          [docId, viewId],
        ),
      )
    } catch (error) {
      this.writeFailed(error)
      throw new StorageError(`storing the view link of ${docId} failed: ${messageOf(error)}`)
    }
    this.writeSucceeded()
  }

  async getAccess(docId: string): Promise<DocumentAccess | null> {
    const { rows } = await this.query<{ access: DocumentAccess }>('SELECT access FROM document_access WHERE doc_id = $1', [docId])
    return rows[0]?.access ?? null
  }

  async setAccess(docId: string, access: DocumentAccess, _previous: DocumentAccess | null): Promise<void> {
    if (this.failing) throw new StorageError('storage is failing; access cannot be stored now')
    try {
      await this.transaction(async (client) => {
        await client.query(
          'INSERT INTO document_access (doc_id, access) VALUES ($1, $2) ON CONFLICT (doc_id) DO UPDATE SET access = EXCLUDED.access',
          [docId, JSON.stringify(access)],
        )
        await client.query('DELETE FROM document_members WHERE doc_id = $1', [docId])
        for (const member of access.members) {
          await client.query('INSERT INTO document_members (email, doc_id, role) VALUES ($1, $2, $3)', [
            member.email,
            docId,
            member.role,
          ])
        }
      })
    } catch (error) {
      this.writeFailed(error)
      throw new StorageError(`storing the access of ${docId} failed: ${messageOf(error)}`)
    }
    this.writeSucceeded()
  }

  async documentsSharedWith(email: string): Promise<string[]> {
    const { rows } = await this.query<{ doc_id: string }>('SELECT doc_id FROM document_members WHERE email = $1', [email])
    return rows.map((row) => row.doc_id)
  }

  async appendVersion(docId: string, version: StoredVersion): Promise<void> {
    if (this.failing) throw new StorageError('storage is failing; the version cannot be stored now')
    try {
      await this.transaction((client) =>
        client.query('INSERT INTO document_versions (doc_id, seq, meta, snapshot) VALUES ($1, $2, $3, $4)', [
          docId,
          version.seq,
          version.meta,
          Buffer.from(version.snapshot.buffer, version.snapshot.byteOffset, version.snapshot.byteLength),
        ]),
      )
    } catch (error) {
      if (!isConstraintViolation(error)) this.writeFailed(error)
      throw new StorageError(`storing version ${version.seq} of ${docId} failed: ${messageOf(error)}`)
    }
    this.writeSucceeded()
  }

  async listVersions(
    docId: string,
    { beforeSeq, limit }: { beforeSeq: number | null; limit: number },
  ): Promise<{ seq: number; meta: string }[]> {
    const { rows } = await this.query<{ seq: string; meta: string }>(
      'SELECT seq, meta FROM document_versions WHERE doc_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3',
      [docId, beforeSeq, limit],
    )
    return rows.map((row) => ({ seq: Number(row.seq), meta: row.meta }))
  }

  async readVersions(docId: string, fromSeq: number, toSeq: number): Promise<StoredVersion[]> {
    const { rows } = await this.query<{ seq: string; meta: string; snapshot: Buffer }>(
      'SELECT seq, meta, snapshot FROM document_versions WHERE doc_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq',
      [docId, fromSeq, toSeq],
    )
    return rows.map((row) => ({ seq: Number(row.seq), meta: row.meta, snapshot: new Uint8Array(row.snapshot) }))
  }

  /** synchronous_commit as the store's own write transactions run with it ("Saved" needs it not off). */
  synchronousCommit(): Promise<string> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ setting: string }>("SELECT current_setting('synchronous_commit') AS setting")
      return rows[0].setting
    })
  }

  /** How much the database holds (a migration refuses a non-empty target). */
  async contents(): Promise<{ documents: number; logRecords: number; viewLinks: number }> {
    const { rows } = await this.query<{ documents: string; log_records: string; view_links: string }>(
      `SELECT (SELECT count(*) FROM documents WHERE snapshot IS NOT NULL) AS documents,
              (SELECT count(*) FROM document_log) AS log_records,
              (SELECT count(*) FROM view_links) AS view_links`,
      [],
    )
    return {
      documents: Number(rows[0].documents),
      logRecords: Number(rows[0].log_records),
      viewLinks: Number(rows[0].view_links),
    }
  }

  commitPromptly(): void {
    this.prompt = true
    if (!this.flushTimer) return
    clearTimeout(this.flushTimer)
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      void this.flush()
    })
  }

  /** Completes pending writes (each succeeds or fails) and closes the pool. */
  async close(): Promise<void> {
    if (this.closed) return
    if (this.flushTimer) {
      clearTimeout(this.flushTimer)
      this.flushTimer = null
      void this.flush()
    }
    while (this.writing || this.queue.length > 0) await this.whenDrained()
    this.closed = true
    await this.pool.end()
  }

  /** Appends waiting or on their way (for the stop report). */
  get pendingWrites(): number {
    return this.queue.length
  }

  private whenDrained(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve()
    if (!this.writing && !this.flushTimer && !this.failing) void this.flush()
    return new Promise((resolve) => this.drainWaiters.push(resolve))
  }

  private flush(): Promise<void> {
    if (this.writing || this.queue.length === 0 || this.failing) return this.writing ?? Promise.resolve()
    const batch = this.queue
    this.queue = []
    const started = performance.now()
    this.writing = (async () => {
      let error: unknown = null
      let ids: { id: string; doc_id: string; seq: string }[] = []
      try {
        ids = await this.transaction(async (client) => {
          const result = await client.query<{ id: string; doc_id: string; seq: string }>(
            `INSERT INTO document_log (doc_id, seq, record)
             SELECT doc_id, seq, record FROM unnest($1::text[], $2::bigint[], $3::bytea[]) WITH ORDINALITY AS t(doc_id, seq, record, n)
             ORDER BY n
             RETURNING id, doc_id, seq`,
            [batch.map((w) => w.docId), batch.map((w) => w.seq), batch.map((w) => w.record)],
          )
          return result.rows
        })
      } catch (caught) {
        error = caught
      }
      this.writing = null
      if (this.batchObservers.length > 0) {
        const bytes = batch.reduce((sum, write) => sum + write.record.byteLength + write.docId.length, 0)
        const observed: StoreBatch = { ms: performance.now() - started, writes: batch.length, bytes, ok: error === null }
        for (const observer of this.batchObservers) observer(observed)
      }
      if (error !== null) {
        this.writeFailed(error)
        const failure = new StorageError(`PostgreSQL write failed: ${messageOf(error)}`)
        for (const write of batch) write.reject(failure)
      } else {
        for (const row of ids) {
          let known = this.known.get(row.doc_id)
          if (!known) this.known.set(row.doc_id, (known = { rows: new Map(), snapshotVersion: '0' }))
          known.rows.set(Number(row.seq), row.id)
        }
        this.writeSucceeded()
        for (const write of batch) write.resolve()
      }
      if (this.queue.length > 0) {
        if (!this.failing) void this.flush()
      } else for (const resolve of this.drainWaiters.splice(0)) resolve()
    })()
    return this.writing
  }

  /**
   * Runs `work` in a transaction on one connection. A connection that failed is destroyed, not
   * returned to the pool: after a lost connection or a timeout its state is unknown.
   */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    let broken: Error | undefined
    // The pool listens for errors only while a connection is idle: one cut between two queries
    // of ours would otherwise be an unhandled 'error' event, which ends the process.
    const lost = (error: Error) => (broken ??= error)
    client.on('error', lost)
    try {
      await client.query('BEGIN')
      if (this.forceSynchronousCommit) await client.query('SET LOCAL synchronous_commit = on')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      broken = error as Error
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.off('error', lost)
      client.release(broken)
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new StorageError('store is closed')
    try {
      return await this.pool.query<R>(text, values)
    } catch (error) {
      throw new StorageError(`PostgreSQL query failed: ${messageOf(error)}`)
    }
  }

  /** A real commit: one row per process in chorus_probe. */
  private probe(): Promise<void> {
    return this.transaction(async (client) => {
      await client.query(
        'INSERT INTO chorus_probe (instance, probed_at) VALUES ($1, now()) ON CONFLICT (instance) DO UPDATE SET probed_at = now()',
        [process.pid],
      )
    })
  }

  /** Probes with backoff until a write commits, then ends the episode and writes what waited. */
  private async recover(): Promise<void> {
    let delayMs = RECOVERY_FIRST_DELAY_MS
    let attempts = 0
    while (this.failing) {
      // Unref'd: what keeps the process alive is the server, or a stop waiting for this store.
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref())
      attempts++
      try {
        await this.probe()
      } catch (error) {
        this.logger.debug('storage still failing', { error: messageOf(error), attempts })
        delayMs = Math.min(delayMs * 2, RECOVERY_MAX_DELAY_MS)
        continue
      }
      this.writeSucceeded()
    }
  }

  private writeSucceeded(): void {
    this.lastWriteOkAt = performance.now()
    if (!this.failing) return
    const episode = this.failing
    this.failing = null
    this.logger.warn('storage recovered: PostgreSQL takes writes again', {
      database: this.location,
      failingMs: Math.round(performance.now() - episode.since),
      waitingWrites: this.queue.length,
    })
    for (const listener of this.healthListeners) listener('ok')
    if (this.queue.length > 0) void this.flush()
    else for (const resolve of this.drainWaiters.splice(0)) resolve()
  }

  private writeFailed(error: unknown): void {
    this.lastWriteOkAt = -Infinity
    if (this.failing) return
    this.failing = { since: performance.now(), error: messageOf(error) }
    // One line per episode: the journal retries, readiness says 503 meanwhile.
    this.logger.error('STORAGE FAILING: a PostgreSQL write failed; retrying, nothing is confirmed until it commits', {
      database: this.location,
      error: messageOf(error),
    })
    for (const listener of this.healthListeners) listener('failing')
    void this.recover()
  }
}

/** Why the store could not open: PostgreSQL's reason, with the URL shown without its password. */
export class PostgresConnectError extends StorageError {
  override name = 'PostgresConnectError'
  /** PostgreSQL's SQLSTATE (e.g. 28P01 wrong password), or Node's code (ECONNREFUSED). */
  readonly code: string | undefined
  constructor(url: string, cause: unknown) {
    super(`cannot use PostgreSQL at DATABASE_URL ${redactUrl(url)}: ${messageOf(cause)}`)
    this.code = (cause as { code?: string } | undefined)?.code
  }

  /** A setting that will not fix itself (credentials, database name, permissions), as opposed to a server that is down. */
  get isConfiguration(): boolean {
    // 28xxx invalid authorization, 3D000 no such database, 42501 insufficient privilege.
    return this.code !== undefined && /^(28|3D000|42501)/.test(this.code)
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0])
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: string } | undefined)?.code
  return message || code || 'unknown error'
}

/** A unique or check violation (SQLSTATE class 23): the request was wrong, the database is fine. */
function isConstraintViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('23')
}
