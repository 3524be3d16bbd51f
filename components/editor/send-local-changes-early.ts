import { Extension } from '@tiptap/core'
import type { Node as ProseMirrorNode } from '@tiptap/pm/model'
import { type EditorState, Plugin, PluginKey, type Transaction } from '@tiptap/pm/state'
import { type ProsemirrorBinding, updateYFragment, ySyncPluginKey, yUndoPluginKey } from '@tiptap/y-tiptap'
import type * as Y from 'yjs'
import { bindingOf, patchBindingOnce } from './y-binding'

/**
 * Writes my edits into Yjs (and so onto the wire) once per change, and before the editor redraws.
 *
 * y-tiptap (3.0.9) writes the editor's document into Yjs from the sync plugin's view update: after
 * ProseMirror has updated the DOM and put the caret back into it, which makes Chromium lay out the
 * page (~2 ms per keystroke on a document of 1,173 paragraphs) before anyone else can be sent the
 * keystroke. It also runs after every transaction, including those that change nothing in the
 * document (each caret move of anyone in the document, through the cursor plugin), and each run
 * compares all top-level blocks with the Yjs fragment and computes my caret's Yjs position twice,
 * from the start of the document each time (~1.5 ms per run on that document). For my own edits
 * those caret positions are thrown away unread: the binding clears them when the Yjs transaction
 * ends, and their only reader (its remote-change handler) is locked out by its mutex meanwhile.
 *
 * So, the binding's behaviour otherwise unchanged:
 * - a local change is written as soon as the new editor state exists (appendTransaction), with the
 *   same history flags as the binding would give it; the binding's own write afterwards finds
 *   nothing left to do. (The undo plugin then files the new undo step with the selection of one
 *   transaction earlier than it would have, as it reads it from the view's state. No one sees
 *   that: the binding applies an undo step's selection only after the undo has been drawn.)
 * - a document already written, with nothing changed in Yjs since, is not compared again;
 * - my caret's Yjs position is computed only for Yjs transactions that can read it: those that do
 *   not start inside the binding's mutex (someone else's update, an undo).
 */
export const SendLocalChangesEarly = Extension.create({
  name: 'sendLocalChangesEarly',

  addProseMirrorPlugins() {
    return [
      new Plugin({
        key: new PluginKey('sendLocalChangesEarly'),
        // Runs after the sync plugin's view (the Collaboration extension has a higher priority),
        // which has just made the binding and registered its listeners.
        view: (view) => {
          const internals = ['_prosemirrorChanged', 'beforeAllTransactions', '_observeFunction', 'mux'] as const
          patchBindingOnce(syncs, bindingOf(view.state), internals, (binding) => new LocalSync(binding))
          return {}
        },
        appendTransaction: (transactions, oldState, newState) => {
          const binding = bindingOf(newState)
          if (binding) syncs.get(binding)?.beforeRedraw(transactions, oldState, newState)
          return null
        },
      }),
    ]
  },
})

const syncs = new WeakMap<ProsemirrorBinding, LocalSync>()

class LocalSync {
  /** The document last written to Yjs, while Yjs has not changed since by anything else. */
  private written: ProseMirrorNode | null = null
  /** What the sync plugin calls `initialContentChanged`: until then, an empty editor is not written. */
  private contentChanged = false
  private insideMutex = 0

  constructor(private readonly binding: ProsemirrorBinding) {
    const mux = binding.mux
    binding.mux = (f, g) =>
      mux(() => {
        this.insideMutex++
        try {
          f()
        } finally {
          this.insideMutex--
        }
      }, g)

    // The binding registers `beforeAllTransactions` with the Y.Doc when a view takes it over, and
    // unregisters whatever the property holds when the view goes away.
    const computeSelection = binding.beforeAllTransactions
    binding.doc.off('beforeAllTransactions', computeSelection)
    binding.beforeAllTransactions = () => {
      if (this.insideMutex === 0) computeSelection()
    }
    binding.doc.on('beforeAllTransactions', binding.beforeAllTransactions)

    binding._prosemirrorChanged = (doc: ProseMirrorNode) => {
      this.contentChanged = true
      if (doc === this.written) return
      binding.doc.transact(() => updateYFragment(binding.doc, binding.type, doc, binding), ySyncPluginKey)
      this.written = doc
    }

    // Anything else that changes the fragment (someone else's edit, an undo, a restore) makes the
    // next write compare again, as y-tiptap always does. The binding's own writes carry its key.
    // Through the binding's observer, which it unregisters with its view and registers again with
    // the next: nothing of ours outlives it, or misses a change while it is in use.
    const handle = binding._observeFunction
    binding.type.unobserveDeep(handle)
    binding._observeFunction = (events: Y.YEvent<Y.AbstractType<unknown>>[], transaction: Y.Transaction) => {
      if (transaction.origin !== ySyncPluginKey) this.written = null
      handle(events, transaction)
    }
    binding.type.observeDeep(binding._observeFunction)
  }

  /** A transaction was applied and its state is about to reach the view: writes what I changed. */
  beforeRedraw(transactions: readonly Transaction[], oldState: EditorState, newState: EditorState): void {
    const view = this.binding.prosemirrorView
    // Only a state that the view is moving to (a dispatch), never a state computed on the side.
    if (!view || view.state !== oldState || !transactions.some((tr) => tr.docChanged)) return
    const sync = ySyncPluginKey.getState(newState)
    // Snapshots, and the binding's own rendering of remote changes, are left to the binding.
    if (!sync || sync.snapshot != null || sync.prevSnapshot != null || sync.isChangeOrigin) return
    const doc = newState.doc
    if (!this.contentChanged && doc.content.findDiffStart(doc.type.createAndFill()!.content) === null) return
    if (sync.addToHistory === false) yUndoPluginKey.getState(newState)?.undoManager?.stopCapturing()
    this.binding.mux(() => {
      this.binding.doc.transact((tr) => {
        tr.meta.set('addToHistory', sync.addToHistory)
        this.binding._prosemirrorChanged(doc)
      }, ySyncPluginKey)
    })
  }
}
