import { Extension } from '@tiptap/core'
import { Plugin, PluginKey } from '@tiptap/pm/state'

export interface PasteTablesAndImagesOptions {
  /** Images were left out of a paste or drop. */
  onImagesDropped: () => void
}

/**
 * The document has no tables and no images yet, and ProseMirror's paste kept neither well: a
 * table's cells ran together into one line, and images vanished without a word. Until they are
 * supported, each table row is pasted as a paragraph of its own with the cells separated by tabs
 * (what spreadsheets put on the clipboard as plain text, so the row pastes back into one), and
 * leaving images out is said out loud.
 */
export const PasteTablesAndImages = Extension.create<PasteTablesAndImagesOptions>({
  name: 'pasteTablesAndImages',

  addOptions() {
    return { onImagesDropped: () => {} }
  },

  addProseMirrorPlugins() {
    const { onImagesDropped } = this.options
    return [
      new Plugin({
        key: new PluginKey('pasteTablesAndImages'),
        props: {
          // Runs for drops as well as pastes.
          transformPastedHTML(html) {
            const { html: cleaned, imagesDropped } = flattenTablesAndDropImages(html)
            if (imagesDropped > 0) onImagesDropped()
            return cleaned
          },
          // A copied picture or screenshot comes as a file alone, with no HTML to transform.
          handlePaste(_view, event) {
            const data = event.clipboardData
            if (!data || data.types.includes('text/html') || data.types.includes('text/plain')) return false
            const images = Array.from(data.files).filter((file) => file.type.startsWith('image/'))
            if (images.length === 0) return false
            onImagesDropped()
            return true
          },
        },
      }),
    ]
  },
})

const IMAGES = 'img, picture, image, svg'
/** Elements that start a new line inside a table cell; flattened to their content and a space. */
const BLOCKS = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'DD',
  'DIV',
  'DL',
  'DT',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'UL',
])

/**
 * Replaces every table with one paragraph per row, cells joined by tabs (kept as tabs: a
 * `white-space: pre` span survives ProseMirror's whitespace collapsing), the caption first; and
 * removes images. Inline formatting inside cells (bold, links) is kept. Browser only (DOMParser).
 */
export function flattenTablesAndDropImages(html: string): { html: string; imagesDropped: number } {
  // Most pastes have neither; parsing a large paste twice would cost a noticeable moment.
  if (!/<(table|img|picture|image|svg)\b/i.test(html)) return { html, imagesDropped: 0 }
  const doc = new DOMParser().parseFromString(html, 'text/html')
  const images = doc.body.querySelectorAll(IMAGES)
  // An <svg> can hold an <image>; count the outermost only.
  const outermost = Array.from(images).filter((image) => !image.parentElement?.closest(IMAGES))
  for (const image of outermost) image.remove()

  // Innermost first, so that a nested table is already paragraphs when its cell is flattened.
  const tables = Array.from(doc.body.querySelectorAll('table')).reverse()
  for (const table of tables) {
    const replacement = doc.createDocumentFragment()
    const caption = table.querySelector(':scope > caption')
    if (caption?.textContent?.trim()) replacement.append(paragraphOf(doc, [inlineContent(doc, caption)]))
    for (const row of Array.from(table.rows)) {
      const cells = Array.from(row.cells).map((cell) => inlineContent(doc, cell))
      if (cells.every((cell) => !cell.textContent?.trim())) continue
      replacement.append(paragraphOf(doc, cells))
    }
    table.replaceWith(replacement)
  }
  if (outermost.length === 0 && tables.length === 0) return { html, imagesDropped: 0 }
  return { html: doc.body.innerHTML, imagesDropped: outermost.length }
}

function paragraphOf(doc: Document, cells: DocumentFragment[]): HTMLParagraphElement {
  const paragraph = doc.createElement('p')
  cells.forEach((cell, i) => {
    if (i > 0) {
      const tab = doc.createElement('span')
      tab.style.whiteSpace = 'pre'
      tab.textContent = '\t'
      paragraph.append(tab)
    }
    paragraph.append(cell)
  })
  return paragraph
}

/** A cell's content with its block elements (paragraphs, lists, nested-table rows) run into one line. */
function inlineContent(doc: Document, cell: Element): DocumentFragment {
  const fragment = doc.createDocumentFragment()
  let needsSpace = false
  const walk = (node: Node, into: Node) => {
    for (const child of Array.from(node.childNodes)) {
      if (child instanceof Element && (BLOCKS.has(child.tagName) || child.tagName === 'BR')) {
        needsSpace = into.textContent !== ''
        walk(child, into)
        needsSpace = true
      } else {
        if (needsSpace && child.textContent?.trim()) {
          into.appendChild(doc.createTextNode(' '))
          needsSpace = false
        }
        into.appendChild(child)
      }
    }
  }
  walk(cell, fragment)
  return fragment
}
