/**
 * The same link as redis-link.ts, to a Redis Cluster (REDIS_CLUSTER=true), with sharded pub/sub
 * (Redis 7: SSUBSCRIBE / SPUBLISH): a channel lives on the master that owns its slot, so each
 * document's traffic stays on one shard instead of being broadcast over the whole cluster bus,
 * as a plain PUBLISH in a cluster is. Every channel is sharded, the heartbeat channel too: it is
 * one small message per instance per second, and one way of subscribing keeps one rule for
 * readiness.
 *
 * Publishing goes through an ioredis `Cluster` (it routes SPUBLISH by slot and keeps the slot
 * map). Subscribing does not use ioredis's own sharded subscribers: they resubscribe after a
 * reconnect or a slot move without saying when it is done, and the relay reconciles only once
 * it is subscribed to every channel ("ready"). So this link keeps one subscriber connection per
 * master, knows on which master each channel's SSUBSCRIBE was confirmed, and reports `ready` only
 * when every channel is confirmed on the master that owns its slot now. Then:
 *   - a master's subscriber connection drops: its channels are unconfirmed, the link is lost
 *     (readiness degraded) until that master is back and they are subscribed again;
 *   - a slot moves (resharding, failover to a replica; seen on the Cluster's periodic slot
 *     refresh): the channel is subscribed on its new owner, and the link goes lost then ready,
 *     so that the relay reconciles what was published meanwhile;
 *   - a publish refused by the cluster (its shard down, the cluster failing): its channel is
 *     unconfirmed too, so that it is reconciled once subscribed again.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { Logger } from '../ops/logger.ts'
import type { RedisLinkHooks } from './redis-link.ts'

/** How often the slot map is read again, to notice slots that moved. */
const SLOTS_REFRESH_MS = 2000
/** A subscribe refused (CLUSTERDOWN while a master comes back, MOVED) is tried again this soon. */
const RETRY_MS = 200

export class RedisClusterLink {
  private readonly cluster: Cluster
  private readonly connectionOptions: RedisOptions
  /** One subscriber connection per master ("host:port" as the cluster names it). */
  private readonly subscribers = new Map<string, Redis>()
  private readonly channels = new Set<string>()
  /** Channel → the master its SSUBSCRIBE was confirmed on (until that connection drops). */
  private readonly placed = new Map<string, string>()
  private subscribed = false
  private wasConnected = false
  private closed = false
  private syncing: Promise<void> | null = null
  private syncAgain = false
  /** Channels that lost their confirmed subscription after the link had been ready once. */
  private readonly hadGap = new Set<string>()
  private retryTimer: NodeJS.Timeout | null = null

  constructor(
    seedUrls: string[],
    private readonly logger: Logger,
    private readonly hooks: RedisLinkHooks,
  ) {
    this.connectionOptions = connectionOptionsFrom(seedUrls[0]!)
    this.cluster = new Cluster(
      seedUrls.map((url) => {
        const parsed = new URL(url)
        return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }
      }),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
        slotsRefreshInterval: SLOTS_REFRESH_MS,
        // Its ready check wants cluster_state:ok, which a master down with full coverage required
        // (Redis's default) takes away from every master: yet the others still serve sharded
        // pub/sub for their slots (cluster-allow-pubsubshard-when-down), and their documents
        // should keep being relayed.
        enableReadyCheck: false,
        redisOptions: {
          ...this.connectionOptions,
          maxRetriesPerRequest: 0,
          connectTimeout: 2000,
          connectionName: 'chorus-publish',
        },
      },
    )
    this.cluster.on('ready', () => void this.resync())
    this.cluster.on('refresh', () => void this.resync())
    for (const event of ['close', 'end', 'reconnecting']) this.cluster.on(event, () => this.maybeLost())
    // Reported once per outage by maybeLost; ioredis retries by itself.
    this.cluster.on('error', () => {})
    this.cluster.on('node error', () => {})
  }

  get connected(): boolean {
    return !this.closed && this.subscribed && this.allPlaced()
  }

  /** Where `channel` lives now ("host:port" of its slot's master), or undefined (slot unassigned). */
  private ownerOf(channel: string): string | undefined {
    return this.cluster.slots[keySlot(channel)]?.[0]
  }

  private allPlaced(): boolean {
    if (this.cluster.status !== 'ready') return false
    for (const channel of this.channels) {
      const owner = this.ownerOf(channel)
      if (owner === undefined || this.placed.get(channel) !== owner) return false
      if (this.subscribers.get(owner)?.status !== 'ready') return false
    }
    return true
  }

  private subscriberFor(node: string): Redis {
    let subscriber = this.subscribers.get(node)
    if (subscriber) return subscriber
    const colon = node.lastIndexOf(':')
    subscriber = new Redis({
      ...this.connectionOptions,
      host: node.slice(0, colon),
      port: Number(node.slice(colon + 1)),
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
      connectTimeout: 2000,
      connectionName: 'chorus-subscribe',
    })
    subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.hooks.message(channel.toString(), message))
    subscriber.on('ready', () => void this.resync())
    subscriber.on('close', () => {
      for (const [channel, at] of this.placed) {
        if (at !== node) continue
        this.placed.delete(channel)
        if (this.wasConnected) this.hadGap.add(channel)
      }
      this.maybeLost()
    })
    subscriber.on('error', (error: Error) => {
      // A master that stops serving a slot (moved, or it lost it) unsubscribes its clients with
      // a SUNSUBSCRIBE push, which ioredis 5 takes for the reply to a command of ours: from then
      // on it can pair replies with the wrong commands and drop messages. Such a connection is
      // not trusted: it reconnects, and its channels are subscribed again where they live now
      // (the link is lost meanwhile, so the relay reconciles).
      if (!error.message.startsWith('Command queue state error')) return
      this.logger.warn('redis cluster master unsubscribed us (slot moved?); resubscribing', { node })
      subscriber.disconnect(true)
    })
    this.subscribers.set(node, subscriber)
    return subscriber
  }

  /** Runs one pass at a time; a pass asked for meanwhile runs after it (and its caller waits for it). */
  private resync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true
      return this.syncing
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false
        await this.syncOnce()
      } while (this.syncAgain && !this.closed)
    })().finally(() => {
      this.syncing = null
    })
    return this.syncing
  }

  private async syncOnce(): Promise<void> {
    if (this.closed || this.cluster.status !== 'ready') return
    const toSubscribe = new Map<string, string[]>()
    let moved = false
    for (const channel of this.channels) {
      const owner = this.ownerOf(channel)
      if (owner === undefined) continue
      const at = this.placed.get(channel)
      if (at === owner) continue
      if (at !== undefined) {
        moved = true
        this.placed.delete(channel)
        this.subscribers
          .get(at)
          ?.sunsubscribe(channel)
          .catch(() => {})
      }
      toSubscribe.set(owner, [...(toSubscribe.get(owner) ?? []), channel])
    }
    if (moved && this.subscribed) {
      this.subscribed = false
      this.logger.warn('redis cluster slots moved; subscribing on their new masters, then reconciling')
      this.hooks.lost()
    }
    let refused = false
    const regained: string[] = []
    await Promise.all(
      [...toSubscribe].map(async ([node, channels]) => {
        const subscriber = this.subscriberFor(node)
        // A master's first channel opens its connection: a document's load waits for it too.
        // Not connected in time: its 'ready' runs this again.
        if (subscriber.status !== 'ready' && !(await whenReady(subscriber))) return
        await Promise.all(
          channels.map(async (channel) => {
            try {
              await subscriber.ssubscribe(channel)
            } catch {
              refused = true
              return
            }
            if (!this.channels.has(channel)) subscriber.sunsubscribe(channel).catch(() => {})
            else if (subscriber.status === 'ready') {
              this.placed.set(channel, node)
              if (this.hadGap.delete(channel)) regained.push(channel)
            }
          }),
        )
      }),
    )
    // A master that owns no slot any more (removed from the cluster) keeps no connection. One
    // that owns slots keeps it even with none of our channels now: documents come and go.
    const masters = new Set(this.cluster.slots.map((nodes) => nodes?.[0]))
    for (const [node, subscriber] of this.subscribers) {
      if (masters.has(node) || this.cluster.slots.length === 0) continue
      this.subscribers.delete(node)
      subscriber.removeAllListeners()
      subscriber.on('error', () => {})
      subscriber.disconnect()
    }
    if (refused) this.retrySoon()
    this.maybeReady()
    // Still lost (another master is down): these channels are back on their own, and what was
    // published on them meanwhile is reconciled now rather than when the last master returns.
    if (!this.subscribed && regained.length > 0) this.hooks.resubscribed?.(regained)
  }

  private retrySoon(): void {
    if (this.retryTimer || this.closed) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      void this.resync()
    }, RETRY_MS)
  }

  private maybeReady(): void {
    if (this.closed || this.subscribed || !this.allPlaced()) return
    this.subscribed = true
    // Ready reconciles everything.
    this.hadGap.clear()
    if (this.wasConnected) this.logger.info('redis cluster connection restored; reconciling open documents')
    this.wasConnected = true
    this.hooks.ready()
  }

  private maybeLost(): void {
    if (!this.subscribed || this.allPlaced()) return
    this.subscribed = false
    if (this.closed) return
    this.logger.warn("redis cluster (or one of its masters) lost; serving this instance's clients alone until it returns")
    this.hooks.lost()
    // The master may come back with its slots, or a replica may take them over: either way the
    // slot map says where to subscribe again.
    this.retrySoon()
  }

  /** Subscribes now when connected (resolves once the owning master confirmed), else once back. */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel)
    if (this.closed || this.cluster.status !== 'ready') return
    await this.resync()
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel)) return
    this.hadGap.delete(channel)
    const at = this.placed.get(channel)
    this.placed.delete(channel)
    if (at !== undefined)
      this.subscribers
        .get(at)
        ?.sunsubscribe(channel)
        .catch(() => {})
  }

  /**
   * Fire and forget, on the shard that owns the channel; false when the cluster is away. A publish
   * the cluster refuses (that shard down) makes the channel unconfirmed: it is reconciled once
   * subscribed again, like every channel after an outage.
   */
  publish(channel: string, bytes: Buffer): boolean {
    if (this.closed || this.cluster.status !== 'ready') return false
    this.cluster.spublish(channel, bytes).catch(() => {
      if (this.closed || !this.placed.delete(channel)) return
      this.hadGap.add(channel)
      this.maybeLost()
      this.retrySoon()
    })
    return true
  }

  get subscriptions(): ReadonlySet<string> {
    return this.channels
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    await Promise.all(
      [this.cluster, ...this.subscribers.values()].map((connection) =>
        (connection.quit() as Promise<unknown>).catch(() => connection.disconnect()),
      ),
    )
  }
}

/** True once `connection` is ready; false if it closes first or takes longer than a connect may. */
function whenReady(connection: Redis): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer)
      connection.off('ready', onReady)
      connection.off('end', onEnd)
      resolve(ready)
    }
    const onReady = () => done(true)
    const onEnd = () => done(false)
    const timer = setTimeout(() => done(false), 2000)
    connection.once('ready', onReady)
    connection.once('end', onEnd)
  })
}

/** Username, password and TLS from the first seed URL, for every node the cluster names. */
function connectionOptionsFrom(url: string): RedisOptions {
  const parsed = new URL(url)
  return {
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  }
}

/** The cluster slot of a key or channel (CRC16/XMODEM of it, or of its {hash tag}, mod 16384). */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key)
  const open = bytes.indexOf(0x7b) // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1) // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close)
  }
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}
