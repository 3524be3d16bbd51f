/**
 * What the other instances of a cluster (REDIS_URL) do to one open document: their people's carets
 * and presence, shown here as theirs and removed when they go; their updates, stored here when they
 * may have died before storing them. The document relay (cluster/document-relay.ts) calls these;
 * without a cluster nothing does, and `recentUpdates` is always empty.
 */
import type { ClientMessages } from './client-messages.ts'
import type { DocumentConnection } from './document-connection.ts'
import type { DocumentJournal } from './journal.ts'

export interface DocumentPeersHooks {
  /** Whether the document serves (loaded, not reloading, not gone). */
  isReady(): boolean
  isUnloaded(): boolean
  /** Other instances' recent updates that they may not have stored yet (DocumentRegistry). */
  recentUpdates(): readonly Uint8Array[]
}

/** Who holds an awareness state that reached us from another instance. */
function peerOwner(instanceId: string): `instance:${string}` {
  return `instance:${instanceId}`
}

export class DocumentPeers {
  constructor(
    private readonly messages: ClientMessages,
    private readonly journal: DocumentJournal<DocumentConnection>,
    private readonly hooks: DocumentPeersHooks,
  ) {}

  /**
   * Applies another instance's awareness update (carets, presence) and relays it to the
   * connections here, owned by that instance: when the instance goes, its states go with it
   * (`removeAwareness`). Throws on a malformed update, changing nothing.
   */
  applyAwareness(update: Uint8Array, instanceId: string): void {
    if (this.hooks.isUnloaded()) return
    this.messages.applyPeerAwareness(update, peerOwner(instanceId))
  }

  /** Removes, for everyone here, every state another instance announced (it stopped or died). */
  removeAwareness(instanceId: string): void {
    if (this.hooks.isUnloaded()) return
    this.messages.removeOwnedBy(peerOwner(instanceId))
  }

  /** Has this server's connections announce their states again, one clock higher (see ClientMessages). */
  askLocalPeopleToReannounce(): void {
    if (this.hooks.isReady()) this.messages.askToReannounce()
  }

  /** The states announced by this server's own connections, as one awareness update, or null. */
  encodeLocalAwareness(): Uint8Array | null {
    return this.messages.awareness.encodeOwned((owner) => typeof owner !== 'string')
  }

  /**
   * Stores updates this document already holds from another instance that died before it could
   * have stored them (a peer's update is published when applied, before its record is written).
   * Appended to the log as they are: they changed nothing here, so the intake would not store them.
   * Storing one twice is harmless (applying a Yjs update again changes nothing).
   */
  storeOnBehalf(updates: readonly Uint8Array[]): void {
    if (!this.hooks.isReady()) return
    for (const update of updates) this.journal.append(update, null, false)
  }

  /**
   * Before a client is told what is saved. The Y.Doc also holds other instances' updates, which
   * their instances store, but may not have yet (they publish before they store). The client may
   * be their author, reconnected here after its instance died, and its "Saved" would then cover
   * what nobody stored: those of the last seconds are stored here first. Peer updates that arrive
   * later cannot hold this client's edits: it sends them here now.
   */
  storeRecentUpdates(): void {
    const unsure = this.hooks.recentUpdates()
    if (unsure.length > 0) this.storeOnBehalf(unsure)
  }
}
