import { test, expect } from './fixtures.ts'
import { newDocId } from '../../lib/doc-id.ts'

/** `script-src 'self' 'nonce-x'` → Map { 'script-src' => ["'self'", "'nonce-x'"] } */
function parsePolicy(header: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/)
    if (name) directives.set(name.toLowerCase(), values)
  }
  return directives
}

declare global {
  interface Window {
    cspViolations: string[]
  }
}

test('the editor page carries the security headers and a nonce-based policy', async ({ page }) => {
  const response = await page.goto(`/d/${newDocId()}`)
  expect(response?.status()).toBe(200)
  const headers = await response!.allHeaders()

  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['referrer-policy']).toBe('no-referrer')
  expect(headers['x-frame-options']).toBe('DENY')
  expect(headers['cross-origin-opener-policy']).toBe('same-origin')
  expect(headers['permissions-policy']).toContain('camera=()')

  const policy = parsePolicy(headers['content-security-policy'] ?? '')
  const scriptSrc = policy.get('script-src') ?? []
  const nonce = scriptSrc.find((source) => /^'nonce-[A-Za-z0-9+/=]{16,}'$/.test(source))
  expect(nonce, `script-src: ${scriptSrc.join(' ')}`).toBeDefined()
  expect(scriptSrc).toContain(`'strict-dynamic'`)
  expect(scriptSrc).not.toContain(`'unsafe-inline'`)
  expect(scriptSrc).not.toContain(`'unsafe-eval'`)
  // Without script-src-elem/attr overrides, script-src is what governs scripts.
  expect(policy.has('script-src-elem')).toBe(false)
  expect(policy.has('script-src-attr')).toBe(false)
  expect(policy.get('frame-ancestors')).toEqual([`'none'`])
  expect(policy.get('object-src')).toEqual([`'none'`])

  // Next put this request's nonce on its scripts, and the next request gets another one.
  const html = await response!.text()
  expect(html).toContain(`nonce="${nonce!.slice(7, -1)}"`)
  const again = await page.request.get(page.url())
  expect(parsePolicy(again.headers()['content-security-policy'] ?? '').get('script-src')).not.toContain(nonce)
})

test('the app works under the policy: no violations and no console errors', async ({ page }) => {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  await page.addInitScript(() => {
    window.cspViolations = []
    document.addEventListener('securitypolicyviolation', (event) => {
      window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`)
    })
  })
  const violations = () => page.evaluate(() => window.cspViolations)

  await page.goto('/')
  await page.getByRole('button', { name: 'New document' }).click()
  await expect(page).toHaveURL(/\/d\/[A-Za-z0-9_-]{22}$/)
  await expect(page.getByTestId('connection-status')).toHaveText('Online')
  await page.getByLabel('Document title').fill('Under policy')
  await page.locator('.ProseMirror').click()
  await page.keyboard.type('Typed under a strict policy.')
  await page.getByRole('button', { name: 'Bold' }).click()
  await page.keyboard.type(' Bold too.')
  await expect(page.getByTestId('save-status')).toHaveText('Saved')
  await expect(page.locator('.ProseMirror strong')).toHaveText(' Bold too.')
  expect(await violations()).toEqual([])

  // The Share dialog calls the API (connect-src), and the view page renders under its own nonce.
  await page.getByRole('button', { name: 'Share' }).click()
  const viewLink = page.getByRole('textbox', { name: 'View link' })
  await expect(viewLink).toHaveValue(/\/v\//)
  expect(await violations()).toEqual([])
  await page.goto(await viewLink.inputValue())
  await expect(page.getByText('View only', { exact: true })).toBeVisible()
  await expect(page.locator('.ProseMirror')).toContainText('Typed under a strict policy.')
  await expect(page).toHaveTitle('Under policy (view only) · Chorus')

  expect(await violations()).toEqual([])
  expect(errors).toEqual([])
})
