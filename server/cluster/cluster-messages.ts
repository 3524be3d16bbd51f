/**
 * What instances say to each other through Redis, and on which channel.
 *
 *   chorus:doc:<docId>            everything about one document that every instance serving it
 *                                 needs: updates, awareness, "here is my state vector", and
 *                                 "this view link was reset"
 *                                 "its access changed" (sign-in: look at your sockets again)
 *   chorus:instance:<instanceId>  replies meant for that instance alone (what it lacks)
 *   chorus:instances              heartbeats and goodbyes, so that a dead instance's presence expires
 *
 * Each message is binary (lib0 encoding): a varUint kind, the sender's instance id as a varString
 * (a receiver ignores its own), then the kind's fields. A reply computed for one instance never
 * goes on a document channel: a diff against a stale peer's state vector, applied by everyone,
 * is how Hocuspocus's Redis extension came to truncate documents (ueberdosis/hocuspocus#1151).
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export const DOCUMENT_CHANNEL_PREFIX = 'chorus:doc:'
export const INSTANCE_CHANNEL_PREFIX = 'chorus:instance:'
export const INSTANCES_CHANNEL = 'chorus:instances'

export const documentChannel = (docId: string): string => DOCUMENT_CHANNEL_PREFIX + docId
export const instanceChannel = (instanceId: string): string => INSTANCE_CHANNEL_PREFIX + instanceId

export const Kind = {
  /** doc channel: a batch of updates applied by the sender (a client's, a server-side edit). */
  Update: 1,
  /** doc channel: an awareness update from one of the sender's connections. */
  Awareness: 2,
  /** doc channel: the sender's state vector; whoever has more answers on the sender's instance channel. */
  StateVector: 3,
  /** instance channel: what the receiver lacks of `docId`, the sender's state vector, its local presence. */
  Reply: 4,
  /** instance channel: what the sender of a Reply lacked (answer to a Reply; not answered again). */
  CatchUp: 5,
  /** instances channel: still alive, and how long its oldest update not yet stored has waited. */
  Heartbeat: 6,
  /** instances channel: stopping now; drop my presence without waiting for the heartbeat to lapse. */
  Leaving: 7,
  /** doc channel: this view id was reset; whoever has viewers through it closes them. */
  ViewLinkReset: 8,
  /**
   * doc channel: the document's owner changed who has access (stored in the shared database):
   * every instance reads it again and closes or lowers its own sockets at once.
   */
  AccessChanged: 9,
} as const
export type Kind = (typeof Kind)[keyof typeof Kind]

export type ClusterMessage =
  | { kind: typeof Kind.Update | typeof Kind.Awareness; from: string; update: Uint8Array }
  | { kind: typeof Kind.StateVector; from: string; stateVector: Uint8Array }
  | {
      kind: typeof Kind.Reply
      from: string
      docId: string
      update: Uint8Array
      stateVector: Uint8Array
      awareness: Uint8Array
    }
  | { kind: typeof Kind.CatchUp; from: string; docId: string; update: Uint8Array }
  | { kind: typeof Kind.Heartbeat; from: string; storeLagMs: number }
  | { kind: typeof Kind.Leaving; from: string }
  | { kind: typeof Kind.ViewLinkReset; from: string; viewId: string }
  | { kind: typeof Kind.AccessChanged; from: string }

export function encodeClusterMessage(message: ClusterMessage): Buffer {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, message.kind)
  encoding.writeVarString(encoder, message.from)
  switch (message.kind) {
    case Kind.Update:
    case Kind.Awareness:
      encoding.writeVarUint8Array(encoder, message.update)
      break
    case Kind.StateVector:
      encoding.writeVarUint8Array(encoder, message.stateVector)
      break
    case Kind.Reply:
      encoding.writeVarString(encoder, message.docId)
      encoding.writeVarUint8Array(encoder, message.update)
      encoding.writeVarUint8Array(encoder, message.stateVector)
      encoding.writeVarUint8Array(encoder, message.awareness)
      break
    case Kind.CatchUp:
      encoding.writeVarString(encoder, message.docId)
      encoding.writeVarUint8Array(encoder, message.update)
      break
    case Kind.Heartbeat:
      encoding.writeVarUint(encoder, Math.max(0, Math.round(message.storeLagMs)))
      break
    case Kind.ViewLinkReset:
      encoding.writeVarString(encoder, message.viewId)
      break
  }
  const bytes = encoding.toUint8Array(encoder)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * The bytes that follow the kind in every message `instanceId` sends. Every instance hears its own
 * document messages back (it subscribes to the channels it publishes on); comparing these bytes
 * drops them without decoding, copying or allocating.
 */
export function encodeSender(instanceId: string): Buffer {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, instanceId)
  return Buffer.from(encoding.toUint8Array(encoder))
}

/** Whether `bytes` was sent by the instance whose `encodeSender` is `sender` (kinds fit one byte). */
export function isFromSender(bytes: Buffer, sender: Buffer): boolean {
  return (
    bytes.byteLength >= 1 + sender.byteLength &&
    bytes[0]! < 0x80 &&
    bytes.compare(sender, 0, sender.byteLength, 1, 1 + sender.byteLength) === 0
  )
}

/** Throws on a message it cannot read (another version's, or garbage); the caller drops it. */
export function decodeClusterMessage(bytes: Uint8Array): ClusterMessage {
  const decoder = decoding.createDecoder(bytes)
  const kind = decoding.readVarUint(decoder)
  const from = decoding.readVarString(decoder)
  switch (kind) {
    case Kind.Update:
    case Kind.Awareness:
      return { kind, from, update: decoding.readVarUint8Array(decoder) }
    case Kind.StateVector:
      return { kind, from, stateVector: decoding.readVarUint8Array(decoder) }
    case Kind.Reply:
      return {
        kind,
        from,
        docId: decoding.readVarString(decoder),
        update: decoding.readVarUint8Array(decoder),
        stateVector: decoding.readVarUint8Array(decoder),
        awareness: decoding.readVarUint8Array(decoder),
      }
    case Kind.CatchUp:
      return { kind, from, docId: decoding.readVarString(decoder), update: decoding.readVarUint8Array(decoder) }
    case Kind.Heartbeat:
      // An instance of an earlier version sends no lag: taken as storing at once.
      return { kind, from, storeLagMs: decoding.hasContent(decoder) ? decoding.readVarUint(decoder) : 0 }
    case Kind.Leaving:
    case Kind.AccessChanged:
      return { kind, from }
    case Kind.ViewLinkReset:
      return { kind, from, viewId: decoding.readVarString(decoder) }
    default:
      throw new Error(`unknown cluster message kind ${kind}`)
  }
}
