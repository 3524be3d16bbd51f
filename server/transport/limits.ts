/**
 * The pure parts of the server's defences: rate limiting, per-address connection counting,
 * origin checks and log throttling. No sockets or timers here, so they are unit-tested directly.
 */

/**
 * A token bucket: `ratePerSecond` tokens accrue continuously up to `burst`. `take` spends tokens
 * and returns 0 when they were available, or how many milliseconds the caller should wait for
 * the debt to be paid back.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.updatedAt = now
  }

  take(amount: number, now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000)
    this.updatedAt = now
    this.tokens -= amount
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSecond
  }
}

/** Counts new connections per address over a sliding minute (two fixed half-windows). */
export class AddressConnectionCounter {
  private current = new Map<string, number>()
  private previous = new Map<string, number>()
  private windowStart: number

  constructor(
    private readonly limitPerMinute: number,
    now: number,
  ) {
    this.windowStart = now
  }

  /** Records an attempt and says whether it is within the limit. */
  tryAdd(address: string, now: number): boolean {
    if (this.limitPerMinute === 0) return true
    const half = 30_000
    if (now - this.windowStart >= 2 * half) {
      // Forgetting whole windows keeps memory bounded by the addresses of the last minute.
      this.previous = new Map()
      this.current = new Map()
      this.windowStart = now
    } else if (now - this.windowStart >= half) {
      this.previous = this.current
      this.current = new Map()
      this.windowStart += half
    }
    const count = (this.current.get(address) ?? 0) + (this.previous.get(address) ?? 0)
    if (count >= this.limitPerMinute) return false
    this.current.set(address, (this.current.get(address) ?? 0) + 1)
    return true
  }

  /** Gives back one place taken by `tryAdd` (a connection that never did anything; see silent-connections.ts). */
  refund(address: string): void {
    for (const window of [this.current, this.previous]) {
      const count = window.get(address) ?? 0
      if (count === 0) continue
      if (count === 1) window.delete(address)
      else window.set(address, count - 1)
      return
    }
  }
}

/**
 * Browsers send an Origin header with WebSocket handshakes; a page on another site must not be
 * able to open a socket to our documents with the user's network position. The app's own origin
 * (same host as the request) is always allowed; non-browser clients send no Origin.
 */
export function isOriginAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true
  if (allowed.includes('*') || allowed.includes(origin)) return true
  try {
    return host !== undefined && new URL(origin).host === host
  } catch {
    return false
  }
}
