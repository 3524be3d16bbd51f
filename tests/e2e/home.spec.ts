import { test, expect } from './writers.ts'
import { isValidDocId } from '../../lib/doc-id.ts'

test('New document opens a fresh document, and the home page lists it by title', async ({ page }) => {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))

  await page.goto('/')
  await expect(page.getByRole('heading', { name: 'Chorus' })).toBeVisible()
  await page.getByRole('button', { name: 'New document' }).click()
  await expect(page).toHaveURL(/\/d\/[A-Za-z0-9_-]{22}$/)
  const firstId = new URL(page.url()).pathname.split('/').pop()!
  expect(isValidDocId(firstId)).toBe(true)
  await expect(page.getByTestId('connection-status')).toHaveText('Online')
  await page.getByLabel('Document title').fill('Shopping list')
  await expect(page).toHaveTitle('Shopping list · Chorus')

  await page.goto('/')
  await page.getByRole('button', { name: 'New document' }).click()
  await expect(page).toHaveURL(/\/d\/[A-Za-z0-9_-]{22}$/)
  expect(page.url()).not.toContain(firstId)
  await expect(page.getByTestId('connection-status')).toHaveText('Online')

  await page.goto('/')
  const recent = page.getByRole('region', { name: 'Recent documents' }).getByRole('link')
  await expect(recent).toHaveCount(2)
  // Newest first; the second document never got a title.
  await expect(recent.nth(0)).toContainText('Untitled')
  await expect(recent.nth(1)).toContainText('Shopping list')
  await recent.nth(1).click()
  await expect(page).toHaveURL(new RegExp(`/d/${firstId}$`))
  await expect(page.getByLabel('Document title')).toHaveValue('Shopping list')

  expect(errors).toEqual([])
})

test('an invalid document id shows a not-found page', async ({ page }) => {
  const response = await page.goto('/d/not%20a%20valid%20id!')
  expect(response?.status()).toBe(404)
  await expect(page.getByRole('heading', { name: 'Document not found' })).toBeVisible()
  await page.getByRole('link', { name: 'Go to your documents' }).click()
  await expect(page.getByRole('button', { name: 'New document' })).toBeVisible()
})
