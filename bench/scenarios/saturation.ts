/**
 * Scenario 4, saturation: one document with 10 clients; the edit rate steps up until the server
 * no longer keeps up (p99 over the limit, or not every edit delivered within the drain time). The
 * result is the highest step it sustained, in edits/s and in deliveries/s (edits x 9 receivers).
 */
import type { Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { openLayout, runWritePhase, sleep, type Layout } from '../traffic.ts'

export const saturation: Scenario = {
  id: 'saturation',
  title: 'Saturation',
  parameters: ({ saturation: s }) =>
    `1 document, ${s.clients} clients: 1 writer, ${s.clients - 1} receivers; steps of ${s.stepMs / 1000} s at ` +
    `${s.steps.join(', ')} edits/s until p99 > ${s.p99LimitMs} ms or delivery < 100 %; the last step passed is the result ` +
    `(the same server instance throughout, so the document grows from step to step)`,
  metrics: () => [
    { key: 'edits', label: 'highest sustained edit rate', unit: 'edits/s', digits: 0, better: 'higher' },
    { key: 'deliveries', label: 'highest sustained fan-out', unit: 'deliveries/s', digits: 0, better: 'higher' },
    { key: 'p99AtBest', label: 'p99 at that step', unit: 'ms', digits: 1, better: 'none' },
    { key: 'cpuAtBest', label: 'server CPU at that step', unit: '%', digits: 0, better: 'none' },
    {
      key: 'clientsCpuAtBest',
      label: "load clients' CPU at that step (200 % = both cores)",
      unit: '%',
      digits: 0,
      better: 'none',
    },
    { key: 'failedStep', label: 'first failing step', unit: 'edits/s', digits: 0, better: 'none' },
  ],
  async run({ server: kind, pool, settings, log, note }) {
    const s = settings.saturation
    const server = await ServerProcess.launch(kind)
    try {
      const layout: Layout = pool.clients.map(() => [])
      layout[0].push({ doc: 'saturation', writer: 1 })
      for (let i = 0; i < s.clients - 1; i++) layout[1 + (i % (layout.length - 1))].push({ doc: 'saturation' })
      const opened = await openLayout(server, pool, layout)
      if (opened.failed) throw new Error(`${opened.failed} of ${opened.sockets} sockets failed to sync`)
      let best: { edits: number; deliveries: number; p99: number; cpu: number; clientsCpu: number } | null = null
      let failedStep: number | null = null
      for (const [i, rate] of s.steps.entries()) {
        const warmupMs = i === 0 ? s.warmupMs : 0
        const phase = await runWritePhase(server, pool, layout, { rate, durationMs: s.stepMs, drainMs: 2000, warmupMs })
        // The load client may not manage the asked rate on a busy machine; what counts is what it sent.
        // On 2 shared cores a busy server also slows the writer: a step it could not even send counts as failed.
        const keptRate = phase.editsPerSecond >= 0.95 * rate
        const passed = phase.deliveredFraction >= 1 && phase.latency.p99 <= s.p99LimitMs && keptRate
        log(
          `  ${rate} edits/s asked, ${phase.editsPerSecond.toFixed(0)} sent: p99 ${phase.latency.p99.toFixed(1)} ms, ` +
            `delivered ${(phase.deliveredFraction * 100).toFixed(2)} %, cpu ${phase.cpuPercent.toFixed(0)} % (load clients ${phase.clientsCpuPercent.toFixed(0)} %) -> ${passed ? 'ok' : keptRate ? 'saturated' : 'saturated (writer fell behind)'}`,
        )
        if (!passed) {
          failedStep = rate
          break
        }
        best = {
          edits: rate,
          deliveries: phase.deliveriesPerSecond,
          p99: phase.latency.p99,
          cpu: phase.cpuPercent,
          clientsCpu: phase.clientsCpuPercent,
        }
        // Let queues empty before the next step.
        await sleep(300)
      }
      if (failedStep === null) note(`passed every step up to ${s.steps.at(-1)} edits/s: the figure is a lower bound`)
      return {
        edits: best?.edits ?? 0,
        deliveries: best?.deliveries ?? 0,
        p99AtBest: best?.p99 ?? null,
        cpuAtBest: best?.cpu ?? null,
        clientsCpuAtBest: best?.clientsCpu ?? null,
        failedStep,
      }
    } finally {
      await pool.closeAll()
      await server.cleanup()
    }
  },
}
