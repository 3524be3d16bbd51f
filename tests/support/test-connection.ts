/**
 * A connection as the document sees it (DocumentConnection), with no socket: it records what the
 * document sends and how it closes it, and decodes those frames for assertions.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { decodeNoticePayload, MessageType, SyncMessageType, type Notice } from '../../lib/protocol.ts'
import type { DocumentConnection } from '../../server/document/document-connection.ts'
import type { IgnoredKind } from '../../server/document/document-connection.ts'
import type { SharedMessage } from '../../server/document/shared-message.ts'

let nextId = 1

export type Received =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2' | 'sync-update'; update: Uint8Array }
  | { type: 'saved-state'; stateVector: Map<number, number> }
  | { type: 'notice'; notice: Notice }
  | { type: 'other'; messageType: number }

export class TestConnection implements DocumentConnection {
  readonly id = `t${nextId++}`
  readonly readOnly: boolean
  readonly viewId: string | null
  readonly wantsExtensions: boolean
  droppedWrites = 0
  readonly frames: Uint8Array[] = []
  readonly ignored: IgnoredKind[] = []
  closedWith: { code: number; reason: string } | null = null

  constructor(options: { readOnly?: boolean; wantsExtensions?: boolean; viewId?: string } = {}) {
    this.readOnly = options.readOnly ?? false
    this.wantsExtensions = options.wantsExtensions ?? true
    this.viewId = options.viewId ?? null
  }

  send(frame: Uint8Array): void {
    // A closed socket sends nothing, as the transport's Connection.
    if (!this.closedWith) this.frames.push(frame)
  }

  sendShared(message: SharedMessage): void {
    this.send(message.payload)
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason }
  }

  ignore(kind: IgnoredKind): void {
    this.ignored.push(kind)
  }

  get received(): Received[] {
    return this.frames.map(decodeFrame)
  }

  /** Every SavedState received, in order. */
  get savedStates(): Map<number, number>[] {
    return this.received.flatMap((message) => (message.type === 'saved-state' ? [message.stateVector] : []))
  }

  get notices(): Notice[] {
    return this.received.flatMap((message) => (message.type === 'notice' ? [message.notice] : []))
  }

  /** The document updates relayed to this connection (updates and step 2s). */
  get updates(): Uint8Array[] {
    return this.received.flatMap((message) =>
      message.type === 'sync-update' || message.type === 'sync-step2' ? [message.update] : [],
    )
  }

  /** The updates relayed to this connection (not the step 2 answering its own step 1). */
  get relayed(): Uint8Array[] {
    return this.received.flatMap((message) => (message.type === 'sync-update' ? [message.update] : []))
  }

  /** The highest clock of `clientId` any SavedState confirmed. */
  savedClockOf(clientId: number): number {
    return Math.max(0, ...this.savedStates.map((stateVector) => stateVector.get(clientId) ?? 0))
  }
}

function decodeFrame(frame: Uint8Array): Received {
  const decoder = decoding.createDecoder(frame)
  const messageType = decoding.readVarUint(decoder)
  switch (messageType) {
    case MessageType.Sync: {
      const syncType = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (syncType === SyncMessageType.Step1) return { type: 'sync-step1', stateVector: payload }
      return { type: syncType === SyncMessageType.Step2 ? 'sync-step2' : 'sync-update', update: payload }
    }
    case MessageType.SavedState:
      return { type: 'saved-state', stateVector: Y.decodeStateVector(decoding.readVarUint8Array(decoder)) }
    case MessageType.Notice:
      return { type: 'notice', notice: decodeNoticePayload(decoder) }
    default:
      return { type: 'other', messageType }
  }
}
