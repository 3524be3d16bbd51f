import { availableParallelism } from 'node:os'
import { defineConfig } from '@playwright/test'
import { resolveChromium } from './tests/support/chromium.ts'

const CI = !!process.env.CI
const browser = resolveChromium()

export default defineConfig({
  testDir: 'tests/e2e',
  forbidOnly: CI,
  retries: CI ? 1 : 0,
  // Every test has its own server, data dir and documents (tests/e2e/fixtures.ts), so tests of one
  // file can run side by side too.
  fullyParallel: true,
  // Each worker runs its own Chorus server plus two browsers; more than two starve a 2-core box.
  workers: Math.min(2, availableParallelism()),
  reporter: 'list',
  // Builds the app once (if stale); workers then start servers from that build (tests/e2e/fixtures.ts).
  globalSetup: './tests/support/global-setup.ts',
  use: {
    trace: 'on-first-retry',
    launchOptions: { executablePath: browser.executablePath, args: [...browser.args] },
  },
})
