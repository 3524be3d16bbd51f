/**
 * One WebSocket on one document. It knows how to send and close; what the messages mean is the
 * document's business (shared-document.ts).
 *
 * Written against a minimal socket interface so it can be driven without a network in tests.
 */
import type { Logger } from './logger.ts'

export interface SocketLike {
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: Uint8Array, options?: { binary?: boolean }): void
  close(code?: number, reason?: string): void
  terminate(): void
  ping(): void
}

const OPEN = 1

let nextConnectionId = 1

export class Connection {
  readonly id = `c${nextConnectionId++}`
  /** Answered a ping since the last round (or sent anything). */
  alive = true
  private closing = false

  constructor(
    private readonly socket: SocketLike,
    readonly docId: string,
    /** The client asked for Chorus's extension messages (`?chorus=1`). */
    readonly wantsExtensions: boolean,
    readonly remoteAddress: string,
    private readonly logger: Logger,
  ) {}

  get isOpen(): boolean {
    return !this.closing && this.socket.readyState === OPEN
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) return
    this.socket.send(frame, { binary: true })
  }

  /** Closes with a code and a reason a person can read (at most 123 bytes on the wire). */
  close(code: number, reason: string): void {
    if (this.closing) return
    this.closing = true
    this.logger.debug('closing connection', { conn: this.id, code, reason })
    this.socket.close(code, truncateReason(reason))
  }

  ping(): void {
    if (this.isOpen) this.socket.ping()
  }

  /** Drops the connection without a closing handshake (dead peer). */
  terminate(): void {
    this.closing = true
    this.socket.terminate()
  }
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason)
  if (bytes.byteLength <= 123) return reason
  return bytes.subarray(0, 120).toString().replace(/\uFFFD+$/, '') + '…'
}
