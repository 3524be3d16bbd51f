import type { WebsocketProvider } from 'y-websocket'
import { CloseCode } from '../../lib/protocol'
import { Store } from './store'

/** Why a viewer's session is over for good. */
export type ViewLinkEnd = 'reset' | 'dead'

/**
 * Notices when a view link stops working, so the viewer can say so instead of spinning forever.
 * The server says it with a close code in the 44xx range, on which y-websocket stops
 * reconnecting and emits 'closed': ViewLinkRevoked when the link is reset while we watch,
 * ViewLinkNotFound when it was already reset (or never existed) as we connect.
 */
export class ViewLinkWatch {
  readonly ended = new Store<ViewLinkEnd | null>(null)
  readonly #provider: WebsocketProvider

  constructor(provider: WebsocketProvider) {
    this.#provider = provider
    provider.on('closed', this.#onClosed)
  }

  destroy(): void {
    this.#provider.off('closed', this.#onClosed)
  }

  readonly #onClosed = ({ code }: { code: number }): void => {
    if (code === CloseCode.ViewLinkRevoked) this.ended.set('reset')
    else if (code === CloseCode.ViewLinkNotFound) this.ended.set('dead')
  }
}
