/**
 * Which other instances are alive, from what they say on `chorus:instances`: each sends a
 * heartbeat every `heartbeatMs`; one not heard from for `expireAfterMs` (by heartbeat or any other
 * message) is taken as dead, and so is one that says it is leaving. Its presence (the carets and
 * names of its clients, held here under its name) is then removed for everyone here.
 *
 * Timing: heartbeat 1 s, expiry after 3 s, checked every 500 ms: a killed instance's carets are
 * gone everywhere 3 to 3.5 s after its last heartbeat (the issue wants 5 s), while a heartbeat
 * may be late by two whole intervals (a busy event loop, a GC pause) before anyone is removed.
 * While this instance itself has no Redis, every peer lapses alike: it cannot see their edits or
 * carets any more either, so it stops showing carets that no longer move.
 */
export interface PeerTiming {
  heartbeatMs: number
  expireAfterMs: number
}

export const DEFAULT_PEER_TIMING: PeerTiming = { heartbeatMs: 1000, expireAfterMs: 3000 }

export class PeerInstances {
  private readonly lastHeard = new Map<string, number>()
  private readonly timers: NodeJS.Timeout[] = []

  constructor(
    private readonly timing: PeerTiming,
    private readonly hooks: { heartbeat(): void; expired(instanceId: string, silently: boolean): void },
  ) {}

  start(): void {
    this.hooks.heartbeat()
    this.timers.push(setInterval(() => this.hooks.heartbeat(), this.timing.heartbeatMs).unref())
    this.timers.push(setInterval(() => this.expireSilent(), this.timing.heartbeatMs / 2).unref())
  }

  /** Heard from `instanceId` (any message counts). True when it was not alive until now (new, or back). */
  heard(instanceId: string): boolean {
    const known = this.lastHeard.has(instanceId)
    this.lastHeard.set(instanceId, performance.now())
    return !known
  }

  /** It said it is leaving (after storing everything): gone now. */
  left(instanceId: string): void {
    this.lastHeard.delete(instanceId)
    this.hooks.expired(instanceId, false)
  }

  get alive(): number {
    return this.lastHeard.size
  }

  private expireSilent(): void {
    const now = performance.now()
    for (const [instanceId, heard] of this.lastHeard) {
      if (now - heard <= this.timing.expireAfterMs) continue
      this.lastHeard.delete(instanceId)
      this.hooks.expired(instanceId, true)
    }
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer)
  }
}
