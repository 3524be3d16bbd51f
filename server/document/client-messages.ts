/**
 * What a connection's messages mean for a document: y-protocols' sync steps and updates, awareness
 * (carets, names, presence), and Chorus's question "what is saved?". Also what a connection is
 * greeted with, told (notices) or closed with, what it sends while the document loads, and its
 * presence removed when it leaves. Updates are checked here, then handed to
 * the intake (update-intake.ts) as a client's; what happens to them is their origin's policy.
 */
import * as Y from 'yjs'
import {
  CloseCode,
  decodeClientMessage,
  encodeAwarenessFrame,
  encodeNotice,
  encodeSavedState,
  encodeSyncStep1,
  encodeSyncStep2,
  ProtocolError,
} from '../../lib/protocol.ts'
import { encodeStateForClients } from './client-state.ts'
import {
  AwarenessRegistry,
  decodeAwarenessUpdate,
  encodeAwarenessUpdate,
  markViewing,
  withUserFields,
} from './awareness-registry.ts'
import { SharedMessage } from './shared-message.ts'
import type { DocumentConnection } from './document-connection.ts'
import { DOCUMENT_UNAVAILABLE_NOTICE, documentTooLargeNotice, formatBytes, STORAGE_FAILING_NOTICE } from './notices.ts'
import type { StorageHealth } from '../storage/document-store.ts'
import type { Logger } from '../ops/logger.ts'
import { assertWellFormedUpdate } from './update-check.ts'
import type { UpdateIntake } from './update-intake.ts'

export interface ClientMessagesHooks {
  /** The document's stored size and what is on its way there (for the size cap). */
  approximateBytes(): number
  /** Answers "what is saved?" now, or once it is known. */
  tellSavedState(connection: DocumentConnection): void
  /** A connection's awareness changed something: for the other instances. */
  publishAwareness(update: Uint8Array): void
}

/** A connection here, or another instance (`instance:<id>`) for the states it relayed to us. */
export type AwarenessOwner = DocumentConnection | `instance:${string}`

export interface ClientMessagesOptions {
  /** Most messages a connection may send while the document loads. */
  maxQueuedMessages: number
  /** Stored size past which updates are refused. */
  maxDocumentBytes: number
}

export class ClientMessages {
  readonly awareness = new AwarenessRegistry<AwarenessOwner>()
  /** Messages that arrived while the document loaded, per connection, in arrival order. */
  private readonly held = new Map<DocumentConnection, Uint8Array[]>()
  /** Writes dropped from read-only connections, over the document's time in memory. */
  droppedWrites = 0
  /**
   * Frames encoded once per state of the document rather than once per connection: the sync
   * step 1 every connection is greeted with, and the whole document as a step 2 for a client that
   * has nothing yet (every new browser tab; everyone at once after a restart).
   */
  private greetingFrame: SharedMessage | null = null
  private wholeDocumentFrame: SharedMessage | null = null

  constructor(
    private readonly ydoc: Y.Doc,
    /** The document's connections: everyone a broadcast reaches. */
    private readonly connections: ReadonlySet<DocumentConnection>,
    private readonly intake: UpdateIntake<DocumentConnection>,
    private readonly options: ClientMessagesOptions,
    private readonly logger: Logger,
    private readonly hooks: ClientMessagesHooks,
  ) {}

  /** Sends the same bytes to every connection except `except`, framed for the wire once. */
  broadcast(frame: Uint8Array, except: DocumentConnection | null): void {
    const message = new SharedMessage(frame)
    for (const connection of this.connections) {
      if (connection !== except) connection.sendShared(message)
    }
  }

  /** Tells contributors still here that `stateVector` is durable ("Saved"). */
  confirmSaved(contributors: ReadonlySet<DocumentConnection>, stateVector: Uint8Array): void {
    const frame = encodeSavedState(stateVector)
    for (const connection of contributors) {
      if (this.connections.has(connection)) connection.send(frame)
    }
  }

  /** The document changed: frames encoded from its old state are stale. */
  forgetEncodedFrames(): void {
    this.greetingFrame = null
    this.wholeDocumentFrame = null
  }

  /** Keeps a message until the document is loaded; a connection that sends too many is closed. */
  hold(connection: DocumentConnection, frame: Uint8Array): void {
    let queued = this.held.get(connection)
    if (!queued) this.held.set(connection, (queued = []))
    if (queued.length >= this.options.maxQueuedMessages) {
      connection.close(CloseCode.MalformedMessage, 'too many messages before the document loaded')
      return
    }
    queued.push(frame)
  }

  /** The document is loaded: handles the held messages in order, for connections still here. */
  handleHeld(isConnected: (connection: DocumentConnection) => boolean): void {
    for (const [connection, frames] of this.held) {
      for (const frame of frames) {
        if (!isConnected(connection)) break
        this.handle(connection, frame)
      }
    }
    this.held.clear()
  }

  /**
   * After a failed load. Damaged data is never served, not even as an empty document a client
   * would then fill and write over it: a notice and a final close. Anything else (storage busy
   * recovering) is worth a reconnect.
   */
  turnAway(connections: Iterable<DocumentConnection>, damaged: boolean): void {
    const notice = damaged ? encodeNotice(DOCUMENT_UNAVAILABLE_NOTICE) : null
    for (const connection of connections) {
      if (notice === null) {
        connection.close(CloseCode.InternalError, 'document could not be loaded')
        continue
      }
      if (connection.wantsExtensions) connection.send(notice)
      connection.close(CloseCode.DocumentUnavailable, 'document data is damaged; ask the administrator to repair it')
    }
  }

  /** Tells editors that storage fails, or withdraws that once it works again. */
  tellStorageHealth(connections: Iterable<DocumentConnection>, health: StorageHealth): void {
    const notice = encodeNotice(health === 'failing' ? STORAGE_FAILING_NOTICE : { ...STORAGE_FAILING_NOTICE, message: '' })
    for (const connection of connections) {
      if (connection.wantsExtensions && !connection.readOnly) connection.send(notice)
    }
  }

  /** Removes what the connection announced, for everyone at once (no ghost carets). */
  leave(connection: DocumentConnection): void {
    this.held.delete(connection)
    const removal = this.removeOwnedBy(connection)
    if (removal) this.hooks.publishAwareness(removal)
  }

  /** Removes every state `owner` announced, for everyone here; returns the removal sent, if any. */
  removeOwnedBy(owner: AwarenessOwner): Uint8Array | null {
    const removal = this.awareness.removeOwnedBy(owner)
    if (removal) this.broadcast(encodeAwarenessFrame(removal), null)
    return removal
  }

  /**
   * Tells each connection here that its own states were removed, which a y-protocols client
   * answers by announcing them again one clock higher. For instances that dropped our people
   * while they could not hear us: they hold the removal at the same clock, and would ignore a
   * mere repeat of the state until the client's next renewal (up to 15 s later).
   */
  askToReannounce(): void {
    for (const [owner, entries] of this.awareness.liveByOwner()) {
      if (typeof owner === 'string') continue
      const removals = entries.map(({ clientId, clock }) => ({ clientId, clock, json: 'null' }))
      owner.send(encodeAwarenessFrame(encodeAwarenessUpdate(removals)))
    }
  }

  /** Another instance's awareness update: relayed here as is when it changed something, never published again. */
  applyPeerAwareness(update: Uint8Array, owner: AwarenessOwner): void {
    if (this.awareness.apply(decodeAwarenessUpdate(update), owner)) {
      this.broadcast(encodeAwarenessFrame(update), null)
    }
  }

  /** What a new connection gets: our state vector (so it sends what we lack) and who is here. */
  greet(connection: DocumentConnection): void {
    this.intake.applyWaiting()
    // A read-only connection has nothing we could accept, so we do not ask it for anything.
    if (!connection.readOnly) {
      connection.sendShared((this.greetingFrame ??= new SharedMessage(encodeSyncStep1(Y.encodeStateVector(this.ydoc)))))
    }
    const everyone = this.awareness.encodeAll()
    if (everyone) connection.send(encodeAwarenessFrame(everyone))
  }

  handle(connection: DocumentConnection, frame: Uint8Array): void {
    try {
      const message = decodeClientMessage(frame)
      // Whatever is not an update sees the document, and reaches the others, after the updates
      // received before it (a caret must not arrive ahead of the text it points into).
      if (message.type !== 'sync-update' && message.type !== 'sync-step2') this.intake.applyWaiting()
      switch (message.type) {
        case 'sync-step1':
          if (isEmptyStateVector(message.stateVector)) {
            connection.sendShared(
              (this.wholeDocumentFrame ??= new SharedMessage(encodeSyncStep2(encodeStateForClients(this.ydoc)))),
            )
          } else {
            connection.send(encodeSyncStep2(encodeStateForClients(this.ydoc, message.stateVector)))
          }
          if (connection.wantsExtensions && !connection.readOnly) this.hooks.tellSavedState(connection)
          break
        case 'sync-step2':
        case 'sync-update':
          if (connection.readOnly) {
            this.dropWrite(connection)
            break
          }
          this.receiveUpdate(connection, message.update, message.type === 'sync-update' ? frame : null)
          break
        case 'awareness': {
          let entries = decodeAwarenessUpdate(message.update)
          // A viewer is shown as viewing whatever its client says, so it cannot pass as an editor.
          if (connection.readOnly) entries = entries.map(markViewing)
          // Signed in or named by a token, people are shown by that name, whatever their client says.
          const shownAs = connection.shownAs
          if (shownAs) entries = entries.map((entry) => withUserFields(entry, shownAs))
          const rewritten = connection.readOnly || shownAs !== undefined
          const removals = this.awareness.removalsToReannounce(entries)
          if (this.awareness.apply(entries, connection)) {
            const update = rewritten ? encodeAwarenessUpdate(entries) : message.update
            // Echoed to the sender too: a stock y-websocket client drops a connection on which
            // nothing arrived for 30 s, and its own awareness renewals are what keep it alive.
            this.broadcast(rewritten ? encodeAwarenessFrame(update) : frame, null)
            this.hooks.publishAwareness(update)
          }
          if (removals.length > 0) connection.send(encodeAwarenessFrame(encodeAwarenessUpdate(removals)))
          break
        }
        case 'query-awareness': {
          const everyone = this.awareness.encodeAll()
          if (everyone) connection.send(encodeAwarenessFrame(everyone))
          break
        }
        case 'auth':
          break
        case 'unknown':
          connection.ignore('unknown-message-type')
          break
      }
    } catch (error) {
      const reason = error instanceof ProtocolError ? error.message : `invalid message: ${(error as Error).message}`
      this.logger.warn('closing connection after a bad message', { conn: connection.id, reason })
      connection.close(CloseCode.MalformedMessage, reason)
    }
  }

  /**
   * Takes a client's update: checked now (a malformed one closes its connection and changes
   * nothing), then applied, relayed and stored by the intake (update-intake.ts) once the current socket read
   * has been handled. `frame`, when given, is the update message exactly as received; it is
   * relayed as is, never re-encoded.
   */
  private receiveUpdate(from: DocumentConnection, update: Uint8Array, frame: Uint8Array | null): void {
    // Some clients send an empty step 2 when they have nothing; y-websocket's server shrugs.
    if (update.byteLength === 0) {
      from.ignore('empty-update')
      return
    }
    // Checks every struct and the delete set without touching the document; a malformed update
    // fails here, before it can change anything.
    assertWellFormedUpdate(update)
    if (this.hooks.approximateBytes() + update.byteLength > this.options.maxDocumentBytes) {
      this.refuseGrowth(from, update.byteLength)
      return
    }
    this.intake.enqueue({ kind: 'client', connection: from }, update, frame)
  }

  private dropWrite(connection: DocumentConnection): void {
    this.droppedWrites++
    if (connection.droppedWrites++ === 0) {
      this.logger.warn('dropping writes from a read-only connection', { conn: connection.id })
    }
  }

  /**
   * Refuses a change that would take the document past its size cap, and closes its sender:
   * every later change of that client builds on the refused one, so nobody else could ever see
   * those either, and a client left connected would believe it is in sync. The close is final,
   * so the page stops sending the change again; a Chorus page is told why first.
   */
  private refuseGrowth(connection: DocumentConnection, updateBytes: number): void {
    const limit = this.options.maxDocumentBytes
    this.logger.warn('refusing a change past the document size cap', {
      conn: connection.id,
      bytes: this.hooks.approximateBytes(),
      updateBytes,
      limit,
    })
    if (connection.wantsExtensions) connection.send(encodeNotice(documentTooLargeNotice(updateBytes, limit)))
    connection.close(CloseCode.ChangeTooLarge, `change too large: the document may be at most ${formatBytes(limit)}`)
  }
}

/** A state vector with no clients: the client has nothing of the document yet. */
function isEmptyStateVector(stateVector: Uint8Array): boolean {
  return stateVector.length === 1 && stateVector[0] === 0
}
