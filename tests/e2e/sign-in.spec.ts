/**
 * Sign-in and sharing with two people in real Chromium, against a real OpenID Connect provider
 * (oidc-provider, started here) and a production Chorus configured for it: the owner shares with
 * the second person as viewer, then as editor, then removes them, and their page loses access
 * live and says so, while the owner's text stays whole.
 */
import type { Browser, Page } from '@playwright/test'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { startIdentityProvider, type IdentityProvider } from '../support/identity-provider.ts'
import { freePort } from '../support/ports.ts'
import { expect, test } from './fixtures.ts'

const ADA = { email: 'ada@example.com', name: 'Ada Lovelace' }
const BOB = { email: 'bob@example.com', name: 'Bob Dylan' }
/** Screenshots for people to look at, never in git. */
const SHOTS = process.env.CHORUS_SHOTS_DIR

let idp: IdentityProvider
let chorus: ChorusServer

test.beforeEach(async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  idp = await startIdentityProvider({ redirectUri: `${publicUrl}/auth/callback`, users: [ADA, BOB] })
  chorus = await startChorus({
    entry: 'app',
    port,
    env: {
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      PUBLIC_URL: publicUrl,
    },
  })
})

test.afterEach(async () => {
  await chorus?.cleanup()
  await idp?.close()
})

async function shot(page: Page, name: string) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png` })
}

/** A person's own browser, signed in through the provider's login form, on `path`. */
async function signedIn(browser: Browser, who: typeof ADA, path: string, screenshot?: string) {
  const context = await browser.newContext({ baseURL: chorus.url, viewport: { width: 1000, height: 720 } })
  // Whether a toolbar (a page taking input) ever appeared, however briefly.
  await context.addInitScript(() => {
    new MutationObserver(() => {
      if (document.querySelector('[role="toolbar"]')) (window as { toolbarSeen?: boolean }).toolbarSeen = true
    }).observe(document, { subtree: true, childList: true })
  })
  const page = await context.newPage()
  await page.goto(path === '/' ? '/' : `/auth/sign-in?return=${encodeURIComponent(path)}`)
  if (path === '/') await page.getByRole('link', { name: 'Sign in' }).click()
  await page.getByLabel('Email').fill(who.email)
  await page.getByLabel('Password').fill(idp.password)
  if (screenshot) await shot(page, screenshot)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL((url) => url.pathname === path)
  return { context, page, editor: page.locator('.ProseMirror') }
}

test('the owner shares with a second person as viewer, then editor, then removes them live', async ({ browser }) => {
  const ada = await signedIn(browser, ADA, '/', 'idp-login')
  await expect(ada.page.getByTestId('account')).toContainText(ADA.name)
  await expect(ada.page.getByRole('button', { name: 'Sign out' })).toBeVisible()
  await shot(ada.page, 'home-signed-in')
  await ada.page.getByRole('button', { name: 'New document' }).click()
  await ada.page.waitForURL(/\/d\//)
  const docPath = new URL(ada.page.url()).pathname
  await expect(ada.page.getByTestId('connection-status')).toHaveText('Online')
  await ada.editor.click()
  await ada.page.keyboard.type("Ada's plan.")
  await expect(ada.page.getByTestId('account')).toContainText(ADA.name)

  // Shared to view.
  await ada.page.getByRole('button', { name: 'Share' }).click()
  const dialog = ada.page.getByRole('dialog', { name: 'Share' })
  await dialog.getByLabel('Email address').fill(BOB.email)
  await dialog.getByLabel('Role for the new person').selectOption('view')
  await dialog.getByRole('button', { name: 'Add' }).click()
  const people = dialog.getByRole('list', { name: 'People with access' })
  await expect(people.getByRole('listitem').filter({ hasText: BOB.email })).toBeVisible()

  const bob = await signedIn(browser, BOB, '/')
  // His home page lists what was shared with him.
  const shared = bob.page.getByRole('region', { name: 'Shared with me' })
  await shared.getByRole('link').first().click()
  await bob.page.waitForURL((url) => url.pathname === docPath)
  await expect(bob.editor).toContainText("Ada's plan.")
  await expect(bob.editor).toHaveAttribute('contenteditable', 'false')
  await expect(bob.page.getByText('View only', { exact: true })).toBeVisible()
  // The page asked for its role before connecting: it never offered to edit, not even briefly.
  expect(await bob.page.evaluate(() => (window as { toolbarSeen?: boolean }).toolbarSeen ?? false)).toBe(false)
  // Presence shows the signed-in names.
  await expect(ada.page.getByRole('list', { name: 'People here' })).toContainText('Bob Dylan')
  await shot(ada.page, 'share-dialog-people')

  // Raised to edit: Bob's page becomes editable without a reload, and his words reach Ada.
  await people.getByLabel(`Role of ${BOB.email}`).selectOption('edit')
  await expect(bob.editor).toHaveAttribute('contenteditable', 'true')
  await bob.editor.click()
  await bob.page.keyboard.press('ControlOrMeta+End')
  await bob.page.keyboard.type(' Bob agrees.')
  await expect(ada.editor).toContainText("Ada's plan. Bob agrees.")
  // Raised on the same socket: everyone here is still listed on his page.
  await expect(bob.page.getByRole('list', { name: 'People here' })).toContainText('Ada Lovelace')

  // Lowered to view: Bob's page stops taking input at once and says why; what he wrote stays.
  await people.getByLabel(`Role of ${BOB.email}`).selectOption('view')
  await expect(bob.editor).toHaveAttribute('contenteditable', 'false')
  await expect(bob.page.getByText('you can now view this document but not edit it')).toBeVisible()
  await expect(bob.page.getByText('you can edit this document now')).toHaveCount(0)
  await expect(bob.page.getByText('View only', { exact: true })).toBeVisible()
  await shot(bob.page, 'lowered-to-view')

  // Removed: Bob's page loses the document at once and says why; Ada's text is whole.
  await people.getByRole('button', { name: `Remove ${BOB.email}` }).click()
  await expect(bob.page.getByRole('heading', { name: 'Your access was removed' })).toBeVisible()
  await expect(bob.page.getByText('The owner removed your access')).toBeVisible()
  await expect(bob.page.locator('.ProseMirror')).toHaveCount(0)
  await shot(bob.page, 'access-removed')
  await expect(ada.editor).toContainText("Ada's plan. Bob agrees.")
  await ada.page.reload()
  await expect(ada.page.locator('.ProseMirror')).toContainText("Ada's plan. Bob agrees.")

  // Not signed in at all: asked to sign in, not shown the document.
  const stranger = await browser.newContext({ baseURL: chorus.url })
  const page = await stranger.newPage()
  await page.goto(docPath)
  await expect(page.getByRole('heading', { name: 'Sign in to open this document' })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible()
  await shot(page, 'sign-in-needed')
  await stranger.close()
  await bob.context.close()
  await ada.context.close()
})
