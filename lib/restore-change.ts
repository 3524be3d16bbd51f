/**
 * Restore as a forward change: edits `current` (the live document's fragment) until it holds the
 * same content as `target` (a version's fragment, in another Y.Doc), changing only what differs.
 * Unchanged paragraphs keep their Yjs items, so a concurrent edit elsewhere, or inside a paragraph
 * that did not change, survives, and nothing stored is rewritten: the result is one more update.
 * Used by the server (the restore API) and by the browser (as one undoable transaction).
 */
import * as Y from 'yjs'

type Parent = Y.XmlFragment | Y.XmlElement
type Child = Y.XmlElement | Y.XmlText

interface DeltaOp {
  insert: unknown
  attributes?: Record<string, unknown>
}

/** Makes `current`'s children equal to `target`'s. Call inside a transaction of `current`'s doc. */
export function restoreFragment(current: Parent, target: Parent): void {
  const now = current.toArray() as Child[]
  const wanted = target.toArray() as Child[]
  const keyOf = new Map<Child, string>()
  const key = (node: Child) => {
    let k = keyOf.get(node)
    if (k === undefined) keyOf.set(node, (k = nodeKey(node)))
    return k
  }
  let start = 0
  while (start < now.length && start < wanted.length && key(now[start]) === key(wanted[start])) start++
  let endNow = now.length
  let endWanted = wanted.length
  while (endNow > start && endWanted > start && key(now[endNow - 1]) === key(wanted[endWanted - 1])) {
    endNow--
    endWanted--
  }
  // The differing middle: nodes of the same kind at the same offset are edited in place (a
  // paragraph someone is typing in keeps its items); the rest are removed or inserted.
  const paired = Math.min(endNow - start, endWanted - start)
  for (let i = 0; i < paired; i++) {
    const a = now[start + i]
    const b = wanted[start + i]
    if (a instanceof Y.XmlText && b instanceof Y.XmlText) restoreText(a, b)
    else if (a instanceof Y.XmlElement && b instanceof Y.XmlElement && a.nodeName === b.nodeName) {
      restoreAttributes(a, b)
      restoreFragment(a, b)
    } else {
      current.delete(start + i, 1)
      current.insert(start + i, [cloneNode(b)])
    }
  }
  if (endNow - start > paired) current.delete(start + paired, endNow - start - paired)
  if (endWanted - start > paired) current.insert(start + paired, wanted.slice(start + paired, endWanted).map(cloneNode))
}

function nodeKey(node: Child): string {
  if (node instanceof Y.XmlText) return `t${JSON.stringify(node.toDelta())}`
  return `e${node.nodeName}${JSON.stringify(sorted(node.getAttributes()))}[${(node.toArray() as Child[]).map(nodeKey).join(',')}]`
}

function sorted(attrs: Record<string, unknown>): [string, unknown][] {
  return Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : 1))
}

function restoreAttributes(current: Y.XmlElement, target: Y.XmlElement): void {
  const have = current.getAttributes() as Record<string, unknown>
  const want = target.getAttributes() as Record<string, unknown>
  for (const name of Object.keys(have)) if (!(name in want)) current.removeAttribute(name)
  for (const [name, value] of Object.entries(want)) {
    if (JSON.stringify(have[name]) !== JSON.stringify(value)) current.setAttribute(name, value as string)
  }
}

/** One character (or embed) with its formatting, for comparing texts. */
function units(text: Y.XmlText): { insert: unknown; attrs: string; attributes: Record<string, unknown> }[] {
  const list: { insert: unknown; attrs: string; attributes: Record<string, unknown> }[] = []
  for (const op of text.toDelta() as DeltaOp[]) {
    const attributes = op.attributes ?? {}
    const attrs = JSON.stringify(sorted(attributes))
    if (typeof op.insert === 'string') for (const char of op.insert) list.push({ insert: char, attrs, attributes })
    else list.push({ insert: op.insert, attrs, attributes })
  }
  return list
}

/** Replaces only the differing middle (after the common start and end) of the text. */
function restoreText(current: Y.XmlText, target: Y.XmlText): void {
  const a = units(current)
  const b = units(target)
  const same = (x: (typeof a)[number], y: (typeof b)[number]) =>
    x.attrs === y.attrs && JSON.stringify(x.insert) === JSON.stringify(y.insert)
  let start = 0
  while (start < a.length && start < b.length && same(a[start], b[start])) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && same(a[endA - 1], b[endB - 1])) {
    endA--
    endB--
  }
  const index = (list: typeof a, n: number) =>
    list.slice(0, n).reduce((sum, unit) => sum + (typeof unit.insert === 'string' ? unit.insert.length : 1), 0)
  const from = index(a, start)
  const removed = index(a, endA) - from
  if (removed > 0) current.delete(from, removed)
  let at = from
  for (let i = start; i < endB; i++) {
    // Explicit attributes (null for those not wanted), or Yjs would carry the left neighbour's over.
    const attributes = { ...b[i].attributes }
    const { insert } = b[i]
    if (typeof insert === 'string') {
      let run = insert
      while (i + 1 < endB && typeof b[i + 1].insert === 'string' && b[i + 1].attrs === b[i].attrs) run += b[++i].insert as string
      current.insert(at, run, attributes)
      at += run.length
    } else {
      current.insertEmbed(at, insert as object, attributes)
      at += 1
    }
  }
}

function cloneNode(node: Child): Child {
  return node.clone() as Child
}
