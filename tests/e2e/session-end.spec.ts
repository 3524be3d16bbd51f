import type { Page } from '@playwright/test'
import { test, expect } from './writers.ts'
import { encodeNotice } from '../../lib/protocol.ts'

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
test('the server closing for good (a malformed message) shows why, stays, and nothing reconnects', async ({
  writers,
}) => {
  const ada = await writers.open({ name: 'Ada' })
  const { page } = ada
  const sockets: string[] = []
  page.on('websocket', (socket) => sockets.push(socket.url()))
  await ada.typeAtEnd('Kept so far')
  await expect(ada.save).toHaveText('Saved')

  // A real server path: a text frame is not part of the protocol, and the server answers with
  // MalformedMessage (4400), on which y-websocket stops for good.
  await page.evaluate(() => {
    const dom = document.querySelector('.ProseMirror') as HTMLElement & {
      editor: { extensionManager: { extensions: { name: string; options: { provider: { ws: WebSocket } } }[] } }
    }
    dom.editor.extensionManager.extensions.find((e) => e.name === 'collaborationCaret')!.options.provider.ws.send('hello')
  })

  const banner = page.locator('.session-ended')
  await expect(banner).toHaveAttribute('role', 'alert')
  await expect(banner).toContainText('Disconnected by the server')
  await expect(banner).toContainText('The server ended the connection: text frames are not part of the protocol.')
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

// Root cause: as above; here the server's notice, sent just before the close, must be what is said.
test('a change too large: the notice and close 4413 become one lasting message, never "Saved"', async ({
  writers,
}) => {
  const ada = await writers.open({ name: 'Ada' })
  const { page } = ada
  // Stands in for the server's refusal (Notice, then close 4413) until the server sends it
  // itself; everything else goes to and from the real server.
  await ada.context.routeWebSocket(/\/sync\//, (socket) => {
    const server = socket.connectToServer()
    socket.onMessage((message) => {
      if (typeof message !== 'string' && message.includes('TOO-LARGE')) {
        socket.send(
          Buffer.from(
            encodeNotice({
              level: 'error',
              code: 'change-too-large',
              message: 'That change would make the document larger than this server allows (1 KB)',
            }),
          ),
        )
        socket.close({ code: 4413, reason: 'change too large' })
      } else {
        server.send(message)
      }
    })
  })
  await page.reload()
  await expect(ada.connection).toHaveText('Online')
  await ada.editor.click()
  // One update holding the whole word, as a paste would be.
  await page.keyboard.insertText('TOO-LARGE')

  const banner = page.locator('.session-ended')
  await expect(banner).toContainText('Your last change was not saved')
  await expect(banner).toContainText(
    'That change would make the document larger than this server allows (1 KB). It is kept in this browser only',
  )
  // Said once, in the message that stays, not again in a notice that can be dismissed.
  await expect(page.locator('.notice')).toHaveCount(0)
  await expect(ada.connection).toHaveText('Disconnected')
  await expect(ada.save).toHaveText('Not saved')
  expect(await provider(page)).toEqual({ shouldConnect: false, hasSocket: false, wsconnected: false })
})
