/**
 * The app behind the shipped nginx config (docs/deploy/nginx.conf), as a deployment would run
 * it: Debian's nginx terminating TLS (self-signed certificate) in front of a real Chorus serving
 * the app over plain http. Two browsers edit one document through it over wss. One Chorus and
 * one nginx for the file.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import { newDocId } from '../../lib/doc-id.ts'
import { startChorus } from '../support/chorus-process.ts'
import { NGINX, startNginx, type NginxProxy } from '../support/nginx.ts'
import { makeCertificate, OPENSSL } from '../support/tls-certificates.ts'
import { openWriter, type Writer } from './writers.ts'

const test = base.extend<Record<never, never>, { nginx: NginxProxy }>({
  nginx: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructured first argument
    async ({}, use) => {
      const dir = mkdtempSync(join(tmpdir(), 'chorus-nginx-e2e-'))
      const chorus = await startChorus({ entry: 'app' })
      try {
        const proxy = await startNginx({ upstreamPort: chorus.port, certificate: makeCertificate(dir, 'proxy') })
        try {
          await use(proxy)
        } finally {
          await proxy.stop()
        }
      } finally {
        await chorus.cleanup()
        rmSync(dir, { recursive: true, force: true })
      }
    },
    { scope: 'worker' },
  ],
})

test.skip(!NGINX, 'nginx is not installed (apt-get install nginx; .ci/run installs it)')
test.skip(!OPENSSL, 'openssl is not installed (apt-get install openssl)')

test('two browsers edit through nginx over https and wss', async ({ browser, nginx: proxy }) => {
  const docId = newDocId()
  const writers: Writer[] = []
  const sockets: string[] = []
  try {
    for (const name of ['Ada', 'Grace']) {
      const writer = await openWriter(browser, proxy.httpsUrl, { name, docId, ignoreHTTPSErrors: true })
      writers.push(writer)
      writer.page.on('websocket', (socket) => sockets.push(socket.url()))
    }
    const [ada, grace] = writers
    expect(await ada.page.evaluate(() => location.origin)).toBe(proxy.httpsUrl)

    await ada.typeAtEnd('Hello through nginx.')
    await expect.poll(grace.text).toBe('Hello through nginx.')
    await grace.typeAtEnd(' Hi back.')
    await expect.poll(ada.text).toBe('Hello through nginx. Hi back.')
    await expect(ada.save).toHaveText('Saved')
    await expect(grace.save).toHaveText('Saved')

    // Reloaded, the page comes back through nginx with what Chorus stored.
    await grace.page.reload()
    await expect(grace.connection).toHaveText('Online')
    await expect.poll(grace.text).toBe('Hello through nginx. Hi back.')
    expect(sockets.length).toBeGreaterThan(0)
    for (const url of sockets) expect(url).toMatch(new RegExp(`^wss://127\\.0\\.0\\.1:${proxy.httpsPort}/sync/`))
    for (const writer of writers) expect(writer.errors, `console errors in ${writer.name}'s browser`).toEqual([])
  } finally {
    for (const writer of writers) await writer.context.close()
  }
})
