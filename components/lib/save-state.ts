/**
 * Whether this browser's edits to a document are durably on the server.
 *
 * The server tells us the state vector of what it has on disk (MessageType.SavedState). Edits are
 * "mine" when they were made under a Yjs client id this browser used for the document: the
 * current `ydoc.clientID`, plus ids from earlier page loads whose edits may still be waiting in
 * IndexedDB (an offline edit followed by a reload must still count as unsaved). Pure functions,
 * so the rules can be tested without a browser.
 */

export type StateVector = ReadonlyMap<number, number>

/** Client ids whose local clock is ahead of what the server has stored. */
export function unsavedClients(local: StateVector, saved: StateVector, mine: Iterable<number>): number[] {
  const unsaved: number[] = []
  for (const client of new Set(mine)) {
    if ((local.get(client) ?? 0) > (saved.get(client) ?? 0)) unsaved.push(client)
  }
  return unsaved
}

/**
 * The ids worth remembering across reloads: the ones with edits the server does not have yet.
 * Saved ids can be forgotten because a dead session's id never produces new edits, and the live
 * one is remembered again on its next local change.
 */
export function idsToRemember(
  remembered: readonly number[],
  local: StateVector,
  saved: StateVector,
  limit = MAX_REMEMBERED_IDS,
): number[] {
  const pending = new Set(unsavedClients(local, saved, remembered))
  return remembered.filter((id) => pending.has(id)).slice(-limit)
}

/** Appends `id` (most recent last), keeping at most `limit` ids. */
export function rememberId(remembered: readonly number[], id: number, limit = MAX_REMEMBERED_IDS): number[] {
  if (remembered.includes(id)) return [...remembered]
  return [...remembered, id].slice(-limit)
}

/** Reads a remembered-id list from storage, ignoring anything malformed. */
export function parseRememberedIds(raw: string | null): number[] {
  if (!raw) return []
  try {
    const value: unknown = JSON.parse(raw)
    if (!Array.isArray(value)) return []
    return value.filter((id): id is number => Number.isSafeInteger(id) && id >= 0)
  } catch {
    return []
  }
}

/** Yjs client ids are random, so a handful of reloads' worth is plenty. */
export const MAX_REMEMBERED_IDS = 32
