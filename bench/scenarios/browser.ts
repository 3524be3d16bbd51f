/**
 * Scenario 7, in the browser (Playwright driving Chromium) against the production app
 * (server/main.ts: Next and the sync server on one port):
 *
 *   - the automerge-paper document is built first, through a Node client, as TipTap's structure
 *     (see trace.ts buildEditorDocument) with its full history, and stored by the server;
 *   - open: from navigation start to an editable editor (`.ProseMirror` contenteditable), the
 *     connection status "Online" and the whole text in the DOM. Page A opens it while the document
 *     is only on disk (the server loads it), page B while it is in the server's memory;
 *   - keystroke: A types at the end of the document; from A's keydown event to the DOM mutation in
 *     B that shows the character (both pages stamp `performance.timeOrigin + performance.now()`).
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from '@playwright/test'
import WebSocket from 'ws'
import { encodeSyncStep1, encodeSyncUpdate } from '../../lib/protocol.ts'
import { REPO_ROOT } from '../paths.ts'
import type { Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { buildEditorDocument, loadKeystrokes, type Keystrokes } from '../trace.ts'
import { distribution } from '../stats.ts'
import { covers, decodeSavedStateFrame, stateVectorOf } from '../../lib/state-vector.ts'

const DOC_ID = 'automerge-paper'
/** Chromium settles a page's timers and frames like a foreground one: both pages are "on screen". */
export const EXTRA_ARGS = [
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
]

let prepared: {
  keystrokes: Keystrokes
  updates: Uint8Array[]
  stateVector: Map<number, number>
  chars: number
  paragraphs: number
  chromium: { executablePath: string; args: readonly string[] }
} | null = null

export const browser: Scenario = {
  id: 'browser',
  title: 'In the browser (Chromium, production app)',
  appliesTo: (server) => server === 'chorus',
  parameters: ({ browser: s }) =>
    `${prepared ? `${prepared.keystrokes.source}: ${prepared.chars.toLocaleString('en')} characters in ${prepared.paragraphs.toLocaleString('en')} paragraphs, ` : ''}` +
    `built as TipTap's Y.XmlFragment with its full history (one transaction per 1000 keystrokes); open = navigation start to ` +
    `an editable editor, status Online and the whole text in the DOM; keystroke = keydown in page A to the DOM mutation in page B ` +
    `(${s.keystrokes} keystrokes typed at the end of the document, 100 ms apart); each page in its own browser context`,
  metrics: () => [
    { key: 'openCold', label: 'open, document on disk only: editable and synced', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'openWarm', label: 'open, document in server memory: editable and synced', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'keyP50', label: 'keystroke to other page p50', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'keyP99', label: 'keystroke to other page p99', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'keyMax', label: 'keystroke to other page max', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'keySendP50', label: 'of which: keydown to socket send in page A, p50', unit: 'ms', digits: 1, better: 'lower' },
    {
      key: 'keyNetworkP50',
      label: 'of which: socket send in A to receipt in B (server), p50',
      unit: 'ms',
      digits: 1,
      better: 'lower',
    },
    { key: 'keyDomP50', label: 'of which: receipt in B to the DOM mutation, p50', unit: 'ms', digits: 1, better: 'lower' },
  ],
  async prepare({ settings, log }) {
    const chromium = await findChromium()
    if (typeof chromium === 'string') return chromium
    log('  building the app if stale (node scripts/build-if-stale.mjs) ...')
    const build = await runBuild()
    if (build) return build
    const keystrokes = loadKeystrokes(settings.trace.keystrokes, log)
    const started = performance.now()
    const { updates, paragraphs, ydoc } = buildEditorDocument(keystrokes)
    const stateVector = stateVectorOf(ydoc)
    ydoc.destroy()
    const chars = keystrokes.endContent.length
    log(
      `  editor document: ${chars.toLocaleString('en')} characters, ${paragraphs} paragraphs, ${updates.length} updates, built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )
    prepared = { keystrokes, updates, stateVector, chars, paragraphs, chromium }
  },
  async run({ settings, log }) {
    if (!prepared) throw new Error('browser scenario not prepared')
    const { chromium: chromiumInfo, updates, stateVector, keystrokes } = prepared
    const server = await ServerProcess.launch('chorus-app')
    let instance: Browser | null = null
    try {
      const seeded = performance.now()
      await seedDocument(server.wsBase, DOC_ID, updates, stateVector)
      log(`  seeded ${DOC_ID} (${updates.length} updates) in ${((performance.now() - seeded) / 1000).toFixed(1)} s`)
      const { chromium } = await import('@playwright/test')
      instance = await chromium.launch({
        executablePath: chromiumInfo.executablePath,
        args: [...chromiumInfo.args, ...EXTRA_ARGS],
      })
      // Warm-up: Next compiles nothing in production, but its first request of a route still loads
      // modules; one page on another document takes that out of the measurement.
      if (settings.browser.warmup) {
        const context = await instance.newContext()
        await openEditor(context, server.httpUrl, 'bench-warmup', 0)
        await context.close()
      }
      // The seeding client left; wait until the server has unloaded the document (stored, no
      // connections: it is unloaded at once), so page A's open includes loading it from disk.
      const expectedChars = keystrokes.endContent.replace(/\n/g, '').length
      const contextA = await instance.newContext()
      const a = await openEditor(contextA, server.httpUrl, DOC_ID, expectedChars)
      const contextB = await instance.newContext()
      const b = await openEditor(contextB, server.httpUrl, DOC_ID, expectedChars)
      log(`  open: ${a.readyMs.toFixed(0)} ms (from disk), ${b.readyMs.toFixed(0)} ms (in memory)`)
      const parts: KeystrokeParts = { keydownToSend: [], network: [], receiveToDom: [] }
      // For diagnosis: BENCH_BROWSER_PROFILE=<dir> saves a CPU profile of each page while typing.
      const profileDir = process.env.BENCH_BROWSER_PROFILE
      const profilers = profileDir ? await Promise.all([a.page, b.page].map((page) => startPageProfile(page))) : []
      const stopTrace = await startTypingTrace(instance, 'browser-type')
      const latencies = await measureKeystrokes(a.page, b.page, settings.browser.keystrokes, parts)
      await stopTrace()
      for (const [i, stop] of profilers.entries()) {
        writeFileSync(join(profileDir!, `page-${i ? 'B' : 'A'}-${Date.now()}.cpuprofile`), JSON.stringify(await stop()))
      }
      const d = distribution(latencies)
      const p50 = (values: number[]) => distribution(values).p50
      log(
        `  keystroke A -> B: p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms over ${d.count}; ` +
          `p50 parts: keydown -> socket send in A ${p50(parts.keydownToSend).toFixed(1)} ms, send -> receipt in B ${p50(parts.network).toFixed(1)} ms, ` +
          `receipt -> DOM in B ${p50(parts.receiveToDom).toFixed(1)} ms`,
      )
      await contextA.close()
      await contextB.close()
      return {
        openCold: a.readyMs,
        openWarm: b.readyMs,
        keyP50: d.p50,
        keyP99: d.p99,
        keyMax: d.max,
        keySendP50: p50(parts.keydownToSend),
        keyNetworkP50: p50(parts.network),
        keyDomP50: p50(parts.receiveToDom),
      }
    } finally {
      await instance?.close().catch(() => undefined)
      await server.cleanup()
    }
  },
}

export async function findChromium(): Promise<{ executablePath: string; args: readonly string[] } | string> {
  try {
    const { resolveChromium } = await import('../../tests/support/chromium.ts')
    const found = resolveChromium()
    return { executablePath: found.executablePath, args: found.args }
  } catch (error) {
    return `no Chromium: ${(error as Error).message}`
  }
}

/** Runs the project's build-if-stale script; returns an error text, or nothing when the build is there. */
export function runBuild(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/build-if-stale.mjs'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // gone already
      }
    }, 10 * 60_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(undefined)
      else
        resolve(
          `the app could not be built (scripts/build-if-stale.mjs exited ${code}): ${output.trim().split('\n').slice(-6).join(' | ').slice(0, 600)}`,
        )
    })
  })
}

/** Sends the document's updates through a plain client and waits for Chorus's SavedState to cover them. */
function seedDocument(wsBase: string, docId: string, updates: Uint8Array[], stateVector: Map<number, number>): Promise<void> {
  const ws = new WebSocket(`${wsBase}/${docId}?chorus=1`, { perMessageDeflate: false })
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error('seeding the document: no SavedState covering it within 120 s'))
    }, 120_000)
    ws.on('open', () => {
      ws.send(encodeSyncStep1(Uint8Array.of(0)))
      for (const update of updates) ws.send(encodeSyncUpdate(update))
    })
    ws.on('error', (error) => reject(error))
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0 && data[1] === 0) ws.send(Uint8Array.of(0, 1, 2, 0, 0))
      const saved = decodeSavedStateFrame(data)
      if (!saved || !covers(saved, stateVector)) return
      clearTimeout(timer)
      ws.once('close', () => resolve())
      ws.close()
    })
  })
}

/**
 * Installed in every page before its scripts: notes when the editor is editable, online and holds
 * `EXPECTED_CHARS` characters; stamps keydowns; and when `__bench.expect` is set, stamps the first
 * DOM mutation after which the last paragraph's text (without other people's carets) equals it.
 * Plain JavaScript in a string: a function passed through tsx would carry esbuild's `__name`
 * helper calls, which do not exist in the page.
 */
const PAGE_WATCHER = `
(() => {
  const bench = (window.__bench = { readyAt: 0, keydowns: [], seen: [], expect: null, sends: [], receipts: [] })
  const stamp = () => performance.timeOrigin + performance.now()
  document.addEventListener('keydown', () => { bench.keydowns.push(stamp()); performance.mark('bench:keydown') }, true)
  // Where a keystroke's time goes: when sync updates (type 0, 2) leave and arrive on the page's sockets.
  const isUpdate = (data) => {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, 2) : null
    return !!bytes && bytes[0] === 0 && bytes[1] === 2
  }
  const NativeWebSocket = window.WebSocket
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args)
      this.addEventListener('message', (event) => { if (isUpdate(event.data)) { bench.receipts.push(stamp()); performance.mark('bench:receipt') } })
    }
    send(data) {
      if (isUpdate(data)) { bench.sends.push(stamp()); performance.mark('bench:send') }
      return super.send(data)
    }
  }
  function textOf(node) {
    if (node.nodeType === Node.TEXT_NODE) return node.nodeValue || ''
    if (node.nodeType === Node.ELEMENT_NODE && node.classList.contains('collaboration-carets__caret')) return ''
    let text = ''
    for (const child of node.childNodes) text += textOf(child)
    return text
  }
  function check() {
    const editor = document.querySelector('.ProseMirror')
    if (!editor) return
    if (!bench.readyAt) {
      const status = document.querySelector('[data-testid="connection-status"]')
      const online = !!status && (status.getAttribute('data-state') === 'online' || /^\\s*online\\s*$/i.test(status.textContent || ''))
      if (editor.getAttribute('contenteditable') === 'true' && online && (editor.textContent || '').length >= EXPECTED_CHARS) {
        bench.readyAt = performance.now()
      }
    }
    if (bench.expect !== null) {
      const last = editor.lastElementChild
      if (last && textOf(last) === bench.expect) {
        bench.seen.push(performance.timeOrigin + performance.now())
        performance.mark('bench:seen')
        bench.expect = null
      }
    }
  }
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
})()
`

async function openEditor(
  context: BrowserContext,
  baseUrl: string,
  docId: string,
  expectedChars: number,
): Promise<{ page: Page; readyMs: number }> {
  const page = await context.newPage()
  await page.addInitScript({ content: PAGE_WATCHER.replace('EXPECTED_CHARS', String(expectedChars)) })
  await page.goto(`${baseUrl}/d/${docId}`)
  await page.waitForFunction(() => (window as unknown as { __bench: { readyAt: number } }).__bench.readyAt > 0, undefined, {
    timeout: 60_000,
    polling: 50,
  })
  const readyMs = await page.evaluate(() => (window as unknown as { __bench: { readyAt: number } }).__bench.readyAt)
  return { page, readyMs }
}

/**
 * Focuses page A's editor with the caret at the very end. TipTap keeps its Editor on the DOM
 * element (`dom.editor`), whose focus('end') is exact; a click and Ctrl+End is the fallback. Checked
 * afterwards, since a caret left elsewhere would send the keystrokes into the middle of the text.
 */
async function placeCaretAtEnd(page: Page): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.locator('.ProseMirror').click()
    await page.keyboard.press('Control+End')
    const atEnd = await page.evaluate(() => {
      const dom = document.querySelector('.ProseMirror') as
        | (HTMLElement & { editor?: { commands: { focus(at: string): boolean } } })
        | null
      dom?.editor?.commands.focus('end')
      const selection = window.getSelection()
      const last = dom?.lastElementChild
      return !!dom && document.activeElement === dom && !!selection?.anchorNode && !!last?.contains(selection.anchorNode)
    })
    if (atEnd) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error("could not put page A's caret at the end of the document")
}

/**
 * For diagnosis: BENCH_BROWSER_TRACE=<dir> saves a Chromium trace of both pages while they type
 * (open it in chrome://tracing or Perfetto; the pages' own marks show each key). Returns its stop.
 */
export async function startTypingTrace(instance: Browser, name: string): Promise<() => Promise<void>> {
  const traceDir = process.env.BENCH_BROWSER_TRACE
  if (!traceDir) return async () => {}
  await instance.startTracing(undefined, {
    path: join(traceDir, `${name}-${Date.now()}.json`),
    categories: [
      'devtools.timeline',
      'disabled-by-default-devtools.timeline',
      'blink.user_timing',
      'toplevel',
      'v8.execute',
      'input',
      'benchmark',
      'latencyInfo',
      'disabled-by-default-devtools.timeline.frame',
      'cc',
      'viz',
      'gpu',
    ],
  })
  return async () => {
    await instance.stopTracing()
  }
}

export async function startPageProfile(page: Page): Promise<() => Promise<unknown>> {
  const session = await page.context().newCDPSession(page)
  await session.send('Profiler.enable')
  await session.send('Profiler.setSamplingInterval', { interval: 100 })
  await session.send('Profiler.start')
  return async () => (await session.send('Profiler.stop')).profile
}

type BenchWindow = { __bench: { keydowns: number[]; seen: number[]; expect: string | null; sends: number[]; receipts: number[] } }

/** A keystroke's latency in three parts: page A's editor, the socket and server, page B's editor. */
export interface KeystrokeParts {
  keydownToSend: number[]
  network: number[]
  receiveToDom: number[]
}

async function measureKeystrokes(a: Page, b: Page, count: number, parts: KeystrokeParts): Promise<number[]> {
  await placeCaretAtEnd(a)
  // Unmeasured: a new paragraph at the end, then a few characters, so that both pages have
  // settled on the new paragraph before the clock runs.
  const warmup = ['Enter', 'x', 'y', 'z']
  const measured = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let typed = ''
  const latencies: number[] = []
  for (let k = 0; k < warmup.length + count; k++) {
    const key = k < warmup.length ? warmup[k] : measured[(k - warmup.length) % measured.length]
    if (key !== 'Enter') typed += key
    const seenBefore = await b.evaluate((expect) => {
      const bench = (window as unknown as BenchWindow).__bench
      bench.expect = expect
      return bench.seen.length
    }, typed)
    await a.evaluate(() => ((window as unknown as BenchWindow).__bench.keydowns = []))
    await a.keyboard.press(key)
    try {
      await b.waitForFunction((n) => (window as unknown as BenchWindow).__bench.seen.length > n, seenBefore, {
        timeout: 10_000,
        polling: 10,
      })
    } catch (error) {
      const lastOf = (page: Page) =>
        page.evaluate(() => document.querySelector('.ProseMirror')?.lastElementChild?.outerHTML.slice(-400) ?? '(no editor)')
      throw new Error(
        `keystroke ${k} (${JSON.stringify(key)}) not seen in page B within 10 s; expected its last paragraph to read ${JSON.stringify(typed)}. ` +
          `A's last paragraph: ${await lastOf(a)}; B's: ${await lastOf(b)} (${(error as Error).message.split('\n')[0]})`,
      )
    }
    if (k >= warmup.length) {
      const [down] = await a.evaluate(() => (window as unknown as BenchWindow).__bench.keydowns)
      const seen = await b.evaluate(() => (window as unknown as BenchWindow).__bench.seen.at(-1)!)
      const sent = await a.evaluate(
        (after) => (window as unknown as BenchWindow).__bench.sends.find((t) => t >= after) ?? NaN,
        down,
      )
      const arrived = await b.evaluate(
        ([after, before]) =>
          (window as unknown as BenchWindow).__bench.receipts.filter((t) => t >= after && t <= before).at(0) ?? NaN,
        [sent, seen] as const,
      )
      latencies.push(seen - down)
      parts.keydownToSend.push(sent - down)
      parts.network.push(arrived - sent)
      parts.receiveToDom.push(seen - arrived)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return latencies
}
