import { join } from 'node:path'
import type { Page } from '@playwright/test'
import { test, expect } from './writers.ts'

/** Set SCREENSHOTS_DIR to keep pictures of the history's screens (for looking at them, not asserted). */
async function picture(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOTS_DIR
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true })
}

test('two people: one views a version with its changes marked and restores it; the other sees it live; undo brings the newer text back; a returning visitor is told what changed', async ({
  writers,
}) => {
  const ada = await writers.open({ name: 'Ada', color: '#c2185b' })
  await ada.typeAtEnd('The original opening, worth keeping.')
  await expect(ada.save).toHaveText('Saved')

  const history = ada.page.getByRole('complementary', { name: 'Version history' })
  await ada.page.getByRole('button', { name: 'History' }).click()
  await history.getByLabel('Version name').fill('Good draft')
  await history.getByRole('button', { name: 'Name this version' }).click()
  await expect(history.getByRole('button', { name: /Good draft/ })).toBeVisible()
  await expect(history.getByRole('button', { name: /Good draft/ })).toContainText('+5 −0 words')

  // Grace arrives after the version was made (her browser remembers it), then a paste goes wrong.
  const grace = await writers.open({ name: 'Grace', color: '#1565c0' })
  await expect.poll(grace.text).toBe('The original opening, worth keeping.')
  await ada.editor.click()
  await ada.page.keyboard.press('ControlOrMeta+A')
  await ada.page.keyboard.type('Oops, a bad paste.')
  await expect.poll(grace.text).toBe('Oops, a bad paste.')
  await expect(ada.save).toHaveText('Saved')

  // The version, read-only, with its insertions in Ada's colour.
  await history.getByRole('button', { name: /Good draft/ }).click()
  const version = ada.page.getByRole('main', { name: 'Version: Good draft' })
  await expect(version.locator('ins.version-added')).toHaveText('The original opening, worth keeping.')
  await expect(version.locator('ins.version-added')).toHaveAttribute('data-author', 'Ada')
  await picture(ada.page, 'version-with-highlights')
  await history.getByRole('button', { name: 'Restore this version' }).click()
  await expect(history.getByRole('status')).toContainText('Undo takes it back')
  await expect.poll(ada.text).toBe('The original opening, worth keeping.')
  await expect.poll(grace.text).toBe('The original opening, worth keeping.')
  await expect(history.getByRole('button', { name: /Restored version/ })).toBeVisible()
  await picture(ada.page, 'history-panel')

  // One undo step for the restorer brings the newer text back, for everyone.
  await ada.editor.click()
  await ada.page.keyboard.press('ControlOrMeta+Z')
  await expect.poll(ada.text).toBe('Oops, a bad paste.')
  await expect.poll(grace.text).toBe('Oops, a bad paste.')

  // Grace leaves; Ada writes on; Grace comes back in the same browser.
  await grace.page.close()
  await ada.typeAtEnd(' Ada adds a line.')
  await expect(ada.save).toHaveText('Saved')
  const back = await grace.context.newPage()
  await back.goto(`/d/${writers.docId}`)
  const catchUp = back.getByRole('region', { name: 'What changed since your last visit' })
  await expect(catchUp).toContainText(/Ada changed 1 paragraph since/)
  // Her changes are marked in the live document, which Grace goes on editing.
  const show = catchUp.getByRole('button', { name: 'Show changes' })
  await show.click()
  await expect(show).toHaveAttribute('aria-pressed', 'true')
  const editor = back.locator('.ProseMirror')
  const marked = editor.locator('ins.catch-up-added')
  // Read as a reader sees it: Ada's caret label is DOM in the editor, possibly inside a mark.
  const markedText = () =>
    marked.evaluateAll((marks) =>
      marks.map((mark) => {
        const copy = mark.cloneNode(true) as HTMLElement
        for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
        return copy.textContent ?? ''
      }),
    )
  await expect.poll(markedText).toEqual(['Oops, a bad paste. Ada adds a line.'])
  await expect(marked).toHaveAttribute('data-author', 'Ada')
  await expect(marked).toHaveCSS('border-bottom-color', 'rgb(194, 24, 91)')
  await expect(editor).toHaveAttribute('contenteditable', 'true')
  await editor.click()
  await back.keyboard.press('ControlOrMeta+End')
  await back.keyboard.type(' Grace is back.')
  await expect.poll(ada.text).toBe('Oops, a bad paste. Ada adds a line. Grace is back.')
  // What I type is mine: it is not marked, neither at once nor when the marks are worked out anew.
  await expect.poll(markedText).toEqual(['Oops, a bad paste. Ada adds a line.'])
  await picture(back, 'catch-up')
  await show.click()
  await expect(show).toHaveAttribute('aria-pressed', 'false')
  await expect(marked).toHaveCount(0)
  await show.click()
  await expect.poll(markedText).toEqual(['Oops, a bad paste. Ada adds a line.'])
  await catchUp.getByRole('button', { name: 'Dismiss' }).click()
  await expect(catchUp).toHaveCount(0)
  await expect(marked).toHaveCount(0)
  await expect(editor).toContainText('Grace is back.')
})

test('a viewer browses the history but cannot name or restore', async ({ writers, page }) => {
  const ada = await writers.open({ name: 'Ada' })
  await ada.typeAtEnd('Shared text.')
  await expect(ada.save).toHaveText('Saved')
  await ada.page.getByRole('button', { name: 'History' }).click()
  const history = ada.page.getByRole('complementary', { name: 'Version history' })
  await history.getByLabel('Version name').fill('For viewers')
  await history.getByRole('button', { name: 'Name this version' }).click()
  await expect(history.getByRole('button', { name: /For viewers/ })).toBeVisible()
  const viewId = await ada.page.evaluate(async (docId) => {
    const response = await fetch(`/api/documents/${docId}/view-link`, { method: 'POST' })
    return ((await response.json()) as { viewId: string }).viewId
  }, writers.docId)

  await page.goto(`/v/${viewId}`)
  await page.getByRole('button', { name: 'History' }).click()
  const viewerHistory = page.getByRole('complementary', { name: 'Version history' })
  await viewerHistory.getByRole('button', { name: /For viewers/ }).click()
  await expect(page.getByRole('main', { name: 'Version: For viewers' })).toContainText('Shared text.')
  await expect(viewerHistory.getByRole('button', { name: 'Restore this version' })).toHaveCount(0)
  await expect(viewerHistory.getByLabel('Version name')).toHaveCount(0)

  // The viewer comes back after Ada wrote more: her new text is marked in the read-only editor.
  await expect
    .poll(() => page.evaluate(() => Object.keys(localStorage).some((key) => key.startsWith('chorus:seen-version:'))))
    .toBe(true)
  await ada.typeAtEnd(' More for viewers.')
  await expect(ada.save).toHaveText('Saved')
  await page.reload()
  const catchUp = page.getByRole('region', { name: 'What changed since your last visit' })
  await expect(catchUp).toContainText(/Ada changed 1 paragraph since/)
  await catchUp.getByRole('button', { name: 'Show changes' }).click()
  const marked = page.locator('.ProseMirror ins.catch-up-added')
  await expect(marked).toContainText('More for viewers.')
  await expect(marked).not.toContainText('Shared text.')
  await expect(marked).toHaveAttribute('data-author', 'Ada')
  await expect(page.locator('.ProseMirror')).toHaveAttribute('contenteditable', 'false')
  await picture(page, 'catch-up-viewer')
})
