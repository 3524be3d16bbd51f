'use client'

import { useEffect, useId, useRef, useState } from 'react'

type CopyState = 'idle' | 'copied' | 'refused'

/**
 * "Share" button and its dialog with the document's link. A native modal <dialog> gives focus
 * containment, Escape to close and the dialog role without extra code.
 */
export function ShareDialog() {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const inputRef = useRef<HTMLInputElement>(null)
  const titleId = useId()
  const [link, setLink] = useState('')
  const [copyState, setCopyState] = useState<CopyState>('idle')

  useEffect(() => {
    const dialog = dialogRef.current
    const onClose = () => setCopyState('idle')
    dialog?.addEventListener('close', onClose)
    return () => dialog?.removeEventListener('close', onClose)
  }, [])

  const open = () => {
    // Read at open time: the address is only known in the browser, and the link is the page
    // itself without any query or fragment.
    setLink(`${window.location.origin}${window.location.pathname}`)
    dialogRef.current?.showModal()
    requestAnimationFrame(() => inputRef.current?.select())
  }

  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('Clipboard API unavailable (insecure context?)')
      await navigator.clipboard.writeText(link)
      setCopyState('copied')
    } catch {
      inputRef.current?.select()
      setCopyState('refused')
    }
  }

  return (
    <>
      <button type="button" className="button button--primary" onClick={open}>
        Share
      </button>
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
            <button
              type="button"
              className="icon-button"
              aria-label="Close"
              onClick={() => dialogRef.current?.close()}
            >
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
                <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
              </svg>
            </button>
          </div>
          <p className="dialog__text">Anyone with this link can open and edit the document.</p>
          <div className="share-link">
            <input
              ref={inputRef}
              className="share-link__input"
              type="text"
              aria-label="Document link"
              readOnly
              value={link}
              onFocus={(event) => event.currentTarget.select()}
            />
            <button type="button" className="button button--primary" onClick={copy}>
              {/* Announced when it changes, without a second "copied" text on the page. */}
              <span aria-live="polite">{copyState === 'copied' ? 'Copied' : 'Copy'}</span>
            </button>
          </div>
          {copyState === 'refused' && (
            <p className="dialog__hint" role="status">
              Your browser did not allow copying. The link is selected: press{' '}
              <kbd>Ctrl</kbd>+<kbd>C</kbd> (or <kbd>⌘</kbd>+<kbd>C</kbd>) to copy it.
            </p>
          )}
        </div>
      </dialog>
    </>
  )
}
