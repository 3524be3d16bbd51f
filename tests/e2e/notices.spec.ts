import { test, expect, openWriter } from './writers.ts'
import { startChorus } from '../support/chorus-process.ts'
import { newDocId } from '../../lib/doc-id.ts'

// Root cause: a change past the size cap was refused silently; the page resent it forever.
test('a change too large for the document: the server says why, the page keeps saying it and stops, never "Saved"', async ({
  browser,
}) => {
  // A tiny size cap (its minimum), so one paragraph is already too much.
  const chorus = await startChorus({ entry: 'app', env: { MAX_DOCUMENT_BYTES: '1024' } })
  try {
    const ada = await openWriter(browser, chorus.url, { name: 'Ada', docId: newDocId() })
    const sockets: string[] = []
    ada.page.on('websocket', (socket) => sockets.push(socket.url()))
    await ada.editor.click()
    await ada.page.keyboard.insertText('All work and no play. '.repeat(80))

    const banner = ada.page.locator('.session-ended')
    await expect(banner).toContainText('Your last change was not saved')
    await expect(banner).toContainText('is larger than a document may be (1 KiB). It was not saved or shared.')
    // Said once, in the message that stays, not again in a notice that can be dismissed.
    await expect(ada.page.locator('.notice')).toHaveCount(0)
    await expect(ada.connection).toHaveText('Disconnected')
    await expect(ada.save).toHaveText('Not saved')
    // The page does not send the change again.
    await ada.page.evaluate(() => window.dispatchEvent(new Event('online')))
    expect(sockets).toHaveLength(0)
    expect(ada.errors).toEqual([])
    await ada.context.close()
  } finally {
    await chorus.cleanup()
  }
})
