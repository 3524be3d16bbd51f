'use client'

import { useEffect } from 'react'
import Link from 'next/link'
import { EditorContent } from '@tiptap/react'
import type { DocumentSession } from '../lib/document-session'
import { saveIdentity, type Identity } from '../lib/identity'
import { recordRecentDocument } from '../lib/recent-documents'
import { useStore } from '../lib/use-store'
import { useYText } from '../lib/use-y-text'
import { ChorusMark } from '../ChorusMark'
import { ConnectionStatus } from './ConnectionStatus'
import { NameInput } from './NameInput'
import { NoticeBanner } from './NoticeBanner'
import { PresenceList } from './PresenceList'
import { SaveStatus } from './SaveStatus'
import { ShareDialog } from './ShareDialog'
import { TitleInput } from './TitleInput'
import { Toolbar } from './Toolbar'
import { useCollaborativeEditor } from './use-collaborative-editor'

interface Props {
  session: DocumentSession
  identity: Identity
  onIdentityChange: (identity: Identity) => void
}

export function DocumentWorkspace({ session, identity, onIdentityChange }: Props) {
  const editor = useCollaborativeEditor(session)
  const title = useYText(session.title)
  const loaded = useStore(session.loaded)

  useEffect(() => {
    document.title = `${title.trim() || 'Untitled'} · Chorus`
  }, [title])

  useEffect(() => {
    // Before the document has loaded its title reads as empty; recording it then would wipe
    // the title the recent list already knows.
    recordRecentDocument(session.docId, loaded ? title.trim() : undefined)
  }, [session.docId, title, loaded])

  const rename = (name: string) => {
    const next = { ...identity, name }
    onIdentityChange(next)
    saveIdentity(next)
    session.setUser(next)
  }

  return (
    <div className="workspace">
      <header className="topbar">
        <div className="topbar__row">
          <Link href="/" className="brand" aria-label="Chorus home">
            <ChorusMark />
          </Link>
          <TitleInput title={session.title} onEnter={() => editor?.commands.focus('start')} />
          <PresenceList awareness={session.provider.awareness} />
          <ShareDialog />
        </div>
        <div className="topbar__row topbar__row--secondary">
          {editor ? <Toolbar editor={editor} /> : <div className="toolbar toolbar--placeholder" />}
          <div className="topbar__status">
            <ConnectionStatus connection={session.connection} />
            <SaveStatus save={session.save} connection={session.connection} />
            <NameInput name={identity.name} color={identity.color} onChange={rename} />
          </div>
        </div>
      </header>
      <NoticeBanner notices={session.notices} />
      <main className="paper" data-loaded={loaded || undefined}>
        <EditorContent editor={editor} className="editor" />
      </main>
    </div>
  )
}
