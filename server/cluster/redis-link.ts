/**
 * This instance's two connections to Redis (ioredis): one publishes, one is subscribed (a Redis
 * connection in subscriber mode can do nothing else). Both reconnect by themselves, backing off
 * up to 1 s. Nothing is queued while Redis is away: a publish then is dropped, and what it carried
 * is reconciled by the state-vector exchange once Redis is back (document-relay.ts), instead of
 * piling up in memory for an outage of unknown length.
 *
 * The link remembers which channels it should be subscribed to, and subscribes to all of them
 * again on every reconnect before it reports `ready`: the relay reconciles only after that, so
 * nothing published after its state vector can be missed.
 */
import { Redis } from 'ioredis'
import type { Logger } from '../ops/logger.ts'

export interface RedisLinkHooks {
  message(channel: string, bytes: Buffer): void
  /** Connected (again) and subscribed to every channel asked for. */
  ready(): void
  /** Lost Redis (first time after being connected). */
  lost(): void
  /**
   * Redis Cluster only: these channels are subscribed again after a gap while the link as a whole
   * is still lost (another master is down); what they carried meanwhile needs reconciling.
   */
  resubscribed?(channels: string[]): void
}

export class RedisLink {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly channels = new Set<string>()
  private subscribed = false
  private wasConnected = false
  private closed = false

  constructor(
    url: string,
    private readonly logger: Logger,
    private readonly hooks: RedisLinkHooks,
  ) {
    const options = {
      enableOfflineQueue: false,
      autoResubscribe: false,
      // A command sent just before a connection died fails at once rather than being resent later.
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
      connectTimeout: 2000,
      lazyConnect: false,
    }
    this.publisher = new Redis(url, { ...options, connectionName: 'chorus-publish' })
    this.subscriber = new Redis(url, { ...options, connectionName: 'chorus-subscribe' })
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => hooks.message(channel.toString(), message))
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('ready', () => void this.maybeReady())
      connection.on('close', () => this.maybeLost())
      // Reported once per outage by maybeLost; ioredis retries by itself.
      connection.on('error', () => {})
    }
  }

  /** Both connections up and every channel subscribed. */
  get connected(): boolean {
    return !this.closed && this.subscribed && this.publisher.status === 'ready' && this.subscriber.status === 'ready'
  }

  private async maybeReady(): Promise<void> {
    if (this.closed || this.publisher.status !== 'ready' || this.subscriber.status !== 'ready' || this.subscribed) return
    try {
      if (this.channels.size > 0) await this.subscriber.subscribe(...this.channels)
    } catch {
      return // lost again meanwhile; the next 'ready' retries
    }
    if (this.subscribed || this.subscriber.status !== 'ready') return
    this.subscribed = true
    if (this.wasConnected) this.logger.info('redis connection restored; reconciling open documents')
    this.wasConnected = true
    this.hooks.ready()
  }

  private maybeLost(): void {
    if (!this.subscribed) return
    this.subscribed = false
    if (this.closed) return
    this.logger.warn("redis connection lost; serving this instance's clients alone until it returns")
    this.hooks.lost()
  }

  /** Subscribes now when connected (resolves once Redis confirmed), else on the next reconnect. */
  async subscribe(channel: string): Promise<void> {
    this.channels.add(channel)
    if (!this.connected) return
    await this.subscriber.subscribe(channel).catch(() => {})
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel)) return
    if (this.connected) this.subscriber.unsubscribe(channel).catch(() => {})
  }

  /** Fire and forget; false when Redis is away (the state-vector exchange makes up for it). */
  publish(channel: string, bytes: Buffer): boolean {
    if (!this.connected) return false
    this.publisher.publish(channel, bytes).catch(() => {})
    return true
  }

  get subscriptions(): ReadonlySet<string> {
    return this.channels
  }

  /** Closes both connections (QUIT, after what was published has been sent). */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all(
      [this.publisher, this.subscriber].map((connection) => connection.quit().catch(() => connection.disconnect())),
    )
  }
}
