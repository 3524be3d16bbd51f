/**
 * Scenario 5, persistence, on the servers that store documents (Chorus on LevelDB and on
 * PostgreSQL, a fresh database on the run's server):
 *   a. 50 000 small updates (one edit each) into one document, as fast as the socket takes them;
 *      wait until they are stored (Chorus: its SavedState covers them; y-websocket cannot say,
 *      so: until its CPU is idle);
 *   b. graceful restart (SIGTERM, timed to exit; start again on the same data);
 *   c. cold load: a new client connects; time until it holds the full state;
 *   d. kill -9 while a writer sends 2000 edits/s; restart; count the updates that were confirmed
 *      (Chorus SavedState) or written to the socket, but are missing after the restart.
 */
import type { LoadReport } from '../load-client.ts'
import { clockOf } from '../../lib/state-vector.ts'
import { probeDocument } from '../probe.ts'
import type { Scenario } from '../scenario.ts'
import { confirmsSaves, isPersistent, ServerProcess } from '../servers.ts'
import { postgresMissing } from '../services.ts'
import { now, sleep, waitCpuIdle } from '../traffic.ts'

export const persistence: Scenario = {
  id: 'persistence',
  title: 'Persistence: restart, cold load, kill -9',
  // Chorus on PostgreSQL only where PostgreSQL is installed (the bench starts its own).
  appliesTo: (server) => isPersistent(server) && (server !== 'chorus-postgres' || postgresMissing() === null),
  parameters: ({ persistence: s }) =>
    `${s.updates.toLocaleString('en')} updates (one ~20-character insert each) into one document, sent as fast as the socket ` +
    `takes them; graceful restart; a new client's time to the full state. Then a writer at ${s.killRate} edits/s and ` +
    `kill -9 of the server group after ${s.killAfterMs} ms; restart and compare`,
  metrics: () => [
    { key: 'sendMs', label: 'send the updates', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'storedMs', label: 'all stored (from first send)', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'stopMs', label: 'graceful stop (SIGTERM to exit)', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'startMs', label: 'start again (to ready line)', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'coldLoadMs', label: 'cold load: new client holds full state', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'recovered', label: 'updates recovered after graceful restart', unit: '%', digits: 2, better: 'higher' },
    { key: 'k9Sent', label: 'kill -9: updates sent', unit: '', digits: 0, better: 'none' },
    { key: 'k9Confirmed', label: 'kill -9: updates confirmed stored', unit: '', digits: 0, better: 'none' },
    { key: 'k9ConfirmedLost', label: 'kill -9: confirmed updates lost', unit: '', digits: 0, better: 'lower' },
    { key: 'k9WrittenLost', label: 'kill -9: written to socket but lost', unit: '', digits: 0, better: 'none' },
  ],
  async run({ server: kind, pool, settings, log }) {
    const s = settings.persistence
    const server = await ServerProcess.launch(kind)
    const writerClient = pool.clients[0]
    try {
      // a. the updates
      await writerClient.open(server.wsBase, [{ doc: 'persist', writer: 1, ext: true }])
      const started = now()
      const burst = await writerClient.request<{ ms: number }>({ type: 'burst', epoch: started, count: s.updates, chunk: 200 })
      let storedMs: number | null
      if (confirmsSaves(kind)) {
        const saved = await writerClient.request<{ ok: boolean; at: number }>({ type: 'wait-saved', timeoutMs: 120_000 })
        if (!saved.ok) throw new Error('Chorus did not confirm every update within 120 s')
        storedMs = saved.at - started
      } else {
        await waitCpuIdle(server, s.quietMs, 120_000)
        storedMs = null // cannot be known from outside; the CPU went idle, which is what we waited for
      }
      const [writer] = (await writerClient.report()).writers
      // b. graceful restart, the writer still connected (as a server restart would find it)
      const stop = await server.stop('SIGTERM')
      await pool.closeAll()
      const startMs = await server.restart()
      // c. cold load
      const cold = await probeDocument(server.wsBase, 'persist', {
        until: (ydoc) => clockOf(ydoc, writer.clientId) >= writer.clock && ydoc.getText('t').length === writer.clock,
        // y-websocket syncs before it has loaded (an empty step 2) and sends the stored state later.
        quietMs: 10_000,
        timeoutMs: 120_000,
      })
      const recoveredClock = cold.ok ? writer.clock : clockOf(cold.ydoc, writer.clientId)
      const recovered = (countUpTo(writer.editClocks, recoveredClock, writer.sent) / writer.sent) * 100
      log(
        `  ${s.updates} updates sent in ${burst.ms.toFixed(0)} ms, stored ${storedMs === null ? '?' : storedMs.toFixed(0)} ms; ` +
          `stop ${stop.ms.toFixed(0)} ms (exit ${stop.code}); cold load ${cold.ok ? `${cold.ms.toFixed(1)} ms` : 'INCOMPLETE'}; recovered ${recovered.toFixed(2)} %`,
      )
      // d. kill -9 under load
      await writerClient.open(server.wsBase, [{ doc: 'crash', writer: 2, ext: true }])
      const epoch = now()
      const writing = writerClient.request({
        type: 'write',
        epoch,
        startAt: epoch + 50,
        durationMs: s.killAfterMs + 1000,
        rate: s.killRate,
      })
      await sleep(50 + s.killAfterMs)
      await server.kill9()
      await writing
      const report: LoadReport = await writerClient.report()
      const crashed = report.writers[0]
      await pool.closeAll()
      await server.restart()
      // Whatever the server recovered: settle until nothing more arrives (y-websocket loads late).
      const after = await probeDocument(server.wsBase, 'crash', {
        quietMs: confirmsSaves(kind) ? 200 : Math.max(500, s.quietMs),
        timeoutMs: 60_000,
      })
      const kept = clockOf(after.ydoc, crashed.clientId)
      const clocks = crashed.editClocks ?? []
      const written = crashed.editWritten ?? []
      let confirmed = 0
      let confirmedLost = 0
      let writtenLost = 0
      clocks.forEach((clock, i) => {
        if (clock <= crashed.confirmedClock) {
          confirmed++
          if (clock > kept) confirmedLost++
        }
        if (written[i] && clock > kept) writtenLost++
      })
      log(
        `  kill -9: ${crashed.sent} sent, ${confirmsSaves(kind) ? confirmed : 'n/a'} confirmed, ${confirmedLost} confirmed lost, ` +
          `${writtenLost} written-but-lost (recovered clock ${kept} of ${crashed.clock})`,
      )
      return {
        sendMs: burst.ms,
        storedMs,
        stopMs: stop.ms,
        startMs,
        coldLoadMs: cold.ok ? cold.ms : null,
        recovered,
        k9Sent: crashed.sent,
        k9Confirmed: confirmsSaves(kind) ? confirmed : null,
        k9ConfirmedLost: confirmsSaves(kind) ? confirmedLost : null,
        k9WrittenLost: writtenLost,
      }
    } finally {
      await pool.closeAll()
      await server.cleanup()
    }
  },
}

/** How many edits ended at or before `clock` (all of them when the clocks were not recorded). */
function countUpTo(editClocks: number[] | undefined, clock: number, total: number): number {
  if (!editClocks) return total
  let n = 0
  for (const c of editClocks) if (c <= clock) n++
  return n
}
