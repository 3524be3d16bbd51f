/**
 * The sync server as it runs: server/*.ts bundled by esbuild into plain JavaScript, so that a
 * server process loads a few files instead of compiling some sixty modules through tsx at every
 * start, and its code carries none of tsx's per-closure name wrappers. Packages stay in
 * node_modules; what server/compose.ts imports only when configured (PostgreSQL, Redis, sign-in)
 * stays in chunks of its own, loaded only then.
 *
 * A build takes well under a second, so it is made whenever a server is started (see
 * server-command.mjs) rather than kept up to date by hand. Each build goes into a folder named
 * after its content, .build/server/<hash>/, written under a temporary name and renamed into place:
 * servers started from an earlier build keep their files, and tests that start servers at the same
 * time never see half a build.
 *
 * Usage: node scripts/build-server.mjs   (prints the folder)
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BUILD_DIR = join('.build', 'server')
/** The server's entry points, each bundled to <name>.mjs. */
export const SERVER_ENTRIES = ['server/main.ts', 'server/standalone.ts']
/** Earlier builds kept besides the newest: a server started from one may still be running. */
const KEEP_BUILDS = 5

const builds = new Map()

/** Builds the server (once per process and root) and resolves to the build's folder. */
export function buildServer({ root = REPO_ROOT } = {}) {
  let build = builds.get(root)
  if (!build) {
    build = bundle(root)
    builds.set(root, build)
    build.catch(() => builds.delete(root))
  }
  return build
}

/** The file that runs `entry` (one of SERVER_ENTRIES) in a build folder. */
export function builtEntry(dir, entry) {
  if (!SERVER_ENTRIES.includes(entry)) throw new Error(`not a server entry point: ${entry}`)
  return join(dir, entry.replace(/^server\//, '').replace(/\.ts$/, '.mjs'))
}

/** Builds in flight in this process: esbuild's service process is stopped after the last one. */
let building = 0

async function bundle(root) {
  const esbuild = await import('esbuild')
  building++
  try {
    return await bundleWith(esbuild, root)
  } finally {
    // Otherwise esbuild's service (~30 MB) would live as long as we do: under `npm start`, as
    // long as the server.
    if (--building === 0) await esbuild.stop()
  }
}

async function bundleWith({ build }, root) {
  const staging = join(root, BUILD_DIR, `.staging-${process.pid}-${Date.now()}`)
  const result = await build({
    absWorkingDir: root,
    entryPoints: SERVER_ENTRIES,
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    // Stack traces map back to server/*.ts under `node --enable-source-maps` (npm run dev does).
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'silent',
  })
  const files = result.outputFiles
    .map((file) => ({ name: relative(staging, file.path), contents: file.contents }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const hash = createHash('sha256')
  for (const { name, contents } of files) hash.update(`${name}\0${contents.byteLength}\0`).update(contents)
  const dir = join(root, BUILD_DIR, hash.digest('hex').slice(0, 16))
  if (files.every(({ name }) => existsSync(join(dir, name)))) {
    // Used again: newest for pruning's sake.
    const now = new Date()
    utimesSync(dir, now, now)
  } else {
    // Missing, or missing files (a half-deleted folder): written again whole.
    rmSync(dir, { recursive: true, force: true })
    try {
      for (const { name, contents } of files) {
        mkdirSync(dirname(join(staging, name)), { recursive: true })
        writeFileSync(join(staging, name), contents)
      }
      try {
        renameSync(staging, dir)
      } catch (error) {
        // Another process put the same build there first.
        if (!isDirectory(dir)) throw error
      }
    } finally {
      rmSync(staging, { recursive: true, force: true })
    }
  }
  pruneOldBuilds(join(root, BUILD_DIR), dir)
  return dir
}

/** Removes all but the newest builds (and staging folders left by a process that died). */
function pruneOldBuilds(parent, current) {
  const hour = 60 * 60 * 1000
  const entries = readdirSync(parent)
    .map((name) => ({ name, path: join(parent, name), mtime: statSync(join(parent, name)).mtimeMs }))
    .filter((entry) => entry.path !== current)
    .sort((a, b) => b.mtime - a.mtime)
  let kept = 0
  for (const entry of entries) {
    const staging = entry.name.startsWith('.staging-')
    if (staging ? Date.now() - entry.mtime < hour : ++kept <= KEEP_BUILDS) continue
    rmSync(entry.path, { recursive: true, force: true })
  }
}

function isDirectory(path) {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(await buildServer())
}
