import type { Page } from '@playwright/test'
import { test, expect } from './writers.ts'

/** The page's sync provider, reached through the editor's caret extension. */
function provider(page: Page) {
  return page.evaluate(() => {
    type Provider = { shouldConnect: boolean; ws: WebSocket | null; wsconnected: boolean }
    const dom = document.querySelector('.ProseMirror') as HTMLElement & {
      editor: { extensionManager: { extensions: { name: string; options: { provider: Provider } }[] } }
    }
    const found = dom.editor.extensionManager.extensions.find((e) => e.name === 'collaborationCaret')!
    const { shouldConnect, ws, wsconnected } = found.options.provider
    return { shouldConnect, hasSocket: ws !== null, wsconnected }
  })
}

// Root cause: a final close (44xx) other than a view link's left only a generic "Disconnected".
test('the server closing for good (a malformed message) shows why, stays, and nothing reconnects', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const { page } = ada
  const sockets: string[] = []
  page.on('websocket', (socket) => sockets.push(socket.url()))
  await ada.typeAtEnd('Kept so far')
  await expect(ada.save).toHaveText('Saved')

  // A real server path: an update whose length runs past its frame is malformed, and the server
  // answers with MalformedMessage (4400), on which y-websocket stops for good.
  await page.evaluate(() => {
    const dom = document.querySelector('.ProseMirror') as HTMLElement & {
      editor: { extensionManager: { extensions: { name: string; options: { provider: { ws: WebSocket } } }[] } }
    }
    const ws = dom.editor.extensionManager.extensions.find((e) => e.name === 'collaborationCaret')!.options.provider.ws
    ws.send(Uint8Array.of(0, 2, 200))
  })

  const banner = page.locator('.session-ended')
  await expect(banner).toHaveAttribute('role', 'alert')
  await expect(banner).toContainText('Disconnected by the server')
  await expect(banner).toContainText('The server ended the connection: malformed frame')
  await expect(banner.getByRole('button', { name: 'Reload page' })).toBeVisible()
  await expect(ada.connection).toHaveText('Disconnected')
  // Nothing typed now can be saved, and the page must not pretend otherwise.
  await expect(ada.save).toHaveText('Saving stopped')
  await ada.typeAtEnd(', and more')
  await expect(ada.save).toHaveText('Not saved')
  // Back online changes nothing: the provider was told to stop, and is not connecting.
  await page.evaluate(() => window.dispatchEvent(new Event('online')))
  expect(await provider(page)).toEqual({ shouldConnect: false, hasSocket: false, wsconnected: false })
  expect(sockets).toHaveLength(0)
  await expect(banner).toBeVisible()
})
