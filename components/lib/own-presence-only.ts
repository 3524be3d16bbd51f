import type { WebsocketProvider } from 'y-websocket'

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] }

/**
 * Makes the provider send only this page's own presence.
 *
 * y-websocket sends every awareness change it sees, including the ones it has just received from
 * the server. So in a document open in N pages, each caret move came back to the server from the
 * N-1 others, and the server had to read and drop every copy (their clocks are not newer). The
 * others' carets reach everyone from the server already, and their own pages renew them.
 */
export function sendOnlyOwnPresence(provider: WebsocketProvider): void {
  const { awareness } = provider
  const sendChanges = provider._awarenessUpdateHandler
  const sendOwnChanges = ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
    const me = awareness.clientID
    if (added.includes(me) || updated.includes(me) || removed.includes(me)) {
      sendChanges({ added: [], updated: [me], removed: [] }, origin)
    }
  }
  awareness.off('update', sendChanges)
  awareness.on('update', sendOwnChanges)
  // provider.destroy() unregisters whatever this field holds.
  provider._awarenessUpdateHandler = sendOwnChanges
}
