/**
 * One document while it is open on this server: its Y.Doc and its connections. The lifecycle
 * reads top to bottom, in order; each step's details live in a unit of their own:
 *
 *   1. load     the stored snapshot and log are read once; connections that arrive meanwhile
 *               have their messages held, in order, until the document is ready. Stored data
 *               that cannot be read is never served (nor written over): a notice and a final
 *               close, DocumentUnavailable.
 *   2. serve    a connection's messages are answered (client-messages.ts). Each update is
 *               checked, then applied once (update-intake.ts: one Yjs transaction per socket read),
 *               and relayed, stored and confirmed as its origin's policy says (update-origin.ts):
 *               a client's goes to the others as the same bytes. Updates from elsewhere (a
 *               server-side edit, a restore, another instance) come in by `applyUpdate`; other
 *               instances' presence and their unstored updates go through `peers`.
 *   3. store    the journal (journal.ts) cuts a record per event-loop turn, tells contributors
 *               "Saved" once it is durable, and retries a failed record; while the store fails,
 *               editors get a notice (withdrawn once it works again).
 *   4. compact  the compactor (compactor.ts) merges a grown log into a new snapshot, and once
 *               more before the document leaves memory, so that its next load applies one
 *               snapshot instead of a replay.
 *   5. unload   with no connections, nothing pending and nothing being written, the document
 *               leaves memory. A failed write keeps it in memory and retries; nothing is dropped.
 *
 * Bad input never reaches the Y.Doc: frames are decoded strictly, updates are checked in full
 * before they are applied, read-only connections cannot write, and a document at its size cap
 * takes no more. Should an update that passed the check still fail to apply, the document is
 * quarantined: the valid updates are stored, everyone is asked to reconnect, and it is loaded
 * again from disk, because a failed apply can leave a Y.Doc half-changed.
 *
 * What happens is emitted as typed events (document-events.ts) for metrics and history.
 */
import * as Y from 'yjs'
import { CloseCode, encodeNotice, encodeSavedState } from '../../lib/protocol.ts'
import { isDamagedData, type DocumentStore, type StorageHealth } from '../storage/document-store.ts'
import { LogThrottle } from '../ops/log-throttle.ts'
import { ClientMessages } from './client-messages.ts'
import { Compactor } from './compactor.ts'
import type { DocumentOptions } from './document-registry.ts'
import type { DocumentConnection } from './document-connection.ts'
import type { DocumentEvent, DocumentEventName, DocumentEvents } from './document-events.ts'
import { DocumentJournal } from './journal.ts'
import { DocumentPeers } from './document-peers.ts'
import { STORAGE_FAILING_NOTICE } from './notices.ts'
import type { Logger } from '../ops/logger.ts'
import { assertWellFormedUpdate, assertWithinSizeCap } from './update-check.ts'
import { UpdateIntake } from './update-intake.ts'
import type { UpdateOrigin } from './update-origin.ts'

type State = 'loading' | 'ready' | 'quarantined' | 'unloaded'
type Origin = UpdateOrigin<DocumentConnection>

const damagedDocumentLog = new LogThrottle(60_000)

export class SharedDocument {
  readonly ydoc: Y.Doc
  readonly connections = new Set<DocumentConnection>()
  private state: State = 'loading'
  private readonly intake: UpdateIntake<DocumentConnection>
  private readonly journal: DocumentJournal<DocumentConnection>
  private readonly compactor: Compactor
  private idleWaiters: (() => void)[] = []
  private readyWaiters: ((ready: boolean) => void)[] = []
  /** API requests working on the document: it stays in memory for them. */
  private holds = 0
  private readonly messages: ClientMessages
  /** What other instances of a cluster do here: their presence, their updates stored for them. */
  readonly peers: DocumentPeers

  constructor(
    readonly id: string,
    private readonly store: DocumentStore,
    private readonly options: DocumentOptions,
    private readonly logger: Logger,
    private readonly events: DocumentEvents,
    private readonly onUnload: (document: SharedDocument) => void,
    /** Other instances' recent updates that they may not have stored yet (DocumentRegistry). */
    recentPeerUpdates: () => readonly Uint8Array[] = () => [],
  ) {
    // A guid of our own: Yjs would otherwise make a random UUID, which costs ~0.1 ms of
    // getRandomValues calls per document opened.
    // gc off: deleted content stays, so that every version of the history can be read back from
    // the document itself (versions are Yjs snapshots, see history.ts). Compaction keeps it too.
    this.ydoc = new Y.Doc({ guid: id, gc: false })
    const emit = this.emit.bind(this)
    this.journal = new DocumentJournal(id, store, options.retryDelayMs, logger, {
      beforeCut: () => this.intake.applyWaiting(),
      stateVector: () => Y.encodeStateVector(this.ydoc),
      confirm: (contributors, stateVector) => this.messages.confirmSaved(contributors, stateVector),
      isPresent: (connection) => this.connections.has(connection),
      settled: () => {
        this.compactor.maybeCompact()
        this.maybeUnload()
      },
      emit,
    })
    this.compactor = new Compactor(id, store, this.journal, options, logger, {
      // A quarantined Y.Doc may be half-changed: it must never become the snapshot.
      encodeSnapshot: () => (this.state === 'ready' ? Y.encodeStateAsUpdate(this.ydoc) : null),
      settled: () => this.maybeUnload(),
      emit,
    })
    this.intake = new UpdateIntake(this.ydoc, this.journal, {
      canApply: () => this.state === 'ready',
      relay: (frame, except) => this.messages.broadcast(frame, except),
      afterApply: () => this.messages.forgetEncodedFrames(),
      applied: (origin, updates, bytes, writers) => this.emit('applied', { docId: id, origin, updates, bytes, writers }),
      publish: (update) => this.emit('update-to-publish', { docId: id, update }),
      publishing: () => this.events.has('update-to-publish'),
      failed: (culprit, error) => this.quarantine(culprit, error),
    })
    this.messages = new ClientMessages(this.ydoc, this.connections, this.intake, options, logger, {
      approximateBytes: () => this.approximateBytes,
      tellSavedState: (connection) => this.tellSavedState(connection),
      publishAwareness: (update) => this.emit('awareness-to-publish', { docId: id, update }),
    })
    this.peers = new DocumentPeers(this.messages, this.journal, {
      isReady: () => this.state === 'ready',
      isUnloaded: () => this.state === 'unloaded',
      recentUpdates: recentPeerUpdates,
    })
  }

  private emit<K extends DocumentEventName>(name: K, event: DocumentEvent<K>): void {
    this.events.emit(name, event)
  }

  /** Writes dropped from read-only connections, over the document's time in memory. */
  get droppedWrites(): number {
    return this.messages.droppedWrites
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
      this.messages.forgetEncodedFrames()
      this.journal.restore(stored)
      const loaded = {
        docId: this.id,
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
    for (const resolve of this.readyWaiters.splice(0)) resolve(true)
    for (const connection of this.connections) this.messages.greet(connection)
    this.messages.handleHeld((connection) => this.connections.has(connection))
    this.compactor.maybeCompact()
    this.maybeUnload()
  }

  /** Damaged data is never served (nor written over): a final close. Anything else: a reconnect. */
  private failLoad(error: unknown): void {
    const damaged = isDamagedData(error)
    this.emit('load-failed', { docId: this.id, damaged })
    if (damaged) {
      // Older y-websocket clients reconnect even after a final close: one line a minute per document.
      const suppressed = damagedDocumentLog.shouldLog(this.id, performance.now())
      if (suppressed !== null) {
        this.logger.error('document data is damaged; refusing to serve it', { error: (error as Error).message, suppressed })
      }
    } else {
      this.logger.warn('document failed to load; its clients will retry', { error: (error as Error).message })
    }
    this.messages.turnAway(this.connections, damaged)
    this.finishUnload()
  }

  /** Resolves true once the document serves, false if it never will (failed load, reloading, gone). */
  whenReady(): Promise<boolean> {
    if (this.state === 'ready') return Promise.resolve(true)
    if (this.state !== 'loading') return Promise.resolve(false)
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  /** Keeps the document in memory, without a connection, until the returned function is called. */
  hold(): () => void {
    this.holds++
    let released = false
    return () => {
      if (released) return
      released = true
      this.holds--
      this.maybeUnload()
    }
  }

  /** The awareness states (Yjs client id and JSON) a connection announced: who it says it is. */
  awarenessOf(connection: DocumentConnection): readonly { clientId: number; json: string }[] {
    return this.messages.awareness.ownedBy(connection)
  }

  // ---------------------------------------------------------------------------------------------
  // 2. Serve

  join(connection: DocumentConnection): void {
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
    if (this.state === 'ready') this.messages.greet(connection)
  }

  /**
   * A connection just raised from view to edit (sign-in): asked, as an editor's greeting asks, for
   * what it holds that the document lacks (what it typed while its writes were dropped).
   */
  askForMissing(connection: DocumentConnection): void {
    if (this.state === 'ready' && this.connections.has(connection)) this.messages.greet(connection)
  }

  /** Tells editors that storage fails, or withdraws that once it works again. */
  storageHealthChanged(health: StorageHealth): void {
    this.messages.tellStorageHealth(this.connections, health)
  }

  /** Approximate stored size: what is on disk plus what is on its way there, written or not. */
  get approximateBytes(): number {
    return this.journal.approximateBytes + this.intake.waitingBytes
  }

  leave(connection: DocumentConnection): void {
    if (!this.connections.delete(connection)) return
    this.journal.forget(connection)
    this.messages.leave(connection)
    this.maybeUnload()
  }

  receive(connection: DocumentConnection, frame: Uint8Array): void {
    if (this.state === 'loading') this.messages.hold(connection, frame)
    else if (this.state === 'ready') this.messages.handle(connection, frame)
  }

  /**
   * Applies an update that did not come from a connection (a server-side edit, a restore, another
   * instance's), then relays, stores and confirms it as its origin's policy says. Throws on a
   * malformed update (nothing changes) and on one past the size cap. Returns false, changing
   * nothing, while the document is not serving (loading, reloading or gone): try again later.
   */
  applyUpdate(update: Uint8Array, origin: Exclude<Origin, { kind: 'client' }>): boolean {
    if (this.state !== 'ready') return false
    assertWellFormedUpdate(update)
    assertWithinSizeCap(this.approximateBytes, update, this.options.maxDocumentBytes)
    // What clients sent before it comes first; a batch holds one kind of origin.
    this.intake.applyWaiting()
    this.intake.enqueue(origin, update, null)
    this.intake.applyWaiting()
    return true
  }

  /**
   * An update that passed the format check failed to apply, so the Y.Doc may be half-changed. Store the
   * valid updates we hold, send everyone away to reconnect (their clients keep their own state),
   * and let the next connection load the document again from disk.
   */
  private quarantine(culprit: DocumentConnection | null, error: unknown): void {
    this.logger.error('update failed to apply; reloading the document from disk', { conn: culprit?.id, error })
    this.emit('quarantined', { docId: this.id })
    this.state = 'quarantined'
    culprit?.close(CloseCode.MalformedMessage, 'update could not be applied')
    for (const connection of this.connections) {
      if (connection !== culprit) connection.close(CloseCode.InternalError, 'document is reloading, reconnecting')
    }
    if (this.journal.hasScheduledWrite) this.journal.writeNow()
    this.maybeUnload()
  }

  // ---------------------------------------------------------------------------------------------
  // 3. Store (journal.ts keeps the records; here is what connections are told)

  /**
   * Tells a client which state is on disk. When nothing is pending, that is the whole document;
   * otherwise the answer comes with the next record, or once everything is stored. Other
   * instances' recent updates are stored first (see DocumentPeers).
   */
  private tellSavedState(connection: DocumentConnection): void {
    this.peers.storeRecentUpdates()
    if (this.isStored) connection.send(encodeSavedState(Y.encodeStateVector(this.ydoc)))
    else this.journal.confirmLater(connection)
  }

  // ---------------------------------------------------------------------------------------------
  // 4. Compact (compactor.ts decides when)

  /** Compacts whatever log there is (graceful shutdown). */
  compactNow(): Promise<void> {
    if (!this.compactor.busy && this.state !== 'ready') return Promise.resolve()
    return this.compactor.compactNow()
  }

  // ---------------------------------------------------------------------------------------------
  // 5. Unload

  /** Updates applied but not yet durably stored (for the report of a stop that timed out). */
  get unstoredUpdates(): number {
    return this.intake.waiting + this.journal.unstoredUpdates
  }

  /** When the oldest update not yet durable was handed to storage, or null (see the journal). */
  get oldestUnstoredAt(): number | null {
    return this.journal.oldestUnstoredAt
  }

  /** True when nothing of this document is waiting for the disk. */
  private get isStored(): boolean {
    return this.intake.waiting === 0 && this.journal.idle && !this.compactor.busy
  }

  /** Resolves once everything applied so far is on disk (used by graceful shutdown). */
  whenStored(): Promise<void> {
    if (this.state === 'loading' || this.state === 'unloaded' || this.isStored) return Promise.resolve()
    if (this.journal.hasScheduledWrite || this.intake.waiting > 0) this.journal.writeNow()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private maybeUnload(): void {
    if (this.state === 'loading' || this.state === 'unloaded') return
    if (!this.isStored) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
    this.journal.confirmWaiting()
    // A quarantined document has asked all its connections to leave; it goes without waiting.
    if ((this.connections.size > 0 || this.holds > 0) && this.state !== 'quarantined') return
    // Leave one snapshot behind, so the next load applies it instead of replaying a log. The
    // document stays registered meanwhile: a load beside it could reuse the sequence numbers
    // this compaction deletes.
    if (this.state === 'ready' && this.journal.logRecords > 0 && !this.compactor.failed) {
      void this.compactor.start()
      return
    }
    this.finishUnload()
  }

  private finishUnload(): void {
    // Destroying a Y.Doc only drops its listeners and subdocuments: its content stays readable.
    const final = this.state === 'ready' && this.isStored ? this.ydoc : null
    this.state = 'unloaded'
    for (const resolve of this.readyWaiters.splice(0)) resolve(false)
    this.journal.close()
    this.ydoc.destroy()
    this.onUnload(this)
    this.logger.debug('document unloaded')
    this.emit('unloaded', { docId: this.id, final })
  }
}
