/**
 * Draws docs/grafana-dashboard.svg: a picture of docs/grafana-dashboard.json filled with real
 * figures, without Grafana or Prometheus (neither runs on our machines).
 *
 *   node --import tsx scripts/dashboard-picture.ts [--seconds 60] [--out docs/grafana-dashboard.svg]
 *
 * It starts a real Chorus server process, puts real y-websocket clients to work on it (editors
 * typing, viewers, a paste, refused connections, editors leaving, then a SIGTERM with a drain),
 * scrapes /metrics every 2 s, and evaluates each panel's own PromQL query over those scrapes with
 * the small evaluator below (the subset the dashboard uses: selectors with =, =~, rate, sum/max
 * [by], histogram_quantile, division). So the lines are what Grafana would draw from the same
 * samples, in a look of our own.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { startChorus } from '../tests/support/chorus-process.ts'
import { parseLabels, parseSamples } from '../tests/support/scrape-metrics.ts'
import { connectClient, type TestClient } from '../tests/support/sync-harness.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const option = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`)
  return index >= 0 ? args[index + 1] : fallback
}
const SECONDS = Number(option('seconds', '60'))
const OUT = option('out', `${ROOT}docs/grafana-dashboard.svg`)
const SCRAPE_MS = 2000
const RATE_WINDOW_S = 10

// ------------------------------------------------------------------------------------------------
// Samples: every series, as [seconds since start, value] points.

type Labels = Record<string, string>
interface Series {
  name: string
  labels: Labels
  points: [number, number][]
}
const series = new Map<string, Series>()

function record(text: string, t: number): void {
  for (const [key, value] of parseSamples(text)) {
    let entry = series.get(key)
    if (!entry) {
      const match = /^([^{]+)(?:\{(.*)\})?$/.exec(key)!
      series.set(key, (entry = { name: match[1], labels: parseLabels(match[2] ?? ''), points: [] }))
    }
    entry.points.push([t, value])
  }
}

// ------------------------------------------------------------------------------------------------
// A PromQL subset, evaluated at one instant.

interface Sample {
  labels: Labels
  value: number
}
type Node =
  | { kind: 'number'; value: number }
  | { kind: 'selector'; name: string; matchers: Matcher[]; range: number | null }
  | { kind: 'call'; name: string; by: string[] | null; args: Node[] }
  | { kind: 'divide'; left: Node; right: Node }
interface Matcher {
  label: string
  op: '=' | '!=' | '=~'
  value: string
}

function parse(expr: string): Node {
  const tokens = expr.match(/\d+(?:\.\d+)?|[a-zA-Z_:][\w:]*|"(?:[^"\\]|\\.)*"|=~|!=|\[[^\]]+\]|[(){},=/]/g) ?? []
  let i = 0
  const peek = () => tokens[i]
  const take = (expected?: string) => {
    const token = tokens[i++]
    if (expected !== undefined && token !== expected) throw new Error(`expected ${expected}, got ${token} in ${expr}`)
    return token
  }
  const expression = (): Node => {
    let left = term()
    while (peek() === '/') {
      take('/')
      left = { kind: 'divide', left, right: term() }
    }
    return left
  }
  const term = (): Node => {
    const token = take()
    if (/^\d/.test(token)) return { kind: 'number', value: Number(token) }
    if (['sum', 'max', 'rate', 'histogram_quantile'].includes(token)) {
      let by: string[] | null = null
      if (peek() === 'by') {
        take('by')
        take('(')
        by = []
        while (peek() !== ')') {
          by.push(take())
          if (peek() === ',') take(',')
        }
        take(')')
      }
      take('(')
      const callArgs = [expression()]
      while (peek() === ',') {
        take(',')
        callArgs.push(expression())
      }
      take(')')
      return { kind: 'call', name: token, by, args: callArgs }
    }
    const matchers: Matcher[] = []
    if (peek() === '{') {
      take('{')
      while (peek() !== '}') {
        const label = take()
        const op = take() as Matcher['op']
        matchers.push({ label, op, value: JSON.parse(take()) as string })
        if (peek() === ',') take(',')
      }
      take('}')
    }
    let range: number | null = null
    if (peek()?.startsWith('[')) range = Number(/\d+/.exec(take())![0])
    return { kind: 'selector', name: token, matchers, range }
  }
  const node = expression()
  if (i !== tokens.length) throw new Error(`unparsed rest of ${expr}: ${tokens.slice(i).join(' ')}`)
  return node
}

function matches(labels: Labels, matchers: Matcher[]): boolean {
  return matchers.every(({ label, op, value }) => {
    const actual = labels[label] ?? ''
    if (op === '=') return actual === value
    if (op === '!=') return actual !== value
    return new RegExp(`^(?:${value})$`).test(actual)
  })
}

function evaluate(node: Node, t: number): Sample[] | number {
  switch (node.kind) {
    case 'number':
      return node.value
    case 'selector': {
      const result: Sample[] = []
      for (const entry of series.values()) {
        if (entry.name !== node.name || !matches(entry.labels, node.matchers)) continue
        const points = entry.points.filter(([at]) => at <= t + 1e-9 && at > t - (node.range ?? 5 * 60))
        if (points.length === 0) continue
        if (node.range === null) {
          result.push({ labels: entry.labels, value: points[points.length - 1][1] })
        } else if (points.length >= 2) {
          const [t0, v0] = points[0]
          const [t1, v1] = points[points.length - 1]
          result.push({ labels: entry.labels, value: (v1 - v0) / (t1 - t0) })
        }
      }
      return result
    }
    case 'divide': {
      const left = evaluate(node.left, t)
      const right = evaluate(node.right, t)
      if (typeof right === 'number')
        return typeof left === 'number' ? left / right : left.map((s) => ({ ...s, value: s.value / right }))
      if (typeof left === 'number') throw new Error('scalar / vector is not used')
      const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort())
      const byKey = new Map(right.map((s) => [key(s.labels), s.value]))
      return left.flatMap((s) => {
        const divisor = byKey.get(key(s.labels))
        return divisor === undefined || divisor === 0 ? [] : [{ labels: s.labels, value: s.value / divisor }]
      })
    }
    case 'call': {
      if (node.name === 'rate') return evaluate(node.args[0], t)
      if (node.name === 'histogram_quantile') {
        const q = evaluate(node.args[0], t) as number
        const buckets = evaluate(node.args[1], t) as Sample[]
        const groups = new Map<string, { labels: Labels; buckets: [number, number][] }>()
        for (const { labels, value } of buckets) {
          const { le, ...rest } = labels
          const id = JSON.stringify(rest)
          const group = groups.get(id) ?? { labels: rest, buckets: [] }
          group.buckets.push([le === '+Inf' ? Infinity : Number(le), value])
          groups.set(id, group)
        }
        return [...groups.values()].flatMap(({ labels, buckets: list }) => {
          const value = quantile(
            q,
            list.sort((a, b) => a[0] - b[0]),
          )
          return Number.isNaN(value) ? [] : [{ labels, value }]
        })
      }
      const input = evaluate(node.args[0], t) as Sample[]
      const groups = new Map<string, Sample>()
      for (const { labels, value } of input) {
        const kept: Labels = {}
        for (const label of node.by ?? []) if (labels[label] !== undefined) kept[label] = labels[label]
        const id = JSON.stringify(kept)
        const group = groups.get(id)
        if (!group) groups.set(id, { labels: kept, value })
        else group.value = node.name === 'sum' ? group.value + value : Math.max(group.value, value)
      }
      return [...groups.values()]
    }
  }
}

/** Prometheus' histogram_quantile: linear interpolation within the bucket that holds the rank. */
function quantile(q: number, buckets: [number, number][]): number {
  const total = buckets[buckets.length - 1]?.[1] ?? 0
  if (total <= 0) return NaN
  const rank = q * total
  let previousBound = 0
  let previousCount = 0
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return previousBound
      return previousBound + ((bound - previousBound) * (rank - previousCount)) / Math.max(count - previousCount, 1e-12)
    }
    previousBound = bound
    previousCount = count
  }
  return previousBound
}

// ------------------------------------------------------------------------------------------------
// The run: a real server, real clients.

async function run(): Promise<{ times: number[]; events: [number, string][] }> {
  const chorus = await startChorus({
    entry: 'standalone',
    // More compactions than by default, so that the panel shows some in a minute.
    env: { DRAIN_SECONDS: '15', COMPACT_AFTER_RECORDS: '100', LOG_LEVEL: 'warn' },
  })
  const started = performance.now()
  const now = () => (performance.now() - started) / 1000
  const times: number[] = []
  const events: [number, string][] = []
  const clients: TestClient[] = []
  const typers: NodeJS.Timeout[] = []
  const editor = (docId: string, perSecond: number) => {
    const client = connectClient(chorus.wsUrl, docId)
    client.provider.awareness.setLocalStateField('user', { name: `editor ${clients.length}` })
    clients.push(client)
    const text = client.doc.getText('t')
    typers.push(
      setInterval(() => {
        if (!client.provider.wsconnected) return
        text.insert(Math.floor(Math.random() * (text.length + 1)), 'abcdefghij'[Math.floor(Math.random() * 10)])
        if (Math.random() < 0.3) client.provider.awareness.setLocalStateField('cursor', { at: text.length })
      }, 1000 / perSecond),
    )
    return client
  }
  const viewer = async (docId: string) => {
    const response = await fetch(`${chorus.url}/api/documents/${docId}/view-link`, { method: 'POST' })
    const { viewId } = (await response.json()) as { viewId: string }
    clients.push(connectClient(`${chorus.wsUrl}/view`, viewId, { chorus: false }))
  }
  const refuse = (url: string, headers: Record<string, string> = {}) => {
    const ws = new WebSocket(url, { headers })
    ws.on('error', () => undefined)
    ws.on('unexpected-response', () => ws.terminate())
  }
  const scraper = setInterval(async () => {
    const t = now()
    const response = await fetch(`${chorus.url}/metrics`).catch(() => null)
    if (response?.status !== 200) return
    record(await response.text(), t)
    times.push(t)
  }, SCRAPE_MS)
  const at = (fraction: number) =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, fraction * SECONDS * 1000 - (performance.now() - started))))
  const mark = (what: string) => events.push([now(), what])

  for (const docId of ['doc-a', 'doc-a', 'doc-b', 'doc-b']) editor(docId, 6)
  await viewer('doc-a')
  mark('4 editors, 1 viewer')
  await at(0.2)
  for (const docId of ['doc-c', 'doc-c', 'doc-d', 'doc-d']) editor(docId, 8)
  await viewer('doc-c')
  mark('+4 editors, +1 viewer')
  await at(0.35)
  clients[0].doc.getText('t').insert(0, 'pasted '.repeat(3000))
  mark('a 21 KB paste')
  await at(0.45)
  for (let i = 0; i < 12; i++) refuse(`${chorus.wsUrl}/doc-a`, { origin: 'https://elsewhere.example' })
  for (let i = 0; i < 6; i++) refuse(`${chorus.wsUrl}/view/no-such-link`)
  mark('refused: 12 foreign origins, 6 unknown view links')
  await at(0.6)
  for (const index of [1, 3, 5, 7]) {
    clearInterval(typers[index])
    clients[index].destroy()
  }
  mark('4 editors leave')
  await at(0.75)
  process.kill(-chorus.pid, 'SIGTERM')
  mark('SIGTERM: draining (DRAIN_SECONDS=15)')
  await at(1)
  clearInterval(scraper)
  for (const typer of typers) clearInterval(typer)
  for (const client of clients) client.destroy()
  await chorus.cleanup()
  return { times, events }
}

// ------------------------------------------------------------------------------------------------
// The picture.

interface PanelJson {
  type: string
  title: string
  gridPos: { x: number; y: number; w: number; h: number }
  fieldConfig?: { defaults?: { unit?: string } }
  targets?: { expr: string; legendFormat: string }[]
}

const COLORS = ['#73BF69', '#F2CC0C', '#8AB8FF', '#FF780A', '#F2495C', '#5794F2', '#B877D9', '#FADE2A', '#37872D', '#C4162A']
const WIDTH = 1600
const UNIT_W = WIDTH / 24
const UNIT_H = 30

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function formatValue(value: number, unit: string): string {
  const abs = Math.abs(value)
  const trim = (n: number) =>
    (abs === 0 ? '0' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)).replace(/\.0+$|(\.\d*?)0+$/, '$1')
  if (unit === 's') {
    if (abs === 0) return '0 s'
    if (abs < 0.001) return `${trim(value * 1e6)} µs`
    if (abs < 1) return `${trim(value * 1000)} ms`
    return `${trim(value)} s`
  }
  if (unit === 'bytes' || unit === 'Bps') {
    const suffix = unit === 'Bps' ? '/s' : ''
    if (abs >= 1024 * 1024) return `${trim(value / 1024 / 1024)} MiB${suffix}`
    if (abs >= 1024) return `${trim(value / 1024)} KiB${suffix}`
    return `${trim(value)} B${suffix}`
  }
  if (unit === 'percentunit') return `${trim(value * 100)}%`
  const suffix = unit === 'ops' ? '/s' : ''
  if (abs >= 1e6) return `${trim(value / 1e6)}M${suffix}`
  if (abs >= 1e3) return `${trim(value / 1e3)}k${suffix}`
  return `${trim(value)}${suffix}`
}

function niceMax(value: number): number {
  if (value <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

function drawPanel(panel: PanelJson, times: number[], events: [number, string][], top: number): string {
  const x = panel.gridPos.x * UNIT_W + 4
  const y = top + panel.gridPos.y * UNIT_H + 4
  const w = panel.gridPos.w * UNIT_W - 8
  const h = panel.gridPos.h * UNIT_H - 8
  if (panel.type === 'row') {
    return `<text x="${x + 4}" y="${y + 18}" fill="#ccccdc" font-size="15" font-weight="600">${escapeXml(panel.title)}</text>`
  }
  const unit = panel.fieldConfig?.defaults?.unit ?? 'short'
  const lines: { legend: string; points: [number, number][] }[] = []
  for (const target of panel.targets ?? []) {
    const expr = target.expr.replace(/\$__rate_interval/g, `${RATE_WINDOW_S}s`).replace(/\$instance/g, '.*')
    const node = parse(expr)
    const byLegend = new Map<string, [number, number][]>()
    for (const t of times) {
      if (t < RATE_WINDOW_S / 2 && /rate\(/.test(expr)) continue
      const result = evaluate(node, t)
      for (const { labels, value } of typeof result === 'number' ? [{ labels: {}, value: result }] : result) {
        if (!Number.isFinite(value)) continue
        const legend = target.legendFormat.replace(/\{\{(\w+)\}\}/g, (_, label: string) => labels[label] ?? '')
        const points = byLegend.get(legend) ?? []
        points.push([t, value])
        byLegend.set(legend, points)
      }
    }
    for (const [legend, points] of byLegend) lines.push({ legend, points })
  }
  // Series that stayed at zero the whole run (most refusal reasons, most close codes) only clutter
  // the legend; Grafana would draw them as flat lines at 0.
  const shown = lines.filter((line) => line.points.some(([, v]) => v !== 0))
  const hidden = lines.length - shown.length
  const columns = panel.gridPos.w >= 12 ? 4 : 2
  const legendRows = Math.ceil(shown.length / columns)
  const plot = { x: x + 62, y: y + 30, w: w - 74, h: h - 52 - legendRows * 15 }
  const t0 = 0
  const t1 = Math.max(SECONDS, times[times.length - 1] ?? 1)
  const max = niceMax(Math.max(0, ...shown.flatMap((line) => line.points.map(([, v]) => v))))
  const px = (t: number) => plot.x + ((t - t0) / (t1 - t0)) * plot.w
  const py = (v: number) => plot.y + plot.h - (v / max) * plot.h
  let svg = `<g><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="#181b1f" stroke="#2c3235"/>`
  svg += `<text x="${x + 10}" y="${y + 19}" fill="#ccccdc" font-size="13" font-weight="500">${escapeXml(panel.title)}</text>`
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4
    svg += `<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${py(v)}" y2="${py(v)}" stroke="#2c3235"/>`
    svg += `<text x="${plot.x - 6}" y="${py(v) + 4}" fill="#8e8e8e" font-size="10" text-anchor="end">${escapeXml(formatValue(v, unit))}</text>`
  }
  for (let t = 0; t <= t1; t += 15) {
    svg += `<text x="${px(t)}" y="${plot.y + plot.h + 13}" fill="#8e8e8e" font-size="10" text-anchor="middle">${t}s</text>`
  }
  for (const [t] of events)
    svg += `<line x1="${px(t)}" x2="${px(t)}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="#3d71d9" stroke-dasharray="2,3" opacity="0.6"/>`
  shown.forEach((line, index) => {
    const color = COLORS[index % COLORS.length]
    const path = line.points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(' ')
    svg += `<path d="${path}" fill="none" stroke="${color}" stroke-width="1.8"/>`
    const lx = x + 10 + (index % columns) * ((w - 20) / columns)
    const ly = plot.y + plot.h + 30 + Math.floor(index / columns) * 15
    svg += `<rect x="${lx}" y="${ly - 4}" width="12" height="3" fill="${color}"/>`
    svg += `<text x="${lx + 16}" y="${ly}" fill="#ccccdc" font-size="10">${escapeXml(line.legend.slice(0, 34))}</text>`
  })
  if (shown.length === 0) {
    svg += `<text x="${plot.x + plot.w / 2}" y="${plot.y + plot.h / 2}" fill="#8e8e8e" font-size="11" text-anchor="middle">0 throughout${hidden ? ` (${hidden} series)` : ''}</text>`
  }
  return `${svg}</g>`
}

async function main(): Promise<void> {
  const dashboard = JSON.parse(readFileSync(`${ROOT}docs/grafana-dashboard.json`, 'utf8')) as {
    title: string
    panels: PanelJson[]
  }
  const { times, events } = await run()
  const top = 92
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h))
  const height = top + bottom * UNIT_H + 10
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Inter, Helvetica, Arial, sans-serif">`
  svg += `<rect width="100%" height="100%" fill="#111217"/>`
  svg += `<text x="12" y="28" fill="#ccccdc" font-size="20" font-weight="600">${escapeXml(dashboard.title)} (docs/grafana-dashboard.json)</text>`
  svg +=
    `<text x="12" y="50" fill="#8e8e8e" font-size="12">Not a Grafana screenshot: each panel's own query evaluated over ${times.length} real scrapes of /metrics (every ${SCRAPE_MS / 1000} s, rate over ${RATE_WINDOW_S} s) ` +
    `of a ${SECONDS} s run of scripts/dashboard-picture.ts against a real server process; drawn by that script.</text>`
  svg += `<text x="12" y="70" fill="#8e8e8e" font-size="12">Dotted lines: ${escapeXml(events.map(([t, what]) => `${Math.round(t)} s ${what}`).join(' · '))}</text>`
  for (const panel of dashboard.panels) svg += drawPanel(panel, times, events, top)
  svg += '</svg>\n'
  writeFileSync(OUT, svg)
  console.log(`wrote ${OUT} from ${times.length} scrapes`)
}

await main()
