import { useEffect } from 'react'
import { useEditor, type Editor } from '@tiptap/react'
import StarterKit from '@tiptap/starter-kit'
import { Placeholder } from '@tiptap/extensions'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import type { DocumentSession } from '../lib/document-session'
import { renderCaret, renderSelection } from './render-caret'
import { AutolinkOnlyWhileTyping } from './autolink-only-while-typing'
import { ReuseUnchangedNodes } from './reuse-unchanged-nodes'
import { SendLocalChangesEarly } from './send-local-changes-early'
import { InsertTypedCharacters } from './insert-typed-characters'
import { PasteTablesAndImages } from './paste-tables-and-images'
import { LinkEditing } from './link-editing'
import { CatchUpHighlights } from './catch-up-highlights'

/**
 * The TipTap editor bound to a session's Y.Doc; null until it exists on the client. Through a
 * view link it only displays: the server would drop a viewer's writes anyway, but a viewer who
 * could type would see text nobody else ever gets.
 */
export function useCollaborativeEditor(session: DocumentSession): Editor | null {
  const editable = session.mode.kind === 'edit'
  const editor = useEditor(
    {
      // The Y.Doc only exists in the browser; rendering on the server would mismatch.
      immediatelyRender: false,
      editable,
      // TipTap's Delete extension works out, after every local change, what it deleted, for
      // editor.on('delete') listeners; nothing here listens, and on a paste with many links that
      // work grows with the square of the paste's steps (~1.9 s of a 2 MB paste).
      enableCoreExtensions: { delete: false },
      extensions: [
        StarterKit.configure({
          // Collaboration brings its own undo that only takes back my changes.
          undoRedo: false,
          // A click places the caret and shows the link's popover (LinkControls); Ctrl/Cmd+click
          // opens (LinkEditing). In a viewer's page, which is not editable, links are plain links.
          link: { openOnClick: false },
        }),
        Placeholder.configure({ placeholder: editable ? 'Start writing…' : 'Nothing written yet.' }),
        Collaboration.configure({ document: session.ydoc }),
        ReuseUnchangedNodes,
        SendLocalChangesEarly,
        InsertTypedCharacters,
        CatchUpHighlights,
        AutolinkOnlyWhileTyping,
        LinkEditing,
        PasteTablesAndImages.configure({
          onImagesDropped: () =>
            session.notices.add({
              level: 'warning',
              code: 'images-not-pasted',
              message: "Images aren't supported yet and were not pasted.",
            }),
        }),
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
          'aria-readonly': String(!editable),
          role: 'textbox',
          spellcheck: 'true',
        },
      },
    },
    [session],
  )
  // With sign-in, the server may say I can only view, or lower and raise me while I am here.
  useEffect(() => {
    if (!editor || !editable) return
    const follow = () => {
      const canEdit = session.role.get() === 'edit'
      if (editor.isEditable !== canEdit) editor.setEditable(canEdit)
      editor.view.dom.setAttribute('aria-readonly', String(!canEdit))
    }
    follow()
    return session.role.subscribe(follow)
  }, [editor, editable, session])
  return editor
}
