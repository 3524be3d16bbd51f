/**
 * The pure parts of version history: the checkpoint policy, restore as a forward change, and the
 * delta-encoded version snapshots.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { restoreFragment } from '../../lib/restore-change.ts'
import { checkpointDue, nextCheck, noteEdit } from '../../server/document/checkpoint-policy.ts'
import { encodeStateForClients } from '../../server/document/client-state.ts'
import { copyForReading, readVersion, summarize, toHtml, toPlainText } from '../../server/document/version-content.ts'
import { decodeVersionSnapshot, deleteSetDelta, encodeVersionSnapshot } from '../../server/document/version-snapshots.ts'

const policy = { pauseMs: 120_000, maxMs: 1_800_000 }

describe('checkpoint policy', () => {
  it('makes nothing without edits', () => {
    assert.equal(checkpointDue(policy, null, 10_000_000), null)
    assert.equal(nextCheck(policy, null), null)
  })

  it('makes a version after a 2-minute pause, and coalesces a burst into one', () => {
    let edits = noteEdit(null, 0)
    for (let t = 1000; t <= 60_000; t += 1000) edits = noteEdit(edits, t)
    assert.equal(checkpointDue(policy, edits, 60_000 + 119_999), null, 'still within the pause')
    assert.equal(checkpointDue(policy, edits, 60_000 + 120_000), 'pause')
    assert.equal(nextCheck(policy, edits), 180_000)
  })

  it('makes one at least every 30 minutes of continuous editing', () => {
    let edits = noteEdit(null, 0)
    for (let t = 0; t <= 1_800_000; t += 30_000) {
      edits = noteEdit(edits, t)
      if (t < 1_800_000) assert.equal(checkpointDue(policy, edits, t), null)
    }
    assert.equal(checkpointDue(policy, edits, 1_800_000), 'continuous')
    assert.equal(nextCheck(policy, edits), 1_800_000)
  })
})

/** A doc with paragraphs of text, as TipTap stores them. */
function paragraphs(doc: Y.Doc, texts: string[]): void {
  const fragment = doc.getXmlFragment('default')
  fragment.insert(
    fragment.length,
    texts.map((text) => {
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText(text)])
      return paragraph
    }),
  )
}

function textsOf(doc: Y.Doc): string[] {
  return doc
    .getXmlFragment('default')
    .toArray()
    .map((node) => ((node as Y.XmlElement).toArray()[0] as Y.XmlText | undefined)?.toString() ?? '')
}

describe('restore as a forward change', () => {
  it('brings the content back as a new update, changing only what differs', () => {
    const doc = new Y.Doc({ gc: false })
    paragraphs(doc, ['one', 'two', 'three'])
    const version = Y.snapshot(doc)
    const kept = doc.getXmlFragment('default').get(0)
    const first = (doc.getXmlFragment('default').get(1) as Y.XmlElement).get(0) as Y.XmlText
    first.delete(0, 3)
    first.insert(0, 'TWO, rewritten')
    doc.getXmlFragment('default').delete(2, 1)
    paragraphs(doc, ['four'])
    const before = Y.encodeStateVector(doc)
    const target = Y.createDocFromSnapshot(doc, version)
    doc.transact(() => restoreFragment(doc.getXmlFragment('default'), target.getXmlFragment('default')))
    assert.deepEqual(textsOf(doc), ['one', 'two', 'three'])
    assert.equal(doc.getXmlFragment('default').get(0), kept, 'an unchanged paragraph keeps its items')
    assert.ok(Y.encodeStateAsUpdate(doc, before).byteLength > 0, 'the restore is a new change')
  })

  it('keeps an edit made concurrently by someone else', () => {
    const alice = new Y.Doc({ gc: false })
    paragraphs(alice, ['keep me', 'old text'])
    const version = Y.snapshot(alice)
    ;((alice.getXmlFragment('default').get(1) as Y.XmlElement).get(0) as Y.XmlText).insert(8, ' and newer text')
    const bob = new Y.Doc()
    Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice))
    // Bob types into the first paragraph while Alice restores.
    ;((bob.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(7, ', Bob was here')
    const target = Y.createDocFromSnapshot(alice, version)
    alice.transact(() => restoreFragment(alice.getXmlFragment('default'), target.getXmlFragment('default')))
    Y.applyUpdate(alice, Y.encodeStateAsUpdate(bob))
    Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice))
    assert.deepEqual(textsOf(alice), ['keep me, Bob was here', 'old text'])
    assert.deepEqual(textsOf(bob), textsOf(alice))
  })

  it('restores formatting and attributes exactly', () => {
    const doc = new Y.Doc({ gc: false })
    const heading = new Y.XmlElement('heading')
    heading.setAttribute('level', 1 as unknown as string)
    const text = new Y.XmlText()
    heading.insert(0, [text])
    doc.getXmlFragment('default').insert(0, [heading])
    text.insert(0, 'plain ')
    text.insert(6, 'bold', { bold: true })
    const version = Y.snapshot(doc)
    text.format(0, 10, { bold: true })
    heading.setAttribute('level', 2 as unknown as string)
    text.insert(10, ' more', { italic: true })
    const target = Y.createDocFromSnapshot(doc, version)
    doc.transact(() => restoreFragment(doc.getXmlFragment('default'), target.getXmlFragment('default')))
    assert.equal(doc.getXmlFragment('default').toString(), target.getXmlFragment('default').toString())
  })
})

describe('version snapshots', () => {
  it('stores only new deletions, and reads back the whole snapshot', () => {
    const doc = new Y.Doc({ gc: false })
    const text = doc.getText('t')
    text.insert(0, 'abcdefghijklmnop')
    text.delete(2, 3)
    const first = Y.snapshot(doc)
    text.delete(5, 2)
    text.insert(0, 'xyz')
    text.delete(0, 1)
    const second = Y.snapshot(doc)
    const delta = deleteSetDelta(second.ds, first.ds)
    let ranges = 0
    for (const list of delta.clients.values()) ranges += list.length
    assert.equal(ranges, 2, 'the two later deletions only')
    const stored = [encodeVersionSnapshot(first, null, true), encodeVersionSnapshot(second, first, false)]
    assert.ok(stored[1].byteLength <= Y.encodeSnapshot(second).byteLength)
    assert.ok(Y.equalSnapshots(decodeVersionSnapshot(stored), second))
    assert.equal(Y.createDocFromSnapshot(doc, decodeVersionSnapshot(stored)).getText('t').toString(), text.toString())
    assert.equal(
      Y.createDocFromSnapshot(doc, decodeVersionSnapshot(stored.slice(0, 1)))
        .getText('t')
        .toString(),
      'abfghijklmnop',
    )
  })

  it('reads a version with the changes since another marked, escaped, with their authors', () => {
    const doc = new Y.Doc({ gc: false })
    paragraphs(doc, ['hello <world>'])
    const before = Y.snapshot(doc)
    const text = (doc.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText
    text.delete(0, 5)
    text.insert(0, 'goodbye')
    const after = Y.snapshot(doc)
    const author = { id: 'a1', name: 'Ada', color: '#123456' }
    const reading = readVersion(copyForReading(doc), after, before, () => author)
    const html = toHtml(reading)
    assert.match(html, /<ins class="version-added" data-author="Ada" style="--author-color:#123456">goodbye<\/ins>/)
    assert.match(html, /<del class="version-removed"[^>]*>hello<\/del>/)
    assert.match(html, /&lt;world&gt;/)
    assert.deepEqual(summarize(reading), { added: 1, removed: 1, blocksChanged: 1 })
    assert.equal(toPlainText(readVersion(copyForReading(doc), before, null, () => null)), 'hello <world>')
  })
})

describe('the state sent to clients', () => {
  it('leaves deleted content out, gives clients the same document, and changes nothing on the server', () => {
    const doc = new Y.Doc({ gc: false })
    paragraphs(doc, ['first paragraph, soon gone', 'second'])
    const early = new Y.Doc()
    Y.applyUpdate(early, encodeStateForClients(doc))
    const text = (doc.getXmlFragment('default').get(1) as Y.XmlElement).get(0) as Y.XmlText
    text.insert(6, ' line, bold for a while', { bold: true })
    text.format(0, 6, { italic: true })
    text.delete(6, 10)
    doc.getXmlFragment('default').delete(0, 1)
    paragraphs(doc, ['third'])
    const whole = Y.encodeStateAsUpdate(doc)
    const sent = encodeStateForClients(doc)
    assert.ok(sent.byteLength < whole.byteLength, `${sent.byteLength} < ${whole.byteLength}`)
    assert.deepEqual(Y.encodeStateAsUpdate(doc), whole, 'the server keeps every deleted item')
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, sent)
    assert.equal(fresh.getXmlFragment('default').toString(), doc.getXmlFragment('default').toString())
    // A client that was here before gets only what it lacks, and the same document.
    Y.applyUpdate(early, encodeStateForClients(doc, Y.encodeStateVector(early)))
    assert.equal(early.getXmlFragment('default').toString(), doc.getXmlFragment('default').toString())
    // …and the server's versions still read the deleted text.
    assert.match(toHtml(readVersion(copyForReading(doc), Y.snapshot(doc), Y.emptySnapshot, () => null)), /third/)
    assert.equal(Y.createDocFromSnapshot(doc, Y.snapshot(doc)).getXmlFragment('default').length, 2)
  })

  it('gives a client at any earlier state the same document, over random edits by several writers', () => {
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    const server = new Y.Doc({ gc: false })
    const writers = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
    const clients: Y.Doc[] = []
    for (let round = 0; round < 60; round++) {
      const writer = writers[random(writers.length)]
      Y.applyUpdate(writer, Y.encodeStateAsUpdate(server, Y.encodeStateVector(writer)))
      const fragment = writer.getXmlFragment('default')
      writer.transact(() => {
        const action = random(4)
        if (fragment.length === 0 || action === 0) {
          const paragraph = new Y.XmlElement('paragraph')
          paragraph.insert(0, [new Y.XmlText(`p${round} `)])
          fragment.insert(random(fragment.length + 1), [paragraph])
        } else if (action === 1) {
          fragment.delete(random(fragment.length), 1)
        } else {
          const text = (fragment.get(random(fragment.length)) as Y.XmlElement).get(0) as Y.XmlText
          if (action === 2 || text.length === 0)
            text.insert(random(text.length + 1), `w${round}`, random(2) ? { bold: true } : {})
          else text.delete(random(text.length), 1 + random(Math.min(3, text.length)))
        }
      })
      Y.applyUpdate(server, Y.encodeStateAsUpdate(writer, Y.encodeStateVector(server)))
      if (round % 10 === 0) {
        const client = new Y.Doc()
        Y.applyUpdate(client, encodeStateForClients(server))
        clients.push(client)
      }
    }
    const expected = server.getXmlFragment('default').toString()
    for (const client of [...clients, new Y.Doc()]) {
      Y.applyUpdate(client, encodeStateForClients(server, Y.encodeStateVector(client)))
      assert.equal(client.getXmlFragment('default').toString(), expected)
      assert.equal(client.store.pendingStructs, null)
    }
  })
})
