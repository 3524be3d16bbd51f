/**
 * build-if-stale decides from a hash of the inputs whether `next build` must run: every change
 * that can alter the build must change the hash, and nothing else may.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { hashInputs, listInputs, staleReason, writeStamp } from '../../scripts/build-if-stale.mjs'

let root: string

function write(path: string, content: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), content)
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'build-stamp-'))
  write('package.json', '{}')
  write('next.config.js', 'export default {}')
  write('app/page.tsx', 'export default () => null')
  write('components/editor/Editor.tsx', 'export {}')
  write('lib/doc-id.ts', 'export {}')
})

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('listInputs', () => {
  it('lists the front-end folders and root config files, sorted, and nothing else', () => {
    write('server/main.ts', '')
    write('tests/unit/x.test.ts', '')
    write('.next/BUILD_ID', 'x')
    write('app/.page.tsx.swp', '')
    write('README.md', '')
    assert.deepEqual(listInputs(root), [
      'app/page.tsx',
      'components/editor/Editor.tsx',
      'lib/doc-id.ts',
      'next.config.js',
      'package.json',
    ])
  })
})

describe('hashInputs', () => {
  it('is stable and ignores files that do not go into the build', () => {
    const before = hashInputs(root)
    write('server/main.ts', 'changed')
    write('tests/e2e/a.spec.ts', 'changed')
    write('.next/chorus-build-stamp.json', '{}')
    assert.equal(hashInputs(root), before)
  })

  for (const [what, change] of [
    ['an edited page', () => write('app/page.tsx', 'export default () => 1')],
    ['a new component', () => write('components/Caret.tsx', '')],
    ['a deleted file', () => rmSync(join(root, 'lib/doc-id.ts'))],
    ['a renamed file', () => renameSync(join(root, 'lib/doc-id.ts'), join(root, 'lib/doc-ids.ts'))],
    ['a new public asset', () => write('public/favicon.ico', 'icon')],
    ['a changed lockfile', () => write('package-lock.json', '{"lockfileVersion":3}')],
    ['a new root convention file', () => write('proxy.ts', '')],
  ] as const) {
    it(`changes with ${what}`, () => {
      const before = hashInputs(root)
      change()
      assert.notEqual(hashInputs(root), before)
    })
  }

  it('changes when bytes move from one file to the next', () => {
    // Plain concatenation would hash both layouts the same.
    write('lib/a.ts', 'ab')
    write('lib/b.ts', 'c')
    const before = hashInputs(root)
    write('lib/a.ts', 'a')
    write('lib/b.ts', 'bc')
    assert.notEqual(hashInputs(root), before)
  })
})

describe('staleReason', () => {
  it('asks for a build until one is stamped, and again once an input changes', () => {
    assert.equal(staleReason(root), 'no build in .next/')
    write('.next/BUILD_ID', 'abc')
    assert.equal(staleReason(root), 'no build stamp')
    writeStamp(root, hashInputs(root))
    assert.equal(staleReason(root), undefined)
    write('app/page.tsx', 'export default () => 2')
    assert.equal(staleReason(root), 'inputs changed')
  })

  it('rebuilds when the build itself is gone but the stamp survived', () => {
    write('.next/BUILD_ID', 'abc')
    writeStamp(root, hashInputs(root))
    rmSync(join(root, '.next/BUILD_ID'))
    assert.equal(staleReason(root), 'no build in .next/')
  })
})
