/**
 * What a document needs of a connection: to send to it, close it, and know what it may do. The
 * transport's Connection is one; a test's double is another, so the document's lifecycle can be
 * driven without sockets.
 */
import type { SharedMessage } from './shared-message.ts'

/** Messages let pass without effect, as y-websocket's own server does; counted for /metrics. */
export type IgnoredKind = 'text-frame' | 'unknown-message-type' | 'empty-update'

export interface DocumentConnection {
  readonly id: string
  /** Opened through a view link: may read and be present, never write. */
  readonly readOnly: boolean
  /** The view id it came through, or null for editors. */
  readonly viewId: string | null
  /**
   * The fields of its presence's `user` the server sets, whatever the client says: the signed-in
   * name, or a token's name and colour. Undefined when the link is the key.
   */
  readonly shownAs?: { name: string; color?: string }
  /** Understands Chorus's extension messages (SavedState, Notice). */
  readonly wantsExtensions: boolean
  /** Writes dropped because the connection is read-only. */
  droppedWrites: number
  send(frame: Uint8Array): void
  /** Sends a message that many connections get, framed for the wire once. */
  sendShared(message: SharedMessage): void
  close(code: number, reason: string): void
  /** Counts a message let pass without effect. */
  ignore(kind: IgnoredKind): void
}
