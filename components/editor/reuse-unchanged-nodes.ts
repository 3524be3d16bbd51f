import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'
import type { ProsemirrorBinding } from '@tiptap/y-tiptap'
import * as Y from 'yjs'
import { bindingOf, patchBindingOnce } from './y-binding'

// biome-ignore lint/suspicious/noExplicitAny: any Yjs type, whatever its event type
type AnyType = Y.AbstractType<any>
type TypeObserver = (events: Y.YEvent<AnyType>[], transaction: Y.Transaction) => void

const patched = new WeakMap<ProsemirrorBinding, void>()

/**
 * Applies a remote text edit without rebuilding every paragraph of the document.
 *
 * y-tiptap (3.0.9) empties its Yjs-to-ProseMirror node cache on every remote change, so each
 * keystroke from someone else re-creates all nodes, and ProseMirror then compares the whole new
 * document with the old one (measured: ~25 ms per keystroke on a document of 1,173 paragraphs).
 * It empties the cache for the sake of structural changes (blocks moved, inserted or removed);
 * when a change only touches the text inside existing blocks, the binding already drops the cached
 * nodes of the changed texts and of every block around them, and every other cached node still
 * matches its unchanged Yjs type. For those changes, and only those, the binding's own handler
 * runs with the cache kept; anything structural goes through it exactly as before.
 */
export const ReuseUnchangedNodes = Extension.create({
  name: 'reuseUnchangedNodes',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('reuseUnchangedNodes'),
        // Runs after the sync plugin's view (the Collaboration extension has a higher priority),
        // which has just registered the binding's observer; a reconfigured editor runs it again.
        view: (view) => {
          patchBindingOnce(patched, bindingOf(view.state), ['_typeChanged', '_observeFunction'], keepCacheForTextEdits)
          return {}
        },
      }),
    ]
  },
})

function keepCacheForTextEdits(binding: ProsemirrorBinding): void {
  // The binding's handler (`_typeChanged`), or another patch's wrapping of it.
  const handle: TypeObserver = binding._observeFunction
  const observer: TypeObserver = (events, transaction) => {
    if (!onlyTextChanged(transaction, binding.type)) {
      handle(events, transaction)
      return
    }
    const mapping = binding.mapping as Map<unknown, unknown> & { clear: () => void }
    mapping.clear = () => {}
    // Without the absolute positions, the binding restores my selection from its Yjs positions
    // alone, which text edits cannot make stale. With them it checks the positions against a
    // recovery meant for moved blocks, and whenever my caret is at the start of a paragraph (as
    // it is for anyone who has not clicked into the document) that recovery reads the text of
    // every paragraph, twice, on every keystroke someone else makes.
    const selection = binding.beforeTransactionSelection
    if (selection) {
      binding.beforeTransactionSelection = {
        ...selection,
        absAnchor: undefined,
        absHead: undefined,
      } as unknown as typeof selection
    }
    try {
      handle(events, transaction)
    } finally {
      delete (mapping as Partial<typeof mapping>).clear
    }
  }
  // The binding unregisters whatever `_observeFunction` holds when its view goes away, and
  // registers it again when a new view takes it over.
  binding.type.unobserveDeep(binding._observeFunction)
  binding._observeFunction = observer
  binding.type.observeDeep(observer)
}

/** True when every type this transaction changed inside `root` is a text (no block added, removed or re-attributed). */
function onlyTextChanged(transaction: Y.Transaction, root: Y.XmlFragment): boolean {
  for (const type of transaction.changed.keys()) {
    if (!isInside(type, root)) continue
    if (!(type instanceof Y.XmlText)) return false
  }
  return true
}

function isInside(type: AnyType, root: AnyType): boolean {
  for (let current: AnyType | null = type; current; current = current._item?.parent as AnyType | null) {
    if (current === root) return true
  }
  return false
}
