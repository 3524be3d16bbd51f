/**
 * Read-only links (Etherpad's model): each document can have one view id, random and unrelated
 * to its edit id. Whoever holds the edit id may create or reset it; a reset makes the old link
 * stop working and disconnects whoever is viewing through it.
 */
import { newDocId } from '../../lib/doc-id.ts'
import type { ViewLinkStore } from '../storage/document-store.ts'
import { PerKeyQueue } from './per-key-queue.ts'

export class ViewLinks {
  /** Serializes changes per document, so two first clicks on "Share" create one link, not two. */
  private readonly queue = new PerKeyQueue()

  constructor(
    private readonly store: ViewLinkStore,
    private readonly onReset: (docId: string, oldViewId: string) => void,
  ) {}

  getOrCreate(docId: string): Promise<string> {
    return this.queue.run(docId, async () => {
      const existing = await this.store.getViewId(docId)
      if (existing) return existing
      const viewId = newDocId()
      await this.store.setViewId(docId, viewId, null)
      return viewId
    })
  }

  reset(docId: string): Promise<string> {
    return this.queue.run(docId, async () => {
      const previous = await this.store.getViewId(docId)
      const viewId = newDocId()
      await this.store.setViewId(docId, viewId, previous)
      if (previous) this.onReset(docId, previous)
      return viewId
    })
  }

  resolve(viewId: string): Promise<string | null> {
    return this.store.resolveViewId(viewId)
  }
}
