/**
 * `npm run bench`: Chorus's sync server against the floor (a bare relay) and y-websocket's own
 * server, side by side in one run, servers interleaved within each repeat; and, in the scale-out
 * scenarios (cluster-*), Chorus's cluster against one Chorus instance and Hocuspocus's cluster.
 *
 *   npm run bench [-- --quick] [--only fan-out,trace] [--servers floor,chorus] [--repeat 3] [--out docs/benchmarks.md]
 *   npm run bench -- --report-from bench/results/<run>.json   (rewrite the report only)
 *
 * Results: the markdown report and its SVG chart (rewritten after every measurement), and the raw
 * figures as JSON in bench/results/ (git-ignored).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { checkAppendUpdate } from './append-update.ts'
import { killAllLoadClients, LoadPool } from './load-pool.ts'
import { REPO_ROOT, RESULTS_DIR } from './paths.ts'
import { writeReport, type RunRecord } from './report.ts'
import {
  FULL,
  QUICK,
  SCENARIO_IDS,
  type Measurement,
  type RunContext,
  type Scenario,
  type ScenarioId,
  type ScenarioResult,
} from './scenario.ts'
import { browser } from './scenarios/browser.ts'
import { clusterKill } from './scenarios/cluster-kill.ts'
import { clusterManyDocuments } from './scenarios/cluster-many-documents.ts'
import { clusterOneDocument } from './scenarios/cluster-one-document.ts'
import { fanOut } from './scenarios/fan-out.ts'
import { idle } from './scenarios/idle.ts'
import { largeDocument } from './scenarios/large-document.ts'
import { manyDocuments } from './scenarios/many-documents.ts'
import { persistence } from './scenarios/persistence.ts'
import { history } from './scenarios/history.ts'
import { reconnectStorm } from './scenarios/reconnect-storm.ts'
import { saturation } from './scenarios/saturation.ts'
import { trace } from './scenarios/trace.ts'
import { baselineDir, cleanupAllServers, isClassic, SERVER_KINDS, SERVER_LABELS, type ServerKind } from './servers.ts'
import { killServicesSync, stopServices } from './services.ts'
import { postgresBinDir } from '../tests/support/postgres.ts'

const SCENARIOS: Record<ScenarioId, Scenario> = {
  'fan-out': fanOut,
  'many-documents': manyDocuments,
  idle,
  saturation,
  persistence,
  trace,
  browser,
  'large-document': largeDocument,
  'reconnect-storm': reconnectStorm,
  'cluster-one-document': clusterOneDocument,
  'cluster-many-documents': clusterManyDocuments,
  'cluster-kill': clusterKill,
  history,
}

const USAGE =
  `usage: npm run bench -- [--quick] [--only <${SCENARIO_IDS.join(',')}>] [--servers <${SERVER_KINDS.join(',')}>] ` +
  `[--repeat N] [--out docs/benchmarks.md] [--report-from bench/results/<run>.json]`

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      servers: { type: 'string' },
      repeat: { type: 'string' },
      out: { type: 'string', default: 'docs/benchmarks.md' },
      'report-from': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const list = <T extends string>(raw: string | undefined, allowed: readonly T[], what: string): T[] => {
    if (!raw) return [...allowed]
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    for (const item of items) if (!allowed.includes(item as T)) fail(`unknown ${what} "${item}"; one of ${allowed.join(', ')}`)
    return allowed.filter((a) => items.includes(a))
  }
  const repeat = values.repeat === undefined ? (values.quick ? 1 : 3) : Number(values.repeat)
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) fail('--repeat must be an integer from 1 to 20')
  return {
    reportFrom: values['report-from'] ? resolve(REPO_ROOT, values['report-from']) : null,
    quick: values.quick!,
    scenarios: list(values.only, SCENARIO_IDS, 'scenario'),
    // The baseline is measured when there is one to measure.
    servers: list(values.servers, SERVER_KINDS, 'server').filter(
      (kind) => kind !== 'chorus-baseline' || values.servers !== undefined || baselineDir() !== null,
    ),
    repeat,
    out: resolve(REPO_ROOT, values.out!),
  }
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`)
  process.exit(2)
}

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

function quiet(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim()
  } catch {
    return ''
  }
}

function describeMachine(): Record<string, string> {
  const cpu = cpus()
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = quiet('git', ['status', '--porcelain', '--', 'server', 'lib'])
    ? ' (server/ or lib/ with uncommitted changes)'
    : ''
  return {
    Machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}`,
    'Chorus commit': commit ? `${commit}${dirty}` : 'unknown',
  }
}

function commitOf(dir: string): string {
  return quiet('git', ['-C', dir, 'log', '-1', '--format=%h (%cs)']) || 'unknown'
}

function describeVersions(): Record<string, string> {
  const chromium = quiet('/usr/lib/chromium/chromium', ['--version']) || quiet('chromium', ['--version'])
  const postgresBin = postgresBinDir()
  return {
    Chorus: commitOf(REPO_ROOT),
    ...(baselineDir() ? { 'Chorus baseline (BENCH_BASELINE_DIR)': commitOf(baselineDir()!) } : {}),
    Node: process.versions.node,
    yjs: versionOf('yjs'),
    ws: versionOf('ws'),
    'y-websocket (reference server)': versionOf('y-websocket-reference'),
    'y-leveldb': versionOf('y-leveldb'),
    leveldown: versionOf('leveldown'),
    Playwright: versionOf('@playwright/test'),
    Hocuspocus: versionOf('@hocuspocus/server'),
    ...(postgresBin ? { PostgreSQL: quiet(join(postgresBin, 'postgres'), ['--version']).replace(/^.*\) /, '') } : {}),
    'redis-server': /v=(\S+)/.exec(quiet('redis-server', ['--version']))?.[1] ?? '?',
    ...(chromium ? { Chromium: chromium.replace(/^Chromium\s*/i, '').split(' ')[0] } : {}),
  }
}

async function main(): Promise<void> {
  const options = parseOptions()
  if (options.reportFrom) {
    // Only rewrite the report (e.g. after editing bench/analysis.md) from a run's saved figures.
    writeReport(JSON.parse(readFileSync(options.reportFrom, 'utf8')) as RunRecord, options.out)
    console.log(`bench: wrote ${relative(REPO_ROOT, options.out)} from ${relative(REPO_ROOT, options.reportFrom)}`)
    return
  }
  const settings = options.quick ? QUICK : FULL
  const started = performance.now()
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  mkdirSync(RESULTS_DIR, { recursive: true })
  const jsonFile = join(RESULTS_DIR, `${stamp}${options.quick ? '-quick' : ''}.json`)
  const scratchDir = mkdtempSync(join(tmpdir(), 'chorus-bench-run-'))
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  const run: RunRecord = {
    quick: options.quick,
    complete: false,
    startedAt: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC'),
    seconds: 0,
    command,
    repeat: options.repeat,
    loadClients: settings.loadClients,
    servers: options.servers,
    machine: describeMachine(),
    versions: describeVersions(),
    loadAverages: [],
    scenarios: [],
  }
  const save = (): void => {
    run.seconds = (performance.now() - started) / 1000
    writeFileSync(jsonFile, JSON.stringify(run, null, 1))
    mkdirSync(resolve(options.out, '..'), { recursive: true })
    writeReport(run, options.out)
  }

  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130)
    stopping = true
    console.error(`\nbench: ${signal}; stopping servers and load clients`)
    cleanupAllServers()
    killAllLoadClients()
    killServicesSync()
    try {
      save()
    } catch {
      // nothing more to do
    }
    rmSync(scratchDir, { recursive: true, force: true })
    process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', () => {
    cleanupAllServers()
    killAllLoadClients()
    killServicesSync()
  })

  checkAppendUpdate()
  console.log(
    `bench: ${options.quick ? 'QUICK ' : ''}${options.scenarios.join(', ')} on ${options.servers.join(', ')}, ${options.repeat} repeat(s)`,
  )
  const pool = await LoadPool.start(settings.loadClients)
  try {
    for (const id of options.scenarios) {
      const scenario = SCENARIOS[id]
      const applies = (server: ServerKind): boolean => scenario.appliesTo?.(server) ?? isClassic(server)
      const servers = options.servers.filter(applies)
      const result: ScenarioResult = {
        id,
        title: scenario.title,
        parameters: scenario.parameters(settings),
        metrics: scenario.metrics(settings),
        measurements: [],
      }
      run.scenarios.push(result)
      console.log(`\n== ${scenario.title}`)
      if (servers.length === 0) {
        result.skipped = `it runs on ${SERVER_KINDS.filter(applies).join(', ')}, none of which was selected`
        console.log(`  skipped: ${result.skipped}`)
        save()
        continue
      }
      const base: Omit<RunContext, 'server' | 'rep' | 'note'> = {
        pool,
        settings,
        quick: options.quick,
        log: (line) => console.log(line),
        scratchDir,
      }
      try {
        const skip = await scenario.prepare?.({ ...base, note: () => undefined })
        if (typeof skip === 'string') {
          result.skipped = skip
          console.log(`  skipped: ${skip}`)
          save()
          continue
        }
      } catch (error) {
        result.skipped = `preparation failed: ${(error as Error).message}`
        console.log(`  skipped: ${result.skipped}`)
        save()
        continue
      }
      result.parameters = scenario.parameters(settings)
      for (let rep = 1; rep <= options.repeat; rep++) {
        for (const server of servers) {
          console.log(`- ${SERVER_LABELS[server]}, repeat ${rep}/${options.repeat}`)
          const measurement: Measurement = { server, rep, metrics: {}, notes: [], seconds: 0 }
          const load = loadavg()[0]
          run.loadAverages.push(load)
          const t0 = performance.now()
          try {
            measurement.metrics = await scenario.run({ ...base, server, rep, note: (line) => measurement.notes.push(line) })
          } catch (error) {
            measurement.error = (error as Error).message.split('\n')[0].slice(0, 300)
            console.log(`  FAILED: ${(error as Error).stack ?? error}`)
            // A failure may leave sockets open; the next measurement starts clean.
            await pool.closeAll().catch(() => undefined)
          }
          measurement.seconds = (performance.now() - t0) / 1000
          result.measurements.push(measurement)
          save()
        }
      }
    }
    run.complete = true
  } finally {
    save()
    await pool.shutdown()
    cleanupAllServers()
    await stopServices()
    rmSync(scratchDir, { recursive: true, force: true })
  }
  console.log(
    `\nbench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${relative(REPO_ROOT, options.out)}, docs chart, and ${relative(REPO_ROOT, jsonFile)}`,
  )
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
