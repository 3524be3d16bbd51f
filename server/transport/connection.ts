/**
 * One WebSocket on one document. It knows how to send, how to slow down or close a peer that
 * misbehaves, and what the peer may do; what the messages mean is the document's business
 * (shared-document.ts).
 *
 * Written against a minimal socket interface so it can be driven without a network in tests.
 */
import { CloseCode } from '../../lib/protocol.ts'
import { TokenBucket } from './limits.ts'
import type { IgnoredKind } from '../document/document-connection.ts'
import type { SharedMessage } from '../document/shared-message.ts'
import type { Logger } from '../ops/logger.ts'
import type { MessageCounts } from './traffic.ts'
import type { Admission } from '../access/access-control.ts'
import type { Person } from '../access/permissions.ts'

export interface SocketLike {
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  terminate(): void
  ping(): void
  pause(): void
  resume(): void
}

export interface ConnectionLimits {
  rateLimitMessagesPerSecond: number
  rateLimitBytesPerSecond: number
  rateLimitGraceMs: number
  maxBufferedBytes: number
}

export interface ConnectionInfo {
  docId: string
  /** Opened through a view link: may read and be present, never write. */
  readOnly: boolean
  /** The view id it came through (so a reset can find it), or null for editors. */
  viewId: string | null
  /** The client asked for Chorus's extension messages (`?chorus=1`). */
  wantsExtensions: boolean
  remoteAddress: string
  /** Who it is, when sign-in or a token says (server/access/). */
  person?: Person | null
  /** How its right was proven (see Admission.via); 'link' when nothing is configured. */
  via?: Admission['via']
  /** A token's colour for presence. */
  color?: string | null
}

const OPEN = 1
/** A burst may be this many seconds' worth of the sustained rate (a paste, a reconnect). */
const BURST_SECONDS = 10
/**
 * A frame this soon after reading resumed was already waiting: the sender had more queued than
 * its rate allows. A sender that is always found so is flooding; an honest one empties its queue.
 */
const QUEUED_FRAME_MS = 50
/**
 * How long a closing handshake may take before the socket is dropped (ws waits 30 s). A flooder's
 * answer comes after everything it had queued, which the server then reads and discards.
 */
const CLOSE_TIMEOUT_MS = 5000

/** Messages the server lets pass without effect instead of closing the connection. */

/** How many messages of each ignored kind arrived, across all connections. */
export class IgnoredMessageCounts {
  readonly byKind: Record<IgnoredKind, number> = { 'text-frame': 0, 'unknown-message-type': 0, 'empty-update': 0 }
}

let nextConnectionId = 1

export class Connection {
  readonly id = `c${nextConnectionId++}`
  readonly docId: string
  /** Not readonly: a signed-in editor whose role is lowered to view keeps the socket (live revocation). */
  readOnly: boolean
  readonly viewId: string | null
  readonly person: Person | null
  readonly via: Admission['via']
  readonly shownAs: { name: string; color?: string } | undefined
  readonly wantsExtensions: boolean
  readonly remoteAddress: string
  /** Answered a ping since the last round (or sent anything). */
  alive = true
  /** Writes dropped because the connection is read-only. */
  droppedWrites = 0
  private closing = false
  private readonly messageBucket: TokenBucket | null
  private readonly byteBucket: TokenBucket | null
  /** Since when every resume of reading found frames already waiting (see `admit`). */
  private saturatedSince: number | null = null
  /** When reading last resumed after a pause, until the next frame arrives. */
  private resumedAt: number | null = null
  private resumeTimer: NodeJS.Timeout | null = null
  private closeTimer: NodeJS.Timeout | null = null
  private readonly ignoredKinds = new Set<IgnoredKind>()

  /** Logs with this connection's document and id. */
  readonly log: Logger

  constructor(
    private readonly socket: SocketLike,
    info: ConnectionInfo,
    private readonly limits: ConnectionLimits,
    logger: Logger,
    private readonly ignoredCounts: IgnoredMessageCounts = new IgnoredMessageCounts(),
    /** Where sent frames are counted (for /metrics), if anywhere. */
    private readonly sentCounts: MessageCounts | null = null,
  ) {
    this.log = logger.child({ doc: info.docId, conn: this.id })
    this.docId = info.docId
    this.readOnly = info.readOnly
    this.viewId = info.viewId
    this.person = info.person ?? null
    this.via = info.via ?? 'link'
    this.shownAs = info.person ? { name: info.person.name, ...(info.color ? { color: info.color } : {}) } : undefined
    this.wantsExtensions = info.wantsExtensions
    this.remoteAddress = info.remoteAddress
    const now = performance.now()
    const { rateLimitMessagesPerSecond: messages, rateLimitBytesPerSecond: bytes } = limits
    this.messageBucket = messages > 0 ? new TokenBucket(messages, messages * BURST_SECONDS, now) : null
    this.byteBucket = bytes > 0 ? new TokenBucket(bytes, bytes * BURST_SECONDS, now) : null
  }

  /** Not being read, to hold it to its rate: it cannot answer pings either, through no fault of its own. */
  get isThrottled(): boolean {
    return this.resumeTimer !== null
  }

  get isOpen(): boolean {
    return !this.closing && this.socket.readyState === OPEN
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) return
    // No options: ws sends whatever is not a string as binary, and would copy an options object
    // into its own on every one of the hundreds of sends of a relayed update.
    this.socket.send(frame)
    this.sentCounts?.count(frame)
    this.dropIfTooFarBehind()
  }

  /** Sends a message that many connections get (see SharedMessage). */
  sendShared(message: SharedMessage): void {
    if (!this.isOpen) return
    if (!writeFramed(this.socket, message)) this.socket.send(message.payload)
    this.sentCounts?.count(message.payload)
    this.dropIfTooFarBehind()
  }

  private dropIfTooFarBehind(): void {
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      // A reader that cannot keep up would otherwise grow our memory without bound; it can
      // reconnect and catch up with one sync step instead.
      this.log.warn('dropping slow reader', { bufferedBytes: this.socket.bufferedAmount })
      this.terminate()
    }
  }

  /**
   * Accounts for an incoming frame. Over the rate, the socket is not read until the debt is paid,
   * so TCP pushes back on the sender and a fast sender costs no more than its rate. A sender is
   * closed only once it has been saturated for longer than the grace period: every time reading
   * resumed, its next frame was already waiting. One large frame (a paste, an offline backlog)
   * only pauses reading until it is paid for. Returns false when the connection is closed.
   */
  admit(byteLength: number): boolean {
    if (this.closing) return false
    if (!this.messageBucket && !this.byteBucket) return true
    const now = performance.now()
    if (this.resumedAt !== null) {
      if (now - this.resumedAt <= QUEUED_FRAME_MS) this.saturatedSince ??= this.resumedAt
      else this.saturatedSince = null
      this.resumedAt = null
    }
    if (this.saturatedSince !== null && now - this.saturatedSince > this.limits.rateLimitGraceMs) {
      this.log.warn('closing connection over its rate limit', { saturatedMs: Math.round(now - this.saturatedSince) })
      this.close(CloseCode.RateLimited, 'sending too fast for too long')
      return false
    }
    const waitMs = Math.max(this.messageBucket?.take(1, now) ?? 0, this.byteBucket?.take(byteLength, now) ?? 0)
    if (waitMs > 0 && !this.resumeTimer) {
      this.socket.pause()
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = null
        if (!this.isOpen) return
        this.resumedAt = performance.now()
        this.socket.resume()
      }, Math.ceil(waitMs))
    }
    return true
  }

  /** Counts a message let pass without effect; says so once per connection and kind. */
  ignore(kind: IgnoredKind): void {
    this.ignoredCounts.byKind[kind]++
    if (this.ignoredKinds.has(kind)) return
    this.ignoredKinds.add(kind)
    this.log.info('ignoring messages that have no effect', { kind })
  }

  ping(): void {
    if (this.isOpen) this.socket.ping()
  }

  /** Closes with a code and a reason a person can read (at most 123 bytes on the wire). */
  close(code: number, reason: string): void {
    if (this.closing) return
    this.closing = true
    this.clearTimers()
    this.log.debug('closing connection', { code, reason })
    this.socket.close(code, truncateReason(reason))
    // A paused socket would never read the peer's answer, and the handshake would hang until
    // ws's own 30 s timeout; a peer that does not answer at all is dropped.
    this.socket.resume()
    this.closeTimer = setTimeout(() => this.socket.terminate(), CLOSE_TIMEOUT_MS)
    this.closeTimer.unref()
  }

  /** Drops the connection without a closing handshake (dead peer, slow reader). */
  terminate(): void {
    this.closing = true
    this.clearTimers()
    this.socket.terminate()
  }

  private clearTimers(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer)
    this.resumeTimer = null
  }

  /** The socket closed: nothing left to wait for. */
  closed(): void {
    this.closing = true
    this.clearTimers()
    if (this.closeTimer) clearTimeout(this.closeTimer)
    this.closeTimer = null
  }
}

/**
 * The whole frame of a shared message, built once however many connections it goes to: FIN and
 * the binary opcode, the payload's length, the payload (RFC 6455 5.2). ws would build a header
 * for each receiver and write it and the payload as two buffers.
 */
export function wireFrame(message: SharedMessage): Buffer {
  if (message.wire) return message.wire
  const payload = message.payload
  const length = payload.byteLength
  const headerBytes = length < 126 ? 2 : length < 0x10000 ? 4 : 10
  const wire = Buffer.allocUnsafe(headerBytes + length)
  wire[0] = 0x82
  if (length < 126) {
    wire[1] = length
  } else if (length < 0x10000) {
    wire[1] = 126
    wire.writeUInt16BE(length, 2)
  } else {
    wire[1] = 127
    wire.writeBigUInt64BE(BigInt(length), 2)
  }
  wire.set(payload, headerBytes)
  return (message.wire = wire)
}

/** The parts of a ws 8 WebSocket that writing a ready frame relies on. */
interface WsInternals {
  _sender?: { _state?: number; _firstFragment?: boolean }
  _socket?: { destroyed: boolean; writable: boolean; write(chunk: Buffer): boolean }
}

/**
 * Writes a ready frame straight to the TCP socket under a ws WebSocket, in place of ws.send().
 * Only while ws's sender is idle (not compressing, not inside a fragmented message): then ws would
 * write synchronously too, so everything sent on the socket keeps its order. Anything else (a
 * busy sender, a socket that is not ws's, a ws release without these fields) returns false, and
 * the caller sends the usual way.
 */
function writeFramed(socket: SocketLike, message: SharedMessage): boolean {
  const { _sender: sender, _socket: tcp } = socket as unknown as WsInternals
  if (!sender || !tcp || sender._state !== 0 || sender._firstFragment !== true) return false
  if (tcp.destroyed || !tcp.writable) return false
  tcp.write(wireFrame(message))
  return true
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason)
  if (bytes.byteLength <= 123) return reason
  return `${bytes
    .subarray(0, 120)
    .toString()
    .replace(/\uFFFD+$/, '')}…`
}
