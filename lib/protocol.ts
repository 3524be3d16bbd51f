/**
 * The wire protocol, shared by the sync server and the browser.
 *
 * Chorus speaks the y-websocket protocol unchanged (sync and awareness messages), so any stock
 * y-websocket client works. On top of it, a client that opts in with the URL parameter
 * `?chorus=<version>` also receives the extension messages below. A stock client never does:
 * y-websocket logs "Unable to compute message" for any type it does not know.
 *
 * Encoders are pure functions returning the bytes of a whole frame.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export const MessageType = {
  /** y-protocols sync: step 1 (state vector), step 2 (missing updates), update. */
  Sync: 0,
  /** y-protocols awareness update: carets, names, presence. */
  Awareness: 1,
  /** y-protocols auth (permission denied). Stock clients understand it; we do not send it. */
  Auth: 2,
  /** Ask the peer to send its awareness states. */
  QueryAwareness: 3,
  /**
   * Chorus extension: the state vector of everything this server has durably stored (LevelDB
   * write with sync:true completed) for the document. The client compares it with its own
   * state to show "Saved" only when its changes are on disk.
   */
  SavedState: 100,
  /** Chorus extension: a human-readable notice from the server (e.g. a refused write). */
  Notice: 101,
} as const

export const SyncMessageType = {
  Step1: 0,
  Step2: 1,
  Update: 2,
} as const

/** Version of the Chorus extensions; sent by the client as `?chorus=1`. */
export const CHORUS_PROTOCOL_VERSION = 1
export const CHORUS_PROTOCOL_PARAM = 'chorus'

/**
 * WebSocket close codes. 4400-4499 mean "reconnecting cannot help" (RFC 6455 private range,
 * mirroring HTTP 4xx), and y-websocket 3.1 stops on them; y-websocket 1.x, 2.x and 4.x reconnect
 * after every close, whatever its code (README, "Close codes").
 */
export const CloseCode = {
  /** Server restarting or shutting down; clients reconnect. */
  ServiceRestart: 1012,
  /** A frame could not be decoded or applied. */
  MalformedMessage: 4400,
  /** A frame exceeded the size limit (ws closes with 1009 itself; listed for completeness). */
  MessageTooBig: 1009,
  /**
   * A change that would take the document past its size cap (MAX_DOCUMENT_BYTES). Final: the
   * client would send the same change again on every reconnect, and whatever it types after it
   * builds on it, so nobody else could ever see that either.
   */
  ChangeTooLarge: 4413,
  /** Sent faster than the per-connection rate limit for too long; clients back off and retry. */
  RateLimited: 4529,
  /** The view link this connection came through was reset by an editor; it will not work again. */
  ViewLinkRevoked: 4410,
  /**
   * No such view link (never existed, or reset before this connection). Sent as a close rather
   * than an HTTP 404 on the upgrade: browsers report a refused upgrade exactly like a server
   * that is down, and y-websocket would retry it forever.
   */
  ViewLinkNotFound: 4404,
  /**
   * The document's stored data is damaged and cannot be loaded; it is not served (nor written)
   * until an administrator repairs the store. Final: a Notice saying so comes first.
   */
  DocumentUnavailable: 4422,
  /**
   * Sent nothing within FIRST_MESSAGE_TIMEOUT_MS of connecting (every real client speaks at once).
   * Not final: a client on a link that slow may try again.
   */
  Silent: 1008,
  /**
   * Not signed in, or the token does not open this document (expired, forged, for another
   * document); the reason says which. Final: the same credentials would be refused again.
   */
  NotAuthorized: 4401,
  /** Signed in, but without access to this document (never had it, or it was just removed). */
  Forbidden: 4403,
  /** Internal error while loading or serving the document; clients retry. */
  InternalError: 4500,
} as const

/** Reasons travel in close frames, which allow 123 bytes; keep them short and readable. */
export type CloseCodeName = keyof typeof CloseCode

export type NoticeLevel = 'info' | 'warning' | 'error'

export interface Notice {
  level: NoticeLevel
  /** Stable machine-readable code, e.g. 'document-too-large'. */
  code: string
  /** Sentence to show a person. */
  message: string
}

export function encodeSavedState(stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.SavedState)
  encoding.writeVarUint8Array(encoder, stateVector)
  return encoding.toUint8Array(encoder)
}

export function encodeNotice(notice: Notice): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Notice)
  encoding.writeVarString(encoder, JSON.stringify(notice))
  return encoding.toUint8Array(encoder)
}

/** Reads a Notice payload (after the message type). Throws on malformed input. */
export function decodeNoticePayload(decoder: decoding.Decoder): Notice {
  const value = JSON.parse(decoding.readVarString(decoder)) as Partial<Notice>
  if (typeof value?.code !== 'string' || typeof value.message !== 'string') {
    throw new Error('malformed notice')
  }
  const level: NoticeLevel = value.level === 'warning' || value.level === 'error' ? value.level : 'info'
  return { level, code: value.code, message: value.message }
}

/** A sync frame: `[Sync, syncType, varUint8Array(payload)]`. */
function encodeSyncFrame(syncType: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Sync)
  encoding.writeVarUint(encoder, syncType)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

/** Sync step 1: our state vector, asking the peer for what we lack. */
export const encodeSyncStep1 = (stateVector: Uint8Array) => encodeSyncFrame(SyncMessageType.Step1, stateVector)

/** Sync step 2: the update the peer lacks, in answer to its step 1. */
export const encodeSyncStep2 = (update: Uint8Array) => encodeSyncFrame(SyncMessageType.Step2, update)

/** A live update. */
export const encodeSyncUpdate = (update: Uint8Array) => encodeSyncFrame(SyncMessageType.Update, update)

/** Frame for an awareness update (already encoded by y-protocols or the registry). */
export function encodeAwarenessFrame(awarenessUpdate: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MessageType.Awareness)
  encoding.writeVarUint8Array(encoder, awarenessUpdate)
  return encoding.toUint8Array(encoder)
}

/**
 * A decoded incoming frame. Payloads are views into the frame's bytes (no copy), so they are
 * valid only as long as the frame's buffer is not reused.
 */
export type IncomingMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'query-awareness' }
  | { type: 'auth' }
  /** A type this server does not know (another server's extension): harmless, ignored. */
  | { type: 'unknown'; messageType: number }

export class ProtocolError extends Error {
  override name = 'ProtocolError'
}

/**
 * Reads a length-prefixed byte string that must lie within the frame. Node's `ws` hands out
 * Buffers that are slices of larger pooled buffers, so a lying length must fail rather than read
 * past the frame (lib0 >= 0.2.120 checks this too; we say which length was wrong).
 */
function readBoundedBytes(decoder: decoding.Decoder): Uint8Array {
  const length = decoding.readVarUint(decoder)
  const remaining = decoder.arr.length - decoder.pos
  if (length > remaining) {
    throw new ProtocolError(`length ${length} exceeds the ${remaining} bytes left in the frame`)
  }
  const bytes = decoder.arr.subarray(decoder.pos, decoder.pos + length)
  decoder.pos += length
  return bytes
}

/**
 * Decodes one frame sent by a client. Throws ProtocolError on anything malformed: truncated
 * varints, lengths past the end, or trailing bytes. Unknown message types are not malformed: they
 * come back as 'unknown', for the caller to ignore.
 */
export function decodeClientMessage(frame: Uint8Array): IncomingMessage {
  const decoder = decoding.createDecoder(frame)
  try {
    const messageType = decoding.readVarUint(decoder)
    let message: IncomingMessage
    switch (messageType) {
      case MessageType.Sync: {
        const syncType = decoding.readVarUint(decoder)
        const payload = readBoundedBytes(decoder)
        if (syncType === SyncMessageType.Step1) message = { type: 'sync-step1', stateVector: payload }
        else if (syncType === SyncMessageType.Step2) message = { type: 'sync-step2', update: payload }
        else if (syncType === SyncMessageType.Update) message = { type: 'sync-update', update: payload }
        else return { type: 'unknown', messageType }
        break
      }
      case MessageType.Awareness:
        message = { type: 'awareness', update: readBoundedBytes(decoder) }
        break
      case MessageType.QueryAwareness:
        message = { type: 'query-awareness' }
        break
      case MessageType.Auth:
        // Clients have no reason to send auth messages in this protocol; accept and ignore the
        // rest of the frame as the reference server does.
        return { type: 'auth' }
      default:
        // What follows the type is the extension's own business: not read, not judged.
        return { type: 'unknown', messageType }
    }
    if (decoding.hasContent(decoder)) throw new ProtocolError('trailing bytes after message')
    return message
  } catch (error) {
    if (error instanceof ProtocolError) throw error
    // lib0 throws plain Errors ("Unexpected end of array", "Integer out of Range").
    throw new ProtocolError(`malformed frame: ${(error as Error).message}`)
  }
}
