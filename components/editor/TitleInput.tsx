'use client'

import { useEffect, useRef, type FormEvent } from 'react'
import type * as Y from 'yjs'
import { diffText, mapPosition } from '../lib/text-diff'

/** Transaction origin of my own title edits, so the observer can skip them. */
const LOCAL_EDIT = Symbol('title input')

/**
 * The shared document title, bound to a Y.Text. The input is uncontrolled: remote edits are
 * written into it directly so the caret can be mapped through them instead of jumping to the
 * end, which is what a controlled React input does when its value changes under the caret.
 */
export function TitleInput({ title, onEnter }: { title: Y.Text; onEnter: () => void }) {
  const inputRef = useRef<HTMLInputElement>(null)

  useEffect(() => {
    const input = inputRef.current
    if (!input) return
    input.value = title.toString()
    const onRemoteChange = (event: Y.YTextEvent, transaction: Y.Transaction) => {
      if (transaction.origin === LOCAL_EDIT) return
      const next = title.toString()
      if (input.value === next) return
      const { selectionStart, selectionEnd, selectionDirection } = input
      const hadFocus = document.activeElement === input
      input.value = next
      if (hadFocus && selectionStart !== null && selectionEnd !== null) {
        input.setSelectionRange(
          mapPosition(selectionStart, event.delta),
          mapPosition(selectionEnd, event.delta),
          selectionDirection ?? undefined,
        )
      }
    }
    title.observe(onRemoteChange)
    return () => title.unobserve(onRemoteChange)
  }, [title])

  const onInput = (event: FormEvent<HTMLInputElement>) => {
    const splice = diffText(title.toString(), event.currentTarget.value)
    if (!splice || !title.doc) return
    title.doc.transact(() => {
      if (splice.remove > 0) title.delete(splice.index, splice.remove)
      if (splice.insert) title.insert(splice.index, splice.insert)
    }, LOCAL_EDIT)
  }

  return (
    <input
      ref={inputRef}
      className="title-input"
      type="text"
      aria-label="Document title"
      placeholder="Untitled"
      maxLength={200}
      autoComplete="off"
      spellCheck
      onInput={onInput}
      onKeyDown={(event) => {
        if (event.key === 'Enter' && !event.nativeEvent.isComposing) {
          event.preventDefault()
          onEnter()
        }
      }}
    />
  )
}
