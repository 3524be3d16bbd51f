import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'

const root = new URL('../../', import.meta.url)
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, unknown> }
const require = createRequire(new URL('package.json', root))

describe('package-lock.json', () => {
  it("lists every platform's Next.js compiler, so npm install on a fresh clone leaves it unchanged", () => {
    // Root cause: a lockfile written where only Linux binaries were fetched lacked the others'
    // entries, and `npm install` added 60 lines to the tracked file on a newcomer's first command.
    const next = require('next/package.json') as { version: string; optionalDependencies: Record<string, string> }
    const compilers = Object.keys(next.optionalDependencies).filter((name) => name.startsWith('@next/swc-'))
    assert.ok(compilers.length >= 8, `next ${next.version} lists ${compilers.length} compilers`)
    const missing = compilers.filter((name) => !(`node_modules/${name}` in lock.packages))
    assert.deepEqual(missing, [])
  })
})
