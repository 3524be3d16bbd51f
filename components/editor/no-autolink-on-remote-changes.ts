import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { ySyncPluginKey } from '@tiptap/y-tiptap'

/**
 * Someone else's edit is shown exactly as its author made it.
 *
 * TipTap's autolink looks at every change to the document, and y-tiptap applies a remote change
 * as one replacement of the whole document. So on each remote keystroke autolink scanned the
 * document and could link an address in this page only: one its author had typed without a
 * link, or had just unlinked. Nobody else saw that link until this page's next edit sent it to
 * everyone. The author's own editor links what they type, and the link arrives with the text.
 */
export const NoAutolinkOnRemoteChanges = Extension.create({
  name: 'noAutolinkOnRemoteChanges',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('noAutolinkOnRemoteChanges'),
        // Runs before any plugin's appendTransaction sees the transaction.
        filterTransaction(transaction) {
          if (transaction.getMeta(ySyncPluginKey)?.isChangeOrigin) transaction.setMeta('preventAutolink', true)
          return true
        },
      }),
    ]
  },
})
