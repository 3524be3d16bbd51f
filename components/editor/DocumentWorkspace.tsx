'use client'

import { useEffect, useMemo, useState } from 'react'
import Link from 'next/link'
import { EditorContent } from '@tiptap/react'
import type { DocumentSession } from '../lib/document-session'
import { displayName, loadAuthorId, saveIdentity, type Identity } from '../lib/identity'
import { HistoryApi } from '../lib/history-api'
import { modeId } from '../lib/session-mode'
import { type Account, signOut } from '../lib/account'
import { signInPath } from '../../lib/routes'
import { recordRecentDocument } from '../lib/recent-documents'
import { useDocumentTitle } from '../lib/use-document-title'
import { UnloadGuard } from '../lib/unload-guard'
import { useStore } from '../lib/use-store'
import { useYText } from '../lib/use-y-text'
import { ChorusMark } from '../ChorusMark'
import { CatchUpBanner } from './CatchUpBanner'
import { showCatchUpMarks } from './catch-up-highlights'
import { ConnectionStatus } from './ConnectionStatus'
import { HistoryPanel, VersionView, type VersionOnScreen } from './HistoryPanel'
import { LinkControls } from './LinkControls'
import { NameInput } from './NameInput'
import { NoticeBanner } from './NoticeBanner'
import { PresenceList } from './PresenceList'
import { SaveStatus } from './SaveStatus'
import { SessionEndedBanner } from './SessionEndedBanner'
import { ShareDialog } from './ShareDialog'
import { TitleInput } from './TitleInput'
import { TitleText } from './TitleText'
import { Toolbar } from './Toolbar'
import { useCollaborativeEditor } from './use-collaborative-editor'
import { ViewLinkEnded } from './ViewLinkEnded'
import { ViewOnlyBadge } from './ViewOnlyBadge'

interface Props {
  session: DocumentSession
  identity: Identity
  account: Account
  onIdentityChange: (identity: Identity) => void
}

/**
 * One document on screen. Editors and viewers see the same page; a viewer's has the title as
 * text, no toolbar, no save status, and a "View only" badge where Share would be.
 */
export function DocumentWorkspace({ session, identity, account, onIdentityChange }: Props) {
  const editor = useCollaborativeEditor(session)
  const title = useYText(session.title)
  const loaded = useStore(session.loaded)
  const ended = useStore(session.ended)
  const myColor = useStore(session.myColor)
  const role = useStore(session.role)
  const { mode } = session
  const historyApi = useMemo(() => new HistoryApi(mode, account.csrf), [mode, account.csrf])
  const [historyOpen, setHistoryOpen] = useState(false)
  const [showing, setShowing] = useState<VersionOnScreen | null>(null)
  const authorId = useMemo(() => loadAuthorId(), [])
  const me = useMemo(
    () => ({ id: authorId, name: displayName(identity.name), color: myColor }),
    [authorId, identity.name, myColor],
  )

  useDocumentTitle(`${title.trim() || 'Untitled'}${mode.kind === 'view' ? ' (view only)' : ''} · Chorus`)

  // Only documents this browser can edit are listed: a view link may be reset at any time, and
  // the list links to /d/<id>, which a viewer does not know.
  const docId = mode.kind === 'edit' ? mode.docId : null
  useEffect(() => {
    // Before the document has loaded its title reads as empty; recording it then would wipe
    // the title the recent list already knows.
    if (docId) recordRecentDocument(docId, loaded ? title.trim() : undefined)
  }, [docId, title, loaded])

  useEffect(() => {
    if (!session.save) return
    const guard = new UnloadGuard(window, session.save.pending, session.storingInBrowser)
    return () => guard.destroy()
  }, [session])

  const rename = (name: string) => {
    const next = { ...identity, name }
    onIdentityChange(next)
    saveIdentity(next)
    session.setUser(next)
  }

  if (ended?.takesDocumentAway) return <ViewLinkEnded end={ended} />

  return (
    <div className="workspace" data-mode={mode.kind}>
      <header className="topbar">
        <div className="topbar__row">
          <Link href="/" className="brand" aria-label="Chorus home">
            <ChorusMark />
          </Link>
          {docId ? (
            <TitleInput title={session.title} onEnter={() => editor?.commands.focus('start')} />
          ) : (
            <TitleText title={session.title} />
          )}
          <PresenceList awareness={session.provider.awareness} />
          <button
            type="button"
            className="button"
            aria-pressed={historyOpen}
            onClick={() => {
              setHistoryOpen(!historyOpen)
              if (historyOpen) setShowing(null)
            }}
          >
            History
          </button>
          {docId && role === 'edit' ? <ShareDialog docId={docId} account={account} /> : <ViewOnlyBadge />}
        </div>
        <div className="topbar__row topbar__row--secondary">
          {docId && role === 'edit' && (editor ? <Toolbar editor={editor} /> : <div className="toolbar toolbar--placeholder" />)}
          <div className="topbar__status">
            <ConnectionStatus connection={session.connection} />
            {session.save && (
              <SaveStatus save={session.save} connection={session.connection} storingInBrowser={session.storingInBrowser} />
            )}
            {account.user ? (
              // Signed in, my name is the one my identity provider gives.
              <div className="account" data-testid="account">
                <span className="name-field__swatch" style={{ backgroundColor: myColor }} aria-hidden="true" />
                <span className="account__name" title={account.user.email ?? undefined}>
                  {account.user.name}
                </span>
                <button type="button" className="button" onClick={() => void signOut(account)}>
                  Sign out
                </button>
              </div>
            ) : (
              <>
                <NameInput name={identity.name} color={myColor} onChange={rename} />
                {account.signInEnabled && (
                  <a className="button" href={signInPath(window.location.pathname)}>
                    Sign in
                  </a>
                )}
              </>
            )}
          </div>
        </div>
      </header>
      {ended && <SessionEndedBanner end={ended} />}
      <NoticeBanner notices={session.notices} />
      {loaded && (
        <CatchUpBanner
          api={historyApi}
          documentKey={modeId(mode)}
          me={authorId}
          onMarks={(marks) => {
            if (!editor) return
            // The marks are in the live document: leave a version being looked at for it.
            if (marks) setShowing(null)
            showCatchUpMarks(editor, marks)
          }}
        />
      )}
      <div className="workspace__body" data-history-open={historyOpen || undefined}>
        {showing && <VersionView api={historyApi} showing={showing} />}
        {/* Kept mounted while a version is shown: the editor stays bound to the live document. */}
        <main className="paper" data-loaded={loaded || undefined} hidden={showing !== null}>
          <EditorContent editor={editor} className="editor" />
          {docId && editor && <LinkControls editor={editor} />}
        </main>
        {historyOpen && (
          <HistoryPanel
            api={historyApi}
            editing={docId && editor && role === 'edit' ? { editor, ydoc: session.ydoc, me } : null}
            showing={showing}
            onShow={setShowing}
            onClose={() => {
              setHistoryOpen(false)
              setShowing(null)
            }}
          />
        )}
      </div>
    </div>
  )
}
