import type { Store } from './store'

/**
 * Asks the browser to warn before the page goes away while an edit is in neither safe place:
 * not yet on the server's disk and not yet committed to this browser's IndexedDB copy. Once
 * either has it, closing loses nothing (the browser copy is synced on the next visit), so the
 * warning is not registered at all then: browsers also keep pages with a beforeunload handler
 * out of the back/forward cache.
 */
export class UnloadGuard {
  readonly #target: EventTarget
  readonly #notOnServer: Store<boolean>
  readonly #notInBrowser: Store<boolean>
  readonly #unsubscribe: (() => void)[]
  #armed = false

  constructor(target: EventTarget, notOnServer: Store<boolean>, notInBrowser: Store<boolean>) {
    this.#target = target
    this.#notOnServer = notOnServer
    this.#notInBrowser = notInBrowser
    this.#unsubscribe = [notOnServer.subscribe(this.#update), notInBrowser.subscribe(this.#update)]
    this.#update()
  }

  /** Whether the warning is registered now. */
  get armed(): boolean {
    return this.#armed
  }

  destroy(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.#disarm()
  }

  readonly #update = (): void => {
    if (this.#notOnServer.get() && this.#notInBrowser.get()) this.#arm()
    else this.#disarm()
  }

  #arm(): void {
    if (this.#armed) return
    this.#armed = true
    this.#target.addEventListener('beforeunload', onBeforeUnload)
  }

  #disarm(): void {
    if (!this.#armed) return
    this.#armed = false
    this.#target.removeEventListener('beforeunload', onBeforeUnload)
  }
}

function onBeforeUnload(event: Event): void {
  // preventDefault() is the standard way; returnValue is what older Chromium and Safari read.
  event.preventDefault()
  ;(event as Event & { returnValue: unknown }).returnValue = true
}
