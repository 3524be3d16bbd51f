import type { BrowserContext, WebSocketRoute } from '@playwright/test'
import { test, expect } from './writers.ts'

test('"Saved" appears once my edits are stored, and a reload keeps them', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  await expect(ada.save).toHaveText('Saved')

  await ada.typeAtEnd('Durable words')
  await expect(ada.save).toHaveText('Saved')
  await ada.page.reload()
  await expect.poll(ada.text).toBe('Durable words')

  // Deleting adds nothing to a Yjs state vector; "Saved" must still wait for the server.
  await ada.editor.click()
  await ada.page.keyboard.press('ControlOrMeta+End')
  for (let i = 0; i < ' words'.length; i++) await ada.page.keyboard.press('Backspace')
  await expect(ada.save).toHaveText('Saved')

  // A browser with nothing stored locally gets it all from the server.
  const grace = await writers.open({ name: 'Grace' })
  await expect.poll(grace.text).toBe('Durable')
})

test('"Saved" means on disk: a crash right after it loses nothing', async ({ writers, chorus }) => {
  writers.expectConnectionFailures()
  const ada = await writers.open({ name: 'Ada' })
  await ada.typeAtEnd('Written before the crash')
  await expect(ada.save).toHaveText('Saved')

  await chorus.kill9()
  await expect(ada.connection).toHaveText('Offline — retrying…')
  await chorus.restart()
  await expect(ada.connection).toHaveText('Online')

  const grace = await writers.open({ name: 'Grace' })
  await expect.poll(grace.text).toBe('Written before the crash')
})

test('editing offline on both sides merges on reconnect without duplicates', async ({ writers }) => {
  writers.expectConnectionFailures()
  // Chromium's emulated network loss does not always close a socket that is already open (then
  // the page would notice only after y-websocket's 30 s without messages), and applies a moment
  // after saying so. So every sync socket goes through the test from the start: going offline cuts
  // the open ones and refuses new ones.
  let reachable = true
  const open: WebSocketRoute[] = []
  const throughTheTest = (context: BrowserContext) =>
    context.routeWebSocket(/\/sync\//, (socket) => {
      if (!reachable) return socket.close({ code: 1011, reason: 'test: offline' })
      open.push(socket, socket.connectToServer())
    })
  const ada = await writers.open({ name: 'Ada', prepare: throughTheTest })
  const grace = await writers.open({ name: 'Grace', prepare: throughTheTest })
  await ada.typeAtEnd('shared line')
  await expect.poll(grace.text).toBe('shared line')

  reachable = false
  await ada.context.setOffline(true)
  await grace.context.setOffline(true)
  for (const side of open.splice(0)) await side.close({ code: 1011, reason: 'test: offline' })
  await expect(ada.connection).toHaveText('Offline — retrying…')
  await expect(grace.connection).toHaveText('Offline — retrying…')

  await ada.typeAtEnd(' +ada')
  await grace.editor.click()
  await grace.page.keyboard.press('ControlOrMeta+Home')
  await grace.page.keyboard.type('grace+ ')
  await expect.poll(ada.text).toBe('shared line +ada')
  await expect.poll(grace.text).toBe('grace+ shared line')
  // Kept in IndexedDB, not yet on the server: never "Saved".
  await expect(ada.save).toHaveText('Stored in this browser')

  reachable = true
  await ada.context.setOffline(false)
  await grace.context.setOffline(false)
  for (const writer of [ada, grace]) {
    await expect(writer.connection).toHaveText('Online')
    await expect.poll(writer.text).toBe('grace+ shared line +ada')
    await expect(writer.save).toHaveText('Saved')
  }
})

test('edits made offline survive a reload and reach the server later', async ({ writers }) => {
  writers.expectConnectionFailures()
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  // The sync socket is refused while pages still load: a server that is down, a page that is not.
  let syncReachable = false
  await ada.context.routeWebSocket(/\/sync\//, (socket) => {
    if (syncReachable) socket.connectToServer()
    else socket.close({ code: 1011, reason: 'test: unreachable' })
  })
  await ada.page.reload()
  await expect(ada.connection).toHaveText('Offline — retrying…')
  // Many keystrokes, each its own update; the reload follows as soon as the page says they are
  // stored, which must be true of the last one too.
  const typed = 'Typed with no server, '.repeat(4).trim()
  await ada.typeAtEnd(typed)
  await expect(ada.save).toHaveText('Stored in this browser')

  await ada.page.reload()
  await expect.poll(ada.text).toBe(typed)
  await expect(ada.save).toHaveText('Stored in this browser')
  await expect.poll(grace.text).toBe('')

  syncReachable = true
  await expect(ada.connection).toHaveText('Online')
  await expect(ada.save).toHaveText('Saved')
  await expect.poll(grace.text).toBe(typed)
})

test('a server restart loses nothing and open pages reconnect by themselves', async ({ writers, chorus }) => {
  writers.expectConnectionFailures()
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.typeAtEnd('before restart.')
  await expect.poll(grace.text).toBe('before restart.')
  await expect(ada.save).toHaveText('Saved')

  await chorus.restart()
  for (const writer of [ada, grace]) await expect(writer.connection).toHaveText('Online')

  await grace.typeAtEnd(' after restart.')
  await expect.poll(ada.text).toBe('before restart. after restart.')
  await expect(grace.save).toHaveText('Saved')
  await expect(ada.page.getByRole('list', { name: 'People here' }).getByRole('listitem')).toHaveCount(2)

  const newcomer = await writers.open({ name: 'Linus' })
  await expect.poll(newcomer.text).toBe('before restart. after restart.')
})

// Root cause: nothing listened for beforeunload, so closing a tab mid-edit lost the edit silently.
test('leaving warns while an edit is neither on the server nor in this browser, and only then', async ({ writers }) => {
  writers.expectConnectionFailures()
  const ada = await writers.open({ name: 'Ada' })
  const { page } = ada
  // No server: the edit can only be kept by IndexedDB.
  await ada.context.routeWebSocket(/\/sync\//, (socket) => socket.close({ code: 1011, reason: 'test: unreachable' }))
  await page.reload()
  await expect(ada.connection).toHaveText('Offline — retrying…')
  const dialogs: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.type())
    // Stay on the page.
    void dialog.dismiss()
  })

  // A second connection holds a read-write transaction on the browser copy's store, so the
  // page's own write waits behind it: an edit that is, for now, stored nowhere.
  await page.evaluate(async (name) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    const store = db.transaction(['updates'], 'readwrite').objectStore('updates')
    const w = window as unknown as { releaseBrowserCopy?: boolean }
    const hold = () => {
      if (!w.releaseBrowserCopy) store.count().onsuccess = hold
    }
    hold()
  }, `chorus:${writers.docId}`)
  await ada.typeAtEnd('Not stored anywhere yet')
  await expect(ada.save).toHaveText('Saving…')

  // Does not wait for the page to close, which it must not once the warning is dismissed.
  await page.close({ runBeforeUnload: true })
  await expect.poll(() => dialogs).toEqual(['beforeunload'])
  // Dismissed: the page and the edit are still there.
  await expect.poll(ada.text).toBe('Not stored anywhere yet')

  await page.evaluate(() => {
    ;(window as unknown as { releaseBrowserCopy?: boolean }).releaseBrowserCopy = true
  })
  await expect(ada.save).toHaveText('Stored in this browser')
  await page.reload()
  await expect.poll(ada.text).toBe('Not stored anywhere yet')
  expect(dialogs).toEqual(['beforeunload'])
})
