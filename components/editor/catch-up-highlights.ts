import { Extension, type Editor } from '@tiptap/core'
import { Plugin, PluginKey, type EditorState, type Transaction } from '@tiptap/pm/state'
import { Decoration, DecorationSet } from '@tiptap/pm/view'
import { ySyncPluginKey } from '@tiptap/y-tiptap'
import type * as Y from 'yjs'
import type { Author, CatchUp } from '../../lib/history'
import { insertedRuns } from './inserted-runs'

/** What the catch-up banner asks the editor to mark: the catch-up answer's clients and authors. */
export type CatchUpMarks = Pick<CatchUp, 'inserted' | 'authors'>

interface MarksState {
  marks: CatchUpMarks | null
  decorations: DecorationSet
}

const key = new PluginKey<MarksState>('catchUpHighlights')

/** After edits stop for this long, the marks are worked out again from the Y.Doc. */
const RECOMPUTE_AFTER_MS = 1000

/** Shows others' changes since my last visit in the live editor (null: shows none). */
export function showCatchUpMarks(editor: Editor, marks: CatchUpMarks | null): void {
  if (editor.isDestroyed) return
  editor.view.dispatch(editor.state.tr.setMeta(key, { marks }))
}

/** The editor's catch-up marks as decorations (for tests and for knowing whether any show). */
export function catchUpDecorations(state: EditorState): DecorationSet {
  return key.getState(state)?.decorations ?? DecorationSet.empty
}

function compute(state: EditorState, marks: CatchUpMarks, old: EditorState): DecorationSet {
  // The binding is one object for the editor's life; the old state surely has it already.
  const sync = ySyncPluginKey.getState(state) ?? ySyncPluginKey.getState(old)
  const fragment = sync?.binding?.type as Y.XmlFragment | undefined
  if (!fragment) return DecorationSet.empty
  const after = new Map(marks.inserted.map(({ client, from }) => [client, from]))
  const authorOf = new Map<number, Author>()
  const byId = new Map(marks.authors.map((author) => [author.id, author]))
  for (const { client, author } of marks.inserted) {
    const found = byId.get(author)
    if (found) authorOf.set(client, found)
  }
  const { runs, size } = insertedRuns(fragment, after, (name) => state.schema.nodes[name]?.isLeaf ?? false)
  // The editor shows the fragment as the binding last rendered it; should they differ (a change
  // not rendered yet), positions would mark the wrong text: mark nothing until the next pass.
  if (size !== state.doc.content.size) return DecorationSet.empty
  const decorations = runs.map(({ from, to, client }) => {
    const author = authorOf.get(client)
    return Decoration.inline(from, to, {
      class: 'catch-up-added',
      nodeName: 'ins',
      title: `Added by ${author?.name ?? 'someone'} since your last visit`,
      'data-author': author?.name ?? '',
      style: `--author-color:${author?.color ?? '#888888'}`,
    })
  })
  return DecorationSet.create(state.doc, decorations)
}

/**
 * Marks, in the live (still editable) document, the text others inserted since my last visit, in
 * each author's colour, until dismissed. A keystroke only maps the marks through its change; the
 * document is walked again (one pass over its Yjs items) once edits pause, so that marks follow
 * remote changes and text I type inside a mark stops looking like someone else's.
 */
export const CatchUpHighlights = Extension.create({
  name: 'catchUpHighlights',

  addProseMirrorPlugins() {
    return [
      new Plugin<MarksState>({
        key,
        state: {
          init: () => ({ marks: null, decorations: DecorationSet.empty }),
          apply(tr: Transaction, value: MarksState, old, state): MarksState {
            const meta = tr.getMeta(key) as { marks?: CatchUpMarks | null; recompute?: true } | undefined
            if (meta && 'marks' in meta) {
              const marks = meta.marks ?? null
              return { marks, decorations: marks ? compute(state, marks, old) : DecorationSet.empty }
            }
            if (!value.marks) return value
            if (meta?.recompute) return { marks: value.marks, decorations: compute(state, value.marks, old) }
            return tr.docChanged ? { marks: value.marks, decorations: value.decorations.map(tr.mapping, tr.doc) } : value
          },
        },
        props: {
          decorations: (state) => key.getState(state)?.decorations,
        },
        view: () => {
          let timer: ReturnType<typeof setTimeout> | null = null
          return {
            update(view, previous) {
              if (!key.getState(view.state)?.marks || view.state.doc === previous.doc) return
              if (timer) clearTimeout(timer)
              timer = setTimeout(() => {
                timer = null
                if (!view.isDestroyed && key.getState(view.state)?.marks)
                  view.dispatch(view.state.tr.setMeta(key, { recompute: true }).setMeta('addToHistory', false))
              }, RECOMPUTE_AFTER_MS)
            },
            destroy() {
              if (timer) clearTimeout(timer)
            },
          }
        },
      }),
    ]
  },
})
