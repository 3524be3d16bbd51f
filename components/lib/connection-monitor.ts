import type { WebsocketProvider } from 'y-websocket'
import { Store } from './store'

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'stopped'

/**
 * The sync connection as a person would describe it. y-websocket flips between "disconnected"
 * and "connecting" on every retry; once a connection has failed, all of that is "offline".
 */
export class ConnectionMonitor {
  readonly state = new Store<ConnectionState>('connecting')

  readonly #provider: WebsocketProvider
  #hasFailed = false
  /** The server said reconnecting cannot help; nothing will retry, so "retrying" would be a lie. */
  #stopped = false

  constructor(provider: WebsocketProvider) {
    this.#provider = provider
    provider.on('status', this.#update)
    provider.on('connection-close', this.#failed)
    provider.on('connection-error', this.#failed)
    provider.on('closed', this.#stop)
    window.addEventListener('online', this.#online)
    window.addEventListener('offline', this.#offline)
    this.#update()
  }

  destroy(): void {
    this.#provider.off('status', this.#update)
    this.#provider.off('connection-close', this.#failed)
    this.#provider.off('connection-error', this.#failed)
    this.#provider.off('closed', this.#stop)
    window.removeEventListener('online', this.#online)
    window.removeEventListener('offline', this.#offline)
  }

  readonly #failed = (): void => {
    this.#hasFailed = true
    this.#update()
  }

  /** y-websocket gave up for good: the server closed with a code reconnecting cannot help (44xx). */
  readonly #stop = (): void => {
    this.#stopped = true
    this.#update()
  }

  readonly #update = (): void => {
    // navigator.onLine is only a hint (it can be false on a machine whose sole network is
    // loopback, with the server on localhost), so an open socket always wins.
    if (this.#provider.wsconnected) this.state.set('online')
    else if (this.#stopped) this.state.set('stopped')
    else if (this.#hasFailed || !navigator.onLine) this.state.set('offline')
    else this.state.set('connecting')
  }

  /**
   * The network went away. An open socket can take y-websocket 30 s to notice (no message
   * arrives, nothing fails), and edits typed meanwhile would look sent. Closing it makes the
   * provider retry: a server on localhost is back within a moment, anything else reads offline.
   */
  readonly #offline = (): void => {
    this.#provider.ws?.close()
    this.#update()
  }

  /** Back online: retry now instead of waiting out y-websocket's backoff timer. */
  readonly #online = (): void => {
    if (this.#provider.shouldConnect && !this.#provider.wsconnected && !this.#provider.ws) {
      this.#provider.connect()
    }
    this.#update()
  }
}
