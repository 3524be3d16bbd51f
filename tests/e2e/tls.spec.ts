/**
 * The app served over https by Chorus itself (TLS_CERT_FILE, TLS_KEY_FILE): two browsers edit one
 * document over wss. One server for the file; its certificate is self-signed, made by openssl.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import { newDocId } from '../../lib/doc-id.ts'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { makeCertificate, OPENSSL } from '../support/tls-certificates.ts'
import { openWriter, type Writer } from './writers.ts'

const test = base.extend<Record<never, never>, { secureChorus: ChorusServer }>({
  secureChorus: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructured first argument
    async ({}, use) => {
      const dir = mkdtempSync(join(tmpdir(), 'chorus-tls-e2e-'))
      try {
        const certificate = makeCertificate(dir, 'server')
        const chorus = await startChorus({
          entry: 'app',
          env: { TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile },
        })
        try {
          await use(chorus)
        } finally {
          await chorus.cleanup()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    { scope: 'worker' },
  ],
})

test.skip(!OPENSSL, 'openssl is not installed (apt-get install openssl)')

test('two browsers edit over https and wss', async ({ browser, secureChorus }) => {
  expect(secureChorus.url).toMatch(/^https:/)
  const docId = newDocId()
  const writers: Writer[] = []
  const sockets: string[] = []
  try {
    for (const name of ['Ada', 'Grace']) {
      const writer = await openWriter(browser, secureChorus.url, { name, docId, ignoreHTTPSErrors: true })
      writers.push(writer)
      writer.page.on('websocket', (socket) => sockets.push(socket.url()))
    }
    const [ada, grace] = writers
    expect(await ada.page.evaluate(() => location.protocol)).toBe('https:')

    await ada.typeAtEnd('Hello over TLS.')
    await expect.poll(grace.text).toBe('Hello over TLS.')
    await grace.typeAtEnd(' Hi back.')
    await expect.poll(ada.text).toBe('Hello over TLS. Hi back.')
    await expect(ada.save).toHaveText('Saved')

    // Reloaded, the page comes back over wss with what the server stored.
    await grace.page.reload()
    await expect(grace.connection).toHaveText('Online')
    await expect.poll(grace.text).toBe('Hello over TLS. Hi back.')
    expect(sockets.length).toBeGreaterThan(0)
    for (const url of sockets) expect(url).toMatch(new RegExp(`^wss://127\\.0\\.0\\.1:${secureChorus.port}/sync/`))
    for (const writer of writers) expect(writer.errors, `console errors in ${writer.name}'s browser`).toEqual([])
  } finally {
    for (const writer of writers) await writer.context.close()
  }
})
