/**
 * Connects this instance's open documents with the other instances serving them, through Redis.
 *
 *   subscribe   before a document's stored state is read, the relay subscribes to its channel
 *               (the registry's `beforeLoad`), so nothing published after the read can be missed;
 *               peer updates arriving while it loads wait here and are applied once it is ready.
 *               When it leaves memory, the relay unsubscribes.
 *   publish     what the document's policies publish (a client's update, merged per batch; a
 *               connection's awareness) goes on the document channel, tagged with this
 *               instance's id. Received, it is applied with a `peer` origin: relayed to every
 *               connection here, not stored (its instance stored it), not published again.
 *               Only while another instance is known to hold the document (`holders`): with
 *               documents placed by hash, most are held by one instance alone, and publishing
 *               theirs would cost Redis and this instance for nobody. Why nothing is missed: an
 *               instance that opens a document subscribes, loads, then offers its state vector;
 *               each holder marks it on that offer and answers with everything it has (one
 *               thread: all it applied before the offer is in the answer, all after is
 *               published). The newcomer marks the holder on its answer and sends back, with
 *               its own presence, what the holder lacks. Any document message from a peer
 *               marks it too; the periodic offers settle anything else (a late subscription).
 *   presence    another instance's awareness is held under that instance's name; when it leaves
 *               or its heartbeat lapses (peer-instances.ts), its states are removed here.
 *   reconcile   once loaded, on every reconnect to Redis and every `antiEntropyMs`, each open
 *               document's state vector goes on its channel. Each peer serving it answers on the
 *               REQUESTER'S instance channel only with what the requester lacks, its own state
 *               vector and its local presence; the requester sends back what that peer lacks,
 *               again on that peer's channel alone. A diff is never broadcast (cluster-messages.ts).
 *   view links  a reset goes on the document's channel, so that every instance closes the viewers
 *               it has through the old link (their instance is rarely the one that reset it); on
 *               every reconnect to Redis, an instance checks its viewers' links in the store.
 */
import { randomUUID } from 'node:crypto'
import * as Y from 'yjs'
import type { DocumentRegistry } from '../document/document-registry.ts'
import type { SharedDocument } from '../document/shared-document.ts'
import type { Logger } from '../ops/logger.ts'
import {
  type ClusterMessage,
  DOCUMENT_CHANNEL_PREFIX,
  decodeClusterMessage,
  documentChannel,
  encodeClusterMessage,
  encodeSender,
  INSTANCES_CHANNEL,
  isFromSender,
  instanceChannel,
  Kind,
} from './cluster-messages.ts'
import { DEFAULT_PEER_TIMING, PeerInstances, type PeerTiming } from './peer-instances.ts'
import { RecentPeerUpdates } from './recent-peer-updates.ts'
import { RedisClusterLink } from './redis-cluster-link.ts'
import { RedisLink } from './redis-link.ts'

export interface RelayOptions extends PeerTiming {
  /** How often every open document's state vector is offered for reconciliation. */
  antiEntropyMs: number
  /** Longest a document's load waits for its subscription (Redis slow or away: it loads anyway). */
  subscribeTimeoutMs: number
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = { ...DEFAULT_PEER_TIMING, antiEntropyMs: 30_000, subscribeTimeoutMs: 1000 }

/** Counts for /metrics. */
export interface RelayCounts {
  published: number
  /** Not published because Redis was away (made up for by reconciliation). */
  unpublished: number
  received: number
  /** Messages that could not be read or applied. */
  rejected: number
  /** Updates that brought something new to a document here in reconciliation. */
  reconciled: number
}

export class DocumentRelay {
  readonly instanceId: string = randomUUID()
  private readonly sender = encodeSender(this.instanceId)
  readonly counts: RelayCounts = { published: 0, unpublished: 0, received: 0, rejected: 0, reconciled: 0 }
  private readonly link: RedisLink | RedisClusterLink
  private readonly peers: PeerInstances
  /** Documents open here (from before their load until they leave memory). */
  private readonly open = new Set<string>()
  /** Per open document, the other instances known to hold it: its updates are published only then. */
  private readonly holders = new Map<string, Set<string>>()
  /** Peer updates for documents still loading, applied in order once they are ready. */
  private readonly waiting = new Map<string, { from: string; update: Uint8Array }[]>()
  private readonly unsubscribers: (() => void)[] = []
  /** Updates received from each instance lately, per document: stored here should it die. */
  private readonly recent: RecentPeerUpdates
  private antiEntropyTimer: NodeJS.Timeout | null = null
  /** This instance's view-only connections (compose.ts sets it: the sync endpoint's). */
  viewers: {
    /** Closes the viewers of `docId` that came in through `viewId`, which was reset elsewhere. */
    close(docId: string, viewId: string): void
    /** Closes the viewers whose link was reset while this instance could not hear of it. */
    recheck(): void
  } | null = null

  constructor(
    url: string,
    private readonly documents: DocumentRegistry,
    private readonly logger: Logger,
    private readonly options: RelayOptions = DEFAULT_RELAY_OPTIONS,
    /** REDIS_CLUSTER: `url` is a comma-separated list of seed nodes of a Redis Cluster (sharded pub/sub). */
    { cluster = false }: { cluster?: boolean } = {},
  ) {
    const hooks = {
      message: (channel: string, bytes: Buffer) => this.receive(channel, bytes),
      ready: () => {
        this.reconcileAll()
        this.viewers?.recheck()
        // The others dropped our people if we were away longer than their heartbeat expiry.
        this.askLocalPeopleToReannounce()
      },
      lost: () => {},
      resubscribed: (channels: string[]) => {
        // A reply meant for this instance may have been missed: every document asks again.
        if (!channels.every((channel) => channel.startsWith(DOCUMENT_CHANNEL_PREFIX))) return this.reconcileAll()
        for (const channel of channels) {
          const document = this.documents.get(channel.slice(DOCUMENT_CHANNEL_PREFIX.length))
          if (document?.isReady) this.offerStateVector(document)
        }
      },
    }
    this.link = cluster ? new RedisClusterLink(url.split(','), logger, hooks) : new RedisLink(url, logger, hooks)
    this.recent = new RecentPeerUpdates(options.expireAfterMs + options.heartbeatMs * 2)
    this.peers = new PeerInstances(options, {
      heartbeat: () => {
        this.publish(INSTANCES_CHANNEL, {
          kind: Kind.Heartbeat,
          from: this.instanceId,
          storeLagMs: this.documents.storeLagMs(performance.now()),
        })
        this.recent.prune(performance.now())
      },
      expired: (instanceId, silently) => this.instanceGone(instanceId, silently),
    })
  }

  /** Connected to Redis and subscribed; false while Redis is away (readiness says degraded). */
  get connected(): boolean {
    return this.link.connected
  }

  get peerCount(): number {
    return this.peers.alive
  }

  /** Channels subscribed to (or to be, once Redis is back). */
  get subscriptions(): ReadonlySet<string> {
    return this.link.subscriptions
  }

  start(): void {
    void this.link.subscribe(instanceChannel(this.instanceId))
    void this.link.subscribe(INSTANCES_CHANNEL)
    this.documents.beforeLoad = (docId) => this.beforeLoad(docId)
    this.documents.recentPeerUpdates = (docId) => this.recent.forDocument(docId)
    const events = this.documents.events
    this.unsubscribers.push(
      // After `loaded` the document becomes ready in the same turn.
      events.on('loaded', ({ docId }) => queueMicrotask(() => this.documentReady(docId))),
      events.on('unloaded', ({ docId }) => this.documentGone(docId)),
      events.on('update-to-publish', ({ docId, update }) => {
        if (this.holders.has(docId)) this.publish(documentChannel(docId), { kind: Kind.Update, from: this.instanceId, update })
      }),
      events.on('awareness-to-publish', ({ docId, update }) => {
        if (this.holders.has(docId)) this.publish(documentChannel(docId), { kind: Kind.Awareness, from: this.instanceId, update })
      }),
    )
    this.peers.start()
    this.antiEntropyTimer = setInterval(() => this.reconcileAll(), this.options.antiEntropyMs).unref()
  }

  private async beforeLoad(docId: string): Promise<void> {
    this.open.add(docId)
    let timer: NodeJS.Timeout | undefined
    let late = false
    await Promise.race([
      this.link.subscribe(documentChannel(docId)).then(() => {
        // Loaded without it: a peer loading at the same moment may have offered its state vector
        // before we could hear it, and missed ours too. Offer again, or neither would know the
        // other holds the document (and publish to it) until the periodic offer.
        if (!late) return
        const document = this.documents.get(docId)
        if (document?.isReady) this.offerStateVector(document)
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          late = true
          resolve()
        }, this.options.subscribeTimeoutMs)
      }),
    ])
    clearTimeout(timer)
  }

  /** `from` holds `docId`: our updates and presence go to it from now on. */
  private heldBy(docId: string, from: string): void {
    if (!this.open.has(docId)) return
    let holders = this.holders.get(docId)
    if (!holders) this.holders.set(docId, (holders = new Set()))
    holders.add(from)
  }

  private documentReady(docId: string): void {
    const document = this.documents.get(docId)
    if (!document?.isReady) return
    const waiting = this.waiting.get(docId)
    this.waiting.delete(docId)
    for (const { from, update } of waiting ?? []) this.applyPeerUpdate(document, from, update)
    this.offerStateVector(document)
  }

  private documentGone(docId: string): void {
    // A new load of the same document may have started already; it keeps the subscription.
    if (this.documents.get(docId)) return
    this.open.delete(docId)
    this.holders.delete(docId)
    this.waiting.delete(docId)
    this.link.unsubscribe(documentChannel(docId))
  }

  /** Offers every open document's state vector (after a reconnect, and on the slow timer). */
  private reconcileAll(): void {
    for (const docId of this.open) {
      const document = this.documents.get(docId)
      if (document?.isReady) this.offerStateVector(document)
    }
  }

  /**
   * Another instance left or fell silent: its people go. If it fell silent (killed, cut off), it
   * may have published updates it never stored: each instance holding them stores them again.
   */
  private instanceGone(instanceId: string, silently: boolean): void {
    this.logger.info('instance gone; removing its presence', { instance: instanceId, silently })
    const recent = this.recent.take(instanceId)
    for (const docId of this.open) {
      const document = this.documents.get(docId)
      if (!document) continue
      document.peers.removeAwareness(instanceId)
      const updates = silently ? recent.get(docId) : undefined
      if (updates && updates.length > 0) document.peers.storeOnBehalf(updates)
    }
  }

  /** A view link of `docId` was reset here: the other instances close their viewers through it. */
  viewLinkReset(docId: string, viewId: string): void {
    this.publish(documentChannel(docId), { kind: Kind.ViewLinkReset, from: this.instanceId, viewId })
  }

  private askLocalPeopleToReannounce(): void {
    for (const docId of this.open) this.documents.get(docId)?.peers.askLocalPeopleToReannounce()
  }

  private offerStateVector(document: SharedDocument): void {
    const stateVector = Y.encodeStateVector(document.ydoc)
    this.publish(documentChannel(document.id), { kind: Kind.StateVector, from: this.instanceId, stateVector })
  }

  private publish(channel: string, message: ClusterMessage): void {
    if (this.link.publish(channel, encodeClusterMessage(message))) this.counts.published++
    else this.counts.unpublished++
  }

  private receive(channel: string, bytes: Buffer): void {
    if (isFromSender(bytes, this.sender)) return
    let message: ClusterMessage
    try {
      message = decodeClusterMessage(bytes)
    } catch (error) {
      this.reject('unreadable cluster message', channel, error)
      return
    }
    if (message.from === this.instanceId) return
    this.counts.received++
    if (message.kind === Kind.Leaving) {
      for (const holders of this.holders.values()) holders.delete(message.from)
      this.peers.left(message.from)
      return
    }
    if (message.kind === Kind.Heartbeat) this.recent.reportedLag(message.from, message.storeLagMs)
    // An instance that is new, or back after its heartbeat lapsed, dropped our people or never
    // had them: our clients announce themselves again (one frame each, answered in a round trip).
    if (this.peers.heard(message.from)) this.askLocalPeopleToReannounce()
    if (channel.startsWith(DOCUMENT_CHANNEL_PREFIX)) {
      this.receiveForDocument(channel.slice(DOCUMENT_CHANNEL_PREFIX.length), message)
      return
    }
    if (message.kind === Kind.Reply || message.kind === Kind.CatchUp) this.receiveReply(message)
  }

  /** Tells the other instances serving `docId` that its access changed (they read it from the store). */
  publishAccessChanged(docId: string): void {
    this.publish(documentChannel(docId), { kind: Kind.AccessChanged, from: this.instanceId })
  }

  /** Called when another instance changed a document's access; set by compose.ts with sign-in on. */
  onAccessChanged: ((docId: string) => void) | null = null

  private receiveForDocument(docId: string, message: ClusterMessage): void {
    const document = this.documents.get(docId)
    if (!document) return
    // Its sender holds the document (a view link reset or an access change may come from an
    // instance that does not).
    if (message.kind === Kind.Update || message.kind === Kind.Awareness || message.kind === Kind.StateVector) {
      this.heldBy(docId, message.from)
    }
    switch (message.kind) {
      case Kind.AccessChanged:
        this.onAccessChanged?.(docId)
        break
      case Kind.Update:
        this.applyPeerUpdate(document, message.from, message.update)
        break
      case Kind.Awareness:
        this.applyPeerAwareness(document, message.from, message.update)
        break
      case Kind.StateVector:
        // Still loading: our own offer, once loaded, settles it both ways.
        if (document.isReady) this.answer(document, message.from, message.stateVector)
        break
      case Kind.ViewLinkReset:
        this.viewers?.close(docId, message.viewId)
        break
    }
  }

  /** What the requester lacks, on its own channel only (never on the document's: hocuspocus#1151). */
  private answer(document: SharedDocument, requester: string, theirStateVector: Uint8Array): void {
    let update: Uint8Array
    try {
      update = Y.encodeStateAsUpdate(document.ydoc, theirStateVector)
    } catch (error) {
      this.reject('unreadable state vector', document.id, error)
      return
    }
    this.publish(instanceChannel(requester), {
      kind: Kind.Reply,
      from: this.instanceId,
      docId: document.id,
      update,
      stateVector: Y.encodeStateVector(document.ydoc),
      awareness: document.peers.encodeLocalAwareness() ?? new Uint8Array(),
    })
  }

  private receiveReply(message: Extract<ClusterMessage, { docId: string }>): void {
    const document = this.documents.get(message.docId)
    if (!document) return
    this.heldBy(document.id, message.from)
    const before = Y.encodeStateVector(document.ydoc)
    this.applyPeerUpdate(document, message.from, message.update)
    if (!document.isReady) return
    if (!sameBytes(before, Y.encodeStateVector(document.ydoc))) this.counts.reconciled++
    if (message.kind !== Kind.Reply) return
    if (message.awareness.byteLength > 0) this.applyPeerAwareness(document, message.from, message.awareness)
    // What the peer lacks of ours (edits made here while Redis was away from one of us). Sent
    // even when our state vector is not ahead: a deletion moves no state vector, and only the
    // delete set that comes with every diff carries it.
    this.publish(instanceChannel(message.from), {
      kind: Kind.CatchUp,
      from: this.instanceId,
      docId: document.id,
      update: Y.encodeStateAsUpdate(document.ydoc, message.stateVector),
    })
    // Our presence, which the peer may never have had: until its Reply we did not know it held
    // the document, and published it to no one. (The Reply carried the peer's.)
    const awareness = document.peers.encodeLocalAwareness()
    if (awareness) this.publish(documentChannel(document.id), { kind: Kind.Awareness, from: this.instanceId, update: awareness })
  }

  private applyPeerUpdate(document: SharedDocument, from: string, update: Uint8Array): void {
    try {
      if (document.applyUpdate(update, { kind: 'peer', instanceId: from })) {
        this.recent.add(from, document.id, update, performance.now())
        return
      }
    } catch (error) {
      this.reject('peer update refused', document.id, error)
      return
    }
    // Loading (or reloading after a quarantine): applied once ready, or dropped with the document.
    let waiting = this.waiting.get(document.id)
    if (!waiting) this.waiting.set(document.id, (waiting = []))
    waiting.push({ from, update })
  }

  private applyPeerAwareness(document: SharedDocument, from: string, update: Uint8Array): void {
    try {
      document.peers.applyAwareness(update, from)
    } catch (error) {
      this.reject('peer awareness refused', document.id, error)
    }
  }

  private reject(what: string, where: string, error: unknown): void {
    this.counts.rejected++
    this.logger.warn(what, { where, error: (error as Error).message })
  }

  /** Says goodbye (peers drop this instance's presence at once), then closes the connections. */
  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe()
    if (this.documents.beforeLoad) this.documents.beforeLoad = null
    this.documents.recentPeerUpdates = null
    if (this.antiEntropyTimer) clearInterval(this.antiEntropyTimer)
    this.peers.stop()
    this.publish(INSTANCES_CHANNEL, { kind: Kind.Leaving, from: this.instanceId })
    await this.link.close()
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i])
}
