/** Lets one log line per key through per interval, and counts what it held back. */
export class LogThrottle {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>()

  constructor(private readonly intervalMs: number) {}

  /** Returns null to stay quiet, or how many lines were suppressed since the last one. */
  shouldLog(key: string, now: number): number | null {
    const entry = this.lastLogged.get(key)
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++
      return null
    }
    if (this.lastLogged.size > 10_000) this.lastLogged.clear()
    this.lastLogged.set(key, { at: now, suppressed: 0 })
    return entry?.suppressed ?? 0
  }
}
