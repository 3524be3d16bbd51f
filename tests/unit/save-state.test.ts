import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { idsToRemember, parseRememberedIds, rememberId, unsavedClients } from '../../components/lib/save-state.ts'

const sv = (entries: [number, number][]) => new Map(entries)

test('nothing of mine is unsaved when the server is at or past my clocks', () => {
  const local = sv([
    [1, 5],
    [2, 9],
  ])
  assert.deepEqual(
    unsavedClients(
      local,
      sv([
        [1, 5],
        [2, 3],
      ]),
      [1],
    ),
    [],
  )
  assert.deepEqual(unsavedClients(local, sv([[1, 7]]), [1]), [])
})

test('my client is unsaved while its local clock is ahead of the saved one', () => {
  assert.deepEqual(unsavedClients(sv([[1, 5]]), sv([[1, 4]]), [1]), [1])
  assert.deepEqual(unsavedClients(sv([[1, 5]]), sv([]), [1]), [1])
})

test("other people's unsaved edits are not mine to wait for", () => {
  assert.deepEqual(
    unsavedClients(
      sv([
        [1, 2],
        [2, 50],
      ]),
      sv([[1, 2]]),
      [1],
    ),
    [],
  )
})

test('an id I used earlier counts: an offline edit before a reload is still unsaved', () => {
  const local = sv([
    [10, 3],
    [11, 0],
  ])
  assert.deepEqual(unsavedClients(local, sv([]), [11, 10]), [10])
})

test('a client with no edits at all is saved even before the server reports anything', () => {
  assert.deepEqual(unsavedClients(sv([]), sv([]), [42]), [])
})

test('works with real Yjs state vectors', () => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'hello')
  const server = new Y.Doc()
  const saved = () => Y.decodeStateVector(Y.encodeStateVector(server))
  const local = () => Y.decodeStateVector(Y.encodeStateVector(doc))
  assert.deepEqual(unsavedClients(local(), saved(), [doc.clientID]), [doc.clientID])
  Y.applyUpdate(server, Y.encodeStateAsUpdate(doc))
  assert.deepEqual(unsavedClients(local(), saved(), [doc.clientID]), [])
})

test('remembered ids keep only those with unsaved edits, most recent last, bounded', () => {
  assert.deepEqual(
    idsToRemember(
      [1, 2, 3],
      sv([
        [1, 1],
        [2, 5],
        [3, 2],
      ]),
      sv([
        [1, 1],
        [2, 4],
      ]),
    ),
    [2, 3],
  )
  assert.deepEqual(
    idsToRemember(
      [1, 2, 3],
      sv([
        [1, 1],
        [2, 1],
        [3, 1],
      ]),
      sv([]),
      2,
    ),
    [2, 3],
  )
})

test('rememberId appends once and drops the oldest beyond the limit', () => {
  assert.deepEqual(rememberId([1, 2], 2), [1, 2])
  assert.deepEqual(rememberId([1, 2], 3), [1, 2, 3])
  assert.deepEqual(rememberId([1, 2, 3], 4, 3), [2, 3, 4])
})

test('parseRememberedIds survives junk in storage', () => {
  assert.deepEqual(parseRememberedIds(null), [])
  assert.deepEqual(parseRememberedIds('not json'), [])
  assert.deepEqual(parseRememberedIds('{"a":1}'), [])
  assert.deepEqual(parseRememberedIds('[1, "2", -3, 4.5, 6]'), [1, 6])
})
