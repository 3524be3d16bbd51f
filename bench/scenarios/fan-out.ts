/**
 * Scenario 1, fan-out: one document, N clients of which a few write at a steady rate; every edit
 * must reach every other client. Latency is writer-to-receiver, over every delivery.
 */
import type { MetricInfo, Metrics, Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { openLayout, runWritePhase, spreadLayout } from '../traffic.ts'

export const fanOut: Scenario = {
  id: 'fan-out',
  title: 'Fan-out: one document, many clients',
  parameters: ({ fanOut: s }) =>
    `1 document; ${s.sizes.join(' and ')} clients, of which ${s.writers} write ${s.rate} edits/s each for ${s.durationMs / 1000} s ` +
    `(one Yjs update per edit); latency from the writer's send to each other client's receipt of the frame`,
  metrics: ({ fanOut: s }) =>
    s.sizes.flatMap((n): MetricInfo[] => [
      { key: `c${n}.p50`, label: `${n} clients: latency p50`, unit: 'ms', digits: 2, better: 'lower' },
      { key: `c${n}.p99`, label: `${n} clients: latency p99`, unit: 'ms', digits: 2, better: 'lower' },
      { key: `c${n}.max`, label: `${n} clients: latency max`, unit: 'ms', digits: 1, better: 'lower' },
      { key: `c${n}.delivered`, label: `${n} clients: delivered`, unit: '%', digits: 2, better: 'higher' },
      { key: `c${n}.cpu`, label: `${n} clients: server CPU`, unit: '%', digits: 1, better: 'lower' },
      { key: `c${n}.cpuMain`, label: `${n} clients: of which main thread`, unit: '%', digits: 1, better: 'lower' },
      { key: `c${n}.rss`, label: `${n} clients: server peak RSS`, unit: 'MiB', digits: 0, better: 'lower' },
    ]),
  async run({ server: kind, pool, settings, log, quick }) {
    const s = settings.fanOut
    const metrics: Metrics = {}
    for (const clients of s.sizes) {
      const server = await ServerProcess.launch(kind)
      try {
        const layout = spreadLayout(pool.clients.length, ['fanout'], clients, s.writers)
        const opened = await openLayout(server, pool, layout, { settleMs: quick ? 200 : 500 })
        if (opened.failed) throw new Error(`${opened.failed} of ${opened.sockets} sockets failed to sync`)
        const phase = await runWritePhase(server, pool, layout, {
          rate: s.rate,
          durationMs: s.durationMs,
          drainMs: 5000,
          warmupMs: s.warmupMs,
        })
        Object.assign(metrics, {
          [`c${clients}.p50`]: phase.latency.p50,
          [`c${clients}.p99`]: phase.latency.p99,
          [`c${clients}.max`]: phase.latency.max,
          [`c${clients}.delivered`]: phase.deliveredFraction * 100,
          [`c${clients}.cpu`]: phase.cpuPercent,
          [`c${clients}.cpuMain`]: phase.mainThreadCpuPercent,
          [`c${clients}.rss`]: phase.peakRssMiB,
        })
        log(
          `  ${clients} clients: p50 ${phase.latency.p50.toFixed(2)} p99 ${phase.latency.p99.toFixed(2)} max ${phase.latency.max.toFixed(1)} ms, ` +
            `delivered ${phase.received}/${phase.expected}, cpu ${phase.cpuPercent.toFixed(1)} %, rss ${phase.peakRssMiB.toFixed(0)} MiB`,
        )
      } finally {
        await pool.closeAll()
        await server.cleanup()
      }
    }
    return metrics
  },
}
