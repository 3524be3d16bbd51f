import { Extension } from '@tiptap/core'
import { Plugin, PluginKey, TextSelection } from '@tiptap/pm/state'
import type { EditorView } from '@tiptap/pm/view'

/**
 * Inserts a typed character through a ProseMirror transaction instead of letting the browser edit
 * the page first.
 *
 * ProseMirror hands a plain keystroke inside one paragraph to the browser, then reads the edited
 * paragraph back from the DOM and works out what was typed. On desktop Chromium, in a document of
 * 1,173 paragraphs, that took ~4 ms before ProseMirror saw the key (the browser's own editing,
 * which lays out the page) and ~2.5 ms more to read the change back: most of the time between my
 * keydown and the keystroke leaving for the others. ProseMirror already inserts typed text itself
 * when the selection spans blocks; this does the same inside one, with the same `handleTextInput`
 * hook (input rules) and the same marks. Whenever the page's caret is not yet the editor's, the
 * key goes to the browser as before.
 *
 * Left to the browser, as before: input methods and dead keys (composition), and phones and
 * tablets, whose on-screen keyboards keep their own idea of the text for autocorrect and word
 * suggestions.
 */
export const InsertTypedCharacters = Extension.create({
  name: 'insertTypedCharacters',

  addProseMirrorPlugins() {
    if (hasOnScreenKeyboard()) return []
    return [
      new Plugin({
        key: new PluginKey('insertTypedCharacters'),
        props: { handleKeyPress: insertTypedCharacter },
      }),
    ]
  },
})

/** ProseMirror's keypress handler has already left out composition; true makes it cancel the native edit. */
function insertTypedCharacter(view: EditorView, event: KeyboardEvent): boolean {
  if (!event.charCode || (event.ctrlKey && !event.altKey) || event.metaKey || event.isComposing) return false
  const text = String.fromCharCode(event.charCode)
  if (/[\r\n]/.test(text)) return false
  const { selection } = view.state
  if (!(selection instanceof TextSelection) || !selection.$from.sameParent(selection.$to)) return false
  if (!selection.$from.parent.inlineContent || !showsSelection(view, selection.anchor, selection.head)) return false
  const { from, to } = selection
  const insert = () => view.state.tr.insertText(text, from, to).scrollIntoView()
  if (!view.someProp('handleTextInput', (handle) => handle(view, from, to, text, insert))) view.dispatch(insert())
  return true
}

/**
 * Whether the page's selection is the editor's. A click or an arrow key moves the page's selection
 * first and the editor reads it a moment later; a key typed in between is left to the browser,
 * whose edit ProseMirror then reads back together with the selection.
 */
function showsSelection(view: EditorView, anchor: number, head: number): boolean {
  const shown = (view.root as Document).getSelection?.()
  if (!shown?.anchorNode || !shown.focusNode) return false
  try {
    return (
      view.posAtDOM(shown.anchorNode, shown.anchorOffset) === anchor && view.posAtDOM(shown.focusNode, shown.focusOffset) === head
    )
  } catch {
    return false
  }
}

/** Phones and tablets, including iPads, which say they are Macs but have touch screens. */
function hasOnScreenKeyboard(): boolean {
  if (typeof navigator === 'undefined') return false
  const agent = navigator.userAgent
  return /Android|iPhone|iPad|iPod/.test(agent) || (/Macintosh/.test(agent) && navigator.maxTouchPoints > 1)
}
