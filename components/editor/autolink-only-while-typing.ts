import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import { ySyncPluginKey } from '@tiptap/y-tiptap'

/**
 * TipTap's autolink links an address once a space follows it: it is for what this person types,
 * and it is kept from every other change to the document.
 *
 * - Someone else's edit is shown exactly as its author made it. y-tiptap applies a remote change
 *   as one replacement of the whole document, so autolink scanned the document on each remote
 *   keystroke and could link an address in this page only (one its author had typed without a
 *   link, or had just unlinked), which this page's next edit then sent to everyone. The author's
 *   own editor links what they type, and the link arrives with the text.
 * - Pasted and dropped text is linked by the Link extension's paste rule. Autolink adds nothing
 *   there, but it runs over every step of the paste and of the paste rules' transaction (one step
 *   per address found), and TipTap's getChangedRanges inverts the whole mapping per step and
 *   compares every range with every other: ~3 s of a 2 MB paste with ~3,000 addresses. The paste
 *   rules' plugins come before autolink's, so autolink sees their transactions with the paste,
 *   and the paste's mark makes it skip them all.
 */
export const AutolinkOnlyWhileTyping = Extension.create({
  name: 'autolinkOnlyWhileTyping',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('autolinkOnlyWhileTyping'),
        // Runs before any plugin's appendTransaction sees the transaction.
        filterTransaction(transaction) {
          const uiEvent = transaction.getMeta('uiEvent')
          const remote = transaction.getMeta(ySyncPluginKey)?.isChangeOrigin
          if (remote || uiEvent === 'paste' || uiEvent === 'drop') transaction.setMeta('preventAutolink', true)
          return true
        },
      }),
    ]
  },
})
