'use client'

import { useEffect, useState } from 'react'
import { openDocumentSession, type DocumentSession } from '../lib/document-session'
import { loadIdentity, type Identity } from '../lib/identity'
import { DocumentWorkspace } from './DocumentWorkspace'

/**
 * Owns the browser-side session of one document. The Y.Doc, IndexedDB copy and socket are made
 * in an effect (never during render or at module level) and torn down in its cleanup, so React's
 * double-mount in development and a client-side navigation to another document both start clean.
 */
export function DocumentPage({ docId }: { docId: string }) {
  const [session, setSession] = useState<DocumentSession | null>(null)
  const [identity, setIdentity] = useState<Identity | null>(null)

  useEffect(() => {
    const me = loadIdentity()
    const opened = openDocumentSession(docId, me)
    setIdentity(me)
    setSession(opened)
    return () => {
      setSession(null)
      opened.destroy()
    }
  }, [docId])

  if (!session || !identity) {
    return (
      <div className="document-loading" aria-busy="true">
        Opening document…
      </div>
    )
  }
  return <DocumentWorkspace session={session} identity={identity} onIdentityChange={setIdentity} />
}
