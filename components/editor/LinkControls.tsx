'use client'

import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import { getMarkRange, type Editor } from '@tiptap/core'
import { openableHref, parseLinkInput } from '../lib/link-href'
import { EDIT_LINK_EVENT } from './link-editing'

interface Anchor {
  top: number
  left: number
}

/** Where the popover goes, and for which link; null while it is hidden. */
interface Shown extends Anchor {
  href: string | null
}

const GAP = 6
const MARGIN = 8
const WIDTH = 340

/**
 * The link popover. With the caret on a link it shows the address (opens in a new tab), Edit and
 * Remove; Ctrl/Cmd+K, the toolbar's Link button or Edit open the editor: Enter applies, Escape
 * cancels, an empty address removes the link. For editors only: a viewer's links are plain links.
 */
export function LinkControls({ editor }: { editor: Editor }) {
  const [shown, setShown] = useState<Shown | null>(null)
  const [editing, setEditing] = useState<{ initial: string } | null>(null)
  const editingRef = useRef(editing)
  editingRef.current = editing

  const refresh = useCallback(() => {
    const next = editor.isDestroyed ? null : readShown(editor, editingRef.current !== null)
    setShown((previous) => (sameShown(previous, next) ? previous : next))
  }, [editor])

  useEffect(() => {
    const onRequest = () => {
      const href = editor.isActive('link') ? ((editor.getAttributes('link').href as string | undefined) ?? '') : ''
      editingRef.current = { initial: href }
      setEditing({ initial: href })
      refresh()
    }
    const dom = editor.view.dom
    dom.addEventListener(EDIT_LINK_EVENT, onRequest)
    // Typing elsewhere, other people's edits and caret moves all arrive as transactions; most
    // leave `shown` as it was, and then nothing renders.
    editor.on('transaction', refresh)
    editor.on('focus', refresh)
    editor.on('blur', refresh)
    window.addEventListener('resize', refresh)
    // Any scrolling container moves the link on screen.
    window.addEventListener('scroll', refresh, true)
    return () => {
      dom.removeEventListener(EDIT_LINK_EVENT, onRequest)
      editor.off('transaction', refresh)
      editor.off('focus', refresh)
      editor.off('blur', refresh)
      window.removeEventListener('resize', refresh)
      window.removeEventListener('scroll', refresh, true)
    }
  }, [editor, refresh])

  const close = (refocus: boolean) => {
    editingRef.current = null
    setEditing(null)
    if (refocus) editor.commands.focus()
    else refresh()
  }

  if (!shown) return null
  const style = { top: shown.top, left: shown.left, width: editing ? WIDTH : undefined }
  if (editing) {
    return (
      <LinkForm
        key={editing.initial}
        style={style}
        initial={editing.initial}
        onApply={(href, text) => {
          applyLink(editor, href, text)
          close(false)
        }}
        onCancel={close}
      />
    )
  }
  if (shown.href === null) return null
  const target = openableHref(shown.href)
  return (
    // biome-ignore lint/a11y/useSemanticElements: a floating toolbar of buttons, not a form's fieldset
    <div
      className="link-popover"
      role="group"
      aria-label="Link"
      style={style}
      // Clicks here must not take the caret out of the link, which would hide the popover.
      onMouseDown={(event) => event.preventDefault()}
    >
      {target ? (
        <a className="link-popover__href" href={target} target="_blank" rel="noopener noreferrer" title="Open in a new tab">
          <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">
            <path
              d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 01-1 1H5a1 1 0 01-1-1V7a1 1 0 011-1h5"
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
          <span className="link-popover__text">{displayHref(target)}</span>
        </a>
      ) : (
        <span className="link-popover__href link-popover__href--dead" title="Only web and email links can be opened">
          <span className="link-popover__text">{shown.href || '(no address)'}</span>
        </span>
      )}
      <button
        type="button"
        className="icon-button"
        aria-label="Edit link"
        title="Edit link"
        onClick={() => editor.view.dom.dispatchEvent(new CustomEvent(EDIT_LINK_EVENT))}
      >
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
          <path
            d="M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
      </button>
      <button
        type="button"
        className="icon-button"
        aria-label="Remove link"
        title="Remove link"
        onClick={() => applyLink(editor, null, '')}
      >
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
          <path
            d="M10 14a4.5 4.5 0 006.4 0l1.5-1.5M14 10a4.5 4.5 0 00-6.4 0l-3 3a4.5 4.5 0 006.4 6.4M15 4.6l.5-.5a4.5 4.5 0 016.4 6.4M4 4l16 16"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
      </button>
    </div>
  )
}

function LinkForm({
  style,
  initial,
  onApply,
  onCancel,
}: {
  style: React.CSSProperties
  initial: string
  onApply: (href: string | null, text: string) => void
  onCancel: (refocus: boolean) => void
}) {
  const [value, setValue] = useState(initial)
  const [error, setError] = useState<string | null>(null)
  const errorId = useId()

  const submit = (event: FormEvent) => {
    event.preventDefault()
    const parsed = parseLinkInput(value)
    if (parsed.kind === 'invalid') setError(parsed.message)
    else onApply(parsed.kind === 'link' ? parsed.href : null, value.trim())
  }
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault()
      onCancel(true)
    }
  }

  return (
    <form
      className="link-popover link-popover--form"
      role="dialog"
      aria-label={initial ? 'Edit link' : 'Add link'}
      style={style}
      onSubmit={submit}
      onKeyDown={onKeyDown}
      onBlur={(event) => {
        // Clicking anywhere else is a cancel; the caret stays wherever that click put it.
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) onCancel(false)
      }}
    >
      <input
        className="link-popover__input"
        type="text"
        inputMode="url"
        autoComplete="off"
        spellCheck={false}
        aria-label="Link address"
        placeholder="Paste or type a link"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        // biome-ignore lint/a11y/noAutofocus: the field opens because the person asked to edit the link
        autoFocus
        value={value}
        onChange={(event) => {
          setValue(event.target.value)
          setError(null)
        }}
      />
      <button type="submit" className="button button--primary">
        Apply
      </button>
      {error && (
        <p id={errorId} className="link-popover__error" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

/** The popover's place and link, or null when it should not show. */
function readShown(editor: Editor, editing: boolean): Shown | null {
  const { state, view } = editor
  // The popover belongs to the caret: gone when the editor is left, except for the link editor,
  // which has the focus itself. (Checked first: this runs on every transaction.)
  if (!editor.isEditable || (!editing && !view.hasFocus())) return null
  const { selection } = state
  const onLink = editor.isActive('link')
  if (!editing && !onLink) return null
  const linkType = state.schema.marks.link
  const range = onLink && linkType ? getMarkRange(selection.$from, linkType) : undefined
  let anchor: Anchor
  try {
    const coords = view.coordsAtPos(range?.from ?? selection.from)
    anchor = clampToViewport({ top: coords.bottom + GAP, left: coords.left })
  } catch {
    return null
  }
  return { ...anchor, href: onLink ? ((editor.getAttributes('link').href as string | undefined) ?? '') : null }
}

function clampToViewport({ top, left }: Anchor): Anchor {
  const maxLeft = Math.max(MARGIN, window.innerWidth - WIDTH - MARGIN)
  return { top, left: Math.min(Math.max(MARGIN, left), maxLeft) }
}

function sameShown(a: Shown | null, b: Shown | null): boolean {
  return a === b || (a !== null && b !== null && a.top === b.top && a.left === b.left && a.href === b.href)
}

function displayHref(href: string): string {
  return href.replace(/^mailto:/i, '')
}

/**
 * Sets, changes or (href null) removes the link on the selection, or on the whole link the caret
 * is in. With nothing selected and no link there, the typed address is inserted as the link's text.
 */
function applyLink(editor: Editor, href: string | null, text: string): void {
  const { selection } = editor.state
  const chain = editor.chain().focus()
  if (selection.empty && editor.isActive('link')) chain.extendMarkRange('link')
  if (href === null) {
    chain.unsetLink().run()
  } else if (selection.empty && !editor.isActive('link')) {
    chain
      .insertContent({ type: 'text', text: text.replace(/^mailto:/i, ''), marks: [{ type: 'link', attrs: { href } }] })
      // Typing on after the new link is not part of it.
      .unsetMark('link')
      .run()
  } else {
    chain.setLink({ href }).run()
  }
}
