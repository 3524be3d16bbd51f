'use client'

import { useEffect, useRef, useState } from 'react'

type CopyState = 'idle' | 'copied' | 'refused'

interface Props {
  /** The input's accessible name, e.g. "Edit link". */
  label: string
  /** Null while the link is still being fetched. */
  value: string | null
  /** Select the link once shown (the dialog's first link), so Ctrl+C works straight away. */
  autoSelect?: boolean
}

/**
 * One link with its own Copy button. It starts as "Copy" every time the dialog opens, because
 * the dialog mounts its content afresh on each opening.
 */
export function ShareLink({ label, value, autoSelect = false }: Props) {
  const inputRef = useRef<HTMLInputElement>(null)
  const [copyState, setCopyState] = useState<CopyState>('idle')

  useEffect(() => {
    if (!autoSelect) return
    // After the dialog's own focusing, which runs once showModal() has returned.
    const frame = requestAnimationFrame(() => inputRef.current?.select())
    return () => cancelAnimationFrame(frame)
  }, [autoSelect])

  // A link that changed (a reset) has not been copied yet.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the link changes, which is the point
  useEffect(() => setCopyState('idle'), [value])

  const copy = async () => {
    if (value === null) return
    try {
      if (!navigator.clipboard) throw new Error('Clipboard API unavailable (insecure context?)')
      await navigator.clipboard.writeText(value)
      setCopyState('copied')
    } catch {
      inputRef.current?.select()
      setCopyState('refused')
    }
  }

  return (
    <>
      <div className="share-link">
        <input
          ref={inputRef}
          className="share-link__input"
          type="text"
          aria-label={label}
          aria-busy={value === null || undefined}
          placeholder={value === null ? 'Creating the link…' : undefined}
          readOnly
          value={value ?? ''}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" className="button button--primary" onClick={copy} disabled={value === null}>
          {/* Announced when it changes, without a second "copied" text on the page. */}
          <span aria-live="polite">{copyState === 'copied' ? 'Copied' : 'Copy'}</span>
        </button>
      </div>
      {copyState === 'refused' && (
        <p className="dialog__hint" role="status">
          Your browser did not allow copying. The link is selected: press <kbd>Ctrl</kbd>+<kbd>C</kbd> (or <kbd>⌘</kbd>+
          <kbd>C</kbd>) to copy it.
        </p>
      )}
    </>
  )
}
