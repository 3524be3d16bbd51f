/**
 * Compaction: merging a document's log into a new snapshot, so that loading it applies one update
 * instead of replaying every record.
 *
 *   when     once the log has too many records, or outgrows the snapshot (which keeps the total
 *            cost linear in the edits); never while a write is failing (the log may then lack
 *            updates the snapshot would claim). In a later turn than the one that asked: that
 *            turn's edits are being relayed.
 *   now      on a graceful stop and before a document leaves memory, whatever log there is.
 *   failure  the store's replace is atomic, so the log is intact and still loads; the next growth
 *            tries again, and unloading no longer waits for a compaction.
 */
import type { DocumentStore } from '../storage/document-store.ts'
import type { DocumentEvent, DocumentEventName } from './document-events.ts'
import type { DocumentJournal } from './journal.ts'
import type { Logger } from '../ops/logger.ts'

export interface CompactionOptions {
  compactAfterRecords: number
  compactMinLogBytes: number
}

export interface CompactorHooks {
  /** The whole document as one update, or null when it must not become the snapshot (quarantined). */
  encodeSnapshot(): Uint8Array | null
  /** A compaction ended, either way: the document may now unload. */
  settled(): void
  emit<K extends DocumentEventName>(name: K, event: DocumentEvent<K>): void
}

export class Compactor {
  private running: Promise<void> | null = null
  private failedOnce = false

  constructor(
    private readonly docId: string,
    private readonly store: DocumentStore,
    private readonly journal: DocumentJournal<unknown>,
    private readonly options: CompactionOptions,
    private readonly logger: Logger,
    private readonly hooks: CompactorHooks,
  ) {}

  get busy(): boolean {
    return this.running !== null
  }

  /** A compaction failed: unloading does not wait for another (the log is intact and loads fine). */
  get failed(): boolean {
    return this.failedOnce
  }

  /** Starts a compaction if the log has grown enough. */
  maybeCompact(): void {
    if (this.running || this.journal.failing || this.journal.logRecords === 0) return
    const tooManyRecords = this.journal.logRecords >= this.options.compactAfterRecords
    const tooManyBytes = this.journal.logBytes >= Math.max(this.journal.snapshotBytes, this.options.compactMinLogBytes)
    if (tooManyRecords || tooManyBytes) void this.start()
  }

  /**
   * Compacts whatever log there is: even one record, since after a burst one record can hold
   * thousands of updates (a record still on its way during a compaction stays behind it), and
   * applying those costs the next load tens of milliseconds.
   */
  compactNow(): Promise<void> {
    if (this.running) return this.running
    if (this.journal.logRecords === 0 || this.journal.failing) return Promise.resolve()
    return this.start()
  }

  start(): Promise<void> {
    this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.compact())
    return this.running
  }

  private async compact(): Promise<void> {
    const fromSeq = this.journal.firstLogSeq
    // The snapshot may hold more than the log up to toSeq (updates applied since): those are
    // also in later records, and applying them twice changes nothing.
    const toSeq = this.journal.lastDurableSeq
    const records = this.journal.logRecords
    const bytes = this.journal.logBytes
    const started = performance.now()
    const snapshot = this.hooks.encodeSnapshot()
    if (snapshot === null) {
      this.running = null
      this.hooks.settled()
      return
    }
    const encodeMs = performance.now() - started
    try {
      await this.store.replaceLogWithSnapshot(this.docId, snapshot, fromSeq, toSeq)
      this.journal.compacted(toSeq, records, bytes, snapshot.byteLength)
      this.logger.debug('log compacted', { records, snapshotBytes: snapshot.byteLength, encodeMs: Math.round(encodeMs) })
      this.hooks.emit('compacted', {
        docId: this.docId,
        ms: performance.now() - started,
        records,
        snapshotBytes: snapshot.byteLength,
      })
    } catch (error) {
      this.failedOnce = true
      this.hooks.emit('compaction-failed', { docId: this.docId, error: error as Error })
      // While storage fails the store has said so once; one line per document would repeat it.
      const log = this.store.health === 'failing' ? this.logger.debug : this.logger.warn
      log.call(this.logger, 'log compaction failed; the log is intact', { error: (error as Error).message })
    }
    this.running = null
    this.hooks.settled()
  }
}
