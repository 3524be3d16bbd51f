/**
 * Liveness and readiness, for load balancers and orchestrators.
 *
 *   /healthz  200 while the process serves (liveness), with a few counts for a human.
 *   /readyz   200 only while storage accepts a synced write (a real probe, cached briefly by the
 *             store); 503 with a JSON reason while the server is stopping or storage fails.
 *             In a cluster without Redis: 200 `{"status":"degraded","reason":"redis-unavailable"}`.
 *             The instance still serves its clients and stores their edits; only the other
 *             instances' edits and carets stop reaching it until Redis returns and it reconciles.
 *             A 503 would make the load balancer take every instance out at once when Redis
 *             stops, turning a loss of live co-editing across instances into a full outage.
 */
import type { DocumentRegistry } from '../document/document-registry.ts'
import type { DocumentStore } from '../storage/document-store.ts'
import type { SyncEndpoint } from '../transport/sync-endpoint.ts'

export interface HealthAnswer {
  status: number
  body: object
}

/** What readiness needs of the cluster relay (server/cluster/). */
export interface ClusterLink {
  /** Connected to Redis and subscribed. */
  readonly connected: boolean
}

export class Health {
  private stoppingSince: number | null = null

  constructor(
    private readonly store: DocumentStore,
    private readonly documents: DocumentRegistry,
    private readonly sync: SyncEndpoint,
    private readonly cluster: ClusterLink | null = null,
  ) {}

  /** From now on readiness answers 503 'stopping': load balancers send no new connections. */
  markStopping(): void {
    this.stoppingSince ??= performance.now()
  }

  /** Since SIGTERM (draining, then storing): readiness is 503. */
  get isStopping(): boolean {
    return this.stoppingSince !== null
  }

  liveness(): HealthAnswer {
    // Storage trouble is reported, and is readiness's business: a restart would not fix a disk.
    return {
      status: 200,
      body: {
        status: 'ok',
        storage: this.store.health,
        documents: this.documents.size,
        connections: this.sync.connectionCount,
        ignoredMessages: this.sync.ignoredMessages.byKind,
      },
    }
  }

  async readiness(): Promise<HealthAnswer> {
    if (this.stoppingSince !== null) return { status: 503, body: { status: 'unavailable', reason: 'stopping' } }
    const writable = await this.store.acceptsWrites().catch(() => false)
    if (!writable) return { status: 503, body: { status: 'unavailable', reason: 'storage-failing' } }
    if (this.cluster && !this.cluster.connected) {
      return { status: 200, body: { status: 'degraded', reason: 'redis-unavailable' } }
    }
    return { status: 200, body: { status: 'ready' } }
  }
}
