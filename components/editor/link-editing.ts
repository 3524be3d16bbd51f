import { Extension, type Editor } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { openableHref } from '../lib/link-href'

/** Asks the link popover (LinkControls) to open its editor; sent on the editor's DOM node. */
export const EDIT_LINK_EVENT = 'chorus:edit-link'

/** Opens the link editor for the selection: Ctrl/Cmd+K and the toolbar's Link button. */
export function requestLinkEditor(editor: Editor): void {
  editor.view.dom.dispatchEvent(new CustomEvent(EDIT_LINK_EVENT))
}

/** Opens a link in a new tab, without giving the page it opens a handle on this one. */
export function openLink(href: string | null | undefined): boolean {
  const target = openableHref(href)
  if (!target) return false
  window.open(target, '_blank', 'noopener,noreferrer')
  return true
}

/**
 * Keys and clicks for links: Ctrl/Cmd+K opens the link editor, Ctrl/Cmd+click and Alt+Enter open
 * the link. A
 * plain click only places the caret (and shows the link's popover): in an editor a click is for
 * editing, and following a link by accident would take the person away mid-sentence.
 */
export const LinkEditing = Extension.create({
  name: 'linkEditing',

  addKeyboardShortcuts() {
    return {
      'Mod-k': ({ editor }) => {
        if (!editor.isEditable) return false
        requestLinkEditor(editor)
        return true
      },
      // The keyboard's way to open the link at the caret (as in Google Docs).
      'Alt-Enter': ({ editor }) => editor.isActive('link') && openLink(editor.getAttributes('link').href as string),
    }
  },

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('linkEditing'),
        props: {
          handleClick(view, _pos, event) {
            if (event.button !== 0 || !(event.ctrlKey || event.metaKey)) return false
            const anchor = event.target instanceof Element ? event.target.closest('a') : null
            return anchor !== null && view.dom.contains(anchor) && openLink(anchor.getAttribute('href'))
          },
        },
      }),
    ]
  },
})
