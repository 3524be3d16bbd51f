'use client'

import { useEffect, useState } from 'react'
import Link from 'next/link'
import { RECENT_DOCUMENTS_KEY, readRecentDocuments, type RecentDocument } from '../lib/recent-documents'

const relativeTime = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

function formatAge(openedAt: number, now: number): string {
  const seconds = Math.round((openedAt - now) / 1000)
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ]
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relativeTime.format(Math.round(seconds / size), unit)
  }
  return 'just now'
}

/** The documents this browser opened, from localStorage (so rendered only on the client). */
export function RecentDocuments() {
  const [documents, setDocuments] = useState<RecentDocument[] | null>(null)
  const [now, setNow] = useState(0)

  useEffect(() => {
    const refresh = () => {
      setDocuments(readRecentDocuments())
      setNow(Date.now())
    }
    refresh()
    // Another tab renaming a document or opening a new one.
    const onStorage = (event: StorageEvent) => {
      if (event.key === RECENT_DOCUMENTS_KEY || event.key === null) refresh()
    }
    window.addEventListener('storage', onStorage)
    // Coming back with the browser's back button restores this page from the bfcache.
    window.addEventListener('pageshow', refresh)
    return () => {
      window.removeEventListener('storage', onStorage)
      window.removeEventListener('pageshow', refresh)
    }
  }, [])

  if (documents === null) return null
  return (
    <section className="recent" aria-labelledby="recent-heading">
      <h2 id="recent-heading" className="recent__heading">
        Recent documents
      </h2>
      {documents.length === 0 ? (
        <p className="recent__empty">Documents you open in this browser will be listed here.</p>
      ) : (
        <ul className="recent__list">
          {documents.map((doc) => (
            <li key={doc.id}>
              <Link href={`/d/${doc.id}`} className="recent__link">
                <span className={doc.title ? 'recent__title' : 'recent__title recent__title--untitled'}>
                  {doc.title || 'Untitled'}
                </span>
                <span className="recent__age">{formatAge(doc.openedAt, now)}</span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
