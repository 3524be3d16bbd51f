import type { Page } from '@playwright/test'
import { test, expect } from './writers.ts'

/** Selects the first occurrence of `text` in the editor, as a drag would. */
async function select(page: Page, text: string) {
  await page.locator('.ProseMirror').evaluate((editor, wanted) => {
    const walker = document.createTreeWalker(editor, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent!.indexOf(wanted)
      if (at < 0) continue
      const range = document.createRange()
      range.setStart(node, at)
      range.setEnd(node, at + wanted.length)
      getSelection()!.removeAllRanges()
      getSelection()!.addRange(range)
      return
    }
    throw new Error(`no "${wanted}" in the editor`)
  }, text)
}

// Root cause: StarterKit's link mark was there, but nothing let anyone add, edit, open or remove a link.
test('a link is added with Ctrl+K, shown in a popover, edited, refused when unsafe, and removed', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const { page } = ada
  await ada.typeAtEnd('Read the Chorus guide today.')
  await select(page, 'Chorus guide')

  await page.keyboard.press('ControlOrMeta+k')
  const add = page.getByRole('dialog', { name: 'Add link' })
  const address = add.getByRole('textbox', { name: 'Link address' })
  await expect(address).toBeFocused()
  await expect(address).toHaveValue('')
  await address.fill('example.com/guide')
  await address.press('Enter')
  await expect(add).toBeHidden()
  await expect(grace.editor.locator('a')).toHaveAttribute('href', 'https://example.com/guide')
  await expect(grace.editor.locator('a')).toHaveText('Chorus guide')

  // The caret on the link shows its popover: open (new tab, no opener), edit, remove.
  await page.locator('.ProseMirror a').click()
  const popover = page.getByRole('group', { name: 'Link' })
  const open = popover.getByRole('link', { name: 'example.com/guide' })
  await expect(open).toHaveAttribute('href', 'https://example.com/guide')
  await expect(open).toHaveAttribute('target', '_blank')
  await expect(open).toHaveAttribute('rel', 'noopener noreferrer')
  await expect(ada.page.getByRole('toolbar', { name: 'Formatting' }).getByRole('button', { name: 'Link' })).toHaveAttribute(
    'aria-pressed',
    'true',
  )

  await popover.getByRole('button', { name: 'Edit link' }).click()
  const edit = page.getByRole('dialog', { name: 'Edit link' })
  await expect(edit.getByRole('textbox', { name: 'Link address' })).toHaveValue('https://example.com/guide')
  await edit.getByRole('textbox', { name: 'Link address' }).fill('https://chorus.example/docs')
  await page.keyboard.press('Enter')
  // The whole link changed, though the caret was only inside it.
  await expect(grace.editor.locator('a')).toHaveAttribute('href', 'https://chorus.example/docs')
  await expect(grace.editor.locator('a')).toHaveText('Chorus guide')

  // An unsafe address is refused with a reason, and Escape leaves the link as it was.
  await page.keyboard.press('ControlOrMeta+k')
  await edit.getByRole('textbox', { name: 'Link address' }).fill('javascript:alert(1)')
  await page.keyboard.press('Enter')
  await expect(edit.getByRole('alert')).toHaveText('Only web (https://) and email (mailto:) links can be added.')
  await expect(edit.getByRole('textbox', { name: 'Link address' })).toHaveAttribute('aria-invalid', 'true')
  await page.keyboard.press('Escape')
  await expect(edit).toBeHidden()
  await expect(ada.editor).toBeFocused()
  await expect(ada.editor.locator('a')).toHaveAttribute('href', 'https://chorus.example/docs')

  // Remove, from the popover.
  await expect(popover).toBeVisible()
  await popover.getByRole('button', { name: 'Remove link' }).click()
  await expect(grace.editor.locator('a')).toHaveCount(0)
  await expect(popover).toBeHidden()
  await expect.poll(grace.text).toBe('Read the Chorus guide today.')

  // An empty address removes too.
  await select(page, 'today')
  await page.keyboard.press('ControlOrMeta+k')
  await add.getByRole('textbox', { name: 'Link address' }).fill('https://example.com/today')
  await page.keyboard.press('Enter')
  await expect(grace.editor.locator('a')).toHaveText('today')
  await page.keyboard.press('ControlOrMeta+k')
  await edit.getByRole('textbox', { name: 'Link address' }).fill('')
  await page.keyboard.press('Enter')
  await expect(grace.editor.locator('a')).toHaveCount(0)
})

test('the toolbar adds a link where nothing is selected, Ctrl/Cmd+click opens it, and Underline has a button', async ({
  writers,
}) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const { page, context } = ada
  const toolbar = page.getByRole('toolbar', { name: 'Formatting' })
  await context.route('https://example.org/**', (route) => route.fulfill({ body: 'opened', contentType: 'text/plain' }))

  await ada.typeAtEnd('Write to ')
  await toolbar.getByRole('button', { name: 'Link' }).click()
  await page.getByRole('dialog', { name: 'Add link' }).getByRole('textbox', { name: 'Link address' }).fill('ada@example.com')
  await page.keyboard.press('Enter')
  await page.keyboard.type(' or visit ')
  await expect(grace.editor.locator('a')).toHaveAttribute('href', 'mailto:ada@example.com')
  await expect(grace.editor.locator('a')).toHaveText('ada@example.com')
  // Typing on after the new link is not part of it.
  await expect.poll(grace.text).toBe('Write to ada@example.com or visit ')

  await toolbar.getByRole('button', { name: 'Link' }).click()
  await page
    .getByRole('dialog', { name: 'Add link' })
    .getByRole('textbox', { name: 'Link address' })
    .fill('https://example.org/page')
  await page.keyboard.press('Enter')
  await expect(grace.editor.locator('a[href="https://example.org/page"]')).toHaveText('https://example.org/page')

  // A plain click only places the caret; Ctrl/Cmd+click opens the link in a new tab.
  const link = ada.editor.locator('a[href="https://example.org/page"]')
  const opened = context.waitForEvent('page')
  await link.click({ modifiers: ['ControlOrMeta'] })
  const tab = await opened
  await expect(tab).toHaveURL('https://example.org/page')
  expect(await tab.evaluate(() => window.opener)).toBeNull()
  await tab.close()
  expect(context.pages()).toHaveLength(1)

  // From the keyboard: Alt+Enter with the caret in the link.
  await link.click()
  const openedByKey = context.waitForEvent('page')
  await page.keyboard.press('Alt+Enter')
  const keyTab = await openedByKey
  await expect(keyTab).toHaveURL('https://example.org/page')
  await keyTab.close()
  await expect.poll(ada.text).toBe('Write to ada@example.com or visit https://example.org/page')

  await select(page, 'Write')
  await toolbar.getByRole('button', { name: 'Underline' }).click()
  await expect(toolbar.getByRole('button', { name: 'Underline' })).toHaveAttribute('aria-pressed', 'true')
  await expect(grace.editor.locator('u')).toHaveText('Write')
})

test('a viewer opens a link with a plain click, in a new tab; there is nothing to edit', async ({ writers, request }) => {
  const ada = await writers.open({ name: 'Ada' })
  await ada.typeAtEnd('see ')
  await ada.page.keyboard.press('ControlOrMeta+k')
  await ada.page.getByRole('textbox', { name: 'Link address' }).fill('https://example.org/for-viewers')
  await ada.page.keyboard.press('Enter')
  const response = await request.post(`/api/documents/${writers.docId}/view-link`)
  const { viewId } = (await response.json()) as { viewId: string }

  const bob = await writers.open({ name: 'Bob', path: `/v/${viewId}` })
  await bob.context.route('https://example.org/**', (route) => route.fulfill({ body: 'opened', contentType: 'text/plain' }))
  const link = bob.editor.locator('a')
  await expect(link).toHaveText('https://example.org/for-viewers')
  const opened = bob.context.waitForEvent('page')
  await link.click()
  await expect(await opened).toHaveURL('https://example.org/for-viewers')
  await expect(bob.page.getByRole('group', { name: 'Link' })).toHaveCount(0)
  await bob.editor.press('ControlOrMeta+k')
  await expect(bob.page.getByRole('dialog')).toHaveCount(0)
})
