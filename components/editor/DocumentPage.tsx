'use client'

import { useEffect, useState } from 'react'
import { openDocumentSession, type DocumentSession } from '../lib/document-session'
import { type Account, loadAccount, loadMyRole } from '../lib/account'
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
  const [account, setAccount] = useState<Account | null>(null)
  // The mode may arrive as a fresh object on every render; its kind and id are what identify it.
  const kind = mode.kind
  const id = modeId(mode)

  // biome-ignore lint/correctness/useExhaustiveDependencies: kind and id identify the mode (see above)
  useEffect(() => {
    let opened: DocumentSession | null = null
    let cancelled = false
    // Signed in, I am shown to the others by the name my identity provider gives.
    void loadAccount().then(async (loaded) => {
      const role = loaded.user && mode.kind === 'edit' ? await loadMyRole(mode.docId) : undefined
      if (cancelled) return
      const stored = loadIdentity()
      const me = loaded.user ? { ...stored, name: loaded.user.name } : stored
      opened = openDocumentSession(mode, me, role)
      setAccount(loaded)
      setIdentity(me)
      setSession(opened)
    })
    return () => {
      cancelled = true
      setSession(null)
      opened?.destroy()
    }
  }, [kind, id])

  if (!session || !identity || !account) {
    return (
      <div className="document-loading" aria-busy="true">
        Opening document…
      </div>
    )
  }
  return <DocumentWorkspace session={session} identity={identity} account={account} onIdentityChange={setIdentity} />
}
