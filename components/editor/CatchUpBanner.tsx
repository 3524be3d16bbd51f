'use client'

import { useEffect, useRef, useState } from 'react'
import type { CatchUp } from '../../lib/history'
import type { HistoryApi } from '../lib/history-api'
import type { CatchUpMarks } from './catch-up-highlights'
import { Avatars } from './HistoryPanel'

/** The version this browser last saw of each document, so that coming back can say what changed. */
const SEEN_KEY = (documentKey: string) => `chorus:seen-version:${documentKey}`

function loadSeen(documentKey: string): string | null {
  try {
    return window.localStorage.getItem(SEEN_KEY(documentKey))
  } catch {
    return null
  }
}

function saveSeen(documentKey: string, versionId: string): void {
  try {
    window.localStorage.setItem(SEEN_KEY(documentKey), versionId)
  } catch {
    // Blocked storage: the next visit simply has nothing to catch up on.
  }
}

/** "since Tuesday" within a week, "since 3 Mar" before, "since 14:05" today. */
function since(iso: string): string {
  const then = new Date(iso)
  const days = (Date.now() - then.getTime()) / 86_400_000
  if (then.toDateString() === new Date().toDateString())
    return `since ${then.toLocaleTimeString(undefined, { timeStyle: 'short' })}`
  if (days < 7) return `since ${then.toLocaleDateString(undefined, { weekday: 'long' })}`
  return `since ${then.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}`
}

/**
 * "2 people changed 3 paragraphs since Tuesday": what others changed since this browser's last
 * visit, with their avatars. "Show changes" marks the text they added in the live document, which
 * stays editable, until "Dismiss"; that also remembers the newest version as seen for the next visit.
 * (What they removed is counted here and shown in the History panel's comparison.)
 */
export function CatchUpBanner({
  api,
  documentKey,
  me,
  onMarks,
}: {
  api: HistoryApi
  documentKey: string
  me: string
  /** Marks these changes in the editor; null: marks none. */
  onMarks: (marks: CatchUpMarks | null) => void
}) {
  const [catchUp, setCatchUp] = useState<CatchUp | null>(null)
  const [showing, setShowing] = useState(false)
  const newest = useRef<string | null>(null)

  useEffect(() => {
    let current = true
    const seen = loadSeen(documentKey)
    void (async () => {
      const page = await api.list(null, 1)
      newest.current = page.versions[0]?.id ?? null
      if (!seen) {
        if (newest.current) saveSeen(documentKey, newest.current)
        return
      }
      const answer = await api.catchUp(seen, me)
      if (!current) return
      if (answer.authors.length > 0 && answer.paragraphsChanged > 0) setCatchUp(answer)
      else if (newest.current) saveSeen(documentKey, newest.current)
    })().catch(() => {
      // Catching up is a courtesy: without it the document is still all there.
    })
    return () => {
      current = false
    }
  }, [api, documentKey, me])

  if (!catchUp?.since) return null
  const dismiss = () => {
    if (newest.current) saveSeen(documentKey, newest.current)
    setCatchUp(null)
    setShowing(false)
    onMarks(null)
  }
  const toggle = () => {
    // A server from before the marks answers without `inserted`: then there is nothing to mark.
    onMarks(showing ? null : { inserted: catchUp.inserted ?? [], authors: catchUp.authors })
    setShowing(!showing)
  }
  const people = catchUp.authors.length === 1 ? catchUp.authors[0].name : `${catchUp.authors.length} people`
  const paragraphs = `${catchUp.paragraphsChanged} paragraph${catchUp.paragraphsChanged === 1 ? '' : 's'}`
  return (
    <section className="catch-up" aria-label="What changed since your last visit">
      <Avatars authors={catchUp.authors} />
      <p className="catch-up__text">
        {people} changed {paragraphs} {since(catchUp.since.createdAt)}.
      </p>
      <button type="button" className="button" aria-pressed={showing} onClick={toggle}>
        Show changes
      </button>
      <button type="button" className="button" onClick={dismiss}>
        Dismiss
      </button>
    </section>
  )
}
