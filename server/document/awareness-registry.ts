/**
 * The server's view of a document's awareness (carets, names, presence).
 *
 * Follows y-protocols' awareness rules (a state replaces another only with a higher clock; a null
 * state removes the client) but keeps each state as the JSON text it arrived as, so the server
 * never parses and re-stringifies states to relay them: incoming frames are forwarded as they are.
 * It also remembers which connection announced which client ids, so that when a socket closes its
 * states can be removed for everyone at once (no ghost carets), as y-websocket's server does.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** JSON text of the state, or 'null' for a removed client. */
  json: string
}

interface ClientMeta<Owner> {
  clock: number
  /** null when the client has been removed; its clock is kept so stale updates stay ignored. */
  json: string | null
  owner: Owner | null
}

/**
 * Decodes and validates an awareness update. Every state must be valid JSON: it is relayed as
 * is, and each receiving y-protocols client would otherwise throw while parsing it.
 */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    const clock = decoding.readVarUint(decoder)
    const json = decoding.readVarString(decoder)
    JSON.parse(json)
    entries.push({ clientId, clock, json })
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes after awareness update')
  return entries
}

export function encodeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const { clientId, clock, json } of entries) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, json)
  }
  return encoding.toUint8Array(encoder)
}

/** The entry with `user.viewing = true` in its state (removals and non-object states stay as they are). */
export function markViewing(entry: AwarenessEntry): AwarenessEntry {
  return withUserFields(entry, { viewing: true })
}

/** The entry with these fields set in its state's `user` (removals and non-object states stay as they are). */
export function withUserFields(entry: AwarenessEntry, fields: Record<string, unknown>): AwarenessEntry {
  if (entry.json === 'null') return entry
  const state: unknown = JSON.parse(entry.json)
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return entry
  const { user } = state as { user?: unknown }
  const marked = { ...(typeof user === 'object' && user !== null ? user : {}), ...fields }
  return { ...entry, json: JSON.stringify({ ...state, user: marked }) }
}

export class AwarenessRegistry<Owner> {
  private readonly clients = new Map<number, ClientMeta<Owner>>()
  /**
   * `ownedBy`'s answers, until that owner's states change: the history asks for every batch of
   * edits, and an unchanged answer (the same array) tells it there is nothing new to read.
   */
  private readonly owned = new Map<Owner, readonly AwarenessEntry[]>()

  /** Number of clients with a live (non-null) state. */
  get size(): number {
    let live = 0
    for (const meta of this.clients.values()) if (meta.json !== null) live++
    return live
  }

  /**
   * Applies entries announced by `owner`. Returns true if any of them changed a state, i.e. the
   * frame is worth relaying.
   */
  apply(entries: readonly AwarenessEntry[], owner: Owner): boolean {
    let changed = false
    for (const { clientId, clock, json } of entries) {
      const meta = this.clients.get(clientId)
      const currentClock = meta?.clock ?? 0
      const removing = json === 'null'
      const isNewer = currentClock < clock
      // Same rule as y-protocols: an equal clock may still remove a live state.
      const isRemovalOfLive = currentClock === clock && removing && meta?.json != null
      if (!isNewer && !isRemovalOfLive) continue
      if (meta?.owner != null) this.owned.delete(meta.owner)
      this.owned.delete(owner)
      this.clients.set(clientId, { clock, json: removing ? null : json, owner: removing ? null : owner })
      changed = true
    }
    return changed
  }

  /**
   * The removals to send back to `owner` for the live states it announces that no connection
   * holds now: its own, coming back. Whoever saw the client before (on an earlier connection, or before a server
   * restart) keeps its last clock, and y-protocols ignores a state whose clock it has seen: the
   * client's re-announcement after a reconnect would be dropped until its next renewal, 15 s
   * later. A client told that its own state was removed raises its clock and announces again
   * (y-protocols' `applyAwarenessUpdate`), which everyone then accepts, within one round trip.
   * Meant for the owner alone: the others must not see the removal.
   */
  removalsToReannounce(entries: readonly AwarenessEntry[]): AwarenessEntry[] {
    const removals: AwarenessEntry[] = []
    for (const { clientId, clock, json } of entries) {
      if (json === 'null') continue
      const meta = this.clients.get(clientId)
      // Live on another connection: a stock y-websocket client echoes every state it receives,
      // and must not be told to drop someone else's.
      if (meta?.owner != null && meta.json !== null) continue
      removals.push({ clientId, clock: Math.max(clock, meta?.clock ?? 0), json: 'null' })
    }
    return removals
  }

  /** The live states `owner` announced: the same array until they change. */
  ownedBy(owner: Owner): readonly AwarenessEntry[] {
    const known = this.owned.get(owner)
    if (known) return known
    const entries: AwarenessEntry[] = []
    for (const [clientId, meta] of this.clients) {
      if (meta.owner === owner && meta.json !== null) entries.push({ clientId, clock: meta.clock, json: meta.json })
    }
    this.owned.set(owner, entries)
    return entries
  }

  /** Every live state, encoded as one awareness update (for a client that just joined). */
  encodeAll(): Uint8Array | null {
    const entries: AwarenessEntry[] = []
    for (const [clientId, meta] of this.clients) {
      if (meta.json !== null) entries.push({ clientId, clock: meta.clock, json: meta.json })
    }
    return entries.length > 0 ? encodeAwarenessUpdate(entries) : null
  }

  /** The live states, by owner. */
  liveByOwner(): Map<Owner, AwarenessEntry[]> {
    const byOwner = new Map<Owner, AwarenessEntry[]>()
    for (const [clientId, meta] of this.clients) {
      if (meta.json === null || meta.owner === null) continue
      let entries = byOwner.get(meta.owner)
      if (!entries) byOwner.set(meta.owner, (entries = []))
      entries.push({ clientId, clock: meta.clock, json: meta.json })
    }
    return byOwner
  }

  /** The live states whose owner passes `include`, as one awareness update, or null if none. */
  encodeOwned(include: (owner: Owner) => boolean): Uint8Array | null {
    const entries: AwarenessEntry[] = []
    for (const [clientId, meta] of this.clients) {
      if (meta.json !== null && meta.owner !== null && include(meta.owner))
        entries.push({ clientId, clock: meta.clock, json: meta.json })
    }
    return entries.length > 0 ? encodeAwarenessUpdate(entries) : null
  }

  /**
   * Removes every state `owner` announced and returns the update that tells the others, or null
   * if it announced none. The removal keeps the state's clock, as y-protocols' own
   * `removeAwarenessStates` does: one clock ahead, it would also outrank the client's next
   * renewal, and the client would stay invisible for another 15 s after it came back.
   */
  removeOwnedBy(owner: Owner): Uint8Array | null {
    this.owned.delete(owner)
    const removed: AwarenessEntry[] = []
    for (const [clientId, meta] of this.clients) {
      if (meta.owner !== owner || meta.json === null) continue
      const clock = meta.clock
      this.clients.set(clientId, { clock, json: null, owner: null })
      removed.push({ clientId, clock, json: 'null' })
    }
    return removed.length > 0 ? encodeAwarenessUpdate(removed) : null
  }
}
