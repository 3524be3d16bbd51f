'use client'

import { useEffect, useId, useRef, useState } from 'react'
import { flushSync } from 'react-dom'
import type { Account } from '../lib/account'
import { viewLinkUrl } from '../lib/view-link-api'
import { SharePeople } from './SharePeople'
import { ShareLink } from './ShareLink'
import { useViewLink } from './use-view-link'

/**
 * "Share" button and its dialog with the document's two links: one to edit, one to view. A
 * native modal <dialog> gives focus containment, Escape to close and the dialog role without
 * extra code. Its content is mounted only while it is open: every opening starts fresh, and the
 * view link is created only when someone actually looks for it.
 */
export function ShareDialog({ docId, account }: { docId: string; account: Account }) {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const [isOpen, setIsOpen] = useState(false)

  useEffect(() => {
    const dialog = dialogRef.current
    const onClose = () => setIsOpen(false)
    dialog?.addEventListener('close', onClose)
    return () => dialog?.removeEventListener('close', onClose)
  }, [])

  const open = () => {
    // Content first, so showModal() finds it and focuses into it.
    flushSync(() => setIsOpen(true))
    dialogRef.current?.showModal()
  }

  return (
    <>
      <button type="button" className="button button--primary" onClick={open}>
        Share
      </button>
      {/* biome-ignore lint/a11y/useKeyWithClickEvents: the click closes on the backdrop; the keyboard's way out is Escape, which <dialog> handles itself */}
      <dialog
        ref={dialogRef}
        className="dialog"
        aria-labelledby={titleId}
        // A click on the backdrop lands on the <dialog> itself; inside, it lands on children.
        onClick={(event) => {
          if (event.target === event.currentTarget) event.currentTarget.close()
        }}
      >
        <div className="dialog__body">
          <div className="dialog__header">
            <h2 id={titleId} className="dialog__title">
              Share
            </h2>
            <button type="button" className="icon-button" aria-label="Close" onClick={() => dialogRef.current?.close()}>
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
                <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
              </svg>
            </button>
          </div>
          {isOpen && account.signInEnabled && <SharePeople docId={docId} account={account} />}
          {isOpen && <ShareLinks docId={docId} account={account} />}
        </div>
      </dialog>
    </>
  )
}

function ShareLinks({ docId, account }: { docId: string; account: Account }) {
  const editHeadingId = useId()
  const viewHeadingId = useId()
  const resetHintId = useId()
  const viewLink = useViewLink(docId)
  const { state } = viewLink
  const canReset = state.status === 'ready' && !viewLink.resetting
  // Read in the browser: one build serves any host, and the page knows its own origin.
  const origin = window.location.origin

  return (
    <>
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of a link and its buttons, not a form's fieldset */}
      <section className="share-section" role="group" aria-labelledby={editHeadingId}>
        <h3 id={editHeadingId} className="share-section__title">
          Can edit
        </h3>
        <p className="share-section__text">
          {account.signInEnabled
            ? 'Opens the document for the people above and whoever the link setting lets in.'
            : 'Anyone with this link can open and edit the document.'}
        </p>
        <ShareLink label="Edit link" value={`${origin}/d/${docId}`} autoSelect />
      </section>

      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of a link and its buttons, not a form's fieldset */}
      <section className="share-section" role="group" aria-labelledby={viewHeadingId}>
        <h3 id={viewHeadingId} className="share-section__title">
          Can view
        </h3>
        <p className="share-section__text">
          Anyone with this link can read along live and see who is here, but cannot change anything.
        </p>
        {state.status === 'failed' ? (
          <div className="share-section__problem">
            <p role="alert">Could not get the view link. {state.message}</p>
            <button type="button" className="button" onClick={viewLink.retry}>
              Try again
            </button>
          </div>
        ) : (
          <ShareLink label="View link" value={state.status === 'ready' ? viewLinkUrl(origin, state.viewId) : null} />
        )}
        {state.status === 'ready' && state.wasReset && (
          <p className="share-section__done" role="status">
            New view link ready. The old one no longer works.
          </p>
        )}
        {viewLink.resetError && (
          <p className="dialog__hint" role="alert">
            Could not reset the view link. {viewLink.resetError}
          </p>
        )}
        <div className="share-reset">
          <button
            type="button"
            className="button"
            aria-describedby={resetHintId}
            // Not `disabled`: that would drop the focus of whoever just pressed it.
            aria-disabled={!canReset || undefined}
            onClick={() => canReset && viewLink.reset()}
          >
            {viewLink.resetting ? 'Resetting…' : 'Reset view link'}
          </button>
          <p id={resetHintId} className="share-reset__hint">
            Anyone using the old view link is disconnected.
          </p>
        </div>
      </section>
    </>
  )
}
