/**
 * Nothing stranded and nobody invisible: a paste over 1 MiB reaches everyone, and a person whose
 * connection dropped is back on the other screens at once.
 */
import { test, expect } from './writers.ts'

// Root cause: every frame was held to MAX_MESSAGE_BYTES (1 MiB), so a larger paste closed the
// author's connection (1009), and the page resent it and was closed again, forever.
test('a paste over 1 MiB reaches the other page and is saved', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const line = 'The quick brown fox jumps over the lazy dog, again and again. '
  const pasted = line.repeat(Math.ceil(1_300_000 / line.length))
  await ada.editor.click()
  await ada.page.locator('.ProseMirror').evaluate((editor, text) => {
    const transfer = new DataTransfer()
    transfer.setData('text/plain', text)
    editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }))
  }, pasted)
  await expect(ada.save).toHaveText('Saved', { timeout: 30_000 })
  await expect.poll(async () => (await grace.text()).length, { timeout: 30_000 }).toBe(pasted.length)
  await grace.typeAtEnd(' Read it.')
  await expect.poll(async () => (await ada.text()).endsWith('Read it.')).toBe(true)
  await expect(ada.connection).toHaveText('Online')
})

// Root cause: the server removed a dropped connection's presence one clock ahead of it, so the
// page's own re-announcement looked old to everyone: it stayed invisible for about 32 s.
test('someone whose connection dropped is shown to the others again at once', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await grace.typeAtEnd('Grace was here')
  const people = ada.page.getByRole('list', { name: 'People here' }).getByRole('listitem')
  await expect(people.filter({ hasText: 'Grace' })).toHaveCount(1)
  await expect(ada.page.locator('.collaboration-carets__label')).toHaveText('Grace')

  // A network blip: Grace's socket drops; y-websocket reconnects by itself.
  await grace.page.evaluate(() => {
    const dom = document.querySelector('.ProseMirror') as HTMLElement & {
      editor: { extensionManager: { extensions: { name: string; options: { provider: { ws: WebSocket } } }[] } }
    }
    dom.editor.extensionManager.extensions.find((e) => e.name === 'collaborationCaret')!.options.provider.ws.close()
  })
  await expect(people.filter({ hasText: 'Grace' })).toHaveCount(0)
  await expect(grace.connection).toHaveText('Online')
  // Within a moment, not at the next 15 s renewal.
  await expect(people.filter({ hasText: 'Grace' })).toHaveCount(1, { timeout: 5000 })
  await grace.typeAtEnd('!')
  await expect(ada.page.locator('.collaboration-carets__label')).toHaveText('Grace', { timeout: 5000 })
})
