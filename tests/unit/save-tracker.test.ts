import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { SaveTracker, type IdStorage } from '../../components/lib/save-tracker.ts'

class MemoryStorage implements IdStorage {
  readonly items = new Map<string, string>()
  getItem = (key: string) => this.items.get(key) ?? null
  setItem = (key: string, value: string) => void this.items.set(key, value)
  removeItem = (key: string) => void this.items.delete(key)
}

/** A browser tab: its Y.Doc, awareness and tracker, plus a stand-in server doc to "store" into. */
function openTab(storage: IdStorage, server: Y.Doc, docId = 'doc') {
  const ydoc = new Y.Doc()
  const awareness = new Awareness(ydoc)
  const tracker = new SaveTracker(ydoc, awareness, docId, storage)
  const serverStores = () => {
    Y.applyUpdate(server, Y.encodeStateAsUpdate(ydoc, Y.encodeStateVector(server)))
    tracker.savedStateReceived(Y.decodeStateVector(Y.encodeStateVector(server)))
  }
  const close = () => {
    tracker.destroy()
    awareness.destroy()
    ydoc.destroy()
  }
  return { ydoc, awareness, tracker, serverStores, close }
}

test('typing is pending until the server reports it stored', () => {
  const tab = openTab(new MemoryStorage(), new Y.Doc())
  tab.tracker.browserCopyLoaded()
  assert.equal(tab.tracker.pending.get(), false)
  tab.ydoc.getText('title').insert(0, 'Plan')
  assert.equal(tab.tracker.pending.get(), true)
  tab.serverStores()
  assert.equal(tab.tracker.pending.get(), false)
  tab.close()
})

test('my live client id is written to storage once, not on every keystroke after a save', () => {
  const writes: string[] = []
  const storage = new MemoryStorage()
  const setItem = storage.setItem
  storage.setItem = (key, value) => {
    writes.push(value)
    setItem(key, value)
  }
  const tab = openTab(storage, new Y.Doc())
  try {
    tab.tracker.browserCopyLoaded()
    for (const word of ['one ', 'two ', 'three ']) {
      tab.ydoc.getText('title').insert(0, word)
      assert.equal(tab.tracker.pending.get(), true)
      tab.serverStores()
      assert.equal(tab.tracker.pending.get(), false)
    }
    assert.deepEqual(writes, [JSON.stringify([tab.ydoc.clientID])])
    // Still remembered, so an edit made now and not yet saved when the page reloads stays pending.
    assert.deepEqual(JSON.parse(storage.items.get('chorus:client-ids:doc')!), [tab.ydoc.clientID])
  } finally {
    tab.close()
  }
})

test('a deletion alone is pending too, although it adds nothing to a state vector', () => {
  // Root cause this guards: Yjs deletions do not advance the deleting client's clock.
  const server = new Y.Doc()
  const tab = openTab(new MemoryStorage(), server)
  tab.tracker.browserCopyLoaded()
  tab.ydoc.getText('title').insert(0, 'Plan')
  tab.serverStores()
  assert.equal(tab.tracker.pending.get(), false)

  tab.ydoc.getText('title').delete(0, 2)
  assert.equal(tab.tracker.pending.get(), true)
  tab.serverStores()
  assert.equal(tab.tracker.pending.get(), false)
  assert.equal(server.getText('title').toString(), 'an')
  tab.close()
})

test("someone else's edits never make me wait", () => {
  const tab = openTab(new MemoryStorage(), new Y.Doc())
  tab.tracker.browserCopyLoaded()
  const other = new Y.Doc()
  other.getText('title').insert(0, 'theirs')
  Y.applyUpdate(tab.ydoc, Y.encodeStateAsUpdate(other), 'remote')
  assert.equal(tab.tracker.pending.get(), false)
  tab.close()
})

test('offline edits from before a reload stay pending until the server has them', () => {
  const storage = new MemoryStorage()
  const server = new Y.Doc()
  const before = openTab(storage, server)
  before.tracker.browserCopyLoaded()
  before.ydoc.getText('title').insert(0, 'typed offline')
  const browserCopy = Y.encodeStateAsUpdate(before.ydoc) // what IndexedDB holds
  before.close()

  const after = openTab(storage, server)
  // Until IndexedDB has loaded, the old edits are not in the doc yet; they must not look saved.
  assert.equal(after.tracker.pending.get(), true)
  Y.applyUpdate(after.ydoc, browserCopy, 'indexeddb')
  after.tracker.browserCopyLoaded()
  assert.equal(after.tracker.pending.get(), true)
  after.tracker.savedStateReceived(Y.decodeStateVector(Y.encodeStateVector(server)))
  assert.equal(after.tracker.pending.get(), true)

  after.serverStores()
  assert.equal(after.tracker.pending.get(), false)
  // Saved ids are forgotten, so the list stays short.
  assert.equal(storage.items.size, 0)
  after.close()
})

test('an id another live tab is using is left to that tab', () => {
  const storage = new MemoryStorage()
  const first = openTab(storage, new Y.Doc())
  first.tracker.browserCopyLoaded()
  first.ydoc.getText('title').insert(0, 'from the first tab')

  const second = openTab(storage, new Y.Doc())
  Y.applyUpdate(second.ydoc, Y.encodeStateAsUpdate(first.ydoc), 'broadcast channel')
  second.tracker.browserCopyLoaded()
  assert.equal(second.tracker.pending.get(), true)
  // The first tab announces itself (awareness over the BroadcastChannel or the server).
  first.awareness.setLocalStateField('user', { name: 'me, elsewhere', color: '#1d4ed8' })
  applyAwarenessUpdate(second.awareness, encodeAwarenessUpdate(first.awareness, [first.ydoc.clientID]), 'tab')
  assert.equal(second.tracker.pending.get(), false)
  first.close()
  second.close()
})
