'use client'

import { useEffect, useState } from 'react'
import { openDocumentSession, type DocumentSession } from '../lib/document-session'
import { loadIdentity, type Identity } from '../lib/identity'
import { modeId, type SessionMode } from '../lib/session-mode'
import { DocumentWorkspace } from './DocumentWorkspace'

/**
 * Owns the browser-side session of one document, opened to edit or to view. The Y.Doc, socket
 * (and for editors the IndexedDB copy) are made in an effect (never during render or at module
 * level) and torn down in its cleanup, so React's double-mount in development and a client-side
 * navigation to another document both start clean.
 */
export function DocumentPage({ mode }: { mode: SessionMode }) {
  const [session, setSession] = useState<DocumentSession | null>(null)
  const [identity, setIdentity] = useState<Identity | null>(null)
  // The mode may arrive as a fresh object on every render; its kind and id are what identify it.
  const kind = mode.kind
  const id = modeId(mode)

  // biome-ignore lint/correctness/useExhaustiveDependencies: kind and id identify the mode (see above)
  useEffect(() => {
    const me = loadIdentity()
    const opened = openDocumentSession(mode, me)
    setIdentity(me)
    setSession(opened)
    return () => {
      setSession(null)
      opened.destroy()
    }
  }, [kind, id])

  if (!session || !identity) {
    return (
      <div className="document-loading" aria-busy="true">
        Opening document…
      </div>
    )
  }
  return <DocumentWorkspace session={session} identity={identity} onIdentityChange={setIdentity} />
}
