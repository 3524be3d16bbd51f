/**
 * Where an update came from, and what that implies. Every update a document applies carries an
 * origin, and each kind of origin has exactly one policy: whom the update is relayed to, whether
 * it is stored, whose "Saved" it counts toward, and whether it is published to the other instances
 * serving the same document. The document consults the policy; it never guesses from a socket.
 *
 * Only `client` exists today. The others are declared so that what they will mean is settled
 * before the code that sends them (scale-out, version history, server-side edits) is written.
 */

/** A connection of this server: an editor's browser tab, an API client. */
export interface ClientOrigin<Client> {
  kind: 'client'
  connection: Client
}

/**
 * Another instance serving the same document, which stores the update (it publishes first, so it
 * may not have yet: the relay keeps the last seconds' for whoever must vouch for them, see
 * cluster/recent-peer-updates.ts).
 */
export interface PeerOrigin {
  kind: 'peer'
  instanceId: string
}

/** A version restored from history: a new change that takes the document back. */
export interface RestoreOrigin {
  kind: 'restore'
  /** Who asked for it, for the history (an account id once there is sign-in). */
  requestedBy: string | null
}

/** A change made by the server itself (an import, a migration, a bot). */
export interface ServerOrigin {
  kind: 'server'
  /** What made it, for logs and history. */
  reason: string
}

export type UpdateOrigin<Client = unknown> = ClientOrigin<Client> | PeerOrigin | RestoreOrigin | ServerOrigin
export type UpdateOriginKind = UpdateOrigin['kind']

export interface OriginPolicy {
  /** 'others': every connection but the one it came from. */
  relayTo: 'others' | 'everyone' | 'nobody'
  /** Written to this server's store (a peer's update is stored by the instance it reached first). */
  store: boolean
  /** Whose "Saved" waits for it to be stored: its sender's, or nobody's (nobody is waiting). */
  confirms: 'sender' | 'nobody'
  /** Sent on to the other instances serving the document. */
  publish: boolean
}

const POLICIES: { readonly [K in UpdateOriginKind]: Readonly<OriginPolicy> } = {
  // The sender has it already; everyone else needs it, here and on the other instances.
  client: { relayTo: 'others', store: true, confirms: 'sender', publish: true },
  // Nobody here has it; its instance stored it and confirms its own sender. Publishing it again
  // would echo it between instances.
  peer: { relayTo: 'everyone', store: false, confirms: 'nobody', publish: false },
  // Nobody has it anywhere yet, and nobody here is waiting to hear it is saved.
  restore: { relayTo: 'everyone', store: true, confirms: 'nobody', publish: true },
  server: { relayTo: 'everyone', store: true, confirms: 'nobody', publish: true },
}

export function policyOf(origin: UpdateOrigin<unknown> | UpdateOriginKind): Readonly<OriginPolicy> {
  return POLICIES[typeof origin === 'string' ? origin : origin.kind]
}

/** The connection an update came from, when it came from one. */
export function senderOf<Client>(origin: UpdateOrigin<Client>): Client | null {
  return origin.kind === 'client' ? origin.connection : null
}
