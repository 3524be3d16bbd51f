/**
 * The durability bookkeeping on its own: contributors are plain strings, the store is the memory
 * store, the "document" is a Y.Doc the test changes. No socket, no SharedDocument.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as Y from 'yjs'
import { DocumentJournal } from '../../server/document/journal.ts'
import type { DocumentEventName } from '../../server/document/document-events.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { waitFor } from '../support/wait-for.ts'

function setup() {
  const store = new MemoryStore()
  const ydoc = new Y.Doc()
  const confirmed: { who: string[]; clock: number }[] = []
  const events: DocumentEventName[] = []
  const present = new Set(['ada', 'bob'])
  const journal = new DocumentJournal<string>('doc', store, 1, silentLogger, {
    beforeCut: () => {},
    stateVector: () => Y.encodeStateVector(ydoc),
    confirm: (who, stateVector) =>
      confirmed.push({ who: [...who].sort(), clock: Y.decodeStateVector(stateVector).get(ydoc.clientID) ?? 0 }),
    isPresent: (who) => present.has(who),
    settled: () => {},
    emit: (name) => events.push(name),
  })
  /** An edit in the document, handed to the journal as `who`'s. */
  const write = (who: string | null, text: string) => {
    const before = Y.encodeStateVector(ydoc)
    ydoc.getText('t').insert(0, text)
    journal.append(Y.encodeStateAsUpdate(ydoc, before), who, false)
  }
  return { store, ydoc, journal, confirmed, events, present, write }
}

describe('DocumentJournal', () => {
  it('cuts one record per turn and confirms its contributors with the state it was cut at', async () => {
    const { store, journal, confirmed, write } = setup()
    write('ada', 'a')
    write('bob', 'b')
    write(null, 's')
    assert.equal(journal.idle, false)
    await waitFor(() => journal.idle, 'stored')
    assert.equal(store.storedAppends, 1)
    assert.deepEqual(confirmed, [{ who: ['ada', 'bob'], clock: 3 }])
    assert.equal(journal.logRecords, 1)
    assert.equal(journal.lastDurableSeq, 0)
  })

  // Root cause this guards against: a record that became durable after an earlier one failed
  // could confirm a state that lacked the failed record's updates.
  it('after a failed record, confirms nobody until its retry is durable, then everyone waiting', async () => {
    const { store, journal, confirmed, events, write } = setup()
    store.holdWrites()
    write('ada', 'a')
    await waitFor(() => store.held.length === 1, 'record 0 held')
    write('bob', 'b')
    await waitFor(() => store.held.length === 2, 'record 1 held')
    store.release(0, 'fail')
    await waitFor(() => journal.failing, 'failing')
    store.release(1, 'ok')
    await waitFor(() => events.filter((name) => name === 'stored').length === 1, 'record 1 durable')
    assert.deepEqual(confirmed, [], "bob's record is durable, but ada's failed before it")
    await waitFor(() => store.held.length === 1, 'the retry held')
    store.release(2, 'ok')
    await waitFor(() => journal.idle, 'stored')
    assert.deepEqual(confirmed, [{ who: ['ada', 'bob'], clock: 2 }])
  })

  it('does not keep a contributor that left for the retry of its record', async () => {
    const { store, journal, confirmed, present, write } = setup()
    store.holdWrites()
    write('ada', 'a')
    write('bob', 'b')
    await waitFor(() => store.held.length === 1, 'record 0 held')
    // Bob leaves while the record he contributed to is being written.
    present.delete('bob')
    journal.forget('bob')
    store.holdWrites(false)
    store.release(0, 'fail')
    await waitFor(() => journal.idle, 'stored after the retry')
    assert.deepEqual(confirmed, [{ who: ['ada'], clock: 2 }])
  })

  // The store lag /metrics reports: the age of the oldest update not yet durable.
  it('knows when the oldest update not yet durable was handed over, also across a failed write', async () => {
    const { store, journal, write } = setup()
    assert.equal(journal.oldestUnstoredAt, null)
    store.holdWrites()
    const before = performance.now()
    write('ada', 'a')
    const first = journal.oldestUnstoredAt
    assert.ok(first !== null && first >= before)
    await waitFor(() => store.held.length === 1, 'record 0 held')
    assert.equal(journal.oldestUnstoredAt, first, 'a record being written keeps its time')
    write('bob', 'b')
    await waitFor(() => store.held.length === 2, 'record 1 held')
    // The later record lands first; the failed one's updates wait again with their own time.
    store.release(1, 'ok')
    store.release(0, 'fail')
    await waitFor(() => journal.failing, 'failing')
    assert.equal(journal.oldestUnstoredAt, first, 'never younger than what waited when the write failed')
    store.holdWrites(false)
    await waitFor(() => store.held.length === 1, 'the retry held')
    store.release(2, 'ok')
    await waitFor(() => journal.idle, 'stored')
    assert.equal(journal.oldestUnstoredAt, null)
  })
})
