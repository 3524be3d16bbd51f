import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { getSchema } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { prosemirrorJSONToYXmlFragment, yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import { insertedRuns } from '../../components/editor/inserted-runs.ts'

// The editor's own schema, and the binding's own conversion: positions are checked against the
// ProseMirror document the sync binding makes of the same fragment.
const schema = getSchema([StarterKit])
const isLeaf = (name: string) => schema.nodes[name]?.isLeaf ?? false

function sync(from: Y.Doc, to: Y.Doc): void {
  Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)))
}

function paragraphText(doc: Y.Doc, index: number): Y.XmlText {
  return (doc.getXmlFragment('default').get(index) as Y.XmlElement).get(0) as Y.XmlText
}

test("finds the text others inserted after a version, as ProseMirror positions of the binding's document", () => {
  const ada = new Y.Doc()
  const grace = new Y.Doc()
  prosemirrorJSONToYXmlFragment(
    schema,
    {
      type: 'doc',
      content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'First line' }] },
        { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'A heading' }] },
        {
          type: 'bulletList',
          content: [{ type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'An item' }] }] }],
        },
        { type: 'paragraph', content: [{ type: 'text', text: 'Last' }, { type: 'hardBreak' }, { type: 'text', text: 'line' }] },
      ],
    },
    ada.getXmlFragment('default'),
  )
  paragraphText(ada, 0).insert(10, '!')
  sync(ada, grace)
  // The version: what both had then.
  const version = Y.decodeStateVector(Y.encodeStateVector(ada))

  // Ada goes on typing at the end of her own text: Yjs joins it to her earlier item, which then
  // straddles the version.
  paragraphText(ada, 0).insert(11, ', and more')
  // Grace inserts in the middle, in bold, deletes a word, and adds a paragraph with a line break.
  sync(ada, grace)
  paragraphText(grace, 0).insert(6, 'bold ', { bold: true })
  paragraphText(grace, 1).delete(0, 2)
  const fragment = grace.getXmlFragment('default')
  const added = new Y.XmlElement('paragraph')
  const before = new Y.XmlText()
  const after = new Y.XmlText()
  added.insert(0, [before, new Y.XmlElement('hardBreak'), after])
  fragment.insert(3, [added])
  before.insert(0, 'New')
  after.insert(0, 'para')
  // Text Grace added and then deleted is not there to mark.
  paragraphText(grace, 0).insert(0, 'gone')
  paragraphText(grace, 0).delete(0, 4)
  sync(grace, ada)

  const pm = yXmlFragmentToProseMirrorRootNode(ada.getXmlFragment('default'), schema)
  const text = (run: { from: number; to: number }) => pm.textBetween(run.from, run.to, '|', '/')

  const onlyGrace = insertedRuns(
    ada.getXmlFragment('default'),
    new Map([[grace.clientID, version.get(grace.clientID) ?? 0]]),
    isLeaf,
  )
  assert.equal(onlyGrace.size, pm.content.size, 'counts the document as the binding makes it')
  assert.deepEqual(onlyGrace.runs.map(text), ['bold ', 'New', 'para'])
  assert.ok(onlyGrace.runs.every((run) => run.client === grace.clientID))

  const both = insertedRuns(
    ada.getXmlFragment('default'),
    new Map([
      [grace.clientID, version.get(grace.clientID) ?? 0],
      [ada.clientID, version.get(ada.clientID) ?? 0],
    ]),
    isLeaf,
  )
  assert.deepEqual(both.runs.map(text), ['bold ', ', and more', 'New', 'para'])
  assert.equal(both.runs[1].client, ada.clientID)

  // Nothing after the version: nothing marked.
  assert.deepEqual(
    insertedRuns(ada.getXmlFragment('default'), new Map([[ada.clientID, Number.MAX_SAFE_INTEGER]]), isLeaf).runs,
    [],
  )
})
