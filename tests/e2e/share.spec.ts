import { test, expect } from './writers.ts'

test('Share shows the edit and view links, and each Copy puts its own on the clipboard', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada', permissions: ['clipboard-read', 'clipboard-write'] })
  const { page } = ada

  await page.getByRole('button', { name: 'Share' }).click()
  const dialog = page.getByRole('dialog', { name: 'Share' })
  await expect(dialog).toBeVisible()
  const editing = dialog.getByRole('group', { name: 'Can edit' })
  const viewing = dialog.getByRole('group', { name: 'Can view' })
  const editLink = editing.getByRole('textbox', { name: 'Edit link' })
  const viewLink = viewing.getByRole('textbox', { name: 'View link' })
  await expect(editLink).toHaveValue(new URL(`/d/${writers.docId}`, page.url()).href)
  await expect(editLink).toHaveAttribute('readonly', '')
  // The edit link is selected on opening, ready for Ctrl+C.
  await expect(editLink).toBeFocused()
  await expect(viewLink).toHaveValue(new RegExp(`^${new URL(page.url()).origin}/v/[A-Za-z0-9_-]{22}$`))
  await expect(viewLink).toHaveAttribute('readonly', '')

  await editing.getByRole('button', { name: 'Copy' }).click()
  await expect(editing.getByRole('button', { name: 'Copied' })).toBeVisible()
  await expect(viewing.getByRole('button', { name: 'Copy' })).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await editLink.inputValue())

  await viewing.getByRole('button', { name: 'Copy' }).click()
  await expect(viewing.getByRole('button', { name: 'Copied' })).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await viewLink.inputValue())

  const firstViewLink = await viewLink.inputValue()
  await page.keyboard.press('Escape')
  await expect(dialog).toBeHidden()

  // Opening again starts fresh, with the same view link; the close button closes too.
  await page.getByRole('button', { name: 'Share' }).click()
  await expect(editing.getByRole('button', { name: 'Copy' })).toBeVisible()
  await expect(viewing.getByRole('button', { name: 'Copy' })).toBeVisible()
  await expect(viewLink).toHaveValue(firstViewLink)
  await dialog.getByRole('button', { name: 'Close' }).click()
  await expect(dialog).toBeHidden()
})

test('a refused clipboard leaves the link selected with a hint', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const { page } = ada
  await page.evaluate(() => {
    navigator.clipboard.writeText = () => Promise.reject(new DOMException('Denied', 'NotAllowedError'))
  })

  await page.getByRole('button', { name: 'Share' }).click()
  const editing = page.getByRole('dialog', { name: 'Share' }).getByRole('group', { name: 'Can edit' })
  await editing.getByRole('button', { name: 'Copy' }).click()
  await expect(editing.getByRole('status')).toContainText('did not allow copying')
  await expect(editing.getByRole('button', { name: 'Copy' })).toBeVisible()
  const selected = await editing
    .getByRole('textbox', { name: 'Edit link' })
    .evaluate((input: HTMLInputElement) => input.value.slice(input.selectionStart!, input.selectionEnd!))
  expect(selected).toContain(`/d/${writers.docId}`)
})
