#!/usr/bin/env node
/**
 * `npm test`: Biome (format and lint, whole suite only), the Node test runner over tests/unit and tests/integration, then Playwright over
 * tests/e2e, each only if it has test files; their output is streamed as it comes. Ends with one
 * line summing both, `N passed, N failed[, N skipped]`, and exits non-zero if anything failed or
 * nothing ran.
 *
 *   node scripts/test.mjs [--only node|e2e] [paths...] [runner options...]
 *
 * Paths (files or folders under tests/) choose which tests run; a side with no chosen path is
 * skipped. Runner options (e.g. `--test-name-pattern=x`, `--grep x`, `--headed`) go to the one
 * runner picked with --only; without --only they are refused, since each runner rejects the
 * other's options.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { constants, tmpdir } from 'node:os'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const NODE_DIRS = ['tests/unit', 'tests/integration']
const E2E_DIR = 'tests/e2e'
const NODE_TEST_FILE = /\.test\.ts$/
// Playwright's default testMatch.
const E2E_TEST_FILE = /\.(spec|test)\.(c|m)?[jt]sx?$/

const { only, paths, options } = parseArgs(process.argv.slice(2))
const scratch = mkdtempSync(join(tmpdir(), 'chorus-test-run-'))
let interrupted // the signal that stopped the run, if any
let current // the runner now running
// Ctrl-C reaches the runner directly (same process group), and a second SIGINT would make
// Playwright skip its teardown: only stop going on to the next runner.
process.on('SIGINT', () => {
  interrupted = 'SIGINT'
})
// SIGTERM/SIGHUP usually target this process alone (a CI timeout, a closed terminal): pass them on.
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    interrupted = signal
    current?.kill(signal)
  })
}

const results = []
try {
  // The whole suite starts with the formatter and linter: seconds, and a red line for a style
  // slip is cheaper here than in review.
  if (!only && !paths.length) results.push(await runLint())
  if (only !== 'e2e' && !interrupted) {
    const files = selectFiles(NODE_DIRS, NODE_TEST_FILE, paths)
    if (files.length) results.push(await runNode(files, only === 'node' ? options : []))
    else console.log(`test: no Node test files${paths.length ? ' selected' : ''}, skipping the Node test runner`)
  }
  if (only !== 'node' && !interrupted) {
    const files = selectFiles([E2E_DIR], E2E_TEST_FILE, paths)
    if (files.length) results.push(await runPlaywright(paths.length ? files : [], only === 'e2e' ? options : []))
    else console.log(`test: no Playwright test files${paths.length ? ' selected' : ''}, skipping Playwright`)
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
process.exit(summarize(results))

function parseArgs(args) {
  let only
  const paths = []
  const options = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--only' || arg.startsWith('--only=')) {
      only = arg === '--only' ? args[++i] : arg.slice('--only='.length)
      if (only !== 'node' && only !== 'e2e') fail(`--only takes "node" or "e2e", not "${only}"`)
    } else if (!arg.startsWith('-') && existsSync(resolve(arg)) && isUnder(resolve(arg), join(ROOT, 'tests'))) {
      paths.push(resolve(arg))
    } else {
      options.push(arg)
    }
  }
  if (options.length && !only) fail(`runner options (${options.join(' ')}) need --only node or --only e2e`)
  return { only, paths, options }
}

/** Test files under `dirs`, narrowed to `paths` when any are given. Node 20 has no fs glob. */
function selectFiles(dirs, pattern, paths) {
  const files = []
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full)
      } else if (pattern.test(entry.name)) {
        files.push(full)
      }
    }
  }
  for (const dir of dirs) {
    if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir))
  }
  const chosen = paths.length
    ? files.filter((file) => paths.some((path) => file === path || (statSync(path).isDirectory() && isUnder(file, path))))
    : files
  return chosen.sort().map((file) => relative(ROOT, file))
}

async function runLint() {
  banner('Biome: format and lint')
  const cli = createRequire(join(ROOT, 'package.json')).resolve('@biomejs/biome/bin/biome')
  const code = await run('biome', process.execPath, [cli, 'check', '.'])
  if (code !== 0) console.log('test: `npm run format` fixes formatting and safe lint fixes; the rest is named above')
  return { name: 'biome', code, counts: undefined }
}

async function runNode(files, extra) {
  banner(`Node test runner: ${files.length} file(s)`)
  // spec for people, TAP to a file for the counts (its summary has "# pass N" lines).
  const tapFile = join(scratch, 'node.tap')
  const code = await run('node', process.execPath, [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    // A hang guard, not a budget: Node has no default timeout, and a test file that leaves a
    // socket or timer open never exits. It applies to each test and to each file as a whole.
    '--test-timeout=600000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...extra,
    ...files,
  ])
  return { name: 'node', code, counts: existsSync(tapFile) ? parseTapSummary(readFileSync(tapFile, 'utf8')) : undefined }
}

/** The runner's final summary; the last match wins, as tests' own output can contain such lines. */
function parseTapSummary(tap) {
  const last = (name) => {
    const matches = [...tap.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))]
    return matches.length ? Number(matches.at(-1)[1]) : undefined
  }
  const passed = last('pass')
  if (passed === undefined) return undefined
  // A cancelled test (timeout, file crashed mid-run) did not pass: count it as failed.
  return { passed, failed: (last('fail') ?? 0) + (last('cancelled') ?? 0), skipped: (last('skipped') ?? 0) + (last('todo') ?? 0) }
}

async function runPlaywright(files, extra) {
  banner(`Playwright${files.length ? `: ${files.length} file(s)` : ''}`)
  const jsonFile = join(scratch, 'playwright.json')
  const cli = createRequire(join(ROOT, 'package.json')).resolve('@playwright/test/cli')
  // list for people, json to a file for the counts. A --reporter in `extra` replaces both.
  const code = await run('playwright', process.execPath, [cli, 'test', '--reporter=list,json', ...extra, ...files], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: jsonFile,
  })
  return {
    name: 'playwright',
    code,
    counts: existsSync(jsonFile) ? parsePlaywrightStats(readFileSync(jsonFile, 'utf8')) : undefined,
  }
}

function parsePlaywrightStats(json) {
  try {
    const { stats } = JSON.parse(json)
    // "flaky" tests failed first and passed on retry: they passed.
    return { passed: stats.expected + stats.flaky, failed: stats.unexpected, skipped: stats.skipped }
  } catch {
    return undefined // cut short (killed mid-write): the exit code still tells failure
  }
}

function run(name, command, args, env = {}) {
  const started = Date.now()
  const done = (code) => {
    console.log(`test: ${name} took ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return code
  }
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } })
    current = child
    child.on('error', (error) => {
      console.error(`test: could not run ${command}: ${error.message}`)
      resolvePromise(done(1))
    })
    child.on('exit', (code, signal) => resolvePromise(done(code ?? (signal ? 1 : 0))))
  })
}

/** Prints the total line last and returns the exit code. */
function summarize(results) {
  const total = { passed: 0, failed: 0, skipped: 0 }
  let exitCode = 0
  for (const { name, code, counts } of results) {
    if (counts) for (const key of Object.keys(total)) total[key] += counts[key]
    if (code !== 0) exitCode = 1
    // A runner can fail without a failed test (global setup, a syntax error, a crash): say so,
    // or the total below would read like a pass.
    if (code !== 0 && !counts?.failed) console.log(`test: ${name} exited with code ${code} (see its output above)`)
  }
  if (interrupted) {
    console.log(`test: interrupted (${interrupted})`)
    exitCode = 128 + constants.signals[interrupted]
  }
  if (total.passed + total.failed === 0) {
    console.log('test: no tests ran')
    if (!exitCode) exitCode = 1
  }
  console.log(`\n${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
  return exitCode
}

function banner(title) {
  console.log(`\n=== ${title} ===\n`)
}

function isUnder(path, dir) {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}

function fail(message) {
  console.error(`test: ${message}`)
  process.exit(2)
}
