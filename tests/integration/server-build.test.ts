/**
 * The server runs from its esbuild bundle (scripts/build-server.mjs). These check what the bundle
 * promises: one folder per content, safe when several processes build at once, and the packages
 * only some configurations use (PostgreSQL, Redis, sign-in) still loaded only when configured.
 * That the bundle serves is what every test that starts a server process shows.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { BUILD_DIR, buildServer, builtEntry } from '../../scripts/build-server.mjs'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)
const scratch = mkdtempSync(join(tmpdir(), 'server-build-'))

after(() => rmSync(scratch, { recursive: true, force: true }))

/** A checkout with only what the server bundle is built from. */
function copyOfSources(name: string): string {
  const root = join(scratch, name)
  for (const part of ['server', 'lib', 'package.json']) cpSync(join(REPO_ROOT, part), join(root, part), { recursive: true })
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'))
  return root
}

/**
 * The packages an entry loads at start: its static imports and the dynamic imports it awaits at
 * the top level (server/main.ts sets NODE_ENV first), followed through the bundle's own chunks.
 * What compose.ts imports only when configured is imported inside a function, indented.
 */
function packagesLoadedAtStart(entryFile: string): Set<string> {
  const dir = join(entryFile, '..')
  const packages = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = readFileSync(join(dir, file), 'utf8')
    const statics = code.matchAll(/^import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gms)
    const topLevelAwaits = code.matchAll(/^(?:(?:var|const|let)\s[^\n]*?)?await import\(["']([^"']+)["']\)/gm)
    for (const [, specifier] of [...statics, ...topLevelAwaits]) {
      if (specifier.startsWith('./')) visit(specifier.slice(2))
      else packages.add(specifier)
    }
  }
  visit(entryFile.slice(dir.length + 1))
  return packages
}

describe('the server bundle', () => {
  it('is one folder per content: the same sources give the same folder, a change a new one', async () => {
    const original = await buildServer({ root: copyOfSources('a') })
    const same = await buildServer({ root: copyOfSources('b') })
    const changedRoot = copyOfSources('c')
    appendFileSync(join(changedRoot, 'server', 'standalone.ts'), "\nconsole.log('changed')\n")
    const changed = await buildServer({ root: changedRoot })
    const name = (dir: string) => dir.slice(dir.lastIndexOf('/') + 1)
    assert.equal(name(same), name(original))
    assert.notEqual(name(changed), name(original))
    for (const dir of [original, changed]) {
      assert.ok(existsSync(builtEntry(dir, 'server/main.ts')), `${dir} has main.mjs`)
      assert.ok(existsSync(builtEntry(dir, 'server/standalone.ts')), `${dir} has standalone.mjs`)
    }
  })

  it('is written again when files of it went missing', async () => {
    const root = copyOfSources('half-deleted')
    const dir = await buildServer({ root })
    const entry = builtEntry(dir, 'server/standalone.ts')
    rmSync(entry)
    // A new process would build again; this one remembers its build, so the script is run.
    cpSync(join(REPO_ROOT, 'scripts', 'build-server.mjs'), join(root, 'scripts', 'build-server.mjs'))
    const { stdout } = await run(process.execPath, [join(root, 'scripts', 'build-server.mjs')], { cwd: root })
    assert.equal(stdout.trim(), dir)
    assert.ok(existsSync(entry), 'the missing entry is back')
  })

  it('is whole for every process that builds it at the same time, and leaves no staging folder', async () => {
    const root = copyOfSources('concurrent')
    const script = join(REPO_ROOT, 'scripts', 'build-server.mjs')
    // The script builds the checkout it is in: run copies of it from the copied checkout.
    cpSync(script, join(root, 'scripts', 'build-server.mjs'))
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => run(process.execPath, [join(root, 'scripts', 'build-server.mjs')], { cwd: root })),
    )
    const dirs = new Set(outputs.map(({ stdout }) => stdout.trim()))
    assert.equal(dirs.size, 1, `every build names the same folder: ${[...dirs].join(', ')}`)
    const [dir] = dirs
    assert.ok(existsSync(builtEntry(dir, 'server/standalone.ts')))
    assert.deepEqual(
      readdirSync(join(root, BUILD_DIR)).filter((name) => name.startsWith('.staging-')),
      [],
      'no staging folder is left',
    )
  })

  it('loads PostgreSQL, Redis and sign-in packages only when they are configured', async () => {
    const dir = await buildServer({ root: REPO_ROOT })
    for (const entry of ['server/standalone.ts', 'server/main.ts']) {
      const loaded = packagesLoadedAtStart(builtEntry(dir, entry))
      assert.ok(
        loaded.has('ws') && loaded.has('yjs') && loaded.has('leveldown'),
        `${entry} loads its core: ${[...loaded].join(', ')}`,
      )
      for (const lazy of ['pg', 'ioredis', 'jose', 'openid-client', 'next']) {
        assert.ok(!loaded.has(lazy), `${entry} loads ${lazy} at start`)
      }
    }
  })
})
