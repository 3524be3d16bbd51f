/**
 * Version history as the API and the browser see it (the server's side is in
 * server/document/history.ts). Shared so that both spell a version the same way.
 */

/** Who changed the document: the author identity of a connection (display only, never access). */
export interface Author {
  /** The browser's stable author id (localStorage `chorus:author-id`). */
  id: string
  name: string
  /** `#rrggbb` */
  color: string
}

export type VersionKind = 'auto' | 'named' | 'restore'

export interface Version {
  id: string
  /** ISO 8601 */
  createdAt: string
  name: string | null
  kind: VersionKind
  /** Who changed the document since the previous version (for a restore: who restored, first). */
  authors: Author[]
  /** Words added and removed since the previous version. */
  summary: { added: number; removed: number }
  /** For a restore: the version it brought back. */
  restoredFrom?: string
}

export interface VersionPage {
  versions: Version[]
  /** Pass as `before` for the next (older) page; null when this is the last. */
  nextBefore: string | null
}

/** What changed since a version this browser saw (the catch-up view). */
export interface CatchUp {
  since: Version | null
  /** Versions made since, newest first. */
  versions: number
  authors: Author[]
  paragraphsChanged: number
  /**
   * How a browser finds, in its own live Y.Doc, the text others inserted since: per Yjs client
   * that wrote since (other than `me`'s), the first clock that is new and whose client it is.
   * An item of that client with a clock at or beyond `from` was inserted after `since`.
   * At most MAX_CATCH_UP_CLIENTS, those that wrote most first; `clientsLeftOut` says how many more.
   */
  inserted: CatchUpClient[]
  clientsLeftOut: number
}

export interface CatchUpClient {
  client: number
  /** The client's clock in the `since` version's state vector (0 when it had not written then). */
  from: number
  /** An id in `authors`. */
  author: string
}

/** Bounds the catch-up answer: each browser session is a Yjs client of its own. */
export const MAX_CATCH_UP_CLIENTS = 500

/** Accepts only what an awareness `user` or a request body may say about an author. */
export function parseAuthor(value: unknown): Author | null {
  if (typeof value !== 'object' || value === null) return null
  const { id, name, color } = value as Record<string, unknown>
  if (typeof id !== 'string' || id.length === 0 || id.length > 100) return null
  return {
    id,
    name: typeof name === 'string' ? name.slice(0, 100) : 'Someone',
    color: typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color) ? color : '#888888',
  }
}
