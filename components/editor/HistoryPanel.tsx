'use client'

import type { Editor } from '@tiptap/react'
import { useCallback, useEffect, useState } from 'react'
import type { Author, Version } from '../../lib/history'
import type { HistoryApi } from '../lib/history-api'
import { initials } from '../lib/identity'
import { restoreInEditor } from './restore-in-editor'
import * as Y from 'yjs'

/** What the page shows instead of the editor: a version, compared with another (or nothing). */
export interface VersionOnScreen {
  id: string
  /** 'previous', a version id, or null for the version alone. */
  compare: string | null
  title: string
}

interface Props {
  api: HistoryApi
  /** Null for a viewer: browse only. */
  editing: { editor: Editor; ydoc: Y.Doc; me: Author } | null
  showing: VersionOnScreen | null
  onShow: (version: VersionOnScreen | null) => void
  onClose: () => void
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

function kindLabel(version: Version): string {
  if (version.kind === 'restore') return `Restored version ${version.restoredFrom ?? ''}`.trim()
  return version.name ?? 'Automatic version'
}

export function Avatars({ authors }: { authors: Author[] }) {
  return (
    <span className="history-authors">
      {authors.map((author) => (
        <span key={author.id} className="avatar avatar--small" style={{ backgroundColor: author.color }} title={author.name}>
          {initials(author.name)}
        </span>
      ))}
      <span className="visually-hidden">{authors.map((author) => author.name).join(', ')}</span>
    </span>
  )
}

/** The History panel: versions newest first; name the current state; view, compare, restore. */
export function HistoryPanel({ api, editing, showing, onShow, onClose }: Props) {
  const [versions, setVersions] = useState<Version[]>([])
  const [nextBefore, setNextBefore] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState<string | null>(null)

  const refresh = useCallback(async () => {
    try {
      const page = await api.list()
      setVersions(page.versions)
      setNextBefore(page.nextBefore)
      setError(null)
    } catch (failure) {
      setError((failure as Error).message)
    }
  }, [api])

  useEffect(() => {
    void refresh()
  }, [refresh])

  const more = async () => {
    if (!nextBefore) return
    try {
      const page = await api.list(nextBefore)
      setVersions((list) => [...list, ...page.versions])
      setNextBefore(page.nextBefore)
    } catch (failure) {
      setError((failure as Error).message)
    }
  }

  const nameVersion = async () => {
    if (!editing || name.trim() === '') return
    setBusy(true)
    try {
      const made = await api.name(name.trim(), editing.me, Y.encodeStateVector(editing.ydoc))
      setName('')
      setMessage(`Named “${made.name}”.`)
      await refresh()
    } catch (failure) {
      setError((failure as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const restore = async (version: Version) => {
    if (!editing) return
    setBusy(true)
    try {
      const json = await api.json(version.id)
      // What is on screen now stays in the timeline, as the version before the restore.
      await api.checkpoint(Y.encodeStateVector(editing.ydoc))
      const stateVector = restoreInEditor(editing.editor, editing.ydoc, json)
      onShow(null)
      setMessage(`Restored ${kindLabel(version).toLowerCase()}. Undo takes it back.`)
      await api.recordRestore(version.id, stateVector, editing.me)
      await refresh()
    } catch (failure) {
      setError((failure as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const selected = showing ? versions.find((version) => version.id === showing.id) : undefined

  return (
    <aside className="history-panel" aria-label="Version history">
      <div className="history-panel__header">
        <h2 className="history-panel__title">History</h2>
        <button type="button" className="icon-button" aria-label="Close history" onClick={onClose}>
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
            <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
          </svg>
        </button>
      </div>
      {editing && (
        <form
          className="history-panel__name"
          onSubmit={(event) => {
            event.preventDefault()
            void nameVersion()
          }}
        >
          <input
            className="input"
            value={name}
            maxLength={200}
            placeholder="Name this version"
            aria-label="Version name"
            onChange={(event) => setName(event.target.value)}
          />
          <button type="submit" className="button" disabled={busy || name.trim() === ''}>
            Name this version
          </button>
        </form>
      )}
      {message && (
        <p className="history-panel__message" role="status">
          {message}
        </p>
      )}
      {error && (
        <p className="history-panel__error" role="alert">
          {error}
        </p>
      )}
      {selected && (
        <div className="history-panel__selected">
          <label className="history-panel__compare">
            Compare with{' '}
            <select
              value={showing?.compare ?? ''}
              onChange={(event) => onShow({ ...(showing as VersionOnScreen), compare: event.target.value || null })}
            >
              <option value="previous">the version before</option>
              <option value="">nothing (this version alone)</option>
              {versions
                .filter((version) => version.id !== selected.id)
                .map((version) => (
                  <option key={version.id} value={version.id}>
                    {kindLabel(version)} · {timeFormat.format(new Date(version.createdAt))}
                  </option>
                ))}
            </select>
          </label>
          <div className="history-panel__actions">
            {editing && (
              <button type="button" className="button button--primary" disabled={busy} onClick={() => void restore(selected)}>
                Restore this version
              </button>
            )}
            <button type="button" className="button" onClick={() => onShow(null)}>
              Back to the document
            </button>
          </div>
        </div>
      )}
      {versions.length === 0 && !error && (
        <p className="history-panel__empty">No versions yet. One is made after a pause in editing.</p>
      )}
      <ol className="history-list">
        {versions.map((version) => (
          <li key={version.id}>
            <button
              type="button"
              className="history-item"
              data-kind={version.kind}
              aria-current={showing?.id === version.id || undefined}
              onClick={() => onShow({ id: version.id, compare: 'previous', title: kindLabel(version) })}
            >
              <span className="history-item__title">{kindLabel(version)}</span>
              <span className="history-item__time">{timeFormat.format(new Date(version.createdAt))}</span>
              <span className="history-item__meta">
                <Avatars authors={version.authors} />
                <span className="history-item__summary">
                  +{version.summary.added} −{version.summary.removed} words
                </span>
              </span>
            </button>
          </li>
        ))}
      </ol>
      {nextBefore && (
        <button type="button" className="button" onClick={() => void more()}>
          Older versions
        </button>
      )}
    </aside>
  )
}

/** A version (or the document now, compared with one) as the server renders it, read-only. */
export function VersionView({ api, showing }: { api: HistoryApi; showing: VersionOnScreen }) {
  const [html, setHtml] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let current = true
    setHtml(null)
    api.html(showing.id, showing.compare).then(
      (content) => current && setHtml(content),
      (failure: Error) => current && setError(failure.message),
    )
    return () => {
      current = false
    }
  }, [api, showing.id, showing.compare])
  return (
    <main className="paper version-paper" aria-label={`Version: ${showing.title}`} data-loaded={html !== null || undefined}>
      <p className="version-paper__banner">
        {showing.title} · read-only{showing.compare ? ' · insertions in their author’s colour, deletions struck through' : ''}
      </p>
      {error && <p role="alert">{error}</p>}
      {/* biome-ignore lint/security/noDangerouslySetInnerHtml: the server escapes every text and keeps only web and mail links (server/document/version-content.ts toHtml) */}
      {html !== null && <div className="document-body version-body" dangerouslySetInnerHTML={{ __html: html }} />}
    </main>
  )
}
