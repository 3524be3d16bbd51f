/**
 * A document at a version, read from a gc-free Y.Doc and a Yjs snapshot: as the editor's
 * ProseMirror JSON, as plain text, or as HTML with the changes since another snapshot marked
 * (insertions in their author's colour, deletions struck through). Items are read as the snapshots
 * say they were, so the document itself is never changed: a version is only a view.
 *
 * Works on a private copy of the document (see `copyForReading`): Yjs splits items while it reads
 * text at a snapshot, a transaction a live document's observers must not see.
 */
import * as Y from 'yjs'
import type { Author } from '../../lib/history.ts'

/** The editor's Y.XmlFragment (TipTap's Collaboration extension's default field). */
export const FRAGMENT = 'default'

export interface ContentNode {
  type: string
  attrs?: Record<string, unknown>
  content?: ContentNode[]
  text?: string
  marks?: { type: string; attrs?: Record<string, unknown> }[]
  /** Only when comparing: inserted since, or deleted since, the earlier snapshot. */
  change?: { type: 'added' | 'removed'; author: Author | null }
}

export function copyForReading(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc({ gc: false })
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
  return copy
}

function visibleAt(item: Y.Item, snapshot: Y.Snapshot): boolean {
  const clock = snapshot.sv.get(item.id.client)
  return clock !== undefined && clock > item.id.clock && !Y.isDeleted(snapshot.ds, item.id)
}

/**
 * The fragment at `snapshot`; with `previous`, also what was there at `previous` and is gone
 * (marked removed), and what is new (marked added). `authorOf` names the writer of a Yjs client.
 */
export function readVersion(
  doc: Y.Doc,
  snapshot: Y.Snapshot,
  previous: Y.Snapshot | null,
  authorOf: (clientId: number) => Author | null,
): ContentNode {
  // One transaction for the whole reading: Yjs splits the items at a snapshot's edges once per
  // transaction, so reading paragraph by paragraph in their own would walk the document each time.
  let content: ContentNode[] = []
  doc.transact(() => {
    content = readChildren(doc.getXmlFragment(FRAGMENT), snapshot, previous, authorOf)
  })
  return { type: 'doc', content }
}

function readChildren(
  parent: Y.XmlFragment | Y.XmlElement,
  snapshot: Y.Snapshot,
  previous: Y.Snapshot | null,
  authorOf: (clientId: number) => Author | null,
): ContentNode[] {
  const nodes: ContentNode[] = []
  for (let item = parent._start; item !== null; item = item.right as Y.Item | null) {
    if (!(item.content instanceof Y.ContentType)) continue
    const now = visibleAt(item, snapshot)
    const before = previous !== null && visibleAt(item, previous)
    if (!now && !before) continue
    const change =
      previous === null || now === before
        ? undefined
        : { type: now ? ('added' as const) : ('removed' as const), author: authorOf(item.id.client) }
    const type = item.content.type
    if (type instanceof Y.XmlText) {
      for (const node of readText(type, now ? snapshot : (previous as Y.Snapshot), now ? previous : null, authorOf)) {
        nodes.push(change && !node.change ? { ...node, change } : node)
      }
    } else if (type instanceof Y.XmlElement) {
      const attrs = type.getAttributes(snapshot) as Record<string, unknown>
      const node: ContentNode = { type: type.nodeName }
      if (Object.keys(attrs).length > 0) node.attrs = attrs
      const content = readChildren(type, now ? snapshot : (previous as Y.Snapshot), now ? previous : null, authorOf)
      if (content.length > 0) node.content = content
      if (change) node.change = change
      nodes.push(node)
    }
  }
  return nodes
}

interface DeltaOp {
  insert: unknown
  attributes?: Record<string, unknown> & { ychange?: { type: 'added' | 'removed'; client: number } }
}

function readText(
  text: Y.XmlText,
  snapshot: Y.Snapshot,
  previous: Y.Snapshot | null,
  authorOf: (clientId: number) => Author | null,
): ContentNode[] {
  const delta = (
    previous === null
      ? text.toDelta(snapshot)
      : text.toDelta(snapshot, previous, (type: 'added' | 'removed', id: Y.ID) => ({ type, client: id.client }))
  ) as DeltaOp[]
  const nodes: ContentNode[] = []
  for (const op of delta) {
    if (typeof op.insert !== 'string' || op.insert.length === 0) continue
    const node: ContentNode = { type: 'text', text: op.insert }
    const marks: ContentNode['marks'] = []
    for (const [name, value] of Object.entries(op.attributes ?? {})) {
      if (name === 'ychange' || value === null || value === undefined) continue
      marks.push(
        typeof value === 'object' && Object.keys(value as object).length > 0
          ? { type: name, attrs: value as Record<string, unknown> }
          : { type: name },
      )
    }
    if (marks.length > 0) node.marks = marks
    const ychange = op.attributes?.ychange
    if (ychange) node.change = { type: ychange.type, author: authorOf(ychange.client) }
    nodes.push(node)
  }
  return nodes
}

/** The editor's JSON: what a compared reading says is there at the later snapshot. */
export function toProseMirrorJson(node: ContentNode): ContentNode | null {
  if (node.change?.type === 'removed') return null
  const { change: _change, ...rest } = node
  if (!node.content) return rest
  const content = node.content.map(toProseMirrorJson).filter((child): child is ContentNode => child !== null)
  return content.length > 0 ? { ...rest, content } : { ...rest, content: undefined }
}

const BLOCKS = new Set([
  'paragraph',
  'heading',
  'blockquote',
  'codeBlock',
  'listItem',
  'bulletList',
  'orderedList',
  'horizontalRule',
])

export function toPlainText(node: ContentNode): string {
  const lines: string[] = []
  const walk = (current: ContentNode, line: string[]): void => {
    if (current.change?.type === 'removed') return
    if (current.type === 'text') line.push(current.text ?? '')
    else if (current.type === 'hardBreak') line.push('\n')
    for (const child of current.content ?? []) {
      if (BLOCKS.has(child.type) && !['bulletList', 'orderedList', 'listItem', 'blockquote'].includes(child.type)) {
        const own: string[] = []
        walk(child, own)
        lines.push(own.join(''))
      } else walk(child, line)
    }
  }
  const rest: string[] = []
  walk(node, rest)
  if (rest.length > 0) lines.push(rest.join(''))
  return lines.join('\n')
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

function safeHref(value: unknown): string | null {
  return typeof value === 'string' && /^(https?:|mailto:)/i.test(value) ? value : null
}

const TAGS: Record<string, string> = {
  paragraph: 'p',
  blockquote: 'blockquote',
  bulletList: 'ul',
  orderedList: 'ol',
  listItem: 'li',
  codeBlock: 'pre',
}

const MARK_TAGS: Record<string, string> = { bold: 'strong', italic: 'em', underline: 'u', strike: 's', code: 'code' }

function changeAttributes(change: ContentNode['change']): string {
  if (!change) return ''
  const author = change.author
  const who = author ? ` data-author="${escapeHtml(author.name)}" style="--author-color:${author.color}"` : ''
  return ` class="version-${change.type}"${who}`
}

/** HTML of a reading; every text is escaped and only web and mail links are kept. */
export function toHtml(node: ContentNode): string {
  if (node.type === 'text') {
    let html = escapeHtml(node.text ?? '')
    for (const mark of node.marks ?? []) {
      if (mark.type === 'link') {
        const href = safeHref(mark.attrs?.href)
        html = href ? `<a href="${escapeHtml(href)}" rel="noopener noreferrer" target="_blank">${html}</a>` : html
      } else if (MARK_TAGS[mark.type]) html = `<${MARK_TAGS[mark.type]}>${html}</${MARK_TAGS[mark.type]}>`
    }
    if (node.change) {
      const tag = node.change.type === 'added' ? 'ins' : 'del'
      html = `<${tag}${changeAttributes(node.change)}>${html}</${tag}>`
    }
    return html
  }
  const inner = (node.content ?? []).map(toHtml).join('')
  if (node.type === 'doc') return inner
  if (node.type === 'hardBreak') return '<br>'
  if (node.type === 'horizontalRule') return `<hr${changeAttributes(node.change)}>`
  const tag =
    node.type === 'heading' ? `h${Math.min(6, Math.max(1, Number(node.attrs?.level) || 1))}` : (TAGS[node.type] ?? 'div')
  const body = tag === 'pre' ? `<code>${inner}</code>` : inner
  return `<${tag}${changeAttributes(node.change)}>${body}</${tag}>`
}

/** Words added and removed, and the top-level blocks that changed, in a compared reading. */
export function summarize(node: ContentNode): { added: number; removed: number; blocksChanged: number } {
  let added = 0
  let removed = 0
  let blocksChanged = 0
  const countWords = (text: string) => (text.match(/[\p{L}\p{N}]+/gu) ?? []).length
  const walk = (current: ContentNode, change: ContentNode['change']): boolean => {
    const own = current.change ?? change
    let changed = own !== undefined
    if (current.type === 'text' && own) {
      if (own.type === 'added') added += countWords(current.text ?? '')
      else removed += countWords(current.text ?? '')
    }
    for (const child of current.content ?? []) if (walk(child, own)) changed = true
    return changed
  }
  for (const block of node.content ?? []) if (walk(block, undefined)) blocksChanged++
  return { added, removed, blocksChanged }
}
