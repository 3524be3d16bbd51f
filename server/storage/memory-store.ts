/**
 * A DocumentStore and ViewLinkStore in memory, with faults a test (or a demo) injects on purpose:
 * failed writes, slow writes, a full disk, writes held until released, failed compactions and
 * failed loads. It keeps the same contract as the LevelDB store (tests/integration/store-contract
 * runs both), so the document lifecycle can be exercised without a disk or sockets.
 *
 * Health follows what LevelDB reports: 'failing' from the first injected write failure until a
 * write succeeds again (or `setHealth` says otherwise).
 */
import {
  StorageError,
  type DocumentStore,
  type StorageHealth,
  type StoredDocument,
  type StoredVersion,
  type VersionStore,
  type ViewLinkStore,
  type AccessStore,
} from './document-store.ts'
import type { DocumentAccess } from '../access/permissions.ts'

/** An append waiting for `MemoryStore.release` (see `holdWrites`). */
export interface HeldWrite {
  readonly docId: string
  readonly seq: number
  readonly updates: readonly Uint8Array[]
}

interface PendingWrite extends HeldWrite {
  resolve: () => void
  reject: (error: Error) => void
}

interface StoredLog {
  snapshot: Uint8Array | null
  /** seq → updates, kept in ascending seq order by construction (appends use increasing seqs). */
  records: Map<number, readonly Uint8Array[]>
}

export class MemoryStore implements DocumentStore, ViewLinkStore, AccessStore, VersionStore {
  private readonly accessOfDoc = new Map<string, DocumentAccess>()
  private readonly versions = new MemoryVersions()
  private readonly documents = new Map<string, StoredLog>()
  private readonly viewIdOfDoc = new Map<string, string>()
  private readonly docOfViewId = new Map<string, string>()
  private readonly listeners: ((health: StorageHealth) => void)[] = []
  private currentHealth: StorageHealth = 'ok'
  private closed = false

  // Faults (see the methods that set them).
  private failingWrites = 0
  private full = false
  private writeDelayMs = 0
  private holding = false
  private readonly heldWrites: PendingWrite[] = []
  private compactionsFail = false
  private loadError: Error | null = null

  /** Appends that failed because of an injected fault. */
  failedAppends = 0
  /** Appends that succeeded. */
  storedAppends = 0

  // ---------------------------------------------------------------------------------------------
  // Faults

  /** The next `count` appends fail (after their delay, if writes are slow). */
  failNextWrites(count = 1): void {
    this.failingWrites += count
  }

  /** Every write (append, compaction, view link) fails until `freeDisk`. */
  fillDisk(): void {
    this.full = true
  }

  freeDisk(): void {
    this.full = false
  }

  /** Each append takes this long before it succeeds or fails (0: the next turn). */
  slowWrites(delayMs: number): void {
    this.writeDelayMs = delayMs
  }

  /** Appends wait in `held` until `release` settles them; `holdWrites(false)` stops holding new ones. */
  holdWrites(hold = true): void {
    this.holding = hold
  }

  get held(): readonly HeldWrite[] {
    return this.heldWrites
  }

  /** Settles the held append of `seq` (of `docId`, or of whichever document holds one). */
  release(seq: number, outcome: 'ok' | 'fail' = 'ok', docId?: string): void {
    const index = this.heldWrites.findIndex((write) => write.seq === seq && (docId === undefined || write.docId === docId))
    if (index < 0) throw new Error(`no held write with seq ${seq}`)
    const [write] = this.heldWrites.splice(index, 1)
    this.settle(write, outcome === 'ok' ? null : new StorageError('write failed (injected)'))
  }

  /** Settles every held append, in order, each as the faults now say. */
  releaseAll(): void {
    for (const write of this.heldWrites.splice(0)) this.settle(write, this.injectedWriteError())
  }

  failCompactions(fail = true): void {
    this.compactionsFail = fail
  }

  /** Every load throws `error` (e.g. a DamagedDataError) until called with null. */
  failLoads(error: Error | null): void {
    this.loadError = error
  }

  /** Ids of the documents anything was ever written for (appends or snapshots). */
  storedDocumentIds(): string[] {
    return [...this.documents.keys()]
  }

  setHealth(health: StorageHealth): void {
    if (health === this.currentHealth) return
    this.currentHealth = health
    for (const listener of this.listeners) listener(health)
  }

  // ---------------------------------------------------------------------------------------------
  // DocumentStore

  get health(): StorageHealth {
    return this.currentHealth
  }

  onHealthChange(listener: (health: StorageHealth) => void): void {
    this.listeners.push(listener)
  }

  async acceptsWrites(): Promise<boolean> {
    return !this.closed && !this.full
  }

  async load(docId: string): Promise<StoredDocument> {
    await nextTurn()
    if (this.loadError) throw this.loadError
    const stored = this.documents.get(docId)
    const records = stored ? [...stored.records.entries()].sort(([a], [b]) => a - b) : []
    const nextSeq = records.length > 0 ? records[records.length - 1][0] + 1 : 0
    const updates: Uint8Array[] = stored?.snapshot ? [stored.snapshot] : []
    let logBytes = 0
    for (const [, record] of records) {
      for (const update of record) {
        updates.push(update)
        logBytes += update.byteLength
      }
    }
    return {
      updates,
      firstLogSeq: records.length > 0 ? records[0][0] : nextSeq,
      nextSeq,
      logRecords: records.length,
      logBytes,
      snapshotBytes: stored?.snapshot?.byteLength ?? 0,
    }
  }

  appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('store is closed'))
    return new Promise((resolve, reject) => {
      const write: PendingWrite = { docId, seq, updates: [...updates], resolve, reject }
      if (this.holding) {
        this.heldWrites.push(write)
        return
      }
      const settle = () => this.settle(write, this.injectedWriteError())
      if (this.writeDelayMs > 0) setTimeout(settle, this.writeDelayMs)
      else setImmediate(settle)
    })
  }

  async replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void> {
    await nextTurn()
    if (this.compactionsFail || this.full) throw new StorageError('compaction failed (injected)')
    const stored = this.documentLog(docId)
    stored.snapshot = snapshot
    for (let seq = fromSeq; seq <= toSeq; seq++) stored.records.delete(seq)
  }

  commitPromptly(): void {
    // Writes here wait for nothing but the faults a test injects.
  }

  async close(): Promise<void> {
    this.closed = true
  }

  // ---------------------------------------------------------------------------------------------
  // ViewLinkStore

  async getViewId(docId: string): Promise<string | null> {
    return this.viewIdOfDoc.get(docId) ?? null
  }

  async resolveViewId(viewId: string): Promise<string | null> {
    return this.docOfViewId.get(viewId) ?? null
  }

  async setViewId(docId: string, viewId: string, previousViewId: string | null): Promise<void> {
    await nextTurn()
    if (this.full) throw new StorageError('storage is failing; the view link cannot be stored now (injected)')
    this.viewIdOfDoc.set(docId, viewId)
    this.docOfViewId.set(viewId, docId)
    if (previousViewId !== null) this.docOfViewId.delete(previousViewId)
  }

  // ---------------------------------------------------------------------------------------------
  // AccessStore

  async getAccess(docId: string): Promise<DocumentAccess | null> {
    const access = this.accessOfDoc.get(docId)
    return access ? structuredClone(access) : null
  }

  async setAccess(docId: string, access: DocumentAccess, _previous: DocumentAccess | null): Promise<void> {
    await nextTurn()
    if (this.full) throw new StorageError('storage is failing; access cannot be stored now (injected)')
    this.accessOfDoc.set(docId, structuredClone(access))
  }

  async documentsSharedWith(email: string): Promise<string[]> {
    return [...this.accessOfDoc].filter(([, access]) => access.members.some((m) => m.email === email)).map(([docId]) => docId)
  }

  // VersionStore

  async appendVersion(docId: string, version: StoredVersion): Promise<void> {
    await nextTurn()
    if (this.full) throw new StorageError('disk full (injected)')
    this.versions.append(docId, version)
  }

  async listVersions(
    docId: string,
    options: { beforeSeq: number | null; limit: number },
  ): Promise<{ seq: number; meta: string }[]> {
    return this.versions.list(docId, options)
  }

  async readVersions(docId: string, fromSeq: number, toSeq: number): Promise<StoredVersion[]> {
    return this.versions.read(docId, fromSeq, toSeq)
  }

  // ---------------------------------------------------------------------------------------------

  /** The error the faults give a write settled now, or null when it succeeds. */
  private injectedWriteError(): Error | null {
    if (this.full) return new StorageError('disk full (injected)')
    if (this.failingWrites > 0) {
      this.failingWrites--
      return new StorageError('write failed (injected)')
    }
    return null
  }

  private settle(write: PendingWrite, error: Error | null): void {
    if (error) {
      this.failedAppends++
      this.setHealth('failing')
      write.reject(error)
      return
    }
    this.documentLog(write.docId).records.set(write.seq, write.updates)
    this.storedAppends++
    this.setHealth('ok')
    write.resolve()
  }

  private documentLog(docId: string): StoredLog {
    let stored = this.documents.get(docId)
    if (!stored) this.documents.set(docId, (stored = { snapshot: null, records: new Map() }))
    return stored
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Versions in memory, kept in seq order (for the memory store and test stand-ins). */
export class MemoryVersions {
  private readonly byDoc = new Map<string, StoredVersion[]>()

  append(docId: string, version: StoredVersion): void {
    let list = this.byDoc.get(docId)
    if (!list) this.byDoc.set(docId, (list = []))
    if (list.some((stored) => stored.seq === version.seq)) throw new StorageError(`version ${version.seq} exists`)
    list.push({ seq: version.seq, meta: version.meta, snapshot: version.snapshot.slice() })
    list.sort((a, b) => a.seq - b.seq)
  }

  list(docId: string, { beforeSeq, limit }: { beforeSeq: number | null; limit: number }): { seq: number; meta: string }[] {
    const list = this.byDoc.get(docId) ?? []
    const result: { seq: number; meta: string }[] = []
    for (let i = list.length - 1; i >= 0 && result.length < limit; i--) {
      if (beforeSeq === null || list[i].seq < beforeSeq) result.push({ seq: list[i].seq, meta: list[i].meta })
    }
    return result
  }

  read(docId: string, fromSeq: number, toSeq: number): StoredVersion[] {
    return (this.byDoc.get(docId) ?? []).filter((version) => version.seq >= fromSeq && version.seq <= toSeq)
  }
}
