/**
 * How documents are kept on disk, seen from the rest of the server.
 *
 * A document is a snapshot (one merged Yjs update) plus an append-only log of records, each
 * record holding the updates that arrived in one event-loop turn. Appends are durable when their
 * promise resolves. Compaction replaces a prefix of the log with a new snapshot atomically.
 */
import type { DocumentAccess } from '../access/permissions.ts'

export interface StoredDocument {
  /** The snapshot (if any) followed by every logged update, in order. */
  updates: Uint8Array[]
  /** Sequence number of the oldest log record still stored (equals nextSeq when the log is empty). */
  firstLogSeq: number
  /** Sequence number the next appended record must use. */
  nextSeq: number
  logRecords: number
  logBytes: number
  snapshotBytes: number
}

export interface DocumentStore {
  load(docId: string): Promise<StoredDocument>
  /** Appends one record; resolves once it is on disk (synced). */
  appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void>
  /**
   * Stores `snapshot` and deletes log records `fromSeq..toSeq` in one atomic write. The snapshot
   * must contain everything in those records (it may contain more: Yjs updates are idempotent).
   */
  replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void>
  /** Completes pending writes and closes the store. */
  close(): Promise<void>
  /**
   * From now on, writes go out at once instead of waiting the commit delay for others to share
   * their sync: the server is stopping, and no edit is coming to join them. A stop writes each
   * document's last records, its compaction and its version one after another, so the delay was
   * most of the time a stop took.
   */
  commitPromptly(): void
  /**
   * 'failing' from the first failed write until the store has been reopened and verified; writes
   * made meanwhile wait (none is confirmed before the store is sound again).
   */
  readonly health: StorageHealth
  /** Called on every change of `health`. */
  onHealthChange(listener: (health: StorageHealth) => void): void
  /** Whether a synced write succeeds now (a real probe; the store may cache the answer briefly). */
  acceptsWrites(): Promise<boolean>
}

export type StorageHealth = 'ok' | 'failing'

/** A write the disk refused (full disk, I/O error, closed store). */
export class StorageError extends Error {
  override name = 'StorageError'
}

/**
 * Stored data that cannot be read back (LevelDB reports corruption, or writes that were synced
 * are missing). Retrying cannot help: the data must be repaired, never served as if empty.
 */
export class DamagedDataError extends StorageError {
  override name = 'DamagedDataError'
}

/**
 * Whether a failed load met damaged data, which is never served, rather than a store that may
 * work again. Stored updates that Yjs cannot apply (anything but a StorageError) are damaged too.
 */
export function isDamagedData(error: unknown): boolean {
  return error instanceof DamagedDataError || !(error instanceof StorageError)
}

/**
 * The read-only link of each document: a random view id that maps to the document id, never the
 * other way round for the holder of the view id.
 */
export interface ViewLinkStore {
  getViewId(docId: string): Promise<string | null>
  resolveViewId(viewId: string): Promise<string | null>
  /** Points the document at `viewId` and forgets `previousViewId`, atomically and durably. */
  setViewId(docId: string, viewId: string, previousViewId: string | null): Promise<void>
}

/**
 * Each document's owner, people and link setting (server/access/), kept only once sign-in is
 * configured. Looked up by document, and by a person's email for "shared with me".
 */
export interface AccessStore {
  getAccess(docId: string): Promise<DocumentAccess | null>
  /** Stores `access` durably; `previous` (what the caller read) says which email entries to drop. */
  setAccess(docId: string, access: DocumentAccess, previous: DocumentAccess | null): Promise<void>
  /** The documents `email` (lower-cased) was added to, most recently stored first or in any order. */
  documentsSharedWith(email: string): Promise<string[]>
}

export function isAccessStore(store: object): store is AccessStore {
  return 'getAccess' in store && 'setAccess' in store && 'documentsSharedWith' in store
}

/** One version of a document's history (server/document/history.ts decides what is in it). */
export interface StoredVersion {
  /** Its number within the document, from 1, increasing. */
  seq: number
  /** The version's description, as JSON text (id, time, name, kind, authors…). */
  meta: string
  /** A Yjs snapshot (Y.encodeSnapshot) of the document at that version (possibly a delta, see history). */
  snapshot: Uint8Array
}

/**
 * The versions of each document: append-only, never rewritten nor removed by compaction (a
 * version only points into the document's history, which a gc-free document keeps).
 */
export interface VersionStore {
  /** Stores one version; resolves once it is durable. */
  appendVersion(docId: string, version: StoredVersion): Promise<void>
  /** Versions newest first, without their snapshots; only those below `beforeSeq` when given. */
  listVersions(docId: string, options: { beforeSeq: number | null; limit: number }): Promise<{ seq: number; meta: string }[]>
  /** Versions `fromSeq..toSeq` (inclusive) with their snapshots, oldest first. */
  readVersions(docId: string, fromSeq: number, toSeq: number): Promise<StoredVersion[]>
}
