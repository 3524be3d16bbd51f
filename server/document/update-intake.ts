/**
 * How checked updates reach a document's Y.Doc: the updates of one socket read are applied in one
 * Yjs transaction (a burst costs one transaction, not one per keystroke), before anything else of
 * that document happens. Then each update that changed something is relayed, stored and
 * confirmed as its origin's policy says (update-origin.ts). A batch that changes nothing (a
 * reconnecting client resending what we have) is neither relayed nor stored.
 */
import * as Y from 'yjs'
import { encodeSyncUpdate } from '../../lib/protocol.ts'
import type { UpdateOriginKind } from './document-events.ts'
import type { DocumentJournal } from './journal.ts'
import { policyOf, senderOf, type UpdateOrigin } from './update-origin.ts'

interface Incoming<Client> {
  origin: UpdateOrigin<Client>
  update: Uint8Array
  /** The message as received, relayed as is; null for a step 2 or a non-client origin (relayed as an update). */
  frame: Uint8Array | null
}

export interface IntakeHooks<Client> {
  /** Not while loading, reloading or gone: updates received then are dropped. */
  canApply(): boolean
  /** Sends a frame to every connection but `except`. */
  relay(frame: Uint8Array, except: Client | null): void
  /** Something was applied (whether it changed anything or not): frames encoded from the old state are stale. */
  afterApply(): void
  applied(origin: UpdateOriginKind, updates: number, bytes: number, writers: readonly Client[]): void
  /** The updates of one batch whose origin's policy publishes them, merged: for the other instances. */
  publish(update: Uint8Array): void
  /** Whether anything takes what is published (another instance); merging for nobody costs. */
  publishing(): boolean
  /** An update that passed the check failed to apply: the Y.Doc may be half-changed. */
  failed(culprit: Client | null, error: unknown): void
}

export class UpdateIntake<Client extends { readonly wantsExtensions: boolean }> {
  private incoming: Incoming<Client>[] = []
  private incomingBytes = 0
  private scheduled = false
  /** Set by the afterTransaction hook: did the last transaction change anything? */
  private lastTransactionChanged = false

  constructor(
    private readonly ydoc: Y.Doc,
    private readonly journal: DocumentJournal<Client>,
    private readonly hooks: IntakeHooks<Client>,
  ) {
    ydoc.on('afterTransaction', (transaction: Y.Transaction) => {
      // Only ever set: applying an update to formatted text is followed by an empty formatting
      // cleanup transaction, which must not hide the change before it.
      if (transaction.deleteSet.clients.size > 0 || stateAdvanced(transaction)) this.lastTransactionChanged = true
    })
  }

  /** Updates received and not yet applied. */
  get waiting(): number {
    return this.incoming.length
  }

  get waitingBytes(): number {
    return this.incomingBytes
  }

  /** Takes a checked update; it is applied with the rest of the current socket read. */
  enqueue(origin: UpdateOrigin<Client>, update: Uint8Array, frame: Uint8Array | null): void {
    this.incoming.push({ origin, update, frame })
    this.incomingBytes += update.byteLength
    if (!this.scheduled) {
      this.scheduled = true
      // ws hands over every message of one socket read synchronously; the microtask runs right
      // after the last of them.
      queueMicrotask(() => this.applyWaiting())
    }
  }

  /** Applies whatever waits, now: before anything reads the document or reaches the others. */
  applyWaiting(): void {
    this.scheduled = false
    if (this.incoming.length === 0) return
    const batch = this.incoming
    this.incoming = []
    this.incomingBytes = 0
    if (!this.hooks.canApply()) return
    const { applied, failure } = this.applyAll(batch)
    const pending = this.ydoc.store.pendingStructs !== null || this.ydoc.store.pendingDs !== null
    const kept = this.lastTransactionChanged || pending ? applied : 0
    // This batch may have completed updates that waited for it (see the journal's "missing").
    if (kept > 0 && this.lastTransactionChanged) this.journal.missingMayHaveArrived(pending)
    let bytes = 0
    const writers: Client[] = []
    const toPublish: Uint8Array[] | null = this.hooks.publishing() ? [] : null
    for (let i = 0; i < kept; i++) {
      const { origin, update, frame } = batch[i]
      const policy = policyOf(origin)
      const sender = senderOf(origin)
      if (sender !== null && !writers.includes(sender)) writers.push(sender)
      // A step 2 is relayed as a plain update: forwarding a step 2 would mark other clients as
      // synced.
      if (policy.relayTo !== 'nobody')
        this.hooks.relay(frame ?? encodeSyncUpdate(update), policy.relayTo === 'others' ? sender : null)
      if (policy.store) {
        const confirmed = policy.confirms === 'sender' && sender?.wantsExtensions ? sender : null
        this.journal.append(update, confirmed, pending)
      }
      if (policy.publish) toPublish?.push(update)
      bytes += update.byteLength
    }
    // Once per batch, whatever its size: one message for the other instances, not one per keystroke.
    if (toPublish && toPublish.length > 0) this.hooks.publish(toPublish.length === 1 ? toPublish[0] : Y.mergeUpdates(toPublish))
    // A batch holds one kind of origin: the document applies the others on their own.
    if (kept > 0) this.hooks.applied(batch[0].origin.kind, kept, bytes, writers)
    if (failure) this.hooks.failed(senderOf(batch[applied].origin), failure.error)
  }

  /** Applies updates in order in one transaction; stops at the first that fails. */
  private applyAll(batch: Incoming<Client>[]): { applied: number; failure: { error: unknown } | null } {
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
    this.hooks.afterApply()
    return { applied, failure }
  }
}

function stateAdvanced(transaction: Y.Transaction): boolean {
  for (const [client, clock] of transaction.afterState) {
    if (transaction.beforeState.get(client) !== clock) return true
  }
  return false
}
