import type { DecorationAttrs } from '@tiptap/pm/view'

interface CaretUser {
  name?: unknown
  color?: unknown
}

/**
 * DOM for someone else's caret: a coloured bar with their name above it. Same class names as
 * CollaborationCaret's default (globals.css styles them), but the label is aria-hidden: it sits
 * inside the editable text, where a screen reader would otherwise read names as content.
 */
export function renderCaret(user: CaretUser): HTMLElement {
  const color = typeof user.color === 'string' ? user.color : 'transparent'
  const caret = document.createElement('span')
  caret.classList.add('collaboration-carets__caret')
  caret.style.borderColor = color
  const label = document.createElement('span')
  label.classList.add('collaboration-carets__label')
  label.setAttribute('aria-hidden', 'true')
  label.style.backgroundColor = color
  label.textContent = typeof user.name === 'string' ? user.name : ''
  caret.append(label)
  return caret
}

/** Their selection, tinted with their colour (`#rrggbb` + alpha). */
export function renderSelection(user: CaretUser): DecorationAttrs {
  if (typeof user.color !== 'string' || !/^#[0-9a-f]{6}$/i.test(user.color)) return {}
  return {
    class: 'collaboration-carets__selection',
    style: `background-color: ${user.color}33`,
  }
}
