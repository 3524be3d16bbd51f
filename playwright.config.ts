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
  // Each worker runs its own Chorus server plus two or three browsers: about two cores' worth
  // while a test types. More workers than that on a busy 2-core box only make every test slower,
  // until the slowest passes its timeout.
  workers: Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2))),
  // Hang guards, not budgets: a busy machine (a 2-core CI box running other jobs) can take three
  // times as long as a quiet one, and a test must not fail for that. Waits are on conditions.
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: 'list',
  // Builds the app once (if stale); workers then start servers from that build (tests/e2e/fixtures.ts).
  globalSetup: './tests/support/global-setup.ts',
  use: {
    trace: 'on-first-retry',
    launchOptions: { executablePath: browser.executablePath, args: [...browser.args] },
  },
})
