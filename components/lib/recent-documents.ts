/**
 * The documents this browser opened, newest first, kept in localStorage for the home page.
 * Nothing leaves the browser: the server has no list of documents to offer.
 */

export interface RecentDocument {
  id: string
  title: string
  /** Milliseconds since the epoch of the last visit. */
  openedAt: number
}

const STORAGE_KEY = 'chorus:recent-documents'
const MAX_ENTRIES = 50

export function parseRecentDocuments(raw: string | null): RecentDocument[] {
  if (!raw) return []
  try {
    const value: unknown = JSON.parse(raw)
    if (!Array.isArray(value)) return []
    return value
      .filter(
        (entry): entry is RecentDocument =>
          typeof entry?.id === 'string' && typeof entry.title === 'string' && typeof entry.openedAt === 'number',
      )
      .sort((a, b) => b.openedAt - a.openedAt)
  } catch {
    return []
  }
}

/** Moves (or adds) `id` to the front with the given title and visit time. */
export function touchRecentDocument(list: readonly RecentDocument[], entry: RecentDocument): RecentDocument[] {
  return [entry, ...list.filter((item) => item.id !== entry.id)].slice(0, MAX_ENTRIES)
}

export function readRecentDocuments(): RecentDocument[] {
  try {
    return parseRecentDocuments(window.localStorage.getItem(STORAGE_KEY))
  } catch {
    return []
  }
}

/** Records a visit, or a title change when `title` is given. */
export function recordRecentDocument(id: string, title?: string): void {
  const list = readRecentDocuments()
  const previous = list.find((item) => item.id === id)
  const entry = { id, title: title ?? previous?.title ?? '', openedAt: Date.now() }
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(touchRecentDocument(list, entry)))
  } catch {
    // Storage full or disabled: the recent list is a convenience, losing an entry is harmless.
  }
}

export const RECENT_DOCUMENTS_KEY = STORAGE_KEY
