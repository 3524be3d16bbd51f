'use client'

import { useEffect, useState } from 'react'
import Link from 'next/link'
import { SHARED_DOCUMENTS_API_PATH } from '../../lib/routes'
import { useAccount } from '../lib/account'
import { readRecentDocuments } from '../lib/recent-documents'

/** The documents someone shared with me by email (with sign-in on), titled when I opened them before. */
export function SharedDocuments() {
  const account = useAccount()
  const [documents, setDocuments] = useState<string[] | null>(null)
  useEffect(() => {
    if (!account?.user) return
    void fetch(SHARED_DOCUMENTS_API_PATH, { cache: 'no-store' })
      .then((response) => (response.ok ? (response.json() as Promise<{ documents: string[] }>) : { documents: [] }))
      .then((answer) => setDocuments(answer.documents))
  }, [account])
  if (!account?.user || documents === null) return null
  const titles = new Map(readRecentDocuments().map((doc) => [doc.id, doc.title]))
  return (
    <section className="recent" aria-labelledby="shared-heading">
      <h2 id="shared-heading" className="recent__heading">
        Shared with me
      </h2>
      {documents.length === 0 ? (
        <p className="recent__empty">Documents people share with {account.user.email ?? 'you'} will be listed here.</p>
      ) : (
        <ul className="recent__list">
          {documents.map((id) => (
            <li key={id}>
              <Link href={`/d/${id}`} className="recent__link">
                <span className={titles.get(id) ? 'recent__title' : 'recent__title recent__title--untitled'}>
                  {titles.get(id) || 'Untitled'}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
