import { Extension } from '@tiptap/core'
import { Plugin, PluginKey, TextSelection } from '@tiptap/pm/state'

/**
 * A typed character goes into the document through ProseMirror, not through the browser's own
 * editing.
 *
 * ProseMirror lets Chromium insert a typed character into a text selection itself and reads the
 * change back from the DOM. Chromium's editing command then lays out the whole editable and
 * canonicalizes the selection, which grows with the document: ~0.8 ms in a 10-paragraph document,
 * ~4.5 ms in one of 1,173, inside the keystroke's task, before the character can be drawn.
 * Inserting it as a transaction (as ProseMirror itself does for other selections) changes one
 * text node. Input rules still see the character first, through `handleTextInput`; composition
 * (IME, dead keys, mobile keyboards), which does not come as keypress events, stays native.
 */
export const InsertTypedText = Extension.create({
  name: 'insertTypedText',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('insertTypedText'),
        props: {
          handleKeyPress(view, event) {
            if (view.composing || event.isComposing || !view.editable) return false
            const text = event.key
            // One character, the one the event produces: not Enter, not a modifier combination.
            if (text.length !== 1 || event.charCode !== text.charCodeAt(0) || /[\r\n]/.test(text)) return false
            if (event.ctrlKey || event.metaKey) return false
            const { selection } = view.state
            if (!(selection instanceof TextSelection) || !selection.$from.sameParent(selection.$to)) return false
            const { from, to } = selection
            const insert = () => view.state.tr.insertText(text).scrollIntoView()
            if (!view.someProp('handleTextInput', (handle) => handle(view, from, to, text, insert))) view.dispatch(insert())
            return true
          },
        },
      }),
    ]
  },
})
