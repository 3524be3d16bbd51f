/**
 * The updates received from each other instance over the last few seconds, per document. An
 * instance publishes a client's update as soon as it applies it, before its record is stored
 * (storing takes the commit delay and an fsync; waiting would slow every edit between instances).
 * Should that instance die in between, the others still hold the update, and the one that
 * confirms it to the client reconnecting to it would say "Saved" for what nobody stored. So when
 * an instance falls silent, the others store what it sent lately. Kept for longer than the
 * heartbeat expiry, which is longer than any write of a live instance takes while its heartbeat
 * still goes out.
 */
interface Received {
  docId: string
  update: Uint8Array
  at: number
}

export class RecentPeerUpdates {
  private readonly byInstance = new Map<string, Received[]>()

  constructor(private readonly keepMs: number) {}

  add(instanceId: string, docId: string, update: Uint8Array, now: number): void {
    let list = this.byInstance.get(instanceId)
    if (!list) this.byInstance.set(instanceId, (list = []))
    list.push({ docId, update, at: now })
  }

  /** Forgets what is older than the window. */
  prune(now: number): void {
    for (const [instanceId, list] of this.byInstance) {
      let drop = 0
      while (drop < list.length && now - list[drop].at > this.keepMs) drop++
      if (drop === list.length) this.byInstance.delete(instanceId)
      else if (drop > 0) list.splice(0, drop)
    }
  }

  /** What `instanceId` sent within the window, by document, in order; forgotten here. */
  take(instanceId: string): Map<string, Uint8Array[]> {
    const byDocument = new Map<string, Uint8Array[]>()
    for (const { docId, update } of this.byInstance.get(instanceId) ?? []) {
      let updates = byDocument.get(docId)
      if (!updates) byDocument.set(docId, (updates = []))
      updates.push(update)
    }
    this.byInstance.delete(instanceId)
    return byDocument
  }
}
