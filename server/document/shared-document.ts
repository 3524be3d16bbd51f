/**
 * One document while it is open on this server: its Y.Doc, its awareness, its connections and
 * the bookkeeping that gets every update to disk. The whole lifecycle lives here, in order:
 *
 *   1. load     the stored snapshot and log are read once; connections that arrive meanwhile
 *               have their messages queued, in order, until the document is ready. Stored data
 *               that cannot be read is never served (nor written over): a notice and a final
 *               close, DocumentUnavailable.
 *   2. serve    each update is checked, then applied once, relayed to the other connections as the
 *               same bytes, and queued for storage. The updates that arrive in one socket read are
 *               applied in one Yjs transaction, before anything else of that document happens.
 *   3. store    the updates of one event-loop turn become one log record; once LevelDB has synced
 *               it, the contributors are told which state is now durable ("Saved"). After a
 *               failed record, nobody is told until its retry is durable; while the store
 *               fails, editors get a notice (withdrawn once it works again).
 *   4. compact  when the log grows past the snapshot, it is merged into a new snapshot, in a later
 *               turn than the one that relayed the edits; and once more before the document
 *               leaves memory, so that its next load applies one snapshot instead of a replay.
 *   5. unload   with no connections, nothing pending and nothing being written, the document
 *               leaves memory. A failed write keeps it in memory and retries; nothing is dropped.
 *
 * Bad input never reaches the Y.Doc: frames are decoded strictly, updates are checked in full
 * before they are applied, read-only connections cannot write, and a document at its size cap
 * takes no more. Should an update that passed the check still fail to apply, the document is
 * quarantined: the valid updates are stored, everyone is asked to reconnect, and it is loaded
 * again from disk, because a failed apply can leave a Y.Doc half-changed.
 */
import * as Y from 'yjs'
import {
  CloseCode,
  decodeClientMessage,
  encodeAwarenessFrame,
  encodeNotice,
  encodeSavedState,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  ProtocolError,
} from '../../lib/protocol.ts'
import { AwarenessRegistry, decodeAwarenessUpdate, encodeAwarenessUpdate, markViewing } from './awareness-registry.ts'
import { SharedMessage, type Connection } from '../transport/connection.ts'
import { DamagedDataError, StorageError, type DocumentStore, type StorageHealth } from '../storage/document-store.ts'
import { LogThrottle } from '../transport/limits.ts'
import type { DocumentEventMap, DocumentEventName, DocumentEvents } from './document-events.ts'
import type { Logger } from '../ops/logger.ts'
import { assertWellFormedUpdate } from './update-check.ts'

export interface DocumentOptions {
  compactAfterRecords: number
  compactMinLogBytes: number
  /** Most messages a connection may queue while the document loads. */
  maxQueuedMessages: number
  /** First retry delay after a failed write; doubles up to 30 s. */
  retryDelayMs: number
  /** Stored size past which updates are refused. */
  maxDocumentBytes: number
}

type State = 'loading' | 'ready' | 'quarantined' | 'unloaded'

/** Told to editors while storage fails; the same code with an empty message withdraws it. */
export const STORAGE_FAILING_NOTICE = {
  level: 'error',
  code: 'storage-failing',
  message: 'The server cannot save right now; your changes are kept in this browser.',
} as const

const damagedDocumentLog = new LogThrottle(60_000)

const DOCUMENT_UNAVAILABLE_NOTICE = {
  level: 'error',
  code: 'document-unavailable',
  message:
    "This document's stored data is damaged and cannot be opened. Nothing was changed; the server's administrator can repair it (npm run repair).",
} as const

export class SharedDocument {
  readonly ydoc: Y.Doc
  readonly awareness = new AwarenessRegistry<Connection>()
  readonly connections = new Set<Connection>()
  private state: State = 'loading'
  /** Messages that arrived while loading, per connection, in arrival order. */
  private readonly backlog = new Map<Connection, Uint8Array[]>()

  /** Updates checked but not yet applied: the rest of the current socket read (see `integrate`). */
  private incoming: Incoming[] = []
  private integrateScheduled = false

  // Storage bookkeeping (see "store" and "compact" above).
  private unsaved: Uint8Array[] = []
  private unsavedFrom = new Set<Connection>()
  private persistScheduled = false
  private writesInFlight = 0
  private updatesInFlight = 0
  private nextSeq = 0
  private firstLogSeq = 0
  private lastDurableSeq = -1
  private logRecords = 0
  private logBytes = 0
  private snapshotBytes = 0
  /** The compaction under way, if any. */
  private compaction: Promise<void> | null = null
  /** A compaction failed: unloading no longer waits for one (the log is intact and loads fine). */
  private compactionFailed = false
  /** After a failed write, no state counts as durable until a record cut after it succeeds. */
  private unconfirmedBeforeSeq = -1
  private retryTimer: NodeJS.Timeout | null = null
  private retryDelayMs: number
  /** Asked for SavedState while writes were pending: answered with the next record, or once stored. */
  private awaitingSavedState = new Set<Connection>()
  /**
   * Contributors of records that are durable but were written after a record that failed: they
   * are told with the first record at or after `unconfirmedBeforeSeq` that succeeds, whoever
   * contributed to that one.
   */
  private durableAwaitingRetry = new Set<Connection>()
  /**
   * Senders of updates applied while the document held pending structs (updates that arrived
   * before one they depend on, e.g. sent first by another tab over a BroadcastChannel).
   */
  private waitingForMissing = new Set<Connection>()
  private idleWaiters: (() => void)[] = []
  /**
   * Frames encoded once per state of the document rather than once per connection: the sync
   * step 1 every connection is greeted with, and the whole document as a step 2 for a client that
   * has nothing yet (every new browser tab; everyone at once after a restart). Dropped whenever
   * anything is applied.
   */
  private greetingFrame: SharedMessage | null = null
  private wholeDocumentFrame: SharedMessage | null = null
  /** Set by the afterTransaction hook: did the last transaction change anything? */
  private lastTransactionChanged = false
  private unsavedBytes = 0
  /** Bytes of the records being written now: not in logBytes until they are on disk. */
  private writingBytes = 0
  /** Writes dropped from read-only connections, over the document's time in memory. */
  droppedWrites = 0

  constructor(
    readonly id: string,
    private readonly store: DocumentStore,
    private readonly options: DocumentOptions,
    private readonly logger: Logger,
    private readonly events: DocumentEvents,
    private readonly onUnload: (document: SharedDocument) => void,
  ) {
    // A guid of our own: Yjs would otherwise make a random UUID, which costs ~0.1 ms of
    // getRandomValues calls per document opened.
    this.ydoc = new Y.Doc({ guid: id })
    this.retryDelayMs = options.retryDelayMs
    this.ydoc.on('afterTransaction', (transaction: Y.Transaction) => {
      // Only ever set: applying an update to formatted text is followed by an empty formatting
      // cleanup transaction, which must not hide the change before it.
      if (transaction.deleteSet.clients.size > 0 || stateAdvanced(transaction)) this.lastTransactionChanged = true
    })
  }

  private emit<K extends DocumentEventName>(name: K, event: DocumentEventMap[K]): void {
    this.events.emit(name, { ...event, docId: this.id })
  }

  get isReady(): boolean {
    return this.state === 'ready'
  }

  // ---------------------------------------------------------------------------------------------
  // 1. Load

  async load(): Promise<void> {
    const started = performance.now()
    try {
      const stored = await this.store.load(this.id)
      Y.transact(this.ydoc, () => {
        for (const update of stored.updates) Y.applyUpdate(this.ydoc, update)
      })
      this.forgetEncodedFrames()
      this.nextSeq = stored.nextSeq
      this.firstLogSeq = stored.firstLogSeq
      this.lastDurableSeq = stored.nextSeq - 1
      this.logRecords = stored.logRecords
      this.logBytes = stored.logBytes
      this.snapshotBytes = stored.snapshotBytes
      const loaded = {
        ms: performance.now() - started,
        records: stored.logRecords,
        bytes: stored.logBytes + stored.snapshotBytes,
      }
      this.logger.debug('document loaded', { ...loaded, ms: Math.round(loaded.ms) })
      this.emit('loaded', loaded)
    } catch (error) {
      this.failLoad(error)
      return
    }
    if (this.state !== 'loading') return
    this.state = 'ready'
    for (const connection of this.connections) this.greet(connection)
    for (const [connection, frames] of this.backlog) {
      for (const frame of frames) {
        if (!this.connections.has(connection)) break
        this.handleFrame(connection, frame)
      }
    }
    this.backlog.clear()
    this.maybeCompact()
    this.maybeUnload()
  }

  /**
   * Damaged data is never served, not even as an empty document a client would then fill and
   * write over it: its connections get a notice and a final close. Anything else (storage busy
   * recovering) is worth a reconnect.
   */
  private failLoad(error: unknown): void {
    // Stored updates that Yjs cannot apply are damaged data too.
    const damaged = error instanceof DamagedDataError || !(error instanceof StorageError)
    this.emit('load-failed', { damaged })
    if (damaged) {
      // Older y-websocket clients reconnect even after a final close: one line a minute per document.
      const suppressed = damagedDocumentLog.shouldLog(this.id, performance.now())
      if (suppressed !== null) {
        this.logger.error('document data is damaged; refusing to serve it', { error: (error as Error).message, suppressed })
      }
      const notice = encodeNotice(DOCUMENT_UNAVAILABLE_NOTICE)
      for (const connection of this.connections) {
        if (connection.wantsExtensions) connection.send(notice)
        connection.close(CloseCode.DocumentUnavailable, 'document data is damaged; ask the administrator to repair it')
      }
    } else {
      this.logger.warn('document failed to load; its clients will retry', { error: (error as Error).message })
      for (const connection of this.connections) connection.close(CloseCode.InternalError, 'document could not be loaded')
    }
    this.finishUnload()
  }

  // ---------------------------------------------------------------------------------------------
  // 2. Serve

  join(connection: Connection): void {
    if (this.state === 'quarantined') {
      connection.close(CloseCode.InternalError, 'document is reloading, try again')
      return
    }
    if (this.state === 'unloaded') {
      // A failed load unloaded this instance after the registry handed it out.
      connection.close(CloseCode.InternalError, 'document could not be loaded')
      return
    }
    this.connections.add(connection)
    if (connection.wantsExtensions && !connection.readOnly && this.store.health === 'failing') {
      connection.send(encodeNotice(STORAGE_FAILING_NOTICE))
    }
    if (this.state === 'ready') this.greet(connection)
  }

  /** Tells editors that storage fails, or withdraws that once it works again. */
  storageHealthChanged(health: StorageHealth): void {
    const notice = encodeNotice(health === 'failing' ? STORAGE_FAILING_NOTICE : { ...STORAGE_FAILING_NOTICE, message: '' })
    for (const connection of this.connections) {
      if (connection.wantsExtensions && !connection.readOnly) connection.send(notice)
    }
  }

  /** Approximate stored size: what is on disk plus what is on its way there, written or not. */
  get approximateBytes(): number {
    return this.snapshotBytes + this.logBytes + this.writingBytes + this.unsavedBytes
  }

  leave(connection: Connection): void {
    if (!this.connections.delete(connection)) return
    this.backlog.delete(connection)
    this.unsavedFrom.delete(connection)
    this.awaitingSavedState.delete(connection)
    this.durableAwaitingRetry.delete(connection)
    this.waitingForMissing.delete(connection)
    const removal = this.awareness.removeOwnedBy(connection)
    if (removal) this.broadcast(encodeAwarenessFrame(removal), null)
    this.maybeUnload()
  }

  receive(connection: Connection, frame: Uint8Array): void {
    if (this.state === 'loading') {
      let queued = this.backlog.get(connection)
      if (!queued) this.backlog.set(connection, (queued = []))
      if (queued.length >= this.options.maxQueuedMessages) {
        connection.close(CloseCode.MalformedMessage, 'too many messages before the document loaded')
        return
      }
      queued.push(frame)
      return
    }
    if (this.state === 'ready') this.handleFrame(connection, frame)
  }

  /** What a new connection gets: our state vector (so it sends what we lack) and who is here. */
  private greet(connection: Connection): void {
    this.integrate()
    // A read-only connection has nothing we could accept, so we do not ask it for anything.
    if (!connection.readOnly) {
      connection.sendShared((this.greetingFrame ??= new SharedMessage(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))))
    }
    const everyone = this.awareness.encodeAll()
    if (everyone) connection.send(encodeAwarenessFrame(everyone))
  }

  private handleFrame(connection: Connection, frame: Uint8Array): void {
    try {
      const message = decodeClientMessage(frame)
      // Whatever is not an update sees the document, and reaches the others, after the updates
      // received before it (a caret must not arrive ahead of the text it points into).
      if (message.type !== 'sync-update' && message.type !== 'sync-step2') this.integrate()
      switch (message.type) {
        case 'sync-step1':
          if (isEmptyStateVector(message.stateVector)) {
            connection.sendShared((this.wholeDocumentFrame ??= new SharedMessage(encodeSyncStep2(Y.encodeStateAsUpdate(this.ydoc)))))
          } else {
            connection.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.ydoc, message.stateVector)))
          }
          if (connection.wantsExtensions && !connection.readOnly) this.tellSavedState(connection)
          break
        case 'sync-step2':
        case 'sync-update':
          if (connection.readOnly) {
            this.dropWrite(connection)
            break
          }
          this.receiveUpdate(connection, message.update, message.type === 'sync-update' ? frame : null)
          break
        case 'awareness': {
          let entries = decodeAwarenessUpdate(message.update)
          // A viewer is shown as viewing whatever its client says, so it cannot pass as an editor.
          if (connection.readOnly) entries = entries.map(markViewing)
          const removals = this.awareness.removalsToReannounce(entries, connection)
          if (this.awareness.apply(entries, connection)) {
            // Echoed to the sender too: a stock y-websocket client drops a connection on which
            // nothing arrived for 30 s, and its own awareness renewals are what keep it alive.
            this.broadcast(connection.readOnly ? encodeAwarenessFrame(encodeAwarenessUpdate(entries)) : frame, null)
          }
          if (removals.length > 0) connection.send(encodeAwarenessFrame(encodeAwarenessUpdate(removals)))
          break
        }
        case 'query-awareness': {
          const everyone = this.awareness.encodeAll()
          if (everyone) connection.send(encodeAwarenessFrame(everyone))
          break
        }
        case 'auth':
          break
        case 'unknown':
          connection.ignore('unknown-message-type')
          break
      }
    } catch (error) {
      const reason = error instanceof ProtocolError ? error.message : `invalid message: ${(error as Error).message}`
      this.logger.warn('closing connection after a bad message', { conn: connection.id, reason })
      connection.close(CloseCode.MalformedMessage, reason)
    }
  }

  /**
   * Takes a client's update: checked now (a malformed one closes its connection and changes
   * nothing), applied, relayed and queued for storage by `integrate` once the current socket read
   * has been handled. `frame`, when given, is the update message exactly as received; it is
   * relayed as is, never re-encoded.
   */
  private receiveUpdate(from: Connection, update: Uint8Array, frame: Uint8Array | null): void {
    // Some clients send an empty step 2 when they have nothing; y-websocket's server shrugs.
    if (update.byteLength === 0) return from.ignore('empty-update')
    // Checks every struct and the delete set without touching the document; a malformed update
    // fails here, before it can change anything.
    assertWellFormedUpdate(update)
    if (this.approximateBytes + update.byteLength > this.options.maxDocumentBytes) {
      this.refuseGrowth(from, update.byteLength)
      return
    }
    this.incoming.push({ from, update, frame })
    this.unsavedBytes += update.byteLength
    if (!this.integrateScheduled) {
      this.integrateScheduled = true
      // ws hands over every message of one socket read synchronously; the microtask runs right
      // after the last of them, so a burst costs one transaction instead of one per keystroke.
      queueMicrotask(() => this.integrate())
    }
  }

  /**
   * Applies the updates received so far in one Yjs transaction, then relays them and queues
   * them for storage. Called before anything reads the document or reaches the others.
   */
  private integrate(): void {
    this.integrateScheduled = false
    if (this.incoming.length === 0) return
    const batch = this.incoming
    this.incoming = []
    if (this.state !== 'ready') return
    const { applied, failure } = this.applyAll(batch)
    const pending = this.ydoc.store.pendingStructs !== null || this.ydoc.store.pendingDs !== null
    // A reconnecting client resends what we already have: a batch that changes nothing is
    // neither relayed nor stored.
    const kept = this.lastTransactionChanged || pending ? applied : 0
    // This batch may have completed updates that waited for it: their senders hear "saved"
    // with this record too, since the state vector they were told lacked those updates.
    if (kept > 0 && this.lastTransactionChanged) {
      for (const connection of this.waitingForMissing) this.unsavedFrom.add(connection)
      if (!pending) this.waitingForMissing.clear()
    }
    for (let i = 0; i < kept; i++) {
      const { from, update, frame } = batch[i]
      // A step 2 is relayed as a plain update: forwarding a step 2 would mark other clients as
      // synced.
      this.broadcast(frame ?? encodeSyncUpdate(update), from)
      this.unsaved.push(update)
      if (from.wantsExtensions) {
        this.unsavedFrom.add(from)
        if (pending) this.waitingForMissing.add(from)
      }
    }
    for (let i = kept; i < batch.length; i++) this.unsavedBytes -= batch[i].update.byteLength
    if (kept > 0) {
      let bytes = 0
      for (let i = 0; i < kept; i++) bytes += batch[i].update.byteLength
      this.emit('applied', { origin: 'client', updates: kept, bytes })
    }
    if (kept > 0) this.schedulePersist()
    if (failure) this.quarantine(batch[applied].from, failure.error)
  }

  /** Applies updates in order in one transaction; stops at the first that fails. */
  private applyAll(batch: Incoming[]): { applied: number; failure: { error: unknown } | null } {
    this.lastTransactionChanged = false
    let applied = 0
    let failure: { error: unknown } | null = null
    Y.transact(this.ydoc, () => {
      for (const { update } of batch) {
        try {
          Y.applyUpdate(this.ydoc, update)
        } catch (error) {
          failure = { error }
          return
        }
        applied++
      }
    })
    this.forgetEncodedFrames()
    return { applied, failure }
  }

  private forgetEncodedFrames(): void {
    this.greetingFrame = null
    this.wholeDocumentFrame = null
  }

  private dropWrite(connection: Connection): void {
    this.droppedWrites++
    if (connection.droppedWrites++ === 0) {
      this.logger.warn('dropping writes from a read-only connection', { conn: connection.id })
    }
  }

  /**
   * Refuses a change that would take the document past its size cap, and closes its sender:
   * every later change of that client builds on the refused one, so nobody else could ever see
   * those either, and a client left connected would believe it is in sync. The close is final,
   * so the page stops sending the change again; a Chorus page is told why first.
   */
  private refuseGrowth(connection: Connection, updateBytes: number): void {
    this.logger.warn('refusing a change past the document size cap', {
      conn: connection.id,
      bytes: this.approximateBytes,
      updateBytes,
      limit: this.options.maxDocumentBytes,
    })
    if (connection.wantsExtensions) {
      const alone = updateBytes > this.options.maxDocumentBytes
      connection.send(
        encodeNotice({
          level: 'error',
          code: 'document-too-large',
          message: alone
            ? `This change (${formatBytes(updateBytes)}) is larger than a document may be (${formatBytes(this.options.maxDocumentBytes)}). It was not saved or shared.`
            : `This document has reached its size limit (${formatBytes(this.options.maxDocumentBytes)}). Your latest changes were not saved or shared; reading still works.`,
        }),
      )
    }
    connection.close(CloseCode.ChangeTooLarge, `change too large: the document may be at most ${formatBytes(this.options.maxDocumentBytes)}`)
  }

  /**
   * An update that passed the format check failed to apply, so the Y.Doc may be half-changed. Store the
   * valid updates we hold, send everyone away to reconnect (their clients keep their own state),
   * and let the next connection load the document again from disk.
   */
  private quarantine(culprit: Connection, error: unknown): void {
    this.logger.error('update failed to apply; reloading the document from disk', { conn: culprit.id, error })
    this.emit('quarantined', {})
    this.state = 'quarantined'
    culprit.close(CloseCode.MalformedMessage, 'update could not be applied')
    for (const connection of this.connections) {
      if (connection !== culprit) connection.close(CloseCode.InternalError, 'document is reloading, reconnecting')
    }
    if (this.persistScheduled) this.persist()
    this.maybeUnload()
  }

  /** Sends the same bytes to every connection except `except`, framed for the wire once. */
  private broadcast(frame: Uint8Array, except: Connection | null): void {
    const message = new SharedMessage(frame)
    for (const connection of this.connections) {
      if (connection !== except) connection.sendShared(message)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 3. Store

  private schedulePersist(): void {
    if (this.persistScheduled) return
    this.persistScheduled = true
    // Every update applied in this turn joins one record (and the store joins the records of
    // all documents into one synced batch).
    setImmediate(() => this.persist())
  }

  private persist(): void {
    this.persistScheduled = false
    this.integrate()
    if (this.unsaved.length === 0 || this.state === 'unloaded') return
    const updates = this.unsaved
    const contributors = this.unsavedFrom
    for (const connection of this.awaitingSavedState) contributors.add(connection)
    this.awaitingSavedState.clear()
    this.unsaved = []
    this.unsavedFrom = new Set()
    this.unsavedBytes = 0
    const seq = this.nextSeq++
    // Everything applied so far is in this record or an earlier one, so once it is on disk this
    // state vector is durable. Only worth encoding when someone will be told.
    // After a failure, this record may be the one that confirms earlier durable records too.
    const confirmsOthers = this.unconfirmedBeforeSeq >= 0 || this.durableAwaitingRetry.size > 0
    const stateVector = contributors.size > 0 || confirmsOthers ? Y.encodeStateVector(this.ydoc) : null
    let bytes = 0
    for (const update of updates) bytes += update.byteLength
    this.writesInFlight++
    this.writingBytes += bytes
    this.updatesInFlight += updates.length
    const started = performance.now()
    this.store.appendRecord(this.id, seq, updates).then(
      () => {
        this.emit('stored', { ms: performance.now() - started, updates: updates.length, bytes })
        this.writesInFlight--
        this.writingBytes -= bytes
        this.updatesInFlight -= updates.length
        this.logRecords++
        this.logBytes += bytes
        this.lastDurableSeq = seq
        if (seq >= this.unconfirmedBeforeSeq) {
          this.unconfirmedBeforeSeq = -1
          this.retryDelayMs = this.options.retryDelayMs
          // Everything applied before this record was cut is stored now, including the records
          // that succeeded while an earlier one had failed.
          if (stateVector) {
            for (const connection of this.durableAwaitingRetry) contributors.add(connection)
            this.durableAwaitingRetry.clear()
            this.confirmSaved(contributors, stateVector)
          }
        } else {
          // Durable, but an earlier record failed: they hear "saved" once the retry lands. Not
          // through unsavedFrom: the retry may already be on its way with its own contributors.
          for (const connection of contributors) this.durableAwaitingRetry.add(connection)
        }
        this.maybeCompact()
        this.maybeUnload()
      },
      (error: unknown) => {
        this.emit('store-failed', { error: error as Error })
        this.writesInFlight--
        this.writingBytes -= bytes
        this.updatesInFlight -= updates.length
        // The store logs the failure once per episode; a line per record would flood the log.
        this.logger.debug('failed to store updates; keeping them in memory and retrying', {
          error: (error as Error).message,
          updates: updates.length,
          retryInMs: this.retryDelayMs,
        })
        this.unsaved = updates.concat(this.unsaved)
        this.unsavedBytes += bytes
        for (const connection of contributors) if (this.connections.has(connection)) this.unsavedFrom.add(connection)
        this.unconfirmedBeforeSeq = this.nextSeq
        this.scheduleRetry()
      },
    )
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.persist()
    }, this.retryDelayMs)
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000)
  }

  /**
   * Tells a client which state is on disk. When nothing is pending, that is the whole document;
   * otherwise the answer comes with the next record, or once everything is stored.
   */
  private tellSavedState(connection: Connection): void {
    if (this.isStored) connection.send(encodeSavedState(Y.encodeStateVector(this.ydoc)))
    else this.awaitingSavedState.add(connection)
  }

  private confirmSaved(contributors: Set<Connection>, stateVector: Uint8Array): void {
    if (contributors.size === 0) return
    const frame = encodeSavedState(stateVector)
    for (const connection of contributors) {
      if (this.connections.has(connection)) connection.send(frame)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 4. Compact

  private maybeCompact(): void {
    if (this.compaction || this.unconfirmedBeforeSeq >= 0 || this.logRecords === 0) return
    const tooManyRecords = this.logRecords >= this.options.compactAfterRecords
    // Compacting when the log outgrows the snapshot keeps the total cost linear in the edits.
    const tooManyBytes = this.logBytes >= Math.max(this.snapshotBytes, this.options.compactMinLogBytes)
    if (tooManyRecords || tooManyBytes) void this.startCompaction()
  }

  /**
   * Compacts whatever log there is (graceful shutdown): even one record, since after a burst one
   * record can hold thousands of updates (a record still on its way during a compaction stays
   * behind it), and applying those costs the next load tens of milliseconds.
   */
  compactNow(): Promise<void> {
    if (this.compaction) return this.compaction
    if (this.state !== 'ready' || this.logRecords === 0 || this.unconfirmedBeforeSeq >= 0) return Promise.resolve()
    return this.startCompaction()
  }

  private startCompaction(): Promise<void> {
    // In a later turn than the one that asked: the edits of this one are being relayed.
    this.compaction = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.compact())
    return this.compaction
  }

  private async compact(): Promise<void> {
    // A quarantined Y.Doc may be half-changed: it must never become the snapshot.
    if (this.state !== 'ready') {
      this.compaction = null
      this.maybeUnload()
      return
    }
    const fromSeq = this.firstLogSeq
    // The snapshot may hold more than the log up to toSeq (updates applied since): those are
    // also in later records, and applying them twice changes nothing.
    const toSeq = this.lastDurableSeq
    const records = this.logRecords
    const bytes = this.logBytes
    const started = performance.now()
    const snapshot = Y.encodeStateAsUpdate(this.ydoc)
    const encodeMs = performance.now() - started
    try {
      await this.store.replaceLogWithSnapshot(this.id, snapshot, fromSeq, toSeq)
      this.firstLogSeq = toSeq + 1
      this.logRecords -= records
      this.logBytes -= bytes
      this.snapshotBytes = snapshot.byteLength
      this.logger.debug('log compacted', { records, snapshotBytes: snapshot.byteLength, encodeMs: Math.round(encodeMs) })
      this.emit('compacted', { ms: performance.now() - started, records, snapshotBytes: snapshot.byteLength })
    } catch (error) {
      // The log is intact (the write is atomic), so nothing is lost; the next growth retries.
      this.compactionFailed = true
      this.emit('compaction-failed', { error: error as Error })
      // While storage fails the store has said so once; one line per document would repeat it.
      const log = this.store.health === 'failing' ? this.logger.debug : this.logger.warn
      log.call(this.logger, 'log compaction failed; the log is intact', { error: (error as Error).message })
    }
    this.compaction = null
    this.maybeUnload()
  }

  // ---------------------------------------------------------------------------------------------
  // 5. Unload

  /** Updates applied but not yet durably stored (for the report of a stop that timed out). */
  get unstoredUpdates(): number {
    return this.incoming.length + this.unsaved.length + this.updatesInFlight
  }

  /** True when nothing of this document is waiting for the disk. */
  private get isStored(): boolean {
    return (
      this.incoming.length === 0 &&
      this.unsaved.length === 0 &&
      !this.persistScheduled &&
      this.writesInFlight === 0 &&
      this.compaction === null &&
      this.unconfirmedBeforeSeq < 0
    )
  }

  /** Resolves once everything applied so far is on disk (used by graceful shutdown). */
  whenStored(): Promise<void> {
    if (this.state === 'loading' || this.state === 'unloaded' || this.isStored) return Promise.resolve()
    if (this.persistScheduled || this.incoming.length > 0) this.persist()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private maybeUnload(): void {
    if (this.state === 'loading' || this.state === 'unloaded') return
    if (!this.isStored) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
    if (this.awaitingSavedState.size > 0 || this.durableAwaitingRetry.size > 0) {
      for (const connection of this.durableAwaitingRetry) this.awaitingSavedState.add(connection)
      this.durableAwaitingRetry.clear()
      this.confirmSaved(this.awaitingSavedState, Y.encodeStateVector(this.ydoc))
      this.awaitingSavedState.clear()
    }
    // A quarantined document has asked all its connections to leave; it goes without waiting.
    if (this.connections.size > 0 && this.state !== 'quarantined') return
    // Leave one snapshot behind, so the next load applies it instead of replaying a log. The
    // document stays registered meanwhile: a load beside it could reuse the sequence numbers
    // this compaction deletes.
    if (this.state === 'ready' && this.logRecords > 0 && !this.compactionFailed) {
      void this.startCompaction()
      return
    }
    this.finishUnload()
  }

  private finishUnload(): void {
    this.state = 'unloaded'
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.ydoc.destroy()
    this.onUnload(this)
    this.logger.debug('document unloaded')
    this.emit('unloaded', {})
  }
}

interface Incoming {
  from: Connection
  update: Uint8Array
  /** The message as received, relayed as is; null for a step 2, which is relayed as an update. */
  frame: Uint8Array | null
}

/** A state vector with no clients: the client has nothing of the document yet. */
function isEmptyStateVector(stateVector: Uint8Array): boolean {
  return stateVector.length === 1 && stateVector[0] === 0
}

function stateAdvanced(transaction: Y.Transaction): boolean {
  for (const [client, clock] of transaction.afterState) {
    if (transaction.beforeState.get(client) !== clock) return true
  }
  return false
}

/** "64 MiB", "1.3 MiB", "100 KiB": for sentences people read. */
function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024)
  return mib >= 1 ? `${Math.round(mib * 10) / 10} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`
}
