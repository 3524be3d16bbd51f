/**
 * What happens to documents, as typed events: metrics and history subscribe to these
 * instead of the document calling them inline. Every event names its document; a subscriber that
 * must keep its labels bounded (metrics) simply ignores the id.
 */

import type * as Y from 'yjs'
import type { DocumentConnection } from './document-connection.ts'
import type { UpdateOriginKind } from './update-origin.ts'

/** Where an update came from (see update-origin.ts for what each one implies). */
export type { UpdateOriginKind }

export interface DocumentEventMap {
  /** The stored document was read and applied. */
  loaded: { ms: number; records: number; bytes: number }
  /** The stored document could not be read; `damaged` data is never served. */
  'load-failed': { damaged: boolean }
  /**
   * Updates were applied (each changed the document), in one transaction. `writers`: the
   * connections that sent them (for a client origin; the history attributes changes to them).
   */
  applied: { origin: UpdateOriginKind; updates: number; bytes: number; writers: readonly DocumentConnection[] }
  /** A record is durably stored; `ms` from handing it to the store until it was synced. */
  stored: { ms: number; updates: number; bytes: number }
  /** A record could not be stored; it is kept and retried. */
  'store-failed': { error: Error }
  /** The log was merged into a new snapshot. */
  compacted: { ms: number; records: number; snapshotBytes: number }
  /** A compaction failed; the log is intact. */
  'compaction-failed': { error: Error }
  /** An update failed to apply; the document is reloaded from disk. */
  quarantined: Record<never, never>
  /**
   * Updates applied here whose origin's policy publishes them (not a peer's), merged per batch:
   * what the other instances serving the document need (server/cluster/).
   */
  'update-to-publish': { update: Uint8Array }
  /** An awareness update from a connection of this server (a removal when one leaves), for the other instances. */
  'awareness-to-publish': { update: Uint8Array }
  /**
   * The document left memory. `final` is its Y.Doc when it left ready and fully stored (its state
   * is then exactly what the store holds, and nothing changes it any more); null after a failed
   * load or a quarantine. Listeners may read it, never change it.
   */
  unloaded: { final: Y.Doc | null }
}

export type DocumentEventName = keyof DocumentEventMap
export type DocumentEvent<K extends DocumentEventName> = DocumentEventMap[K] & { docId: string }
type Listener<K extends DocumentEventName> = (event: DocumentEvent<K>) => void

/** One bus for all documents of a server. Listeners are added, never replaced. */
export class DocumentEvents {
  private readonly listeners: { [K in DocumentEventName]?: Listener<K>[] } = {}

  on<K extends DocumentEventName>(name: K, listener: Listener<K>): () => void {
    const list = (this.listeners[name] ??= []) as Listener<K>[]
    list.push(listener)
    return () => {
      const index = list.indexOf(listener)
      if (index >= 0) list.splice(index, 1)
    }
  }

  /** Whether anyone listens: an event that costs work to build is only built for a listener. */
  has(name: DocumentEventName): boolean {
    return (this.listeners[name]?.length ?? 0) > 0
  }

  emit<K extends DocumentEventName>(name: K, event: DocumentEvent<K>): void {
    const list = this.listeners[name] as Listener<K>[] | undefined
    if (!list) return
    for (const listener of list) listener(event)
  }
}
