#!/usr/bin/env node
/**
 * Run `next build` only when the inputs changed since the last successful build.
 *
 * The inputs are hashed (path + content of every file that can change Next's output) and the hash
 * is kept in a stamp file inside `.next/`. A missing stamp, a different hash or a missing
 * `.next/BUILD_ID` (a half-deleted build directory) means rebuild. Deleting `.next/` is enough to
 * force one.
 *
 * Usage: node scripts/build-if-stale.mjs [--force]
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Folders whose whole content goes into the client and server bundles. */
export const INPUT_DIRS = ['app', 'components', 'lib', 'public']

/**
 * Single files that change the build. Beyond the obvious ones this lists the root-level files Next
 * picks up by convention (proxy/middleware, instrumentation, PostCSS, .env files read at build
 * time), so adding one later cannot leave a stale build behind. Missing files are skipped.
 */
export const INPUT_FILES = [
  'next.config.js',
  'next.config.mjs',
  'next.config.ts',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'proxy.ts',
  'middleware.ts',
  'instrumentation.ts',
  'postcss.config.js',
  'postcss.config.mjs',
  'postcss.config.cjs',
  '.env',
  '.env.production',
  '.env.local',
  '.env.production.local',
]

export const STAMP_FILE = join('.next', 'chorus-build-stamp.json')

/**
 * The input files that exist under `root`, as sorted POSIX-style relative paths. Dotfiles inside
 * the input folders are skipped: editors drop swap and lock files there that Next never imports,
 * and they would force needless rebuilds.
 */
export function listInputs(root) {
  const found = []
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue
      const full = join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile()) found.push(toPosix(relative(root, full)))
    }
  }
  for (const dir of INPUT_DIRS) {
    const full = join(root, dir)
    if (existsSync(full) && statSync(full).isDirectory()) walk(full)
  }
  for (const file of INPUT_FILES) {
    if (existsSync(join(root, file))) found.push(file)
  }
  // Sorted with a fixed comparison (not localeCompare) so the hash is the same on every machine.
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * sha256 over every input's path and content. Lengths are hashed before each part so that moving
 * bytes from one file to the next, or renaming a file, always changes the hash.
 */
export function hashInputs(root, files = listInputs(root)) {
  const hash = createHash('sha256')
  for (const file of files) {
    const content = readFileSync(join(root, file))
    hash.update(`${Buffer.byteLength(file)}:${file}\0${content.length}:`)
    hash.update(content)
  }
  return hash.digest('hex')
}

export function readStamp(root) {
  try {
    return JSON.parse(readFileSync(join(root, STAMP_FILE), 'utf8'))
  } catch {
    return undefined // no stamp or unreadable: treated the same, as "never built"
  }
}

export function writeStamp(root, hash) {
  const stamp = { hash, builtAt: new Date().toISOString() }
  writeFileSync(join(root, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`)
}

/** Why a rebuild is needed, or undefined when the current build can be reused. */
export function staleReason(root, hash = hashInputs(root)) {
  if (!existsSync(join(root, '.next', 'BUILD_ID'))) return 'no build in .next/'
  const stamp = readStamp(root)
  if (!stamp) return 'no build stamp'
  if (stamp.hash !== hash) return 'inputs changed'
  return undefined
}

/**
 * Builds when stale; returns what happened. Prints one line saying so (through `log`, so tests
 * and callers can silence it).
 */
export async function buildIfStale({ root = REPO_ROOT, force = false, log = console.log } = {}) {
  const started = Date.now()
  const reason = force ? 'forced' : staleReason(root)
  if (!reason) {
    log(`build-if-stale: reused the existing build (inputs unchanged)`)
    return { built: false }
  }
  await runNextBuild(root)
  // Hash again after the build rather than reusing the first hash: `next build` may rewrite
  // tsconfig.json (it adds its type folders to "include"), and a stamp of the old content would
  // make the next run rebuild for nothing.
  writeStamp(root, hashInputs(root))
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  log(`build-if-stale: built (${reason}) in ${seconds}s`)
  return { built: true, reason }
}

function runNextBuild(root) {
  // Next's own bin through this node, not `npx`: no npm start-up cost and no PATH lookup.
  const nextBin = createRequire(join(root, 'package.json')).resolve('next/dist/bin/next')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin, 'build'], { cwd: root, stdio: 'inherit' })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`next build failed (${signal ?? `exit code ${code}`})`))
    })
  })
}

function toPosix(path) {
  return sep === '/' ? path : path.split(sep).join('/')
}

// CLI: only when run directly, not when imported by start.mjs or the Playwright global setup.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  buildIfStale({ force: process.argv.includes('--force') }).catch((error) => {
    console.error(`build-if-stale: ${error.message}`)
    process.exit(1)
  })
}
