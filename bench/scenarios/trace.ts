/**
 * Scenario 6, a real editing trace: the automerge-paper keystrokes (or generated ones when the
 * trace is absent) replayed one update per keystroke, as fast as the writer's socket takes them,
 * while observers apply everything they receive. The time runs from the first keystroke sent
 * until every observer's text equals the trace's final text (compared in full). On the servers
 * that store documents, we then wait until everything is stored, restart gracefully and check that
 * a new client gets the very same text.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { probeDocument } from '../probe.ts'
import type { Scenario } from '../scenario.ts'
import { confirmsSaves, isPersistent, ServerProcess } from '../servers.ts'
import { waitCpuIdle } from '../traffic.ts'
import { loadKeystrokes, traceFile, writeTraceFrames, type Keystrokes, type TraceFrames } from '../trace.ts'

let prepared: { keystrokes: Keystrokes; frames: TraceFrames } | null = null

export const trace: Scenario = {
  id: 'trace',
  title: 'Editing-trace replay',
  parameters: ({ trace: s }) =>
    `${prepared?.keystrokes.source ?? 'automerge-paper keystrokes'}, one Yjs update per keystroke into a Y.Text, sent by one ` +
    `writer as fast as its socket drains (at most 1 MiB buffered); ` +
    (s.observers > 1
      ? `${s.observers} observers apply every update and compare their text`
      : 'an observer applies every update and compares its text') +
    ` with the final text; the updates are encoded before the clock starts`,
  metrics: () => [
    {
      key: 'replayMs',
      label: 'first keystroke sent to observers holding the final text',
      unit: 'ms',
      digits: 0,
      better: 'lower',
    },
    { key: 'sendMs', label: 'writer done sending', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'cpuSeconds', label: 'server CPU time during the replay', unit: 's', digits: 1, better: 'lower' },
    { key: 'rss', label: 'server peak RSS', unit: 'MiB', digits: 0, better: 'lower' },
    { key: 'storedMs', label: 'every update durably stored (from first send)', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'stopMs', label: 'graceful stop afterwards', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'recovered', label: 'final text recovered after restart (1 = yes)', unit: '', digits: 0, better: 'higher' },
    { key: 'coldLoadMs', label: 'cold load of the replayed document', unit: 'ms', digits: 0, better: 'lower' },
  ],
  async prepare({ settings, log }) {
    const keystrokes = loadKeystrokes(settings.trace.keystrokes, log)
    // The encoded frames are derived from the trace, so they stay outside the checkout, in the
    // system temp dir, cached across runs (encoding 260k keystrokes takes ~8 s).
    const cacheDir = join(tmpdir(), 'chorus-bench-cache')
    mkdirSync(cacheDir, { recursive: true })
    const source = traceFile()
    const stamp = existsSync(source) ? `${statSync(source).size}-${Math.round(statSync(source).mtimeMs)}` : 'generated'
    const file = join(cacheDir, `trace-${stamp}-${keystrokes.patches.length}.bin`)
    const metaFile = `${file}.json`
    let frames: TraceFrames
    if (existsSync(file) && existsSync(metaFile)) {
      frames = JSON.parse(readFileSync(metaFile, 'utf8')) as TraceFrames
      log(`  ${frames.frames.toLocaleString('en')} encoded updates from the cache (${file})`)
    } else {
      const started = performance.now()
      frames = writeTraceFrames(keystrokes, file)
      writeFileSync(metaFile, JSON.stringify(frames))
      log(
        `  encoded ${frames.frames.toLocaleString('en')} updates (${(frames.bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      )
    }
    prepared = { keystrokes, frames }
  },
  async run({ server: kind, pool, settings, log, note }) {
    if (!prepared) throw new Error('trace scenario not prepared')
    const { keystrokes, frames } = prepared
    if (!keystrokes.source.startsWith('automerge-paper')) note(`not the real trace: ${keystrokes.source}`)
    const server = await ServerProcess.launch(kind)
    const [writerClient, observerClient] = pool.clients
    try {
      await observerClient.open(
        server.wsBase,
        Array.from({ length: settings.trace.observers }, () => ({ doc: 'trace', observe: true })),
      )
      await writerClient.open(server.wsBase, [{ doc: 'trace', writer: 1, ext: true }])
      server.resetPeak()
      const cpuBefore = server.usage()?.cpuSeconds ?? NaN
      const observed = observerClient.request<{ doneAt: number[]; ok: boolean }>({
        type: 'expect',
        text: keystrokes.endContent,
        timeoutMs: 600_000,
      })
      const replay = await writerClient.request<{ startedAt: number; sentAt: number; frames: number }>({
        type: 'replay',
        file: frames.file,
      })
      const done = await observed
      if (!done.ok) throw new Error('the observers never held the final text (equality failed or timed out)')
      const replayMs = Math.max(...done.doneAt) - replay.startedAt
      const cpuSeconds = (server.usage()?.cpuSeconds ?? NaN) - cpuBefore
      const rss = server.sampledPeakKiB / 1024
      let storedMs: number | null = null
      let stopMs: number | null = null
      let recovered: number | null = null
      let coldLoadMs: number | null = null
      if (isPersistent(kind)) {
        if (confirmsSaves(kind)) {
          const saved = await writerClient.request<{ ok: boolean; at: number }>({
            type: 'wait-saved',
            clientId: frames.clientId,
            clock: frames.clock,
            timeoutMs: 300_000,
          })
          if (saved.ok) storedMs = saved.at - replay.startedAt
          else note('Chorus did not confirm the whole trace as stored within 300 s')
        } else {
          await waitCpuIdle(server, settings.trace.quietMs, 300_000)
        }
        stopMs = (await server.stop('SIGTERM')).ms
        await pool.closeAll()
        await server.restart()
        const probe = await probeDocument(server.wsBase, 'trace', {
          until: (ydoc) => ydoc.getText('t').toString() === keystrokes.endContent,
          quietMs: 30_000,
          timeoutMs: 180_000,
        })
        recovered = probe.ok ? 1 : 0
        coldLoadMs = probe.ok ? probe.ms : null
      }
      log(
        `  ${replay.frames.toLocaleString('en')} updates: observers done after ${(replayMs / 1000).toFixed(2)} s (sent in ${((replay.sentAt - replay.startedAt) / 1000).toFixed(2)} s), ` +
          `server cpu ${cpuSeconds.toFixed(1)} s, peak ${rss.toFixed(0)} MiB` +
          (isPersistent(kind)
            ? `; stored ${storedMs === null ? '?' : `${(storedMs / 1000).toFixed(2)} s`}, stop ${stopMs?.toFixed(0)} ms, recovered ${recovered ? 'yes' : 'NO'}` +
              (coldLoadMs !== null ? ` (cold load ${coldLoadMs.toFixed(0)} ms)` : '')
            : ''),
      )
      return { replayMs, sendMs: replay.sentAt - replay.startedAt, cpuSeconds, rss, storedMs, stopMs, recovered, coldLoadMs }
    } finally {
      await pool.closeAll()
      await server.cleanup()
    }
  },
}
