/**
 * A document's way to disk: which updates are not yet durable, the records being written, the
 * log as stored, the retry after a failed write, and who is told "Saved", when.
 *
 *   record     the updates applied in one event-loop turn become one log record with the next
 *              sequence number (and the store joins the records of all documents into one
 *              synced batch).
 *   Saved      once a record is durable, its contributors are told the state vector that was
 *              current when it was cut: everything up to there is on disk.
 *   failure    a failed record is kept and retried with a doubling delay (up to 30 s). From the
 *              failure on, nobody is told "Saved" until a record cut after it is durable: records
 *              that succeed meanwhile may lack what the failed one held. Their contributors hear
 *              it with that later record.
 *   missing    an update that arrived before one it depends on is applied as pending structs;
 *              its sender is told again once the missing update arrives, whoever sends it.
 *
 * Contributors are whatever the document tells apart (its connections); the journal only keeps
 * them in sets and hands them back through `confirm`, so it is testable without sockets.
 */
import type { DocumentStore, StoredDocument } from '../storage/document-store.ts'
import type { DocumentEvent, DocumentEventName } from './document-events.ts'
import type { Logger } from '../ops/logger.ts'

const MAX_RETRY_DELAY_MS = 30_000

export interface JournalHooks<Contributor> {
  /** Applies what the document received but has not applied yet: a record is cut after it. */
  beforeCut(): void
  /** The state vector of everything applied so far. */
  stateVector(): Uint8Array
  /** Tells contributors (those still connected) that `stateVector` is durable. */
  confirm(contributors: ReadonlySet<Contributor>, stateVector: Uint8Array): void
  /** A contributor that left is not kept for the retry of its record. */
  isPresent(contributor: Contributor): boolean
  /** A write settled, either way: the document may now compact or unload. */
  settled(): void
  emit<K extends DocumentEventName>(name: K, event: DocumentEvent<K>): void
}

export class DocumentJournal<Contributor> {
  // The log as stored.
  private nextSeq = 0
  private firstSeq = 0
  private lastDurable = -1
  private records = 0
  private recordBytes = 0
  private snapshotSize = 0

  // On its way to disk.
  private unsaved: Uint8Array[] = []
  private unsavedBytes = 0
  private unsavedFrom = new Set<Contributor>()
  private writeScheduled = false
  private writesInFlight = 0
  private updatesInFlight = 0
  /** Bytes of the records being written now: not in recordBytes until they are on disk. */
  private writingBytes = 0
  /** When the oldest update in `unsaved` was handed over (Infinity: none waits). */
  private unsavedSince = Infinity
  /** Each record being written, by seq: when its oldest update was handed over. */
  private readonly writingSince = new Map<number, number>()

  // After a failed write.
  /** No state counts as durable until a record cut after the failure (seq >= this) succeeds. */
  private unconfirmedBeforeSeq = -1
  private retryTimer: NodeJS.Timeout | null = null
  private retryDelayMs: number

  // "Saved" confirmations.
  /** Asked for SavedState while writes were pending: answered with the next record, or once stored. */
  private readonly awaitingSavedState = new Set<Contributor>()
  /**
   * Contributors of records that are durable but were written after a record that failed: they
   * are told with the first record at or after `unconfirmedBeforeSeq` that succeeds, whoever
   * contributed to that one.
   */
  private readonly durableAwaitingRetry = new Set<Contributor>()
  /**
   * Senders of updates applied while the document held pending structs (updates that arrived
   * before one they depend on, e.g. sent first by another tab over a BroadcastChannel).
   */
  private readonly waitingForMissing = new Set<Contributor>()
  private closed = false

  constructor(
    private readonly docId: string,
    private readonly store: DocumentStore,
    private readonly firstRetryDelayMs: number,
    private readonly logger: Logger,
    private readonly hooks: JournalHooks<Contributor>,
  ) {
    this.retryDelayMs = firstRetryDelayMs
  }

  /** Takes up the log where the stored document ends. */
  restore(stored: StoredDocument): void {
    this.nextSeq = stored.nextSeq
    this.firstSeq = stored.firstLogSeq
    this.lastDurable = stored.nextSeq - 1
    this.records = stored.logRecords
    this.recordBytes = stored.logBytes
    this.snapshotSize = stored.snapshotBytes
  }

  // ---------------------------------------------------------------------------------------------
  // What the document hands over

  /**
   * Queues an applied update for the next record. `contributor` (if any) is told "Saved" once it
   * is durable; `incomplete` says the document now holds pending structs, which this update may
   * be among, so the contributor is told again once they are complete.
   */
  append(update: Uint8Array, contributor: Contributor | null, incomplete: boolean): void {
    if (this.unsaved.length === 0) this.unsavedSince = Math.min(this.unsavedSince, performance.now())
    this.unsaved.push(update)
    this.unsavedBytes += update.byteLength
    if (contributor !== null) {
      this.unsavedFrom.add(contributor)
      if (incomplete) this.waitingForMissing.add(contributor)
    }
    this.scheduleWrite()
  }

  /**
   * The document changed while it held pending structs: their senders hear "Saved" with the next
   * record too, since the state vector they were told lacked those updates.
   */
  missingMayHaveArrived(stillIncomplete: boolean): void {
    if (this.waitingForMissing.size === 0) return
    for (const contributor of this.waitingForMissing) this.unsavedFrom.add(contributor)
    if (!stillIncomplete) this.waitingForMissing.clear()
  }

  /** Tells `contributor` with the next durable record, or once everything is stored. */
  confirmLater(contributor: Contributor): void {
    this.awaitingSavedState.add(contributor)
  }

  /** Everything is stored: tells whoever still waits for a "Saved". */
  confirmWaiting(): void {
    if (this.awaitingSavedState.size === 0 && this.durableAwaitingRetry.size === 0) return
    for (const contributor of this.durableAwaitingRetry) this.awaitingSavedState.add(contributor)
    this.durableAwaitingRetry.clear()
    this.hooks.confirm(this.awaitingSavedState, this.hooks.stateVector())
    this.awaitingSavedState.clear()
  }

  forget(contributor: Contributor): void {
    this.unsavedFrom.delete(contributor)
    this.awaitingSavedState.delete(contributor)
    this.durableAwaitingRetry.delete(contributor)
    this.waitingForMissing.delete(contributor)
  }

  // ---------------------------------------------------------------------------------------------
  // State

  /** A write failed and no record cut after it is durable yet. */
  get failing(): boolean {
    return this.unconfirmedBeforeSeq >= 0
  }

  /** Nothing waits to be written, is being written, or waits for a retry. */
  get idle(): boolean {
    return this.unsaved.length === 0 && !this.writeScheduled && this.writesInFlight === 0 && !this.failing
  }

  get hasScheduledWrite(): boolean {
    return this.writeScheduled
  }

  /** Updates handed over but not yet durable. */
  get unstoredUpdates(): number {
    return this.unsaved.length + this.updatesInFlight
  }

  /**
   * When the oldest update not yet durable was handed over (performance.now() time), or null when
   * everything is stored. After a failed write its updates keep their time: the store lag it
   * gives never looks better than the oldest thing still waiting.
   */
  get oldestUnstoredAt(): number | null {
    let oldest = this.unsavedSince
    for (const since of this.writingSince.values()) if (since < oldest) oldest = since
    return oldest === Infinity ? null : oldest
  }

  /** Stored size, and what is on its way there. */
  get approximateBytes(): number {
    return this.snapshotSize + this.recordBytes + this.writingBytes + this.unsavedBytes
  }

  get firstLogSeq(): number {
    return this.firstSeq
  }
  get lastDurableSeq(): number {
    return this.lastDurable
  }
  get logRecords(): number {
    return this.records
  }
  get logBytes(): number {
    return this.recordBytes
  }
  get snapshotBytes(): number {
    return this.snapshotSize
  }

  /** Records `fromSeq`..`toSeq` (`records` of them, `bytes` long) were merged into a snapshot. */
  compacted(toSeq: number, records: number, bytes: number, snapshotBytes: number): void {
    this.firstSeq = toSeq + 1
    this.records -= records
    this.recordBytes -= bytes
    this.snapshotSize = snapshotBytes
  }

  /** No more writes or retries: the document left memory. */
  close(): void {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  // ---------------------------------------------------------------------------------------------
  // Writing

  private scheduleWrite(): void {
    if (this.writeScheduled) return
    this.writeScheduled = true
    // Every update applied in this turn joins one record.
    setImmediate(() => this.writeNow())
  }

  /** Cuts a record of everything not yet written, now. */
  writeNow(): void {
    this.writeScheduled = false
    this.hooks.beforeCut()
    if (this.unsaved.length === 0 || this.closed) return
    const updates = this.unsaved
    const contributors = this.unsavedFrom
    for (const contributor of this.awaitingSavedState) contributors.add(contributor)
    this.awaitingSavedState.clear()
    this.unsaved = []
    this.unsavedFrom = new Set()
    this.unsavedBytes = 0
    const seq = this.nextSeq++
    const since = this.unsavedSince
    this.unsavedSince = Infinity
    this.writingSince.set(seq, since)
    // Everything applied so far is in this record or an earlier one, so once it is on disk this
    // state vector is durable. Only worth encoding when someone will be told. After a failure,
    // this record may be the one that confirms earlier durable records too.
    const confirmsOthers = this.failing || this.durableAwaitingRetry.size > 0
    const stateVector = contributors.size > 0 || confirmsOthers ? this.hooks.stateVector() : null
    let bytes = 0
    for (const update of updates) bytes += update.byteLength
    this.writesInFlight++
    this.writingBytes += bytes
    this.updatesInFlight += updates.length
    const started = performance.now()
    this.store.appendRecord(this.docId, seq, updates).then(
      () => {
        this.hooks.emit('stored', { docId: this.docId, ms: performance.now() - started, updates: updates.length, bytes })
        this.writingSince.delete(seq)
        this.writeSettled(updates.length, bytes)
        this.records++
        this.recordBytes += bytes
        this.lastDurable = seq
        if (seq >= this.unconfirmedBeforeSeq) {
          this.unconfirmedBeforeSeq = -1
          this.retryDelayMs = this.firstRetryDelayMs
          // Everything applied before this record was cut is stored now, including the records
          // that succeeded while an earlier one had failed.
          if (stateVector) {
            for (const contributor of this.durableAwaitingRetry) contributors.add(contributor)
            this.durableAwaitingRetry.clear()
            if (contributors.size > 0) this.hooks.confirm(contributors, stateVector)
          }
        } else {
          // Durable, but an earlier record failed: they hear "Saved" once the retry lands. Not
          // through unsavedFrom: the retry may already be on its way with its own contributors.
          for (const contributor of contributors) this.durableAwaitingRetry.add(contributor)
        }
        this.hooks.settled()
      },
      (error: unknown) => {
        this.hooks.emit('store-failed', { docId: this.docId, error: error as Error })
        this.writeSettled(updates.length, bytes)
        // The store logs the failure once per episode; a line per record would flood the log.
        this.logger.debug('failed to store updates; keeping them in memory and retrying', {
          error: (error as Error).message,
          updates: updates.length,
          retryInMs: this.retryDelayMs,
        })
        this.writingSince.delete(seq)
        this.unsaved = updates.concat(this.unsaved)
        this.unsavedSince = Math.min(this.unsavedSince, since)
        this.unsavedBytes += bytes
        for (const contributor of contributors) if (this.hooks.isPresent(contributor)) this.unsavedFrom.add(contributor)
        this.unconfirmedBeforeSeq = this.nextSeq
        this.scheduleRetry()
      },
    )
  }

  private writeSettled(updates: number, bytes: number): void {
    this.writesInFlight--
    this.writingBytes -= bytes
    this.updatesInFlight -= updates
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.writeNow()
    }, this.retryDelayMs)
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS)
  }
}
