import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import {
  CHORUS_PROTOCOL_PARAM,
  CHORUS_PROTOCOL_VERSION,
  CloseCode,
  MessageType,
  decodeNoticePayload,
  encodeSyncStep1,
} from '../../lib/protocol'
import { VIEW_SYNC_SEGMENT } from '../../lib/routes'
import { decodeSavedStatePayload } from '../../lib/state-vector'
import { BrowserCopy } from './browser-copy'
import { ConnectionMonitor } from './connection-monitor'
import { loadAuthorId, type Identity } from './identity'
import { MyPresence } from './my-presence'
import { NoticeCenter } from './notice-center'
import { sendOnlyOwnPresence } from './own-presence-only'
import { SaveReminder } from './save-reminder'
import { SaveTracker } from './save-tracker'
import { SessionEndWatch, type SessionEnd } from './session-end'
import { modeId, type SessionMode } from './session-mode'
import { Store } from './store'
import { syncServerUrl } from './sync-url'

/**
 * Everything one open document needs in the browser: the Y.Doc, the sync connection, and what the
 * UI shows about them. Editors also keep a copy in IndexedDB (so edits survive an offline reload)
 * and track what the server has saved; viewers hold nothing of their own, so they have neither.
 * Created in an effect and destroyed in its cleanup; never shared between documents.
 */
export interface DocumentSession {
  readonly mode: SessionMode
  readonly ydoc: Y.Doc
  readonly title: Y.Text
  readonly provider: WebsocketProvider
  readonly connection: ConnectionMonitor
  /** Null for viewers: they never write, so nothing of theirs is ever unsaved. */
  readonly save: SaveTracker | null
  /** True while a change is not yet committed to this browser's copy (always false for viewers). */
  readonly storingInBrowser: Store<boolean>
  readonly notices: NoticeCenter
  /** True once the document came from IndexedDB or the server, so an empty one really is empty. */
  readonly loaded: Store<boolean>
  /**
   * Set when the server closed for good (a view link reset, a refused change, a document it cannot
   * read): the session will not connect again, and says why.
   */
  readonly ended: Store<SessionEnd | null>
  /**
   * What the server lets me do: 'view' once it says so (opened with the edit link but shared with
   * me to view, or lowered while I was here), 'edit' again when it raises me (notices
   * 'access-view' and 'access-edit'; the socket stays open either way).
   */
  readonly role: Store<'edit' | 'view'>
  /** My caret colour in this document: the one I chose, unless someone here shows it already. */
  readonly myColor: Store<string>
  setUser(identity: Identity): void
  destroy(): void
}

export function openDocumentSession(
  mode: SessionMode,
  identity: Identity,
  /** With sign-in, the role the server said this person has, when the page could ask before connecting. */
  knownRole?: 'edit' | 'view',
): DocumentSession {
  const ydoc = new Y.Doc()
  const viewing = mode.kind === 'view'
  const baseUrl = syncServerUrl(window.location)
  const provider = new WebsocketProvider(viewing ? `${baseUrl}/${VIEW_SYNC_SEGMENT}` : baseUrl, modeId(mode), ydoc, {
    connect: false,
    params: { [CHORUS_PROTOCOL_PARAM]: String(CHORUS_PROTOCOL_VERSION) },
    // Tabs of one browser exchange updates over a BroadcastChannel. A viewer has nothing of its
    // own to offer, and should trust only what the server relays.
    disableBc: viewing,
    // A change larger than the server takes in one message (1009) would be sent again, and
    // refused again, on every reconnect: as final as the 44xx refusals.
    shouldReconnect: (event) => !(event.code >= 4400 && event.code < 4500) && event.code !== CloseCode.MessageTooBig,
  })
  sendOnlyOwnPresence(provider)
  const save = mode.kind === 'edit' ? new SaveTracker(ydoc, provider.awareness, mode.docId) : null
  const notices = new NoticeCenter()
  const connection = new ConnectionMonitor(provider)
  const sessionEnd = new SessionEndWatch(provider)
  // The end message repeats the notice it was made from, and stays; the notice would say it twice.
  const unsubscribeEnd = sessionEnd.ended.subscribe(() => {
    const code = sessionEnd.ended.get()?.noticeCode
    if (code) notices.dismiss(code)
  })
  const loaded = new Store(false)
  const role = new Store<'edit' | 'view'>(mode.kind === 'edit' ? (knownRole ?? 'edit') : 'view')

  // Handlers write nothing to the encoder, so y-websocket sends no reply. The server sends saved
  // states to editors only.
  if (save) {
    provider.messageHandlers[MessageType.SavedState] = (_encoder, decoder) => {
      save.savedStateReceived(decodeSavedStatePayload(decoder))
    }
  }
  provider.messageHandlers[MessageType.Notice] = (_encoder, decoder) => {
    try {
      const notice = decodeNoticePayload(decoder)
      notices.add(notice)
      sessionEnd.noticeReceived(notice)
      // The owner lowered or raised me while I am here (or I was only ever shared to view).
      if (notice.code === 'access-view') {
        role.set('view')
        notices.dismiss('access-edit')
      }
      if (notice.code === 'access-edit') {
        role.set('edit')
        notices.dismiss('access-view')
      }
    } catch (error) {
      console.warn('Ignoring a malformed notice from the server', error)
    }
  }

  // Keyed by the edit id, which a viewer does not have (and would not want to keep).
  const browserCopy = mode.kind === 'edit' ? new BrowserCopy(`chorus:${mode.docId}`, ydoc) : null
  void browserCopy?.persistence.whenSynced.then(() => {
    save?.browserCopyLoaded()
    loaded.set(true)
  })
  const onSync = (synced: boolean) => {
    if (synced) loaded.set(true)
  }
  provider.on('sync', onSync)
  // When my connection dropped, the others removed my presence but kept its clock, and y-protocols
  // ignores a state whose clock it has seen. Re-announcing under a new clock brings me back at
  // once, not at the next 15-second renewal (a viewer, who never moves a caret, would wait).
  const connected = new Store(false)
  const onStatus = ({ status }: { status: string }) => {
    connected.set(status === 'connected')
    const state = provider.awareness.getLocalState()
    if (status === 'connected' && state) provider.awareness.setLocalState(state)
  }
  provider.on('status', onStatus)
  // Should a SavedState ever go missing, "Saving…" would stay for good: after 10 s of it, ask the
  // server again with a sync step 1, which it answers with what it has stored.
  const reminder = save
    ? new SaveReminder(save.pending, connected, () => {
        if (provider.ws?.readyState === WebSocket.OPEN) provider.ws.send(encodeSyncStep1(Y.encodeStateVector(ydoc)))
      })
    : null

  const presence = new MyPresence(provider.awareness, identity, viewing, loadAuthorId())
  // Connect once the synchronous mount is over: React's development double-mount destroys the
  // first session straight away, and closing a socket that is still connecting logs a warning.
  let destroyed = false
  queueMicrotask(() => {
    if (!destroyed) provider.connect()
  })

  return {
    mode,
    ydoc,
    title: ydoc.getText('title'),
    provider,
    connection,
    save,
    storingInBrowser: browserCopy?.writing ?? new Store(false),
    notices,
    loaded,
    ended: sessionEnd.ended,
    role,
    myColor: presence.color,
    setUser: (user) => presence.setUser(user),
    destroy() {
      destroyed = true
      provider.off('sync', onSync)
      provider.off('status', onStatus)
      unsubscribeEnd()
      sessionEnd.destroy()
      presence.destroy()
      connection.destroy()
      reminder?.destroy()
      save?.destroy()
      // Destroying the provider announces that I left, so my caret disappears for others now
      // rather than after the awareness timeout.
      provider.destroy()
      void browserCopy?.destroy()
      ydoc.destroy()
    },
  }
}
