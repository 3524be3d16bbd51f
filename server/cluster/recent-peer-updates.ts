/**
 * The updates received from each other instance over the last few seconds, per document. An
 * instance publishes a client's update as soon as it applies it, before its record is stored
 * (storing takes the commit delay and a commit; waiting would slow every edit between instances).
 * Until that instance has surely stored it, the update is held here, for two uses:
 *
 *   - when that instance falls silent (killed, cut off), the others store what it sent lately,
 *     since it may never have;
 *   - before this instance tells a client "Saved" from its own Y.Doc's state vector, which holds
 *     these updates, it stores them itself: that client may be their author, reconnected here
 *     after its instance died, and "Saved" must never cover what nobody stored.
 *
 * Kept for a window longer than the heartbeat expiry, plus how long that instance's oldest update
 * not yet stored has waited, as its last heartbeat said: an update older than that is stored. A
 * live instance whose store fails (its database unreachable from it alone) still holds what it
 * could not store, so its updates are kept here for as long.
 */
interface Received {
  update: Uint8Array
  at: number
}

export class RecentPeerUpdates {
  /** By instance, then by document, oldest first. */
  private readonly byInstance = new Map<string, Map<string, Received[]>>()
  /** The store lag each instance reported last. */
  private readonly storeLagMs = new Map<string, number>()

  constructor(private readonly keepMs: number) {}

  /** `instanceId`'s oldest update not yet stored has waited this long (0: everything stored). */
  reportedLag(instanceId: string, storeLagMs: number): void {
    this.storeLagMs.set(instanceId, storeLagMs)
  }

  add(instanceId: string, docId: string, update: Uint8Array, now: number): void {
    let byDocument = this.byInstance.get(instanceId)
    if (!byDocument) this.byInstance.set(instanceId, (byDocument = new Map()))
    let list = byDocument.get(docId)
    if (!list) byDocument.set(docId, (list = []))
    list.push({ update, at: now })
  }

  /** Forgets what is older than the window and its sender's store lag. */
  prune(now: number): void {
    for (const [instanceId, byDocument] of this.byInstance) {
      const keepMs = this.keepMs + (this.storeLagMs.get(instanceId) ?? 0)
      for (const [docId, list] of byDocument) {
        let drop = 0
        while (drop < list.length && now - list[drop].at > keepMs) drop++
        if (drop === list.length) byDocument.delete(docId)
        else if (drop > 0) list.splice(0, drop)
      }
      if (byDocument.size === 0) this.byInstance.delete(instanceId)
    }
  }

  /** What any instance sent of `docId` within the window, in order per instance; kept. */
  forDocument(docId: string): Uint8Array[] {
    const updates: Uint8Array[] = []
    for (const byDocument of this.byInstance.values()) {
      for (const { update } of byDocument.get(docId) ?? []) updates.push(update)
    }
    return updates
  }

  /** What `instanceId` sent within the window, by document, in order; forgotten here. */
  take(instanceId: string): Map<string, Uint8Array[]> {
    const taken = new Map<string, Uint8Array[]>()
    for (const [docId, list] of this.byInstance.get(instanceId) ?? []) {
      taken.set(
        docId,
        list.map(({ update }) => update),
      )
    }
    this.byInstance.delete(instanceId)
    this.storeLagMs.delete(instanceId)
    return taken
  }
}
