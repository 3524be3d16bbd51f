import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { idsToRemember, parseRememberedIds, rememberId, unsavedClients, type StateVector } from './save-state'
import { Store } from './store'
import { stateVectorOf } from '../../lib/state-vector'

/**
 * Knows whether this browser's edits to one document are on the server's disk, from the
 * SavedState messages the server sends (see lib/protocol.ts) and the local Y.Doc.
 */
export class SaveTracker {
  /** True while some of my edits are not yet durably stored by the server. */
  readonly pending: Store<boolean>

  readonly #ydoc: Y.Doc
  readonly #awareness: Awareness
  readonly #storageKey: string
  readonly #storage: IdStorage | null
  #remembered: number[]
  #saved: StateVector = new Map()
  /** Until IndexedDB has loaded, remembered ids have no local clock yet and would look saved. */
  #browserCopyLoaded = false

  constructor(ydoc: Y.Doc, awareness: Awareness, docId: string, storage = browserStorage()) {
    this.#ydoc = ydoc
    this.#awareness = awareness
    this.#storageKey = `chorus:client-ids:${docId}`
    this.#storage = storage
    this.#remembered = parseRememberedIds(this.#read())
    this.pending = new Store(this.#remembered.length > 0)
    ydoc.on('afterTransaction', this.#onTransaction)
    awareness.on('change', this.#recompute)
  }

  /** Call once the IndexedDB copy of the document has been applied to the Y.Doc. */
  browserCopyLoaded(): void {
    this.#browserCopyLoaded = true
    this.#recompute()
  }

  /** The server's durable state vector arrived. */
  savedStateReceived(saved: StateVector): void {
    this.#saved = saved
    if (this.#browserCopyLoaded) {
      const keep = idsToRemember(this.#remembered, this.#localState(), saved)
      // My live id stays remembered although saved: the next keystroke would remember it again,
      // and writing localStorage on every keystroke after every save is ~0.3 ms of each.
      const me = this.#ydoc.clientID
      if (this.#remembered.includes(me) && !keep.includes(me)) keep.push(me)
      this.#setRemembered(keep)
    }
    this.#recompute()
  }

  destroy(): void {
    this.#ydoc.off('afterTransaction', this.#onTransaction)
    this.#awareness.off('change', this.#recompute)
  }

  readonly #onTransaction = (transaction: Y.Transaction): void => {
    if (transaction.local) {
      const me = this.#ydoc.clientID
      const clockBefore = transaction.beforeState.get(me) ?? 0
      const clockAfter = transaction.afterState.get(me) ?? 0
      if (clockAfter > clockBefore) {
        this.#setRemembered(rememberId(this.#remembered, me))
      } else if (transaction.deleteSet.clients.size > 0) {
        // A Yjs deletion adds nothing under my client id, so it would not show in any state
        // vector and "Saved" could appear before the server has it. Writing a marker after it
        // moves my clock; the server applies a socket's updates in order, so once it has
        // stored the marker it has stored the deletion too.
        this.#ydoc.transact(() => {
          this.#ydoc.getMap(MARKER_MAP).set(MARKER_KEY, true)
        }, this)
      }
    }
    this.#recompute()
  }

  readonly #recompute = (): void => {
    if (!this.#browserCopyLoaded && this.#remembered.length > 0) {
      this.pending.set(true)
      return
    }
    const mine = new Set([...this.#remembered, this.#ydoc.clientID])
    // Another tab of this browser can be live on the same document under an id I remember; its
    // edits are its own to save, and my server connection would never be told about them.
    for (const client of this.#awareness.getStates().keys()) {
      if (client !== this.#ydoc.clientID) mine.delete(client)
    }
    this.pending.set(unsavedClients(this.#localState(), this.#saved, mine).length > 0)
  }

  #localState(): StateVector {
    return stateVectorOf(this.#ydoc)
  }

  #setRemembered(ids: number[]): void {
    const changed = ids.length !== this.#remembered.length || ids.some((id, i) => id !== this.#remembered[i])
    if (!changed) return
    this.#remembered = ids
    try {
      if (ids.length === 0) this.#storage?.removeItem(this.#storageKey)
      else this.#storage?.setItem(this.#storageKey, JSON.stringify(ids))
    } catch {
      // Without storage an offline edit followed by a reload is not tracked; the edit itself is
      // still kept by IndexedDB and synced later.
    }
  }

  #read(): string | null {
    try {
      return this.#storage?.getItem(this.#storageKey) ?? null
    } catch {
      return null
    }
  }
}

/** Where remembered client ids are kept: localStorage in the browser. */
export type IdStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

/** Root map written to by the deletion marker; not shown anywhere. */
const MARKER_MAP = 'chorus'
const MARKER_KEY = 'deleted'

function browserStorage(): IdStorage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage
  } catch {
    // Access to localStorage itself throws when the browser blocks site data.
    return null
  }
}
