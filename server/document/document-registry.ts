/**
 * Which documents are open on this server. A document is loaded at most once: every connection
 * to it, however early, joins the same SharedDocument, whose messages wait until the load is done.
 */
import { SharedDocument } from './shared-document.ts'
import type { CompactionOptions } from './compactor.ts'
import type { DocumentStore, StorageHealth } from '../storage/document-store.ts'
import { DocumentEvents } from './document-events.ts'
import type { ServerConfig } from '../config.ts'
import type { Logger } from '../ops/logger.ts'

export interface DocumentOptions extends CompactionOptions {
  /** Most messages a connection may queue while the document loads. */
  maxQueuedMessages: number
  /** First retry delay after a failed write; doubles up to 30 s. */
  retryDelayMs: number
  /** Stored size past which updates are refused. */
  maxDocumentBytes: number
}

/** The documents' settings, from the server's config. */
export function documentOptionsFrom(
  config: Pick<ServerConfig, 'compactAfterRecords' | 'compactMinLogBytes' | 'maxDocumentBytes'>,
): DocumentOptions {
  return {
    compactAfterRecords: config.compactAfterRecords,
    compactMinLogBytes: config.compactMinLogBytes,
    maxQueuedMessages: 1000,
    retryDelayMs: 500,
    maxDocumentBytes: config.maxDocumentBytes,
  }
}

export class DocumentRegistry {
  private readonly documents = new Map<string, SharedDocument>()
  /** What happens to every document of this registry (see document-events.ts). */
  readonly events = new DocumentEvents()
  /**
   * Awaited before a document's stored state is read (the cluster relay subscribes to the
   * document's channel here, so that no other instance's update can fall between the read and the
   * subscription). It must settle promptly and never reject; a document loads after it regardless.
   */
  beforeLoad: ((docId: string) => Promise<void>) | null = null
  /**
   * Updates of `docId` that other instances published lately and may not have stored yet (the
   * cluster relay keeps them): a document stores them itself before it tells a client "Saved".
   */
  recentPeerUpdates: ((docId: string) => readonly Uint8Array[]) | null = null

  constructor(
    private readonly store: DocumentStore,
    private readonly options: DocumentOptions,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.documents.size
  }

  /** The open document, or a new one that starts loading now. */
  open(docId: string): SharedDocument {
    const existing = this.documents.get(docId)
    if (existing) return existing
    const document = new SharedDocument(
      docId,
      this.store,
      this.options,
      this.logger.child({ doc: docId }),
      this.events,
      (unloaded) => {
        // A later instance may already have replaced a failed one; only remove ourselves.
        if (this.documents.get(docId) === unloaded) this.documents.delete(docId)
      },
      () => this.recentPeerUpdates?.(docId) ?? [],
    )
    this.documents.set(docId, document)
    if (this.beforeLoad) void this.beforeLoad(docId).then(() => document.load())
    else void document.load()
    return document
  }

  get(docId: string): SharedDocument | undefined {
    return this.documents.get(docId)
  }

  /** Tells every open document's editors that storage fails, or works again. */
  storageHealthChanged(health: StorageHealth): void {
    for (const document of this.documents.values()) document.storageHealthChanged(health)
  }

  /** What is not yet stored: the documents holding updates, and how many updates. */
  unstored(): { documents: number; updates: number } {
    let documents = 0
    let updates = 0
    for (const document of this.documents.values()) {
      const pending = document.unstoredUpdates
      if (pending > 0) {
        documents++
        updates += pending
      }
    }
    return { documents, updates }
  }

  /** How long the oldest update not yet durable has waited, over all documents (0: none waits). */
  storeLagMs(now: number): number {
    let oldest = Infinity
    for (const document of this.documents.values()) {
      const since = document.oldestUnstoredAt
      if (since !== null && since < oldest) oldest = since
    }
    return oldest === Infinity ? 0 : Math.max(0, now - oldest)
  }

  /** Waits until every open document has stored everything it holds, then compacts its log. */
  async storeAll(): Promise<void> {
    await Promise.all([...this.documents.values()].map((document) => document.whenStored()))
    await Promise.all([...this.documents.values()].map((document) => document.compactNow()))
  }
}
