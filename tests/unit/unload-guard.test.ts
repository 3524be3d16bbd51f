import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Store } from '../../components/lib/store.ts'
import { UnloadGuard } from '../../components/lib/unload-guard.ts'

/** Node's Event has no settable returnValue; the browser's BeforeUnloadEvent does. */
class BeforeUnloadEvent extends Event {
  override returnValue = true
}

function unloadIsCancelled(target: EventTarget): boolean {
  const event = new BeforeUnloadEvent('beforeunload', { cancelable: true })
  target.dispatchEvent(event)
  return event.defaultPrevented
}

// Root cause: nothing listened for beforeunload, so a tab closed mid-edit lost it silently.
test('warns only while an edit is neither on the server nor in the browser copy', () => {
  const target = new EventTarget()
  const notOnServer = new Store(false)
  const notInBrowser = new Store(false)
  const guard = new UnloadGuard(target, notOnServer, notInBrowser)
  assert.equal(unloadIsCancelled(target), false)

  notOnServer.set(true)
  notInBrowser.set(true)
  assert.equal(guard.armed, true)
  assert.equal(unloadIsCancelled(target), true)

  // Committed to IndexedDB: the edit survives the tab, so no warning while offline.
  notInBrowser.set(false)
  assert.equal(unloadIsCancelled(target), false)

  // On the server, with the browser copy still writing: safe too.
  notInBrowser.set(true)
  notOnServer.set(false)
  assert.equal(unloadIsCancelled(target), false)

  notOnServer.set(true)
  guard.destroy()
  assert.equal(guard.armed, false)
  assert.equal(unloadIsCancelled(target), false)
})
