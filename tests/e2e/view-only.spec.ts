import type { Browser, Page } from '@playwright/test'
import { test, expect, type Writer } from './writers.ts'

const VIEW_LINK = /\/v\/[A-Za-z0-9_-]{22}$/

/** Opens Share, waits for the "Can view" link, and returns its path (the dialog stays open). */
async function readViewLink(page: Page): Promise<string> {
  const dialog = page.getByRole('dialog', { name: 'Share' })
  if (!(await dialog.isVisible())) await page.getByRole('button', { name: 'Share' }).click()
  const link = dialog.getByRole('group', { name: 'Can view' }).getByRole('textbox', { name: 'View link' })
  await expect(link).toHaveValue(VIEW_LINK)
  return new URL(await link.inputValue()).pathname
}

function people(writer: Writer) {
  return writer.page.getByRole('list', { name: 'People here' }).getByRole('listitem')
}

/** A page of its own on `path`, with the console errors it logs. */
async function openBare(browser: Browser, baseURL: string, path: string) {
  const context = await browser.newContext({ baseURL })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  await page.goto(path)
  return { context, page, errors }
}

test('a viewer follows the document live, is marked as viewing, and cannot change anything', async ({ writers, chorus }) => {
  const ada = await writers.open({ name: 'Ada' })
  await ada.page.getByLabel('Document title').fill('Minutes')
  await ada.typeAtEnd('Hello, viewers.')
  const viewPath = await readViewLink(ada.page)
  expect(viewPath).not.toContain(writers.docId)
  await ada.page.keyboard.press('Escape')

  const bob = await writers.open({ name: 'Bob', path: viewPath })
  const { page } = bob
  await expect(page.getByText('View only', { exact: true })).toBeVisible()
  await expect.poll(bob.text).toBe('Hello, viewers.')
  await expect(page.getByRole('heading', { name: 'Minutes' })).toBeVisible()
  await expect(page).toHaveTitle('Minutes (view only) · Chorus')

  // Nothing to edit with: no toolbar, no title field, no Share, no save status.
  await expect(page.getByRole('toolbar')).toHaveCount(0)
  await expect(page.getByRole('textbox', { name: 'Document title' })).toHaveCount(0)
  await expect(page.getByRole('button', { name: 'Share' })).toHaveCount(0)
  await expect(bob.save).toHaveCount(0)
  await expect(bob.editor).toHaveAttribute('contenteditable', 'false')
  await expect(bob.editor).toHaveAttribute('aria-readonly', 'true')

  // Live: Ada's next words and her caret.
  await ada.typeAtEnd(' Second sentence.')
  await expect.poll(bob.text).toBe('Hello, viewers. Second sentence.')
  await expect(page.locator('.collaboration-carets__label')).toHaveText('Ada')

  // Everyone sees who is only viewing.
  await expect(people(ada)).toHaveCount(2)
  await expect(people(ada).filter({ hasText: 'Bob' })).toContainText('Bob (viewing)')
  await expect(people(ada).filter({ hasText: 'Ada' })).toHaveText(/Ada \(you\)$/)
  await expect(people(bob).filter({ hasText: 'Bob' })).toContainText('Bob (you, viewing)')
  await expect(people(bob).filter({ hasText: 'Ada' })).not.toContainText('viewing')

  // Typing changes nothing, here or for Ada. The rename travels on Bob's socket after anything
  // the typing could have sent, so once Ada sees it, any write would have reached her too.
  await bob.editor.click()
  await page.keyboard.type('XYZ')
  await page.keyboard.press('Enter')
  await page.keyboard.press('Backspace')
  await expect.poll(bob.text).toBe('Hello, viewers. Second sentence.')
  await page.getByLabel('Your name').fill('Bob Viewer')
  await expect(people(ada).filter({ hasText: 'Bob Viewer' })).toContainText('(viewing)')
  expect(await ada.text()).toBe('Hello, viewers. Second sentence.')
  await ada.page.reload()
  await expect.poll(ada.text).toBe('Hello, viewers. Second sentence.')
  // The server dropped nothing either: the viewer never sent a write.
  expect(chorus.output()).not.toContain('dropping writes')

  // The viewer never learns the edit id, and keeps nothing of the document.
  expect(await page.content()).not.toContain(writers.docId)
  const kept = await page.evaluate(async () => ({
    storage: JSON.stringify({ ...localStorage }),
    databases: (await indexedDB.databases()).map((db) => db.name),
  }))
  expect(kept.storage).not.toContain(writers.docId)
  expect(kept.storage).not.toContain('chorus:recent-documents')
  expect(kept.databases).toEqual([])
})

test('resetting the view link disconnects its viewers; the old link stops working, the new one works', async ({
  writers,
  browser,
  baseURL,
}) => {
  const ada = await writers.open({ name: 'Ada' })
  await ada.typeAtEnd('Shared for a while.')
  const oldPath = await readViewLink(ada.page)
  await ada.page.keyboard.press('Escape')
  const bob = await writers.open({ name: 'Bob', path: oldPath })
  await expect.poll(bob.text).toBe('Shared for a while.')
  await expect(people(ada)).toHaveCount(2)

  await readViewLink(ada.page)
  const dialog = ada.page.getByRole('dialog', { name: 'Share' })
  await expect(dialog.getByText('Anyone using the old view link is disconnected.')).toBeVisible()
  await dialog.getByRole('button', { name: 'Reset view link' }).click()
  await expect(dialog.getByRole('status')).toHaveText('New view link ready. The old one no longer works.')
  const newPath = await readViewLink(ada.page)
  expect(newPath).not.toBe(oldPath)

  // (Next's route announcer is an alert too, always present and empty.)
  await expect(bob.page.getByRole('alert').filter({ hasText: /\S/ })).toHaveText(
    'This view link was reset by an editor. Ask for the new link.',
  )
  await expect(bob.page.getByRole('heading', { name: 'View link reset' })).toBeVisible()
  await expect(people(ada)).toHaveCount(1)

  // The old link, opened afresh: the server accepts and closes with ViewLinkNotFound, so the
  // page says so at once and the console stays clean.
  const late = await openBare(browser, baseURL!, oldPath)
  await expect(late.page.getByRole('alert').filter({ hasText: /\S/ })).toContainText('This view link does not work any more')
  await late.context.close()
  expect(late.errors).toEqual([])

  const carol = await writers.open({ name: 'Carol', path: newPath })
  await expect.poll(carol.text).toBe('Shared for a while.')
  await expect(people(ada).filter({ hasText: 'Carol' })).toContainText('(viewing)')

  // The dialog shows the same new link on its next opening.
  await ada.page.keyboard.press('Escape')
  expect(await readViewLink(ada.page)).toBe(newPath)
})

test('the Share dialog says when the view link cannot be fetched, and tries again', async ({ writers }) => {
  // The refused request is logged by the browser itself (net::ERR_CONNECTION_REFUSED).
  writers.expectConnectionFailures()
  const ada = await writers.open({ name: 'Ada' })
  const { page } = ada
  await page.route('**/api/documents/*/view-link', (route) => route.abort('connectionrefused'))

  await page.getByRole('button', { name: 'Share' }).click()
  const viewing = page.getByRole('dialog', { name: 'Share' }).getByRole('group', { name: 'Can view' })
  await expect(viewing.getByRole('alert')).toHaveText('Could not get the view link. The server could not be reached.')
  await expect(viewing.getByRole('textbox', { name: 'View link' })).toHaveCount(0)
  await expect(viewing.getByRole('button', { name: 'Reset view link' })).toHaveAttribute('aria-disabled', 'true')

  await page.unroute('**/api/documents/*/view-link')
  await viewing.getByRole('button', { name: 'Try again' }).click()
  await expect(viewing.getByRole('textbox', { name: 'View link' })).toHaveValue(VIEW_LINK)
})

test('a viewer rides out a server restart: a server that is down is not a dead link', async ({ writers, chorus }) => {
  writers.expectConnectionFailures()
  const ada = await writers.open({ name: 'Ada' })
  await ada.typeAtEnd('Before the restart.')
  const viewPath = await readViewLink(ada.page)
  await ada.page.keyboard.press('Escape')
  const bob = await writers.open({ name: 'Bob', path: viewPath })
  await expect.poll(bob.text).toBe('Before the restart.')

  await chorus.restart()
  await expect(bob.connection).toHaveText('Online')
  await expect(ada.connection).toHaveText('Online')
  await ada.typeAtEnd(' After it.')
  await expect.poll(bob.text).toBe('Before the restart. After it.')
  await expect(bob.page.getByText('does not work any more')).toHaveCount(0)
  await expect(people(ada).filter({ hasText: 'Bob' })).toContainText('(viewing)')
})
