/**
 * Which Chromium the browser tests launch.
 *
 * Playwright's own download does not work on our build machines (no internet but npm and Debian),
 * so Debian's `chromium` package is the usual answer; on a machine where `npx playwright install`
 * worked, Playwright's browser is used instead. Called from playwright.config.ts, which Playwright
 * evaluates in the runner and again in every worker, so it is synchronous and cheap once a browser
 * is present.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chromium } from '@playwright/test'

/**
 * Flags for a headless Chromium in a sandbox-less container on a closed network. Without the
 * background-networking ones Chromium keeps dialing Google services and floods the logs with
 * refused connections. Playwright passes most of these for its own browser already; repeating
 * them is harmless, so every browser gets the same list.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

// The real binary first: the /usr/bin/chromium wrapper script prints a harmless but noisy
// "[: ... unexpected operator" on every launch.
const SYSTEM_CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium']

export interface ResolvedChromium {
  executablePath: string
  args: readonly string[]
  source: 'env' | 'playwright' | 'system' | 'apt'
}

/**
 * Finds a Chromium, installing Debian's when we are root on Debian and there is none.
 * `CHROMIUM_PATH` overrides the search (any Chromium-based browser).
 */
export function resolveChromium(): ResolvedChromium {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`)
    return { executablePath: fromEnv, args: CHROMIUM_ARGS, source: 'env' }
  }
  const bundled = playwrightChromium()
  if (bundled) return { executablePath: bundled, args: CHROMIUM_ARGS, source: 'playwright' }
  const system = findSystemChromium()
  if (system) return { executablePath: system, args: CHROMIUM_ARGS, source: 'system' }
  if (canAptInstall()) {
    aptInstallChromium()
    const installed = findSystemChromium()
    if (installed) return { executablePath: installed, args: CHROMIUM_ARGS, source: 'apt' }
  }
  throw new Error(
    'No Chromium found for the browser tests. Install one with `npx playwright install chromium` ' +
      '(needs internet) or `apt-get install chromium` (Debian/Ubuntu), or point CHROMIUM_PATH at one.',
  )
}

function playwrightChromium(): string | undefined {
  try {
    const path = chromium.executablePath()
    return path && existsSync(path) ? path : undefined
  } catch {
    return undefined // some Playwright versions throw when no browser is registered for the platform
  }
}

function findSystemChromium(): string | undefined {
  return SYSTEM_CHROMIUM.find((path) => existsSync(path))
}

function canAptInstall(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/etc/debian_version')
}

function aptInstallChromium(): void {
  // stdout goes to stderr: this runs while Playwright loads its config, and reporters may own stdout.
  console.error("chromium: none found; installing Debian's package (apt-get install chromium)...")
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env })
    if (result.status !== 0) {
      throw new Error(`\`apt-get ${args.join(' ')}\` failed (${result.error?.message ?? `exit code ${result.status}`})`)
    }
  }
}
