/**
 * docs/benchmarks.md and its chart, from a run's results. Rewritten after every measurement, so
 * an interrupted run still leaves what it measured.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { REPO_ROOT } from './paths.ts'
import type { ScenarioResult } from './scenario.ts'
import { SERVER_KINDS, SERVER_LABELS, type ServerKind } from './servers.ts'
import { median, range } from './stats.ts'
import { format, TARGETS, type TargetOutcome } from './targets.ts'

export interface RunRecord {
  quick: boolean
  complete: boolean
  startedAt: string
  seconds: number
  command: string
  repeat: number
  loadClients: number
  servers: ServerKind[]
  machine: Record<string, string>
  versions: Record<string, string>
  /** 1-minute load average when each measurement started. */
  loadAverages: number[]
  scenarios: ScenarioResult[]
}

/** Hand-written analysis of the misses, included in the report when present. */
const ANALYSIS_FILE = join(REPO_ROOT, 'bench', 'analysis.md')

export function writeReport(run: RunRecord, outFile: string): void {
  const chartFile = join(dirname(outFile), 'benchmark-chart.svg')
  const outcomes = TARGETS.map((target) => ({ target, outcome: target.evaluate(run.scenarios) }))
  const analysis = !run.quick && existsSync(ANALYSIS_FILE) ? readFileSync(ANALYSIS_FILE, 'utf8').trim() : ''
  writeFileSync(chartFile, renderChart(run, outcomes))
  writeFileSync(outFile, renderMarkdown(run, outcomes, basename(chartFile), analysis))
}

type Evaluated = { target: (typeof TARGETS)[number]; outcome: TargetOutcome | null }

/** Each metric of Chorus beside the baseline checkout's, where the run measured both. */
function pushBaselineComparison(run: RunRecord, push: (...lines: string[]) => void): void {
  const rows: string[] = []
  for (const result of run.scenarios) {
    const mid = (server: string, key: string) =>
      median(result.measurements.filter((m) => m.server === server && !m.error).map((m) => m.metrics[key]))
    for (const metric of result.metrics) {
      const now = mid('chorus', metric.key)
      const before = mid('chorus-baseline', metric.key)
      if (now === null || before === null) continue
      const ratio = before === 0 ? '–' : `${(now / before).toFixed(2)}x`
      const unit = metric.unit ? ` (${metric.unit})` : ''
      rows.push(
        `| ${result.title} | ${metric.label}${unit} | ${format(before, '', metric.digits)} | ${format(now, '', metric.digits)} | ${ratio} | ${metric.better} |`,
      )
    }
  }
  if (rows.length === 0) return
  push(
    '## Against the baseline',
    '',
    `This checkout (${run.versions.Chorus ?? 'unknown'}) against the Chorus in \`BENCH_BASELINE_DIR\` (${run.versions['Chorus baseline (BENCH_BASELINE_DIR)'] ?? 'unknown'}), measured in this run, interleaved: medians of the repeats.`,
    '',
    '| Scenario | Metric | Baseline | This checkout | Ratio | Better |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...rows,
    '',
  )
}

const unitless = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : formatShort(v))
const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a == null || b == null || b === 0 ? '–' : `${(a / b).toFixed(2)}x`
const metText = (outcome: TargetOutcome): string => (outcome.met === null ? '–' : outcome.met ? '**met**' : '**MISSED**')

function renderMarkdown(run: RunRecord, outcomes: Evaluated[], chartName: string, analysis: string): string {
  const lines: string[] = []
  const push = (...more: string[]) => lines.push(...more)
  push('# Benchmarks', '')
  if (run.quick) {
    push(
      '> **Quick run** (`npm run bench -- --quick`): a smoke test with small loads and short windows.',
      '> Its figures show that everything runs; they are not the ones to judge the targets by.',
      '',
    )
  }
  if (!run.complete) push('> **Incomplete**: this run was interrupted or is still going; below is what it measured so far.', '')
  push(
    "Chorus's sync server against the lower bound of its transport and against y-websocket's own server, measured",
    'side by side in one run on one machine. Produced by `npm run bench` (bench/run.ts); every figure is the median of',
    `the repeats (${run.repeat} here), servers interleaved within each repeat.`,
    '',
    '| | |',
    '| --- | --- |',
    `| Date | ${run.startedAt} |`,
    `| Command | \`${run.command}\` |`,
    `| Duration | ${formatDuration(run.seconds)} |`,
    ...Object.entries(run.machine).map(([k, v]) => `| ${k} | ${v} |`),
    `| Load average (1 min) at measurement start | median ${format(median(run.loadAverages), '', 2)}, max ${format(Math.max(0, ...run.loadAverages), '', 2)} (2 cores; above 2 means other work competed) |`,
    `| Versions | ${Object.entries(run.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
    '',
    'Servers:',
    '',
    '- **floor**: bench/floor-server.ts, a few lines of `ws` that rebroadcast every frame to the other sockets of the same room without decoding it: the least any relay costs on this transport and machine.',
    "- **y-websocket**: y-websocket@2.1.0's `bin/server.cjs` (`bin/utils.cjs`), in memory.",
    '- **y-websocket + LevelDB**: the same with `YPERSISTENCE` (y-leveldb; writes without fsync, not awaited).',
    '- **Chorus**: `server/standalone.ts`, from its bundle as `npm run server` runs it, with its LevelDB store (every update written with `sync: true`, group commit). Its per-address connection limit and per-connection rate limits are lifted (all load comes from 127.0.0.1); everything else is its default.',
    "- **Chorus (PostgreSQL)**: the same with `DATABASE_URL`, a fresh database for each measurement on a PostgreSQL (Debian's, started by the bench in a temporary folder, fsync and synchronous commit on) that the run shares. Persistence and scale-out scenarios only.",
    '- **Chorus cluster**: three such instances, separate processes, on one fresh database, with `REDIS_URL` on a redis-server the bench starts likewise. Scale-out scenarios only.',
    "- **Hocuspocus (PostgreSQL)** and **Hocuspocus cluster**: @hocuspocus/server 4.7 (bench/hocuspocus-server.ts), storing through @hocuspocus/extension-database to the same PostgreSQL (the whole document, one row, after its default 2 s debounce, at most 10 s), and in the cluster with @hocuspocus/extension-redis on the same Redis. Its idle timeout is raised above the scenarios' length; otherwise its defaults. Scale-out scenarios only.",
    "- No load balancer runs in the scale-out scenarios: the bench places each client on an instance as one would, round robin or by a hash of the document (rendezvous hashing, which moves only a dead instance's documents, as HAProxy's `hash-type consistent` does). CPU per delivered update counts the instances' CPU over the window; Redis's and PostgreSQL's are shown beside it.",
    ...(run.servers.includes('chorus-baseline')
      ? [
          `- **Chorus baseline**: the same server from another checkout (\`BENCH_BASELINE_DIR\`, ${run.versions['Chorus baseline (BENCH_BASELINE_DIR)'] ?? 'unknown commit'}), run the way that checkout runs it (through tsx before the server was bundled), interleaved with the others: what this checkout's changes cost, measured on the same machine at the same time.`,
        ]
      : []),
    '',
    '## Targets',
    '',
    `![Chorus against each target: the share of the allowance used; the line is the target](${chartName})`,
    '',
    '| Target | Goal | Chorus | Measured against the goal | Floor | y-websocket | y-websocket + LevelDB | Chorus / y-websocket | Chorus / y-ws + LevelDB | Met |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | :---: |',
  )
  for (const { target, outcome } of outcomes) {
    if (target.group) continue
    if (!outcome) {
      push(`| ${target.label} | ${target.goal} | not measured | | | | | | | – |`)
      continue
    }
    const s = outcome.servers
    push(
      `| ${target.label} | ${target.goal} | ${outcome.chorus} | ${outcome.measured} | ${unitless(s.floor)} | ${unitless(s.reference)} | ` +
        `${unitless(s['reference-leveldb'])} | ${ratio(s.chorus, s.reference)} | ${ratio(s.chorus, s['reference-leveldb'])} | ` +
        `${metText(outcome)} |`,
    )
  }
  const scaleOut = outcomes.filter(({ target }) => target.group === 'scale-out')
  if (scaleOut.some(({ outcome }) => outcome)) {
    push(
      '',
      '### Scale-out targets',
      '',
      "Chorus's cluster (3 instances, Redis, PostgreSQL) against one Chorus instance on PostgreSQL, measured in the same run, and Hocuspocus 4.7 the same way (its cluster with @hocuspocus/extension-redis against one Hocuspocus instance). The Chorus column is the figure the target is about (the cluster's, or one instance's on PostgreSQL for the persistence rows). In the one-document scenario the cluster carries the load of one instance; in the many-documents scenario each of its instances carries what the single instance carries, so that the ratio says whether capacity grows linearly.",
      '',
      '| Target | Goal | Chorus | Measured against the goal | Chorus, 1 instance (PostgreSQL) | Hocuspocus, 1 instance | Hocuspocus cluster | Hocuspocus cluster / its 1 instance | Chorus cluster / Hocuspocus cluster | Met |',
      '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | :---: |',
    )
    for (const { target, outcome } of scaleOut) {
      if (!outcome) {
        push(`| ${target.label} | ${target.goal} | not measured | | | | | | | – |`)
        continue
      }
      const s = outcome.servers
      push(
        `| ${target.label} | ${target.goal} | ${outcome.chorus} | ${outcome.measured} | ${unitless(s['chorus-postgres'])} | ` +
          `${unitless(s.hocuspocus)} | ${unitless(s['hocuspocus-cluster'])} | ${ratio(s['hocuspocus-cluster'], s.hocuspocus)} | ` +
          `${ratio(s['chorus-cluster'], s['hocuspocus-cluster'])} | ${metText(outcome)} |`,
      )
    }
  }
  push('')
  pushBaselineComparison(run, push)
  if (analysis) push(analysis, '')
  for (const result of run.scenarios) {
    push(`## ${result.title}`, '', result.parameters, '')
    if (result.skipped) {
      push(`Not run: ${result.skipped}`, '')
      continue
    }
    const servers = SERVER_KINDS.filter((server) => result.measurements.some((m) => m.server === server))
    if (servers.length === 0) {
      push('No measurement yet.', '')
      continue
    }
    push(`| Metric | ${servers.map((s) => SERVER_LABELS[s]).join(' | ')} |`, `| --- | ${servers.map(() => '---:').join(' | ')} |`)
    for (const metric of result.metrics) {
      const cells = servers.map((server) => {
        const values = result.measurements.filter((m) => m.server === server && !m.error).map((m) => m.metrics[metric.key])
        const mid = median(values)
        if (mid === null) return '–'
        const spread = range(values)
        const text = format(mid, '', metric.digits)
        return values.length > 1 && spread && spread[0] !== spread[1]
          ? `${text} <sub>(${format(spread[0], '', metric.digits)}–${format(spread[1], '', metric.digits)})</sub>`
          : text
      })
      push(`| ${metric.label}${metric.unit ? ` (${metric.unit})` : ''} | ${cells.join(' | ')} |`)
    }
    const counts = servers.map(
      (server) => `${SERVER_LABELS[server]} ${result.measurements.filter((m) => m.server === server && !m.error).length}`,
    )
    push('', `Repeats measured: ${counts.join(', ')}. Median, with the range of the repeats below it when they differ.`, '')
    const remarks = result.measurements.flatMap((m) => [
      ...(m.error ? [`${SERVER_LABELS[m.server]}, repeat ${m.rep}: FAILED: ${m.error}`] : []),
      ...m.notes.map((n) => `${SERVER_LABELS[m.server]}, repeat ${m.rep}: ${n}`),
    ])
    if (remarks.length) push(...[...new Set(remarks)].map((r) => `- ${r}`), '')
  }
  push(
    '## How it measures, and what limits the accuracy',
    '',
    "- Each server starts fresh for each measurement (a new process, an empty data dir), on 127.0.0.1, in its own process group. CPU is the time on a CPU of every thread of the server process (`/proc/<pid>/task/*/schedstat`, in nanoseconds; utime+stime from `/proc/<pid>/stat` where that is missing) over the measured window, including the LevelDB fsyncs in libuv's pool, in percent of one core; memory is VmRSS from `/proc/<pid>/status`, sampled every 100 ms for peaks.",
    `- Load comes from ${run.loadClients} long-lived load-client processes (bench/load-client.ts) with plain \`ws\` sockets. They do the y-websocket handshake with an empty document; writers send one real Yjs update per edit, typing at the end of their own text, encoded directly (checked byte for byte against Yjs at the start of every run); each insert carries a marker with the writer, a sequence number and the send time. Receivers find markers in the raw frames with \`Buffer.indexOf\` and never decode Yjs, so they stay cheap. Clocks are \`performance.timeOrigin + performance.now()\` in every process.`,
    "- Latency is from the writer stamping the edit to a receiver's socket handing over the frame, over every delivery to every other client; the writer's own echo (y-websocket sends updates back to their sender) is not counted. Delivered = distinct markers received / (edits x other clients of the document), after at most 5 s of draining. Fan-out and many-documents first run the same load for a short warm-up that is not recorded.",
    "- The machine has 2 cores shared by the server under test, the load clients and whatever else runs on it: the load clients' own CPU time competes with the server's, so absolute latencies and the saturation step are lower bounds of what the server could do alone; the ratios between servers measured in the same run are the robust figures. The load average above shows how busy the machine was. Medians of the repeats damp outliers; the ranges show the noise.",
    "- Memory per connection is the growth of the server's RSS from before the first connection to 0.5-1 s after the last one synced, divided by the connections; it includes the per-document cost shared by the connections of a document, and the garbage collector's timing makes it noisy for small counts.",
    '- y-websocket cannot tell when its LevelDB writes are done: where that matters (persistence, trace) the bench waits until its CPU has been idle for 0.5-1 s. Chorus tells: its writer clients ask for SavedState confirmations (`?chorus=1`). "Written to socket but lost" counts updates whose bytes the client had written to the socket when the server was killed; for Chorus, "confirmed lost" counts updates Chorus had confirmed as stored.',
    '- The browser figures come from one Chromium on the same 2 cores as the app server, with page A and page B in separate browser contexts.',
    '',
    '## Running it',
    '',
    '`npm run bench` (about 28 minutes on 2 cores, of which 6 to 8 for the scale-out scenarios and Chorus on PostgreSQL) or `npm run bench -- --quick` (a smoke run of about a minute). Options: `--only <scenario,...>` (fan-out, many-documents, idle, saturation, persistence, trace, browser, large-document, reconnect-storm, cluster-one-document, cluster-many-documents, cluster-kill), `--servers <floor,reference,reference-leveldb,chorus,chorus-baseline,chorus-postgres,hocuspocus,chorus-cluster,hocuspocus-cluster>`, `--repeat N` (default 3, quick 1), `--out <file>` (the chart goes beside it), `--report-from bench/results/<run>.json` (rewrite the report from a run\'s saved figures). The trace scenarios read `../shared/data/editing-traces/automerge-paper.json.gz` beside the checkout and fall back to generated keystrokes, saying so, when it is absent; encoded trace updates are cached in the system temp dir, never in the repository. For diagnosis: `BENCH_CPU_PROF=<dir>` (V8 CPU profile of every server), `BENCH_CHORUS_NODE_ARGS=...` (extra node options for Chorus), `BENCH_CHORUS_LOG_LEVEL=debug` (the log level of Chorus; warn by default), `BENCH_BROWSER_PROFILE=<dir>` (CPU profiles of both browser pages while typing, and during each large-document paste), `BENCH_BROWSER_TRACE=<dir>` (browser and large-document: a Chromium trace of both pages while typing, with marks at each keydown, DOM change and, in browser, socket send and receipt), `BENCH_BASELINE_DIR=<another checkout, with its node_modules>` (adds the server kind `chorus-baseline`, that checkout\'s sync server, to every scenario Chorus runs in alone and the section "Against the baseline"; with a build there, large-document measures that app too, alternating, with the prefix `base.`), `BENCH_ECHO=1` (server output on stderr). The hand-written analysis above comes from `bench/analysis.md`.',
    '',
  )
  return lines.join('\n')
}

function formatShort(value: number): string {
  const abs = Math.abs(value)
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2
  return value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds - m * 60)
  return m ? `${m} min ${s} s` : `${s} s`
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/**
 * One bar per numeric target: the share of its allowance Chorus used (the ratio to the floor over
 * the allowed ratio, or the figure over the limit). The vertical line is the target; green bars
 * end left of it (met), red bars cross it (missed). Bars are cut at 3x the allowance.
 */
function renderChart(run: RunRecord, outcomes: Evaluated[]): string {
  const rows = outcomes.filter((o) => o.outcome?.budget)
  const width = 1000
  const labelWidth = 390
  const barWidth = 380
  const rowHeight = 28
  const top = 58
  const height = top + Math.max(1, rows.length) * rowHeight + 46
  const maxUsed = 3
  const x = (used: number) => labelWidth + (Math.min(used, maxUsed) / maxUsed) * barWidth
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600">Chorus against its targets${run.quick ? ' (quick run: smoke test only)' : ''}</text>`,
    `<text x="16" y="44" fill="#555">Share of each allowance used (ratio to the floor / allowed ratio, or figure / limit). Left of the line: met. Medians of ${run.repeat} repeat${run.repeat > 1 ? 's' : ''}, ${escapeXml(run.startedAt.slice(0, 10))}.</text>`,
  ]
  for (const tick of [0, 0.5, 1, 1.5, 2, 2.5, 3]) {
    const tx = x(tick)
    parts.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + rows.length * rowHeight}" stroke="${tick === 1 ? '#222' : '#e3e3e3'}" stroke-width="${tick === 1 ? 2 : 1}"${tick === 1 ? '' : ' stroke-dasharray="3,3"'}/>`,
      `<text x="${tx}" y="${top + rows.length * rowHeight + 16}" text-anchor="middle" fill="#555">${tick === 1 ? 'target' : `${Math.round(tick * 100)} %`}</text>`,
    )
  }
  rows.forEach(({ target, outcome }, i) => {
    const y = top + i * rowHeight
    const budget = outcome!.budget!
    const met = outcome!.met
    const color = met === false ? '#d1435b' : met ? '#2e9d5b' : '#999999'
    const end = x(budget.used)
    parts.push(
      `<text x="${labelWidth - 10}" y="${y + 18}" text-anchor="end">${escapeXml(target.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${Math.max(2, end - labelWidth)}" height="${rowHeight - 10}" rx="3" fill="${color}"/>`,
      budget.used > maxUsed ? `<text x="${end - 4}" y="${y + 18}" text-anchor="end" fill="#fff" font-weight="600">»</text>` : '',
      `<text x="${labelWidth + barWidth + 12}" y="${y + 18}" fill="${color}" font-weight="600">${escapeXml(budget.text)} ${met === null ? '' : met ? 'met' : 'MISSED'}</text>`,
    )
  })
  if (rows.length === 0) parts.push(`<text x="${labelWidth}" y="${top + 18}" fill="#555">no target measured yet</text>`)
  parts.push(
    `<text x="16" y="${height - 10}" fill="#777">Yes/no targets (100 % delivered, 0 confirmed updates lost, every update stored) are in the table of docs/benchmarks.md.</text>`,
    '</svg>',
    '',
  )
  return parts.join('\n')
}
