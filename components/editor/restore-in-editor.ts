import type { Editor } from '@tiptap/react'
import { prosemirrorJSONToYXmlFragment, yUndoPluginKey } from '@tiptap/y-tiptap'
import * as Y from 'yjs'
import { restoreFragment } from '../../lib/restore-change'

/** The origin of a restore made in this page: its undo manager tracks it as one of my changes. */
const RESTORE_ORIGIN = { name: 'chorus-restore' }

/**
 * Brings the document back to a version (its ProseMirror JSON) as one change of mine: everyone
 * sees it live, edits others make meanwhile stay (only what differs is changed, see
 * lib/restore-change.ts), and one undo takes it back. Returns the state vector to wait for.
 */
export function restoreInEditor(editor: Editor, ydoc: Y.Doc, versionJson: Record<string, unknown>): Uint8Array {
  const scratch = new Y.Doc()
  const target = prosemirrorJSONToYXmlFragment(editor.schema, versionJson, scratch.getXmlFragment('default'))
  const undoManager = yUndoPluginKey.getState(editor.state)?.undoManager as Y.UndoManager | undefined
  undoManager?.addTrackedOrigin(RESTORE_ORIGIN)
  // Its own undo step, not merged with typing just before or after.
  undoManager?.stopCapturing()
  ydoc.transact(() => restoreFragment(ydoc.getXmlFragment('default'), target), RESTORE_ORIGIN)
  undoManager?.stopCapturing()
  scratch.destroy()
  return Y.encodeStateVector(ydoc)
}
