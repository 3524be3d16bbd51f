/**
 * Scenario 3, idle connections: many connections over many (empty) documents, no edits. Measures
 * how fast a connection becomes synced and what a connection costs in server memory.
 */
import type { Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { openLayout, sleep, type Layout } from '../traffic.ts'

export const idle: Scenario = {
  id: 'idle',
  title: 'Idle connections',
  parameters: ({ idle: s, loadClients }) =>
    `${s.connections} connections over ${s.documents} documents (${s.connections / s.documents} each), opened by ` +
    `${loadClients} client processes with at most ${s.concurrency} handshakes in flight each; connect-to-synced = from ` +
    `creating the socket to receiving the server's sync step 2; memory per connection = server RSS growth / connections, ` +
    `${s.settleMs / 1000} s after the last one synced`,
  metrics: () => [
    { key: 'connectP50', label: 'connect-to-synced p50', unit: 'ms', digits: 2, better: 'lower' },
    { key: 'connectP99', label: 'connect-to-synced p99', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'connectFirstP50', label: 'of which first connection to a document, p50', unit: 'ms', digits: 2, better: 'lower' },
    { key: 'connectJoiningP50', label: 'of which joining an open document, p50', unit: 'ms', digits: 2, better: 'lower' },
    { key: 'memPerConn', label: 'memory per connection', unit: 'KiB', digits: 1, better: 'lower' },
    { key: 'rss', label: 'server RSS with all connected', unit: 'MiB', digits: 0, better: 'lower' },
  ],
  async run({ server: kind, pool, settings, log }) {
    const s = settings.idle
    const server = await ServerProcess.launch(kind)
    try {
      // Let the freshly started server finish its start-up allocations before the baseline.
      await sleep(Math.min(500, s.settleMs))
      const layout: Layout = pool.clients.map(() => [])
      for (let i = 0; i < s.connections; i++) layout[i % layout.length].push({ doc: `idle-${i % s.documents}` })
      const opened = await openLayout(server, pool, layout, { concurrency: s.concurrency, settleMs: s.settleMs })
      if (opened.failed) throw new Error(`${opened.failed} of ${opened.sockets} sockets failed to sync`)
      log(
        `  connect p50 ${opened.connect.p50.toFixed(2)} p99 ${opened.connect.p99.toFixed(1)} ms ` +
          `(first of a document ${opened.connectFirstOfDocument.p50.toFixed(2)}, joining ${opened.connectJoining.p50.toFixed(2)}), ` +
          `${opened.memoryPerConnectionKiB.toFixed(1)} KiB/conn (${(opened.rssBeforeKiB / 1024).toFixed(0)} -> ${(opened.rssAfterKiB / 1024).toFixed(0)} MiB)`,
      )
      return {
        connectP50: opened.connect.p50,
        connectP99: opened.connect.p99,
        connectFirstP50: opened.connectFirstOfDocument.p50,
        connectJoiningP50: opened.connectJoining.p50,
        memPerConn: opened.memoryPerConnectionKiB,
        rss: opened.rssAfterKiB / 1024,
      }
    } finally {
      await pool.closeAll()
      await server.cleanup()
    }
  },
}
