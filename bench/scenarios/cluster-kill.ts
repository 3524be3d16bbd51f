/**
 * Cluster scenario 3: kill -9 of one instance of three while its documents are being edited.
 *
 *   a. documents placed by hash (as the HAProxy config places them), one writer each, every
 *      writer asking for save confirmations where the server gives them (Chorus's `?chorus=1`);
 *   b. after killAfterMs of writing, SIGKILL to the first instance's process group;
 *   c. every client it had connects again at once to the instance its document hashes to among
 *      the two left (what the balancer does once its health check fails; real y-websocket
 *      clients wait 100 ms before their first retry, not counted here), with an empty document,
 *      so "synced" means it holds the document as the survivor has it;
 *   d. the writers on the survivors go on for writeAfterMs; then each moved document is read from
 *      its new instance and compared with what its writer on the killed instance had sent.
 *
 * Resync = from the kill to a moved client's receipt of the survivor's sync step 2: noticing the
 * loss, a new connection, and the survivor loading a document it never had open (from PostgreSQL
 * for both) plus catching up with Redis.
 */
import { clockOf } from '../../lib/state-vector.ts'
import { byDocument, Deployment, instanceForDocument, openPlaced, place, type PlacedSocket } from '../deployment.ts'
import type { LoadReport } from '../load-client.ts'
import { probeDocument } from '../probe.ts'
import type { Scenario } from '../scenario.ts'
import { confirmsSaves } from '../servers.ts'
import { servicesMissing } from '../services.ts'
import { distribution } from '../stats.ts'
import { now, sleep, spreadLayout } from '../traffic.ts'

const KILLED = 0

export const clusterKill: Scenario = {
  id: 'cluster-kill',
  title: 'Cluster: kill -9 of one instance of three',
  appliesTo: (server) => server === 'chorus-cluster' || server === 'hocuspocus-cluster',
  prepare: async () => servicesMissing() ?? undefined,
  parameters: ({ clusterKill: s }) =>
    `${s.documents} documents x ${s.perDocument} clients placed by document over 3 instances; one writer per document at ` +
    `${s.rate} edits/s; after ${s.killAfterMs / 1000} s, kill -9 of one instance; its clients connect at once to the ` +
    `instance their document hashes to among the two left; writing goes on for ${s.writeAfterMs / 1000} s, then each moved ` +
    `document is read from its new instance. Resync = kill to the moved client's receipt of the survivor's sync step 2`,
  metrics: () => [
    { key: 'moved', label: 'clients moved', unit: '', digits: 0, better: 'none' },
    { key: 'resyncP50', label: 'kill to resynced, p50', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'resyncMax', label: 'kill to every moved client resynced', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'failed', label: 'moved clients that did not resync', unit: '', digits: 0, better: 'lower' },
    {
      key: 'sentLost',
      label: "killed instance's writers: edits written to the socket but lost",
      unit: '',
      digits: 0,
      better: 'lower',
    },
    { key: 'confirmedLost', label: "killed instance's writers: confirmed edits lost", unit: '', digits: 0, better: 'lower' },
    { key: 'sent', label: "killed instance's writers: edits sent", unit: '', digits: 0, better: 'none' },
  ],
  async run({ server: kind, pool, settings, log }) {
    const s = settings.clusterKill
    const deployment = await Deployment.start(kind)
    try {
      const docs = Array.from({ length: s.documents }, (_, i) => `cluster-kill-${i}`)
      const layout = spreadLayout(pool.clients.length, docs, s.perDocument, 1)
      for (const spec of layout.flat()) if (spec.writer !== undefined) spec.ext = true
      const everyInstance = deployment.instances.map((_, i) => i)
      const survivors = everyInstance.filter((i) => i !== KILLED)
      const placed = place(layout, byDocument(everyInstance))
      const opened = await openPlaced(deployment, pool, placed)
      if (opened.failed) throw new Error(`${opened.failed} of ${opened.sockets} sockets failed to sync`)

      const epoch = now()
      const writing = pool.all({
        type: 'write',
        epoch,
        startAt: epoch + 100,
        durationMs: s.killAfterMs + s.writeAfterMs,
        rate: s.rate,
      })
      await sleep(100 + s.killAfterMs)
      const killedAt = now()
      await deployment.instances[KILLED].kill9()
      // The balancer's view: the dead instance's clients come back, each to its document's new home.
      const moved: PlacedSocket[] = placed
        .filter((socket) => socket.instance === KILLED)
        .map((socket) => ({
          client: socket.client,
          spec: { doc: socket.spec.doc },
          instance: instanceForDocument(socket.spec.doc, survivors),
        }))
      const reopened = await openPlaced(deployment, pool, moved, { timeoutMs: 20_000 })
      const resync = distribution(reopened.syncedAt.filter(Number.isFinite).map((at) => at - killedAt))
      await writing
      const reports = await pool.all<LoadReport>({ type: 'report' })

      // What each moved document's writer on the killed instance had sent, against what survived.
      const movedDocs = new Set(moved.map((socket) => socket.spec.doc))
      const victims = reports.flatMap((r) => r.writers).filter((w) => movedDocs.has(w.doc))
      let sent = 0
      let sentLost = 0
      let confirmedLost = 0
      await Promise.all(
        victims.map(async (writer) => {
          const home = deployment.instances[instanceForDocument(writer.doc, survivors)]
          const seen = await probeDocument(home.wsBase, writer.doc, {
            quietMs: 300,
            timeoutMs: 20_000,
            protocol: deployment.protocol,
          })
          const kept = clockOf(seen.ydoc, writer.clientId)
          seen.ydoc.destroy()
          const clocks = writer.editClocks ?? []
          const written = writer.editWritten ?? []
          clocks.forEach((clock, i) => {
            if (!written[i]) return
            sent++
            if (clock > kept) {
              sentLost++
              if (clock <= writer.confirmedClock) confirmedLost++
            }
          })
        }),
      )
      log(
        `  ${moved.length} clients of ${movedDocs.size} documents moved: resynced p50 ${resync.p50.toFixed(0)} ms, all ` +
          `${resync.max.toFixed(0)} ms (${reopened.failed} failed); their writers: ${sent} edits written, ${sentLost} lost, ` +
          `${confirmsSaves(kind) ? confirmedLost : 'n/a'} confirmed lost`,
      )
      return {
        moved: moved.length,
        resyncP50: resync.p50,
        resyncMax: reopened.failed ? null : resync.max,
        failed: reopened.failed,
        sentLost,
        confirmedLost: confirmsSaves(kind) ? confirmedLost : null,
        sent,
      }
    } finally {
      await pool.closeAll()
      await deployment.cleanup()
    }
  },
}
