/**
 * What the transport sees, as plain counters: messages and bytes in and out by kind, refused
 * upgrades by reason, closed sockets by code. Plain numbers because they are bumped on every
 * frame (a relay to a thousand readers bumps them a thousand times); /metrics reads them when it
 * is scraped (ops/metrics.ts). Every key is from a fixed set: never a document id or an address.
 */
import { CloseCode, MessageType, SyncMessageType } from '../../lib/protocol.ts'

export const MESSAGE_KINDS = [
  'sync-step1',
  'sync-step2',
  'sync-update',
  'awareness',
  'query-awareness',
  'saved-state',
  'notice',
  'other',
] as const
export type MessageKind = (typeof MESSAGE_KINDS)[number]

/** The kind of a y-websocket frame, from its first two bytes (both are one-byte varints here). */
export function messageKind(frame: Uint8Array): MessageKind {
  return MESSAGE_KINDS[kindIndex(frame)]
}

// Copied into plain numbers: a switch over properties of imported objects evaluates them case by
// case, which made counting a frame 4 times slower (~100 ns instead of ~25).
const SYNC = MessageType.Sync
const STEP1 = SyncMessageType.Step1
const STEP2 = SyncMessageType.Step2
const UPDATE = SyncMessageType.Update
const AWARENESS = MessageType.Awareness
const QUERY_AWARENESS = MessageType.QueryAwareness
const SAVED_STATE = MessageType.SavedState
const NOTICE = MessageType.Notice
const OTHER = 7

/** Index into MESSAGE_KINDS: a number, so that counting a frame costs two array increments. */
function kindIndex(frame: Uint8Array): number {
  switch (frame[0]) {
    case SYNC:
      switch (frame[1]) {
        case STEP1:
          return 0
        case STEP2:
          return 1
        case UPDATE:
          return 2
      }
      return OTHER
    case AWARENESS:
      return 3
    case QUERY_AWARENESS:
      return 4
    case SAVED_STATE:
      return 5
    case NOTICE:
      return 6
  }
  return OTHER
}

/**
 * Counted on every frame in and out (a relay to a thousand readers counts a thousand times):
 * typed arrays indexed by kind.
 */
export class MessageCounts {
  private readonly messageCounts = new Float64Array(MESSAGE_KINDS.length)
  private readonly byteCounts = new Float64Array(MESSAGE_KINDS.length)

  /** Text frames are 'other', whatever their first bytes. */
  count(frame: Uint8Array, binary = true): void {
    const index = binary ? kindIndex(frame) : OTHER
    this.messageCounts[index]++
    this.byteCounts[index] += frame.byteLength
  }

  messages(kind: MessageKind): number {
    return this.messageCounts[MESSAGE_KINDS.indexOf(kind)]
  }

  bytes(kind: MessageKind): number {
    return this.byteCounts[MESSAGE_KINDS.indexOf(kind)]
  }
}

/**
 * Short codes for the sync endpoint's refusals (sync-endpoint.ts), matched on the start of their
 * reason, with the HTTP status each is refused with. A refusal not listed counts as 'other' (a unit
 * test keeps this list complete).
 */
export const REFUSAL_CODES: readonly { prefix: string; code: string; status: number }[] = [
  { prefix: 'server is shutting down', code: 'stopping', status: 503 },
  { prefix: 'not a sync path', code: 'not-sync-path', status: 404 },
  { prefix: 'origin not allowed', code: 'origin', status: 403 },
  { prefix: 'too many new connections from this address', code: 'address-rate', status: 429 },
  { prefix: 'invalid document name', code: 'invalid-name', status: 400 },
  { prefix: 'this view link does not exist', code: 'unknown-view-link', status: 404 },
  { prefix: 'too many people in this document', code: 'document-full', status: 503 },
  { prefix: 'internal error', code: 'internal', status: 500 },
]

export function refusalCode(reason: string): string {
  for (const { prefix, code } of REFUSAL_CODES) if (reason.startsWith(prefix)) return code
  return 'other'
}

/** Close codes counted by their number; any other (a client may send 3000–4999) is 'other'. */
const KNOWN_CLOSE_CODES = new Set<number>([
  1000,
  1001,
  1002,
  1003,
  1005,
  1006,
  1007,
  1008,
  1009,
  1010,
  1011,
  1012,
  1013,
  1014,
  1015,
  ...Object.values(CloseCode),
])

const CLOSE_CODE_LABELS = [...[...KNOWN_CLOSE_CODES].sort((a, b) => a - b).map(String), 'other']

export function closeCodeLabel(code: number): string {
  return KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other'
}

export class Traffic {
  /** Frames received from clients, by kind (before rate limits and checks). */
  readonly received = new MessageCounts()
  /** Frames sent to clients, by kind (a relayed update is one per receiver). */
  readonly sent = new MessageCounts()
  /** Refused upgrades by `${status} ${code}`. */
  readonly refusals = new Map<string, { status: number; code: string; count: number }>()
  /** Closed sockets by close code label. */
  readonly closes = new Map<string, number>()

  constructor() {
    // Every known series exists from the start, so that rate() and increase() see the first one.
    for (const { code, status } of REFUSAL_CODES) this.refusals.set(`${status} ${code}`, { status, code, count: 0 })
    for (const label of CLOSE_CODE_LABELS) this.closes.set(label, 0)
  }

  refused(status: number, reason: string): void {
    const code = refusalCode(reason)
    const key = `${status} ${code}`
    const entry = this.refusals.get(key)
    if (entry) entry.count++
    else this.refusals.set(key, { status, code, count: 1 })
  }

  closed(code: number): void {
    const label = closeCodeLabel(code)
    this.closes.set(label, (this.closes.get(label) ?? 0) + 1)
  }
}
