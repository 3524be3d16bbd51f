/**
 * Browser-test helpers: "writers" are people with their own browser context (own storage, own
 * IndexedDB, own identity) on the same document, side by side. Every writer's console errors and
 * page errors are collected and must be empty when the test ends.
 */
import type { Browser, BrowserContext, Locator, Page } from '@playwright/test'
import { test as base, expect } from './fixtures.ts'
import { newDocId } from '../../lib/doc-id.ts'

export interface Writer {
  name: string
  context: BrowserContext
  page: Page
  /** The ProseMirror editable. */
  editor: Locator
  connection: Locator
  save: Locator
  /** Console errors and uncaught page errors seen so far. */
  errors: string[]
  /**
   * The document's text as a reader sees it. Not the editor's textContent: other people's caret
   * labels are DOM inside the editor, so "Hello" with Grace's caret in it reads "HelloGrace".
   */
  text(): Promise<string>
  /** Types at the very end of the document. */
  typeAtEnd(text: string): Promise<void>
}

export interface OpenOptions {
  name: string
  /** Document id; default: the test's own fresh document. */
  docId?: string
  /** Page to open instead of `/d/<docId>`, e.g. a view link's `/v/<viewId>`. */
  path?: string
  permissions?: string[]
  /** The caret colour this browser has chosen (stored before the page loads); default: random. */
  color?: string
  /** For a server with a self-signed certificate (the TLS tests). */
  ignoreHTTPSErrors?: boolean
  /** Runs on the new browser context before the page opens, e.g. to route its sockets from the start. */
  prepare?: (context: BrowserContext) => Promise<void>
}

export interface Writers {
  /** A fresh document id for this test; every writer opens it unless told otherwise. */
  docId: string
  open(options: OpenOptions): Promise<Writer>
  /**
   * Tests that cut the network or stop the server expect the browser's own "WebSocket connection
   * failed" messages; nothing else may be logged.
   */
  expectConnectionFailures(): void
}

/**
 * Chromium logs these itself when a socket cannot connect, or when a server that is stopped cuts
 * off a response it was streaming; they are not app errors.
 */
export const CONNECTION_FAILURE =
  /WebSocket connection to '.*' failed|net::ERR_(INTERNET_DISCONNECTED|CONNECTION_REFUSED|CONNECTION_RESET|INCOMPLETE_CHUNKED_ENCODING)/

export const test = base.extend<{ writers: Writers }>({
  writers: async ({ browser, baseURL }, use) => {
    const opened: Writer[] = []
    let connectionFailuresExpected = false
    const docId = newDocId()
    await use({
      docId,
      open: async (options) => {
        const writer = await openWriter(browser, baseURL!, { docId, ...options })
        opened.push(writer)
        return writer
      },
      expectConnectionFailures: () => {
        connectionFailuresExpected = true
      },
    })
    for (const writer of opened) await writer.context.close()
    for (const writer of opened) {
      const errors = connectionFailuresExpected ? writer.errors.filter((error) => !CONNECTION_FAILURE.test(error)) : writer.errors
      expect(errors, `console errors in ${writer.name}'s browser`).toEqual([])
    }
  },
})

export { expect }

export async function openWriter(browser: Browser, baseURL: string, options: OpenOptions & { docId: string }): Promise<Writer> {
  const context = await browser.newContext({
    baseURL,
    permissions: options.permissions,
    ignoreHTTPSErrors: options.ignoreHTTPSErrors,
    viewport: { width: 900, height: 720 },
  })
  if (options.color) {
    const identity = JSON.stringify({ name: options.name, color: options.color })
    await context.addInitScript((stored) => localStorage.setItem('chorus:identity', stored), identity)
  }
  await options.prepare?.(context)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))

  await page.goto(options.path ?? `/d/${options.docId}`)
  const writer: Writer = {
    name: options.name,
    context,
    page,
    editor: page.locator('.ProseMirror'),
    connection: page.getByTestId('connection-status'),
    save: page.getByTestId('save-status'),
    errors,
    text: () =>
      page.locator('.ProseMirror').evaluate((editor) => {
        const copy = editor.cloneNode(true) as HTMLElement
        for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
        return copy.textContent ?? ''
      }),
    async typeAtEnd(text) {
      await this.editor.click()
      await page.keyboard.press('ControlOrMeta+End')
      await page.keyboard.type(text)
    },
  }
  await expect(writer.connection).toHaveText('Online')
  await page.getByLabel('Your name').fill(options.name)
  return writer
}
