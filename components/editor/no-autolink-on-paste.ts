import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'

/**
 * Pasted and dropped text is linked by the Link extension's paste rule, not by autolink.
 *
 * Autolink exists for typing: it links an address once a space follows it. On a paste it adds
 * nothing the paste rule has not done, but it runs over every step of the paste and of the paste
 * rules' transaction, which adds one step per address found; TipTap's getChangedRanges inverts
 * the whole mapping for each step and compares every range with every other, so its cost grows
 * with the square of the addresses pasted (~3 s of a 2 MB paste with ~3,000 addresses). The
 * paste rules' plugins come before autolink's, so autolink sees their transactions together with
 * the paste, and the paste's mark makes it skip them all.
 */
export const NoAutolinkOnPaste = Extension.create({
  name: 'noAutolinkOnPaste',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('noAutolinkOnPaste'),
        filterTransaction(transaction) {
          const uiEvent = transaction.getMeta('uiEvent')
          if (uiEvent === 'paste' || uiEvent === 'drop') transaction.setMeta('preventAutolink', true)
          return true
        },
      }),
    ]
  },
})
