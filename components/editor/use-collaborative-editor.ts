import { useEditor, type Editor } from '@tiptap/react'
import StarterKit from '@tiptap/starter-kit'
import { Placeholder } from '@tiptap/extensions'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type { DocumentSession } from '../lib/document-session'
import { renderCaret, renderSelection } from './render-caret'

/** The TipTap editor bound to a session's Y.Doc; null until it exists on the client. */
export function useCollaborativeEditor(session: DocumentSession): Editor | null {
  return useEditor(
    {
      // The Y.Doc only exists in the browser; rendering on the server would mismatch.
      immediatelyRender: false,
      extensions: [
        StarterKit.configure({
          // Collaboration brings its own undo that only takes back my changes.
          undoRedo: false,
          link: { openOnClick: false },
        }),
        Placeholder.configure({ placeholder: 'Start writing…' }),
        Collaboration.configure({ document: session.ydoc }),
        CollaborationCaret.configure({
          provider: session.provider,
          // The extension writes this into awareness when the view mounts, so it must be the
          // current user, not whoever was current when this hook first ran.
          user: session.provider.awareness.getLocalState()?.user ?? {},
          render: renderCaret,
          selectionRender: renderSelection,
        }),
      ],
      editorProps: {
        attributes: {
          class: 'document-body',
          'aria-label': 'Document body',
          'aria-multiline': 'true',
          role: 'textbox',
          spellcheck: 'true',
        },
      },
    },
    [session],
  )
}
