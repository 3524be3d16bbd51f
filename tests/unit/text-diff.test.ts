import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { diffText, mapPosition, type Splice } from '../../components/lib/text-diff.ts'

const apply = (text: string, s: Splice | null) => (s ? text.slice(0, s.index) + s.insert + text.slice(s.index + s.remove) : text)

test('equal strings need no edit', () => {
  assert.equal(diffText('same', 'same'), null)
})

test('typing, deleting and replacing become one minimal splice', () => {
  assert.deepEqual(diffText('Hello', 'Hello!'), { index: 5, remove: 0, insert: '!' })
  assert.deepEqual(diffText('Hello', 'Hllo'), { index: 1, remove: 1, insert: '' })
  assert.deepEqual(diffText('Hello world', 'Hello there world'), { index: 6, remove: 0, insert: 'there ' })
  assert.deepEqual(diffText('abc', 'xyz'), { index: 0, remove: 3, insert: 'xyz' })
  assert.deepEqual(diffText('', 'new'), { index: 0, remove: 0, insert: 'new' })
})

test('repeated letters: the splice is still minimal and correct', () => {
  for (const [a, b] of [
    ['aaa', 'aaaa'],
    ['abab', 'ab'],
    ['mississippi', 'missippi'],
  ]) {
    const splice = diffText(a, b)
    assert.equal(apply(a, splice), b)
    assert.equal(splice!.remove + splice!.insert.length, Math.abs(a.length - b.length))
  }
})

test('never splits a surrogate pair', () => {
  for (const [a, b] of [
    ['x😀y', 'x😁y'],
    ['😀', '😁'],
    ['a😀', 'a😀😀'],
    ['😀b', '😀😀b'],
  ]) {
    const splice = diffText(a, b)!
    assert.equal(apply(a, splice), b)
    const removed = a.slice(splice.index, splice.index + splice.remove)
    for (const part of [removed, splice.insert]) {
      assert.doesNotMatch(part, /^[\udc00-\udfff]|[\ud800-\udbff]$/, `split pair in ${JSON.stringify(part)}`)
    }
  }
})

test('a caret moves with remote text inserted or deleted before it', () => {
  assert.equal(mapPosition(5, [{ insert: 'abc' }]), 8)
  assert.equal(mapPosition(5, [{ retain: 2 }, { delete: 2 }]), 3)
  assert.equal(mapPosition(5, [{ retain: 3 }, { delete: 10 }]), 3)
})

test('a caret stays put for edits after it or exactly at it', () => {
  assert.equal(mapPosition(2, [{ retain: 4 }, { insert: 'zz' }]), 2)
  assert.equal(mapPosition(2, [{ retain: 2 }, { insert: 'zz' }]), 2)
  assert.equal(mapPosition(0, [{ insert: 'zz' }]), 0)
})

test('a caret at the end of replaced text ends after the replacement, in either op order', () => {
  assert.equal(mapPosition(4, [{ delete: 4 }, { insert: 'xy' }]), 2)
  assert.equal(mapPosition(4, [{ insert: 'xy' }, { delete: 4 }]), 2)
  assert.equal(mapPosition(2, [{ delete: 4 }, { insert: 'xy' }]), 2)
})

test('mapping agrees with a real Y.Text delta', () => {
  const doc = new Y.Doc()
  const text = doc.getText('title')
  text.insert(0, 'Quarterly plan')
  let delta: Y.YTextEvent['delta'] = []
  text.observe((event) => {
    delta = event.delta
  })
  const caret = 'Quarterly'.length
  doc.transact(() => {
    text.delete(0, 'Quarterly'.length)
    text.insert(0, 'Annual')
    text.insert('Annual plan'.length, ' draft')
  })
  assert.equal(text.toString(), 'Annual plan draft')
  assert.equal(mapPosition(caret, delta), 'Annual'.length)
})
