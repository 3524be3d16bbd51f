/**
 * Large documents, large pastes and the time a keystroke takes to reach the screen, in Chromium
 * against the production app (server/main.ts), in two pages of separate browser contexts:
 *
 *   - paste: page A (empty document, page B open on it too) gets a paste event of 200 KB and of
 *     2 MB of plain text (paragraphs, with a web address now and then). Measured: from the paste
 *     event to the first frame drawn after it (the freeze a person sees), the main thread's long
 *     tasks (> 50 ms, Long Tasks API) in A until it is quiet again, and the time until page B
 *     shows the pasted text;
 *   - keystrokes in the 200 KB document and in a small one, typed at the end of the last paragraph,
 *     once as isolated keys (300 ms apart, each seen in B before the next) and once at a person's
 *     typing pace (one every 100-150 ms, without waiting for anything). Each key is timed from
 *     several starts to several ends, so the figures show where the time goes:
 *       outside:  just before Playwright sends the key (what a test driving the browser sees);
 *       input:    the keydown event's timeStamp, when Chromium received the key (earlier than the
 *                 handler whenever the page's main thread was busy);
 *       handler:  a capturing keydown listener (what the `browser` scenario starts from);
 *       frame:    the start of the next frame after the character is in the DOM (its
 *                 requestAnimationFrame callback);
 *       screen:   the end of that frame's work on the main thread: a user-blocking task posted
 *                 from the requestAnimationFrame callback, which runs once the frame's style,
 *                 layout and paint are done (before any ordinary task the app queued meanwhile).
 *
 * BENCH_BASELINE_DIR=<checkout with its own build> measures that app too (a checkout without a
 * build is left out here; the server scenarios still run its sync server), alternating with this
 * one within each repeat (the order flips each repeat), so a change is compared with the code it
 * changes on the same machine at the same time; its figures have the key prefix `base.`.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import type { Metrics, MetricInfo, Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { percentile, sorted } from '../stats.ts'
import { EXTRA_ARGS, findChromium, runBuild, startPageProfile, startTypingTrace } from './browser.ts'

const PASTE_SIZES = [
  { key: 'p200k', bytes: 200_000, label: '200 KB' },
  { key: 'p2m', bytes: 2_000_000, label: '2 MB' },
] as const
const ISOLATED_PAUSE_MS = 300
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024
const PACE_MIN_MS = 100
const PACE_MAX_MS = 150

let chromiumInfo: { executablePath: string; args: readonly string[] } | null = null

function baselineDir(): string | null {
  const dir = process.env.BENCH_BASELINE_DIR
  return dir && existsSync(join(dir, '.next', 'BUILD_ID')) ? dir : null
}

const BASE_METRICS: MetricInfo[] = [
  ...PASTE_SIZES.flatMap(({ key, label }): MetricInfo[] => [
    { key: `${key}.frame`, label: `paste ${label}: paste event to the next frame in A`, unit: 'ms', digits: 0, better: 'lower' },
    { key: `${key}.busy`, label: `paste ${label}: A's long tasks, total`, unit: 'ms', digits: 0, better: 'lower' },
    { key: `${key}.longest`, label: `paste ${label}: A's longest task`, unit: 'ms', digits: 0, better: 'lower' },
    { key: `${key}.remote`, label: `paste ${label}: paste event to the text in B's DOM`, unit: 'ms', digits: 0, better: 'lower' },
    { key: `${key}.remoteBusy`, label: `paste ${label}: B's long tasks, total`, unit: 'ms', digits: 0, better: 'lower' },
  ]),
  ...(['big', 'small'] as const).flatMap((doc): MetricInfo[] => {
    const name = doc === 'big' ? '200 KB document' : 'small document'
    return (['pace', 'isolated'] as const).flatMap((mode): MetricInfo[] => {
      const how = mode === 'pace' ? 'typing pace' : 'isolated keys'
      const k = `${doc}.${mode}`
      return [
        { key: `${k}.localScreen`, label: `${name}, ${how}: input to A's screen p50`, unit: 'ms', digits: 1, better: 'lower' },
        {
          key: `${k}.localFrame`,
          label: `${name}, ${how}: input to the start of A's next frame (requestAnimationFrame) p50`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
        {
          key: `${k}.remoteFrame`,
          label: `${name}, ${how}: input to the start of B's next frame p50`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
        { key: `${k}.localScreenP90`, label: `${name}, ${how}: input to A's screen p90`, unit: 'ms', digits: 1, better: 'lower' },
        {
          key: `${k}.handlerToLocalScreen`,
          label: `${name}, ${how}: keydown handler to A's screen p50`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
        {
          key: `${k}.inputToHandler`,
          label: `${name}, ${how}: input to keydown handler in A p50`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
        {
          key: `${k}.handlerToRemoteDom`,
          label: `${name}, ${how}: keydown handler to B's DOM p50 (as in the browser scenario)`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
        { key: `${k}.remoteScreen`, label: `${name}, ${how}: input to B's screen p50`, unit: 'ms', digits: 1, better: 'lower' },
        {
          key: `${k}.remoteScreenP90`,
          label: `${name}, ${how}: input to B's screen p90`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
        {
          key: `${k}.outsideToRemoteScreen`,
          label: `${name}, ${how}: outside (Playwright) to B's screen p50`,
          unit: 'ms',
          digits: 1,
          better: 'lower',
        },
      ]
    })
  }),
]

export const largeDocument: Scenario = {
  id: 'large-document',
  title: 'Large documents and pastes in the browser (Chromium, production app)',
  appliesTo: (server) => server === 'chorus',
  parameters: ({ largeDocument: s }) =>
    `pastes of ${PASTE_SIZES.map((p) => p.label).join(' and ')} of plain text (paragraphs of 200-900 characters) into an empty document open in pages A and B; ` +
    `then ${s.keys} keys typed at the end of the 200 KB document and of a small one (${s.keys} isolated keys ${ISOLATED_PAUSE_MS} ms apart, ` +
    `each seen in B before the next, and ${s.keys} at typing pace, one every ${PACE_MIN_MS}-${PACE_MAX_MS} ms); input = the keydown's timeStamp, ` +
    `screen = the frame drawn after the character is in the DOM; outside = just before Playwright sends the key; ` +
    `the server runs with its defaults (a baseline build runs with MAX_MESSAGE_BYTES=${MAX_MESSAGE_BYTES}: before document updates could be as large as the document, the 2 MB paste, one update of about 2 MB, was refused)` +
    (baselineDir() ? `; base.* = the same against the build in BENCH_BASELINE_DIR, alternating` : ''),
  metrics: () => [
    ...BASE_METRICS,
    ...(baselineDir() ? BASE_METRICS.map((m) => ({ ...m, key: `base.${m.key}`, label: `baseline: ${m.label}` })) : []),
  ],
  async prepare({ log }) {
    const chromium = await findChromium()
    if (typeof chromium === 'string') return chromium
    log('  building the app if stale (node scripts/build-if-stale.mjs) ...')
    const build = await runBuild()
    if (build) return build
    chromiumInfo = chromium
  },
  async run({ settings, rep, log }) {
    if (!chromiumInfo) throw new Error('large-document scenario not prepared')
    const base = baselineDir()
    const apps: Array<{ prefix: string; cwd?: string }> = [{ prefix: '' }]
    if (base) apps[rep % 2 ? 'push' : 'unshift']({ prefix: 'base.', cwd: base })
    const metrics: Metrics = {}
    for (const app of apps) {
      log(`  ${app.prefix ? `baseline (${app.cwd})` : 'this checkout'}`)
      const measured = await measureApp(chromiumInfo, app.cwd, settings.largeDocument.keys, log, app.prefix ? 'baseline' : 'this')
      for (const [key, value] of Object.entries(measured)) metrics[app.prefix + key] = value
    }
    return metrics
  },
}

async function measureApp(
  chromiumInfo: { executablePath: string; args: readonly string[] },
  cwd: string | undefined,
  keys: number,
  log: (line: string) => void,
  name: string,
): Promise<Metrics> {
  // A 2 MB paste is one Yjs update of about 2 MB. Builds from before document updates could be
  // as large as the document held every message to 1 MiB and closed the socket on it.
  const server = await ServerProcess.launch('chorus-app', {
    cwd,
    env: cwd ? { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) } : {},
  })
  let instance: Browser | null = null
  const metrics: Metrics = {}
  try {
    const { chromium } = await import('@playwright/test')
    instance = await chromium.launch({ executablePath: chromiumInfo.executablePath, args: [...chromiumInfo.args, ...EXTRA_ARGS] })
    const warm = await instance.newContext()
    await openPage(warm, server.httpUrl, 'bench-warmup')
    await warm.close()
    const run = Date.now().toString(36)
    let big: { a: Page; b: Page; contexts: BrowserContext[] } | null = null
    for (const { key, bytes, label } of PASTE_SIZES) {
      const pair = await openPair(instance, server.httpUrl, `paste-${key}-${run}`)
      const text = pasteText(bytes)
      // For diagnosis: BENCH_BROWSER_PROFILE=<dir> saves CPU profiles of both pages during each
      // paste and each typing run.
      const profileDir = process.env.BENCH_BROWSER_PROFILE
      const profilers = profileDir ? await Promise.all([pair.a, pair.b].map((page) => startPageProfile(page))) : []
      const result = await measurePaste(pair.a, pair.b, text)
      for (const [i, stop] of profilers.entries()) {
        writeFileSync(
          join(profileDir!, `paste-${name}-${key}-${i ? 'B' : 'A'}-${Date.now()}.cpuprofile`),
          JSON.stringify(await stop()),
        )
      }
      log(
        `  paste ${label}: next frame ${result.frame.toFixed(0)} ms, A's long tasks ${result.busy.toFixed(0)} ms (longest ${result.longest.toFixed(0)}), ` +
          `in B's DOM after ${result.remote.toFixed(0)} ms, B's long tasks ${result.remoteBusy.toFixed(0)} ms`,
      )
      Object.assign(metrics, {
        [`${key}.frame`]: result.frame,
        [`${key}.busy`]: result.busy,
        [`${key}.longest`]: result.longest,
        [`${key}.remote`]: result.remote,
        [`${key}.remoteBusy`]: result.remoteBusy,
      })
      if (key === 'p200k') big = pair
      else for (const context of pair.contexts) await context.close()
    }
    const small = await openPair(instance, server.httpUrl, `small-${run}`)
    await small.a.locator('.ProseMirror').click()
    await small.a.keyboard.insertText('A short document. ')
    for (const [doc, pair] of [
      ['big', big!],
      ['small', small],
    ] as const) {
      await placeCaretAtEnd(pair.a)
      // Unmeasured: a new paragraph and a few characters, so both pages have settled on it.
      for (const key of ['Enter', 'w', 'x', 'y']) {
        await pair.a.keyboard.press(key)
        await new Promise((resolve) => setTimeout(resolve, 120))
      }
      await waitForSameLastParagraph(pair.a, pair.b)
      for (const mode of ['isolated', 'pace'] as const) {
        const profileDir = process.env.BENCH_BROWSER_PROFILE
        const profilers = profileDir ? await Promise.all([pair.a, pair.b].map((page) => startPageProfile(page))) : []
        const stopTrace = await startTypingTrace(instance, `type-${name}-${doc}-${mode}`)
        const timings = await typeKeys(pair.a, pair.b, keys, mode)
        await stopTrace()
        for (const [i, stop] of profilers.entries()) {
          writeFileSync(
            join(profileDir!, `type-${name}-${doc}-${mode}-${i ? 'B' : 'A'}-${Date.now()}.cpuprofile`),
            JSON.stringify(await stop()),
          )
        }
        const p = (values: number[], q: 'p50' | 'p90' = 'p50') =>
          percentile(sorted(values.filter(Number.isFinite)), q === 'p50' ? 50 : 90)
        const k = `${doc}.${mode}`
        Object.assign(metrics, {
          [`${k}.localScreen`]: p(timings.localScreen),
          [`${k}.localFrame`]: p(timings.localFrame),
          [`${k}.remoteFrame`]: p(timings.remoteFrame),
          [`${k}.localScreenP90`]: p(timings.localScreen, 'p90'),
          [`${k}.handlerToLocalScreen`]: p(timings.handlerToLocalScreen),
          [`${k}.inputToHandler`]: p(timings.inputToHandler),
          [`${k}.handlerToRemoteDom`]: p(timings.handlerToRemoteDom),
          [`${k}.remoteScreen`]: p(timings.remoteScreen),
          [`${k}.remoteScreenP90`]: p(timings.remoteScreen, 'p90'),
          [`${k}.outsideToRemoteScreen`]: p(timings.outsideToRemoteScreen),
        })
        log(
          `  ${doc === 'big' ? '200 KB' : 'small'} document, ${mode}: input -> A's screen p50 ${p(timings.localScreen).toFixed(1)} ms (p90 ${p(timings.localScreen, 'p90').toFixed(1)}); ` +
            `input -> B's screen p50 ${p(timings.remoteScreen).toFixed(1)} ms (p90 ${p(timings.remoteScreen, 'p90').toFixed(1)}); outside -> B's screen ${p(timings.outsideToRemoteScreen).toFixed(1)}; ` +
            `handler -> B's DOM ${p(timings.handlerToRemoteDom).toFixed(1)}; input -> A's rAF ${p(timings.localFrame).toFixed(1)}, B's rAF ${p(timings.remoteFrame).toFixed(1)}; input -> handler ${p(timings.inputToHandler).toFixed(1)}; handler -> A's screen ${p(timings.handlerToLocalScreen).toFixed(1)}`,
        )
      }
      for (const context of pair.contexts) await context.close()
    }
    return metrics
  } finally {
    await instance?.close().catch(() => undefined)
    await server.cleanup()
  }
}

/** Deterministic text of about `bytes` characters: paragraphs of words, a web address now and then. */
export function pasteText(bytes: number): string {
  const words = [
    'the',
    'editor',
    'keeps',
    'every',
    'change',
    'of',
    'each',
    'writer',
    'and',
    'merges',
    'them',
    'without',
    'conflict',
    'so',
    'that',
    'all',
    'pages',
    'show',
    'same',
    'text',
    'document',
    'paragraph',
    'collaboration',
    'quickly',
  ]
  let seed = 12345
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff)
  const paragraphs: string[] = []
  let total = 0
  while (total < bytes) {
    const length = 200 + (next() % 700)
    let paragraph = ''
    while (paragraph.length < length) {
      paragraph +=
        (paragraph ? ' ' : '') + (next() % 97 === 0 ? `https://example.org/page/${next() % 1000}` : words[next() % words.length])
    }
    paragraph += '.'
    paragraphs.push(paragraph)
    total += paragraph.length + 1
  }
  return paragraphs.join('\n')
}

/**
 * In every page before its scripts: keydown stamps, long tasks, and each change of the length of
 * the editor's last paragraph (other people's carets left out), with the time the frame showing
 * it was drawn. Plain JavaScript in a string: a function passed through tsx would carry esbuild's
 * `__name` helper calls, which do not exist in the page.
 */
const PAGE_WATCHER = `
(() => {
  const bench = (window.__bench = { ready: false, keys: [], longTasks: [], lengths: [], watchFrom: 0, pasteSeen: 0, pasteTail: null })
  const now = () => performance.timeOrigin + performance.now()
  addEventListener('keydown', (event) => {
    bench.keys.push({ key: event.key, input: performance.timeOrigin + event.timeStamp, handler: now() })
    performance.mark('bench:keydown')
  }, true)
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) bench.longTasks.push({ start: performance.timeOrigin + entry.startTime, duration: entry.duration })
    }).observe({ type: 'longtask', buffered: true })
  } catch {}
  function textOf(node) {
    if (node.nodeType === Node.TEXT_NODE) return node.nodeValue || ''
    if (node.nodeType === Node.ELEMENT_NODE && (node.classList.contains('collaboration-carets__caret') || node.classList.contains('ProseMirror-trailingBreak'))) return ''
    let text = ''
    for (const child of node.childNodes) text += textOf(child)
    return text
  }
  let unpainted = []
  // The first task after a frame: user-blocking tasks run before the timers and messages the
  // app itself schedules after a frame (the toolbar's refresh does), so this one is not held up
  // by them; the frame's style, layout and paint are done by then.
  const afterFrame = (callback) => {
    if (window.scheduler && typeof scheduler.postTask === 'function') return void scheduler.postTask(callback, { priority: 'user-blocking' })
    const channel = new MessageChannel()
    channel.port1.onmessage = callback
    channel.port2.postMessage(0)
  }
  bench.afterFrame = afterFrame
  function painted() {
    const frame = now()
    for (const entry of unpainted) entry.frame = frame
    performance.mark('bench:frame')
    afterFrame(() => {
      performance.mark('bench:screen')
      const t = now()
      for (const entry of unpainted) entry.screen = t
      unpainted = []
    })
  }
  let lastLength = -1
  function check() {
    const editor = document.querySelector('.ProseMirror')
    if (!editor) return
    if (!bench.ready) {
      const status = document.querySelector('[data-testid="connection-status"]')
      const online = !!status && (status.getAttribute('data-state') === 'online' || /^\\s*online\\s*$/i.test(status.textContent || ''))
      if (editor.getAttribute('contenteditable') === 'true' && online) bench.ready = true
    }
    const last = editor.lastElementChild
    if (!last) return
    if (bench.pasteTail !== null && !bench.pasteSeen) {
      if (textOf(last).endsWith(bench.pasteTail)) bench.pasteSeen = now()
      return
    }
    if (!bench.watchFrom) return
    const length = textOf(last).length
    if (length === lastLength) return
    lastLength = length
    const entry = { length, dom: now(), frame: 0, screen: 0 }
    performance.mark('bench:dom')
    bench.lengths.push(entry)
    if (unpainted.push(entry) === 1) requestAnimationFrame(painted)
  }
  bench.lastLength = () => {
    const last = document.querySelector('.ProseMirror')?.lastElementChild
    return last ? textOf(last).length : -1
  }
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
})()
`

type BenchWindow = {
  __bench: {
    ready: boolean
    keys: { key: string; input: number; handler: number }[]
    longTasks: { start: number; duration: number }[]
    lengths: { length: number; dom: number; frame: number; screen: number }[]
    watchFrom: number
    pasteSeen: number
    pasteTail: string | null
    lastLength: () => number
    afterFrame: (callback: () => void) => void
  }
  __pasteResult?: { start: number; frame: number }
}

async function openPage(context: BrowserContext, baseUrl: string, docId: string): Promise<Page> {
  const page = await context.newPage()
  await page.addInitScript({ content: PAGE_WATCHER })
  await page.goto(`${baseUrl}/d/${docId}`)
  await page.waitForFunction(() => (window as unknown as BenchWindow).__bench.ready, undefined, { timeout: 60_000, polling: 50 })
  return page
}

async function openPair(
  instance: Browser,
  baseUrl: string,
  docId: string,
): Promise<{ a: Page; b: Page; contexts: BrowserContext[] }> {
  const contexts = [await instance.newContext(), await instance.newContext()]
  const a = await openPage(contexts[0], baseUrl, docId)
  const b = await openPage(contexts[1], baseUrl, docId)
  return { a, b, contexts }
}

/** Waits until both pages hold no long task for a while: the paste's work, in both, is over. */
async function waitQuiet(pages: Page[], quietMs = 800, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs))
    const lastEnds = await Promise.all(
      pages.map((page) =>
        page.evaluate(() => {
          const tasks = (window as unknown as BenchWindow).__bench.longTasks
          const last = tasks.at(-1)
          return { end: last ? last.start + last.duration : 0, now: performance.timeOrigin + performance.now() }
        }),
      ),
    )
    if (lastEnds.every(({ end, now }) => now - end >= quietMs) || Date.now() > deadline) return
  }
}

async function measurePaste(
  a: Page,
  b: Page,
  text: string,
): Promise<{ frame: number; busy: number; longest: number; remote: number; remoteBusy: number }> {
  await a.locator('.ProseMirror').click()
  await waitQuiet([a, b], 300)
  const tail = text.slice(text.lastIndexOf('\n') + 1).slice(-40)
  await b.evaluate((t) => ((window as unknown as BenchWindow).__bench.pasteTail = t), tail)
  // The event is dispatched from a task of its own, as the browser would; the call returns at once.
  await a.evaluate((content) => {
    const w = window as unknown as BenchWindow
    setTimeout(() => {
      const editor = document.querySelector('.ProseMirror')!
      const data = new DataTransfer()
      data.setData('text/plain', content)
      const start = performance.timeOrigin + performance.now()
      editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
      requestAnimationFrame(() =>
        w.__bench.afterFrame(() => (w.__pasteResult = { start, frame: performance.timeOrigin + performance.now() })),
      )
    }, 0)
  }, text)
  await b.waitForFunction(() => (window as unknown as BenchWindow).__bench.pasteSeen > 0, undefined, {
    timeout: 120_000,
    polling: 50,
  })
  await a.waitForFunction(() => !!(window as unknown as BenchWindow).__pasteResult, undefined, { timeout: 120_000, polling: 50 })
  await waitQuiet([a, b])
  const { start, frame } = (await a.evaluate(() => (window as unknown as BenchWindow).__pasteResult))!
  const remoteSeen = await b.evaluate(() => (window as unknown as BenchWindow).__bench.pasteSeen)
  const tasksAfter = (page: Page) =>
    page.evaluate(
      (t) => (window as unknown as BenchWindow).__bench.longTasks.filter((task) => task.start + task.duration >= t),
      start,
    )
  const aTasks = await tasksAfter(a)
  const bTasks = await tasksAfter(b)
  const sum = (tasks: { duration: number }[]) => tasks.reduce((total, task) => total + task.duration, 0)
  const length = await a.evaluate(() => document.querySelector('.ProseMirror')!.textContent!.length)
  const expected = text.replace(/\n/g, '').length
  if (Math.abs(length - expected) > 100)
    throw new Error(`after the paste page A holds ${length} characters, expected about ${expected}`)
  await b.evaluate(() => ((window as unknown as BenchWindow).__bench.pasteTail = null))
  return {
    frame: frame - start,
    busy: sum(aTasks),
    longest: Math.max(0, ...aTasks.map((t) => t.duration)),
    remote: remoteSeen - start,
    remoteBusy: sum(bTasks),
  }
}

async function placeCaretAtEnd(page: Page): Promise<void> {
  await page.locator('.ProseMirror').click()
  await page.evaluate(() => {
    const dom = document.querySelector('.ProseMirror') as
      | (HTMLElement & { editor?: { commands: { focus(at: string): boolean } } })
      | null
    dom?.editor?.commands.focus('end')
  })
}

function lastParagraphLength(page: Page): Promise<number> {
  return page.evaluate(() => {
    const b = (window as unknown as BenchWindow).__bench
    b.watchFrom = 1
    return b.lastLength()
  })
}

async function waitForSameLastParagraph(a: Page, b: Page): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if ((await lastParagraphLength(a)) === (await lastParagraphLength(b))) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error("page B's last paragraph did not catch up with page A's")
}

interface KeyTimings {
  localScreen: number[]
  localFrame: number[]
  remoteFrame: number[]
  handlerToLocalScreen: number[]
  inputToHandler: number[]
  handlerToRemoteDom: number[]
  remoteScreen: number[]
  outsideToRemoteScreen: number[]
}

async function typeKeys(a: Page, b: Page, count: number, mode: 'isolated' | 'pace'): Promise<KeyTimings> {
  const startLength = await lastParagraphLength(a)
  if ((await lastParagraphLength(b)) !== startLength) throw new Error('the pages differ before typing')
  await a.evaluate(() => ((window as unknown as BenchWindow).__bench.keys = []))
  const clear = (page: Page) => page.evaluate(() => ((window as unknown as BenchWindow).__bench.lengths = []))
  await clear(a)
  await clear(b)
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  const outside: number[] = []
  let seed = 7
  for (let k = 0; k < count; k++) {
    outside.push(performance.timeOrigin + performance.now())
    await a.keyboard.press(letters[k % letters.length])
    if (mode === 'isolated') {
      await b.waitForFunction(
        (n) => (window as unknown as BenchWindow).__bench.lengths.some((e) => e.length >= n && e.screen > 0),
        startLength + k + 1,
        { timeout: 10_000, polling: 10 },
      )
      await new Promise((resolve) => setTimeout(resolve, ISOLATED_PAUSE_MS))
    } else {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      const gap = PACE_MIN_MS + (seed % (PACE_MAX_MS - PACE_MIN_MS + 1))
      const wait = outside[k] + gap - (performance.timeOrigin + performance.now())
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
  const final = startLength + count
  for (const page of [a, b]) {
    await page.waitForFunction(
      (n) => (window as unknown as BenchWindow).__bench.lengths.some((e) => e.length >= n && e.screen > 0),
      final,
      { timeout: 10_000, polling: 20 },
    )
  }
  const lengthsOf = (page: Page) => page.evaluate(() => (window as unknown as BenchWindow).__bench.lengths)
  const aLengths = await lengthsOf(a)
  const bLengths = await lengthsOf(b)
  const keysA = await a.evaluate(() => (window as unknown as BenchWindow).__bench.keys)
  if (keysA.length !== count) throw new Error(`page A saw ${keysA.length} keydowns, ${count} were typed`)
  const firstReaching = (list: { length: number; dom: number; frame: number; screen: number }[], n: number) =>
    list.find((e) => e.length >= n)
  const timings: KeyTimings = {
    localScreen: [],
    localFrame: [],
    remoteFrame: [],
    handlerToLocalScreen: [],
    inputToHandler: [],
    handlerToRemoteDom: [],
    remoteScreen: [],
    outsideToRemoteScreen: [],
  }
  for (let k = 0; k < count; k++) {
    const key = keysA[k]
    const local = firstReaching(aLengths, startLength + k + 1)
    const remote = firstReaching(bLengths, startLength + k + 1)
    if (!local || !remote) throw new Error(`key ${k} never showed (A: ${!!local}, B: ${!!remote})`)
    timings.localScreen.push(local.screen - key.input)
    timings.localFrame.push(local.frame - key.input)
    timings.remoteFrame.push(remote.frame - key.input)
    timings.handlerToLocalScreen.push(local.screen - key.handler)
    timings.inputToHandler.push(key.handler - key.input)
    timings.handlerToRemoteDom.push(remote.dom - key.handler)
    timings.remoteScreen.push(remote.screen - key.input)
    timings.outsideToRemoteScreen.push(remote.screen - outside[k])
  }
  return timings
}
