import { useEffect, useState } from 'react'
import type { Editor } from '@tiptap/react'
import type { EditorState } from '@tiptap/pm/state'
import { yUndoPluginKey } from '@tiptap/y-tiptap'
import { TOOLBAR_ITEMS } from './toolbar-items'

export interface ItemState {
  pressed: boolean | undefined
  enabled: boolean
}

/**
 * Whether each toolbar button is pressed and enabled, kept up to date with the editor.
 *
 * Working this out runs TipTap's `can()` for each of the buttons, several milliseconds per
 * transaction, and most transactions cannot change it: other people's carets arrive as
 * transactions that leave the document and the selection alone. So it is recomputed only when
 * something it depends on changed, and then after the next frame is painted, so that neither a
 * keystroke nor someone else's edit waits for the toolbar before showing up. The buttons may lag
 * by that one frame.
 */
export function useToolbarState(editor: Editor): ItemState[] {
  const [states, setStates] = useState(() => readStates(editor))

  useEffect(() => {
    let seen = inputsOf(editor)
    let frame = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    const refresh = () => {
      timer = undefined
      if (editor.isDestroyed) return
      const next = readStates(editor)
      setStates((previous) => (sameStates(previous, next) ? previous : next))
    }
    const onChange = () => {
      const inputs = inputsOf(editor)
      if (sameInputs(inputs, seen)) return
      seen = inputs
      if (frame || timer !== undefined) return
      frame = requestAnimationFrame(() => {
        frame = 0
        timer = setTimeout(refresh, 0)
      })
    }
    // The editor may have changed between the first render and now.
    refresh()
    editor.on('transaction', onChange)
    // setEditable() announces itself as an update without a transaction.
    editor.on('update', onChange)
    return () => {
      editor.off('transaction', onChange)
      editor.off('update', onChange)
      cancelAnimationFrame(frame)
      clearTimeout(timer)
    }
  }, [editor])

  return states
}

function readStates(editor: Editor): ItemState[] {
  return TOOLBAR_ITEMS.map((item) => ({
    pressed: item.toggle ? item.toggle(editor) : undefined,
    enabled: editor.isEditable && item.canRun(editor),
  }))
}

function sameStates(a: ItemState[], b: ItemState[]): boolean {
  return a.length === b.length && a.every((state, i) => state.pressed === b[i].pressed && state.enabled === b[i].enabled)
}

/** Everything the buttons' states are computed from. */
interface Inputs {
  doc: EditorState['doc']
  selection: EditorState['selection']
  storedMarks: EditorState['storedMarks']
  editable: boolean
  /** Undo and redo follow the undo manager, whose stacks can change while the document stays as it was. */
  undoDepth: number
  redoDepth: number
}

function inputsOf(editor: Editor): Inputs {
  const { state } = editor
  const undoManager = yUndoPluginKey.getState(state)?.undoManager
  return {
    doc: state.doc,
    selection: state.selection,
    storedMarks: state.storedMarks,
    editable: editor.isEditable,
    undoDepth: undoManager?.undoStack.length ?? 0,
    redoDepth: undoManager?.redoStack.length ?? 0,
  }
}

function sameInputs(a: Inputs, b: Inputs): boolean {
  return (
    a.doc === b.doc &&
    a.selection.eq(b.selection) &&
    a.storedMarks === b.storedMarks &&
    a.editable === b.editable &&
    a.undoDepth === b.undoDepth &&
    a.redoDepth === b.redoDepth
  )
}
