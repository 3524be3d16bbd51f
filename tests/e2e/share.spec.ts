import { test, expect } from './writers.ts'

test('Share shows the link and Copy puts it on the clipboard', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada', permissions: ['clipboard-read', 'clipboard-write'] })
  const { page } = ada

  await page.getByRole('button', { name: 'Share' }).click()
  const dialog = page.getByRole('dialog', { name: 'Share' })
  await expect(dialog).toBeVisible()
  const link = dialog.getByRole('textbox', { name: 'Document link' })
  await expect(link).toHaveValue(new URL(`/d/${writers.docId}`, page.url()).href)
  await expect(link).toHaveAttribute('readonly', '')

  await dialog.getByRole('button', { name: 'Copy' }).click()
  await expect(dialog.getByRole('button', { name: 'Copied' })).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await link.inputValue())

  await page.keyboard.press('Escape')
  await expect(dialog).toBeHidden()

  // Opening again starts fresh; the close button closes too.
  await page.getByRole('button', { name: 'Share' }).click()
  await expect(dialog.getByRole('button', { name: 'Copy' })).toBeVisible()
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
  const dialog = page.getByRole('dialog', { name: 'Share' })
  await dialog.getByRole('button', { name: 'Copy' }).click()
  await expect(dialog.getByRole('status')).toContainText('did not allow copying')
  await expect(dialog.getByRole('button', { name: 'Copy' })).toBeVisible()
  const selected = await dialog
    .getByRole('textbox', { name: 'Document link' })
    .evaluate((input: HTMLInputElement) => input.value.slice(input.selectionStart!, input.selectionEnd!))
  expect(selected).toContain(`/d/${writers.docId}`)
})
