import type * as Y from 'yjs'
import { IndexeddbPersistence, PREFERRED_TRIM_SIZE, storeState } from 'y-indexeddb'
import { Store } from './store'

/** y-indexeddb's object store of updates. */
const UPDATES = 'updates'
const RETRY_MS = 1000

/**
 * This browser's copy of a document in IndexedDB (y-indexeddb), written with group commit.
 *
 * y-indexeddb writes every update in an IndexedDB transaction of its own, and a page that goes
 * away aborts the transactions not yet committed. Under load those queue up: a reload right after
 * typing offline kept "Typed w" of "Typed with no server" in one test run, while the page said the
 * text was stored in this browser. Here one transaction holds every update that arrived while the
 * previous one was committing, so the queue is never longer than one commit, and `writing` says
 * whether anything applied to the document is not committed yet.
 */
export class BrowserCopy {
  readonly persistence: IndexeddbPersistence
  /** True while some change to the document is not yet committed to IndexedDB. */
  readonly writing = new Store(false)
  #queue: Uint8Array[] = []
  #inFlight = false
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #trimTimer: ReturnType<typeof setTimeout> | undefined

  constructor(name: string, ydoc: Y.Doc) {
    this.persistence = new IndexeddbPersistence(name, ydoc)
    ydoc.off('update', this.persistence._storeUpdate)
    // persistence.destroy() unregisters whatever this field holds.
    this.persistence._storeUpdate = this.#onUpdate
    ydoc.on('update', this.#onUpdate)
  }

  destroy(): Promise<void> {
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#trimTimer)
    return this.persistence.destroy()
  }

  readonly #onUpdate = (update: Uint8Array, origin: unknown): void => {
    // Read from IndexedDB itself; or the database is not open yet, and y-indexeddb stores the
    // whole document when it opens.
    if (origin === this.persistence || !this.persistence.db) return
    this.#queue.push(update)
    this.writing.set(true)
    this.#write()
  }

  #write(): void {
    const db = this.persistence.db
    if (this.#inFlight || this.#retryTimer !== undefined || !db || this.persistence._destroyed) return
    if (this.#queue.length === 0) {
      this.writing.set(false)
      return
    }
    const batch = this.#queue
    this.#queue = []
    this.#inFlight = true
    const failed = () => {
      this.#inFlight = false
      this.#queue = batch.concat(this.#queue)
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined
        this.#write()
      }, RETRY_MS)
    }
    let transaction: IDBTransaction
    try {
      transaction = db.transaction([UPDATES], 'readwrite')
      const store = transaction.objectStore(UPDATES)
      for (const update of batch) store.add(update)
    } catch (error) {
      console.warn('Could not write to IndexedDB; trying again', error)
      failed()
      return
    }
    transaction.oncomplete = () => {
      this.#inFlight = false
      this.persistence._dbsize += batch.length
      this.#trimWhenLong()
      this.#write()
    }
    transaction.onabort = () => {
      console.warn('An IndexedDB write was aborted; trying again', transaction.error)
      failed()
    }
  }

  /** As y-indexeddb does: past a few hundred updates, merge them into one, a moment later. */
  #trimWhenLong(): void {
    if (this.persistence._dbsize < PREFERRED_TRIM_SIZE) return
    clearTimeout(this.#trimTimer)
    this.#trimTimer = setTimeout(() => {
      if (!this.persistence._destroyed) void storeState(this.persistence, false)
    }, this.persistence._storeTimeout)
  }
}
