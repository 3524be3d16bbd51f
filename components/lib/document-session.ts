import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as decoding from 'lib0/decoding'
import {
  CHORUS_PROTOCOL_PARAM,
  CHORUS_PROTOCOL_VERSION,
  MessageType,
  decodeNoticePayload,
} from '../../lib/protocol'
import { ConnectionMonitor } from './connection-monitor'
import { displayName, type Identity } from './identity'
import { NoticeCenter } from './notice-center'
import { SaveTracker } from './save-tracker'
import { Store } from './store'
import { syncServerUrl } from './sync-url'

/**
 * Everything one open document needs in the browser: the Y.Doc, its copy in IndexedDB (so edits
 * survive an offline reload), the sync connection, and what the UI shows about them. Created
 * in an effect and destroyed in its cleanup; never shared between documents.
 */
export interface DocumentSession {
  readonly docId: string
  readonly ydoc: Y.Doc
  readonly title: Y.Text
  readonly provider: WebsocketProvider
  readonly connection: ConnectionMonitor
  readonly save: SaveTracker
  readonly notices: NoticeCenter
  /** True once the document came from IndexedDB or the server, so an empty one really is empty. */
  readonly loaded: Store<boolean>
  setUser(identity: Identity): void
  destroy(): void
}

export function openDocumentSession(docId: string, identity: Identity): DocumentSession {
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(syncServerUrl(window.location), docId, ydoc, {
    connect: false,
    params: { [CHORUS_PROTOCOL_PARAM]: String(CHORUS_PROTOCOL_VERSION) },
  })
  const save = new SaveTracker(ydoc, provider.awareness, docId)
  const notices = new NoticeCenter()
  const connection = new ConnectionMonitor(provider)
  const loaded = new Store(false)

  // Handlers write nothing to the encoder, so y-websocket sends no reply.
  provider.messageHandlers[MessageType.SavedState] = (_encoder, decoder) => {
    save.savedStateReceived(Y.decodeStateVector(decoding.readVarUint8Array(decoder)))
  }
  provider.messageHandlers[MessageType.Notice] = (_encoder, decoder) => {
    try {
      notices.add(decodeNoticePayload(decoder))
    } catch (error) {
      console.warn('Ignoring a malformed notice from the server', error)
    }
  }

  const persistence = new IndexeddbPersistence(`chorus:${docId}`, ydoc)
  void persistence.whenSynced.then(() => {
    save.browserCopyLoaded()
    loaded.set(true)
  })
  const onSync = (synced: boolean) => {
    if (synced) loaded.set(true)
  }
  provider.on('sync', onSync)

  const setUser = (user: Identity) => {
    provider.awareness.setLocalStateField('user', {
      name: displayName(user.name),
      color: user.color,
    })
  }
  setUser(identity)
  // Connect once the synchronous mount is over: React's development double-mount destroys the
  // first session straight away, and closing a socket that is still connecting logs a warning.
  let destroyed = false
  queueMicrotask(() => {
    if (!destroyed) provider.connect()
  })

  return {
    docId,
    ydoc,
    title: ydoc.getText('title'),
    provider,
    connection,
    save,
    notices,
    loaded,
    setUser,
    destroy() {
      destroyed = true
      provider.off('sync', onSync)
      connection.destroy()
      save.destroy()
      // Destroying the provider announces that I left, so my caret disappears for others now
      // rather than after the awareness timeout.
      provider.destroy()
      void persistence.destroy()
      ydoc.destroy()
    },
  }
}
