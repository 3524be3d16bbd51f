/**
 * A deploy without lost edits. On the first stop signal:
 *
 *   1. readiness answers 503 'stopping' at once, so that a load balancer stops sending new
 *      connections here;
 *   2. the server goes on serving everyone, old and new connections, for DRAIN_SECONDS (the time
 *      the load balancer needs to notice);
 *   3. then it closes every socket with 1012 (clients reconnect, to another instance or to the
 *      next one here), stores everything and exits 0 (compose.ts, RunningServer.close).
 *
 * A second signal ends the drain at once; it never cuts the storing short, which only
 * STOP_TIMEOUT_MS bounds (the exit is then 1, and the log says what was not stored).
 */
import type { RunningServer } from '../compose.ts'
import type { Logger } from './logger.ts'

/**
 * A signal sent to a process group reaches us directly and again through the start script (and
 * npm, which forwards it too): copies this close together are one request to stop, not the
 * impatient second one.
 */
export const SAME_REQUEST_MS = 1000

export class GracefulStop {
  private requestedAt: number | undefined
  private endDrain: (() => void) | null = null

  constructor(
    private readonly server: Pick<RunningServer, 'health' | 'close'>,
    private readonly drainMs: number,
    private readonly logger: Logger,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  /** A stop signal (or the start script's death: `drain: false`, nobody routes traffic to us then). */
  request(reason: string, { drain = true }: { drain?: boolean } = {}): void {
    const now = performance.now()
    if (this.requestedAt !== undefined) {
      if (drain && now - this.requestedAt < SAME_REQUEST_MS) return
      if (this.endDrain) {
        this.logger.warn('second stop request: ending the drain now; everything is still stored before exiting', { reason })
        this.endDrain()
      } else {
        this.logger.info('already stopping: exiting once everything is stored (at most STOP_TIMEOUT_MS)', { reason })
      }
      return
    }
    this.requestedAt = now
    this.server.health.markStopping()
    void this.run(reason, drain ? this.drainMs : 0)
  }

  private async run(reason: string, drainMs: number): Promise<void> {
    const started = this.requestedAt!
    if (drainMs > 0) {
      this.logger.info('draining: readiness is 503, still serving until the load balancer has moved on', {
        reason,
        drainSeconds: drainMs / 1000,
      })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs)
        this.endDrain = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.endDrain = null
    }
    this.logger.info('stopping', { reason })
    try {
      await this.server.close()
      this.logger.info('stopped; everything stored', { ms: Math.round(performance.now() - started) })
      this.exit(0)
    } catch (error) {
      this.logger.error('error while stopping', { error })
      this.exit(1)
    }
  }
}
