import * as Y from 'yjs'

/** A stretch of text inserted by one Yjs client, as ProseMirror positions in the bound document. */
export interface InsertedRun {
  from: number
  to: number
  client: number
}

/**
 * The text still present in `fragment` that the watched clients inserted after a version: an item
 * of client c whose clock is at or beyond `after.get(c)` came later. Positions are those of the
 * ProseMirror document the sync binding makes of the fragment: an element opens and closes (two
 * positions, one for a leaf such as a hard break), a Y.XmlText is as long as its text.
 *
 * One pass over the fragment's items, nothing else; `size` is the document's content size as
 * counted, so that a caller can check it against the editor's before trusting the positions.
 * Adjacent runs of one client are joined.
 */
export function insertedRuns(
  fragment: Y.XmlFragment,
  after: ReadonlyMap<number, number>,
  isLeaf: (nodeName: string) => boolean,
): { runs: InsertedRun[]; size: number } {
  const runs: InsertedRun[] = []
  const add = (from: number, to: number, client: number) => {
    const last = runs[runs.length - 1]
    if (last && last.client === client && last.to === from) last.to = to
    else runs.push({ from, to, client })
  }
  const walkText = (text: Y.XmlText, start: number): number => {
    let pos = start
    for (let item = text._start; item !== null; item = item.right) {
      if (item.deleted || !item.countable) continue
      const since = after.get(item.id.client)
      if (since !== undefined && item.id.clock + item.length > since) {
        // Yjs joins a client's consecutive items, so one item may straddle the version.
        add(pos + Math.max(0, since - item.id.clock), pos + item.length, item.id.client)
      }
      pos += item.length
    }
    return pos
  }
  // Returns the position after the children of `parent`, starting at `start`.
  const walkChildren = (parent: Y.XmlFragment | Y.XmlElement, start: number): number => {
    let pos = start
    for (let item = parent._start; item !== null; item = item.right) {
      if (item.deleted || !(item.content instanceof Y.ContentType)) continue
      const type = item.content.type
      if (type instanceof Y.XmlText) pos = walkText(type, pos)
      else if (type instanceof Y.XmlElement) pos = isLeaf(type.nodeName) ? pos + 1 : walkChildren(type, pos + 1) + 1
    }
    return pos
  }
  return { runs, size: walkChildren(fragment, 0) }
}
