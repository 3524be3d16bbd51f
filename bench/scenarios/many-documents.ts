/**
 * Scenario 2, many documents: D documents with 3 clients each, one of which writes; measures the
 * per-document overhead (latency, CPU, memory per connection) rather than fan-out.
 */
import type { Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { openLayout, runWritePhase, spreadLayout } from '../traffic.ts'

export const manyDocuments: Scenario = {
  id: 'many-documents',
  title: 'Many documents',
  parameters: ({ manyDocuments: s }) =>
    `${s.documents} documents x ${s.perDocument} clients; in each document one client writes ${s.rate} edits/s for ` +
    `${s.durationMs / 1000} s (${s.documents * s.rate} edits/s in all); memory per connection = server RSS growth from ` +
    `no connection to all synced, divided by the ${s.documents * s.perDocument} connections`,
  metrics: () => [
    { key: 'p50', label: 'latency p50', unit: 'ms', digits: 2, better: 'lower' },
    { key: 'p99', label: 'latency p99', unit: 'ms', digits: 2, better: 'lower' },
    { key: 'max', label: 'latency max', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'delivered', label: 'delivered', unit: '%', digits: 2, better: 'higher' },
    { key: 'cpu', label: 'server CPU', unit: '%', digits: 1, better: 'lower' },
    { key: 'cpuMain', label: 'of which main thread', unit: '%', digits: 1, better: 'lower' },
    { key: 'memPerConn', label: 'memory per connection', unit: 'KiB', digits: 1, better: 'lower' },
    { key: 'rss', label: 'server peak RSS', unit: 'MiB', digits: 0, better: 'lower' },
  ],
  async run({ server: kind, pool, settings, log, quick }) {
    const s = settings.manyDocuments
    const server = await ServerProcess.launch(kind)
    try {
      const docs = Array.from({ length: s.documents }, (_, i) => `many-${i}`)
      const layout = spreadLayout(pool.clients.length, docs, s.perDocument, 1)
      const opened = await openLayout(server, pool, layout, { settleMs: quick ? 200 : 500 })
      if (opened.failed) throw new Error(`${opened.failed} of ${opened.sockets} sockets failed to sync`)
      const phase = await runWritePhase(server, pool, layout, {
        rate: s.rate,
        durationMs: s.durationMs,
        drainMs: 5000,
        warmupMs: s.warmupMs,
      })
      log(
        `  p50 ${phase.latency.p50.toFixed(2)} p99 ${phase.latency.p99.toFixed(2)} ms, delivered ${phase.received}/${phase.expected}, ` +
          `cpu ${phase.cpuPercent.toFixed(1)} %, ${opened.memoryPerConnectionKiB.toFixed(1)} KiB/conn`,
      )
      return {
        p50: phase.latency.p50,
        p99: phase.latency.p99,
        max: phase.latency.max,
        delivered: phase.deliveredFraction * 100,
        cpu: phase.cpuPercent,
        cpuMain: phase.mainThreadCpuPercent,
        memPerConn: opened.memoryPerConnectionKiB,
        rss: phase.peakRssMiB,
      }
    } finally {
      await pool.closeAll()
      await server.cleanup()
    }
  },
}
