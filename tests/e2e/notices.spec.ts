import { test, expect, openWriter } from './writers.ts'
import { startChorus } from '../support/chorus-process.ts'
import { newDocId } from '../../lib/doc-id.ts'

test("the server's notices reach the page, and a refused edit is never called saved", async ({ browser }) => {
  // A tiny size cap (its minimum), so one paragraph is already too much.
  const chorus = await startChorus({ entry: 'app', env: { MAX_DOCUMENT_BYTES: '1024' } })
  try {
    const ada = await openWriter(browser, chorus.url, { name: 'Ada', docId: newDocId() })
    await ada.editor.click()
    await ada.page.keyboard.insertText('All work and no play. '.repeat(80))

    const notice = ada.page.getByRole('alert').filter({ hasText: 'size limit' })
    await expect(notice).toBeVisible()
    await expect(ada.save).toHaveText('Saving…')

    await notice.getByRole('button', { name: 'Dismiss' }).click()
    await expect(notice).toBeHidden()
    expect(ada.errors).toEqual([])
    await ada.context.close()
  } finally {
    await chorus.cleanup()
  }
})
