/**
 * One in-memory database shared by several Chorus instances in this process: the stand-in for
 * PostgreSQL in the cluster tests until the PostgreSQL store lands. A single MemoryStore shared
 * as is would not do: each instance's journal numbers its records itself, so two instances
 * appending to one document would overwrite each other's records. Here, as in a database table
 * with a serial key, every record gets a row of its own, and each instance maps its own record
 * numbers to the rows it wrote or loaded, so that its compaction deletes only those. A snapshot
 * written by one instance is merged with the one stored (both are Yjs states), so a compaction
 * by an instance that missed a peer's edits never drops them.
 */
import * as Y from 'yjs'
import type {
  AccessStore,
  DocumentStore,
  StorageHealth,
  StoredDocument,
  StoredVersion,
  VersionStore,
  ViewLinkStore,
} from '../../server/storage/document-store.ts'
import type { DocumentAccess } from '../../server/access/permissions.ts'
import { MemoryVersions } from '../../server/storage/memory-store.ts'

interface StoredLog {
  snapshot: Uint8Array | null
  rows: Map<number, Uint8Array[]>
}

export class SharedDatabase {
  readonly documents = new Map<string, StoredLog>()
  readonly viewIds = new Map<string, string>()
  readonly docOfViewId = new Map<string, string>()
  readonly access = new Map<string, DocumentAccess>()
  readonly versions = new MemoryVersions()
  nextRow = 1

  log(docId: string): StoredLog {
    let stored = this.documents.get(docId)
    if (!stored) this.documents.set(docId, (stored = { snapshot: null, rows: new Map() }))
    return stored
  }

  /** The whole stored document as one Yjs state (for assertions). */
  contents(docId: string): Y.Doc {
    const doc = new Y.Doc()
    const stored = this.documents.get(docId)
    if (stored?.snapshot) Y.applyUpdate(doc, stored.snapshot)
    for (const updates of stored?.rows.values() ?? []) for (const update of updates) Y.applyUpdate(doc, update)
    return doc
  }

  /** A store for one instance. */
  instance(): SharedStoreInstance {
    return new SharedStoreInstance(this)
  }
}

export class SharedStoreInstance implements DocumentStore, ViewLinkStore, AccessStore, VersionStore {
  /** docId → this instance's record number → row. */
  private readonly rowsOf = new Map<string, Map<number, number>>()
  readonly health: StorageHealth = 'ok'
  private frozen = false

  constructor(private readonly db: SharedDatabase) {}

  /** From now on no write of this instance ever completes: a process killed before its next fsync. */
  freeze(): void {
    this.frozen = true
  }

  async load(docId: string): Promise<StoredDocument> {
    await nextTurn()
    const stored = this.db.log(docId)
    const mine = new Map<number, number>()
    this.rowsOf.set(docId, mine)
    const updates: Uint8Array[] = stored.snapshot ? [stored.snapshot] : []
    let logBytes = 0
    let seq = 0
    for (const [row, records] of [...stored.rows].sort(([a], [b]) => a - b)) {
      mine.set(seq++, row)
      for (const update of records) {
        updates.push(update)
        logBytes += update.byteLength
      }
    }
    return { updates, firstLogSeq: 0, nextSeq: seq, logRecords: seq, logBytes, snapshotBytes: stored.snapshot?.byteLength ?? 0 }
  }

  async appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void> {
    await nextTurn()
    if (this.frozen) await new Promise(() => {})
    const row = this.db.nextRow++
    this.db.log(docId).rows.set(row, [...updates])
    let mine = this.rowsOf.get(docId)
    if (!mine) this.rowsOf.set(docId, (mine = new Map()))
    mine.set(seq, row)
  }

  async replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void> {
    await nextTurn()
    if (this.frozen) await new Promise(() => {})
    const stored = this.db.log(docId)
    stored.snapshot = stored.snapshot ? Y.mergeUpdates([stored.snapshot, snapshot]) : snapshot
    const mine = this.rowsOf.get(docId)
    for (let seq = fromSeq; seq <= toSeq; seq++) {
      const row = mine?.get(seq)
      if (row !== undefined) stored.rows.delete(row)
      mine?.delete(seq)
    }
  }

  /** The database outlives each instance. */
  async close(): Promise<void> {}

  commitPromptly(): void {
    // Writes here complete on the next turn, with no delay to cut short.
  }

  onHealthChange(): void {}

  async acceptsWrites(): Promise<boolean> {
    return true
  }

  async getViewId(docId: string): Promise<string | null> {
    return this.db.viewIds.get(docId) ?? null
  }

  async resolveViewId(viewId: string): Promise<string | null> {
    return this.db.docOfViewId.get(viewId) ?? null
  }

  async setViewId(docId: string, viewId: string, previousViewId: string | null): Promise<void> {
    this.db.viewIds.set(docId, viewId)
    this.db.docOfViewId.set(viewId, docId)
    if (previousViewId !== null) this.db.docOfViewId.delete(previousViewId)
  }

  async getAccess(docId: string): Promise<DocumentAccess | null> {
    const access = this.db.access.get(docId)
    return access ? structuredClone(access) : null
  }

  async setAccess(docId: string, access: DocumentAccess, _previous: DocumentAccess | null): Promise<void> {
    await nextTurn()
    this.db.access.set(docId, structuredClone(access))
  }

  async documentsSharedWith(email: string): Promise<string[]> {
    return [...this.db.access].filter(([, access]) => access.members.some((m) => m.email === email)).map(([docId]) => docId)
  }

  async appendVersion(docId: string, version: StoredVersion): Promise<void> {
    this.db.versions.append(docId, version)
  }

  async listVersions(
    docId: string,
    options: { beforeSeq: number | null; limit: number },
  ): Promise<{ seq: number; meta: string }[]> {
    return this.db.versions.list(docId, options)
  }

  async readVersions(docId: string, fromSeq: number, toSeq: number): Promise<StoredVersion[]> {
    return this.db.versions.read(docId, fromSeq, toSeq)
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
