import type { Store } from './store'

export interface ReminderTimers {
  set(callback: () => void, ms: number): unknown
  clear(handle: unknown): void
}

const realTimers: ReminderTimers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * Asks the server again what it has stored when "Saving…" lasts long while connected. A lost or
 * never-sent SavedState would otherwise leave the page saying "Saving…" for good, although the
 * server stored everything. `ask` sends a sync step 1; the server answers it with its SavedState.
 * Asks after `afterMs`, then again at doubling intervals up to a minute, while it lasts.
 */
export class SaveReminder {
  readonly #pending: Store<boolean>
  readonly #connected: Store<boolean>
  readonly #ask: () => void
  readonly #afterMs: number
  readonly #timers: ReminderTimers
  #timer: unknown = null
  #delayMs: number
  readonly #unsubscribe: (() => void)[]

  constructor(
    pending: Store<boolean>,
    connected: Store<boolean>,
    ask: () => void,
    { afterMs = 10_000, timers = realTimers }: { afterMs?: number; timers?: ReminderTimers } = {},
  ) {
    this.#pending = pending
    this.#connected = connected
    this.#ask = ask
    this.#afterMs = afterMs
    this.#delayMs = afterMs
    this.#timers = timers
    this.#unsubscribe = [pending.subscribe(this.#update), connected.subscribe(this.#update)]
    this.#update()
  }

  destroy(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.#cancel()
  }

  readonly #update = (): void => {
    if (this.#pending.get() && this.#connected.get()) {
      if (this.#timer === null) this.#timer = this.#timers.set(this.#fire, this.#delayMs)
      return
    }
    // Saved, or offline (a reconnect asks anyway): start over.
    this.#cancel()
    this.#delayMs = this.#afterMs
  }

  readonly #fire = (): void => {
    this.#timer = null
    if (!this.#pending.get() || !this.#connected.get()) return
    this.#ask()
    this.#delayMs = Math.min(this.#delayMs * 2, 60_000)
    this.#timer = this.#timers.set(this.#fire, this.#delayMs)
  }

  #cancel(): void {
    if (this.#timer !== null) this.#timers.clear(this.#timer)
    this.#timer = null
  }
}
