'use client'

import { useEffect, useRef, useState, type KeyboardEvent } from 'react'
import type { Editor } from '@tiptap/react'
import { TOOLBAR_ITEMS, formatShortcut } from './toolbar-items'
import { useToolbarState } from './use-toolbar-state'

/**
 * The formatting toolbar. One tab stop with arrow-key movement between buttons (the WAI-ARIA
 * toolbar pattern), so tabbing from the title to the text does not walk through 16 buttons.
 */
export function Toolbar({ editor }: { editor: Editor }) {
  const states = useToolbarState(editor)
  const [focusIndex, setFocusIndex] = useState(0)
  const buttons = useRef<(HTMLButtonElement | null)[]>([])
  const [isMac, setIsMac] = useState(false)
  useEffect(() => setIsMac(/Mac|iPhone|iPad/.test(navigator.platform)), [])

  const moveFocus = (index: number) => {
    const count = TOOLBAR_ITEMS.length
    const next = (index + count) % count
    setFocusIndex(next)
    buttons.current[next]?.focus()
  }

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const moves: Record<string, number> = {
      ArrowRight: focusIndex + 1,
      ArrowLeft: focusIndex - 1,
      Home: 0,
      End: TOOLBAR_ITEMS.length - 1,
    }
    if (event.key in moves) {
      event.preventDefault()
      moveFocus(moves[event.key])
    }
  }

  return (
    <div className="toolbar" role="toolbar" aria-label="Formatting" onKeyDown={onKeyDown}>
      {TOOLBAR_ITEMS.map((item, index) => {
        const state = states[index]
        const hint = item.shortcut ? `${item.label} (${formatShortcut(item.shortcut, isMac)})` : item.label
        return (
          <span key={item.label} className="toolbar__slot" data-group-start={item.groupStart || undefined}>
            <button
              ref={(element) => {
                buttons.current[index] = element
              }}
              type="button"
              className="toolbar__button"
              aria-label={item.label}
              aria-pressed={state.pressed}
              aria-disabled={!state.enabled || undefined}
              title={hint}
              tabIndex={index === focusIndex ? 0 : -1}
              // Keep the editor's selection: a focused button would take it away before the
              // command runs.
              onMouseDown={(event) => event.preventDefault()}
              onFocus={() => setFocusIndex(index)}
              onClick={() => {
                if (state.enabled) item.run(editor)
              }}
            >
              {item.icon}
            </button>
          </span>
        )
      })}
    </div>
  )
}
