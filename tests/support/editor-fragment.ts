import * as Y from 'yjs'
import type { TestClient } from './sync-harness.ts'

/**
 * The text of paragraph `index` in a client's editor document (TipTap's Y.XmlFragment 'default'),
 * adding empty paragraphs up to it: what a page would write, without a browser.
 */
export function paragraphText(client: TestClient, index: number): Y.XmlText {
  const fragment = client.doc.getXmlFragment('default')
  while (fragment.length <= index) {
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText()])
    fragment.insert(fragment.length, [paragraph])
  }
  return (fragment.get(index) as Y.XmlElement).get(0) as Y.XmlText
}
