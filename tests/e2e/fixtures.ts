/**
 * Playwright fixtures for Chorus browser tests. Import `test` and `expect` from here, not from
 * @playwright/test:
 *
 *   import { test, expect } from './fixtures.ts'
 *   test('edits survive a restart', async ({ page, chorus }) => {
 *     await page.goto('/d/some-room')          // relative to chorus.url
 *     ...
 *     await chorus.restart()
 *   })
 *
 * `chorus` is a real production server (server/main.ts: Next + sync on one port) with its own
 * temporary data dir, fresh for every test that uses it: a server starts in about a second, and in
 * exchange no test sees another's documents, restarts or crashes. It is stopped and its data dir
 * deleted after the test, passed or failed; on failure its output is attached to the report.
 */
import { test as base, expect } from '@playwright/test'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'

export const test = base.extend<{ chorus: ChorusServer }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a fixture needs from this pattern
  chorus: async ({}, use, testInfo) => {
    const chorus = await startChorus({ entry: 'app' })
    try {
      await use(chorus)
    } finally {
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('chorus-server-output', { body: chorus.output(), contentType: 'text/plain' })
      }
      await chorus.cleanup()
    }
  },
  baseURL: async ({ chorus }, use) => {
    await use(chorus.url)
  },
})

export { expect }
