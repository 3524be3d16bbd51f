/**
 * WebSockets that have not sent anything since the upgrade. Every real client speaks at once
 * (y-websocket sends sync step 1 on open, editors and viewers alike), so one that stays silent
 * holds a socket, a document slot and a place in its address's budget for nothing.
 *
 * Such a connection is closed after FIRST_MESSAGE_TIMEOUT_MS. Until then its place in the
 * address's per-minute budget is only lent: once it has been silent for a moment, a newcomer
 * from the same address that finds the budget spent takes its place (the silent one is closed).
 * Either way its place is given back, so silent upgrades cannot lock honest clients of the same
 * address (a NAT, an office) out for a minute, while a burst of upgrades is still counted and
 * refused with HTTP 429, which stock clients understand.
 */

/** A connection as this needs it: something that can be closed. */
export interface Closable {
  close(code: number, reason: string): void
}

interface Waiting {
  address: string
  since: number
  timer: NodeJS.Timeout
}

export class SilentConnections<C extends Closable> {
  /** Per address, in the order they connected (a Map keeps insertion order). */
  private readonly byAddress = new Map<string, Map<C, Waiting>>()
  private readonly waiting = new Map<C, Waiting>()

  constructor(
    private readonly timeoutMs: number,
    /** How long one must have been silent before a newcomer may take its place. */
    private readonly lendAfterMs: number,
    /** Closes a silent connection and gives its place in the budget back. */
    private readonly dismiss: (connection: C, address: string, why: 'timeout' | 'replaced') => void,
  ) {}

  get size(): number {
    return this.waiting.size
  }

  /** A connection was accepted: wait for its first message. */
  watch(connection: C, address: string, now: number): void {
    const timer = setTimeout(() => {
      if (this.forget(connection)) this.dismiss(connection, address, 'timeout')
    }, this.timeoutMs)
    timer.unref()
    const entry = { address, since: now, timer }
    this.waiting.set(connection, entry)
    let mine = this.byAddress.get(address)
    if (!mine) this.byAddress.set(address, (mine = new Map()))
    mine.set(connection, entry)
  }

  /** It spoke, or closed: nothing more to wait for. Returns whether it was still silent. */
  forget(connection: C): boolean {
    const entry = this.waiting.get(connection)
    if (!entry) return false
    clearTimeout(entry.timer)
    this.waiting.delete(connection)
    const mine = this.byAddress.get(entry.address)
    mine?.delete(connection)
    if (mine?.size === 0) this.byAddress.delete(entry.address)
    return true
  }

  /**
   * Closes the longest-silent connection from `address` if it has been silent for long enough,
   * so that a newcomer can have its place. Returns whether one was closed.
   */
  replaceOne(address: string, now: number): boolean {
    const mine = this.byAddress.get(address)
    if (!mine) return false
    const [oldest] = mine
    if (!oldest || now - oldest[1].since < this.lendAfterMs) return false
    this.forget(oldest[0])
    this.dismiss(oldest[0], address, 'replaced')
    return true
  }

  /** Stops every timer (the endpoint is closing its connections anyway). */
  clear(): void {
    for (const entry of this.waiting.values()) clearTimeout(entry.timer)
    this.waiting.clear()
    this.byAddress.clear()
  }
}
