/**
 * Cluster scenario 2: many documents, each one's clients placed on one instance by a hash of the
 * document's path, as docs/deploy/haproxy.cfg places them (bench/deployment.ts). An edit then
 * reaches its co-editors without leaving the instance; what the cluster adds is publishing it to
 * Redis for instances that might join. Against one instance of the same kind: the CPU of the
 * instances together per delivered update, which says whether instances add capacity linearly.
 */
import { byDocument, Deployment, measurePlacedTraffic, TRAFFIC_METRICS } from '../deployment.ts'
import type { Scenario } from '../scenario.ts'
import { servicesMissing } from '../services.ts'
import { spreadLayout } from '../traffic.ts'
import { CLUSTER_BENCH_KINDS } from './cluster-one-document.ts'

export const clusterManyDocuments: Scenario = {
  id: 'cluster-many-documents',
  title: 'Cluster: many documents, placed by document',
  appliesTo: (server) => CLUSTER_BENCH_KINDS.includes(server),
  prepare: async () => servicesMissing() ?? undefined,
  parameters: ({ clusterManyDocuments: s }) =>
    `${s.documents} documents x ${s.perDocument} clients, all clients of a document on the instance its path hashes to ` +
    `(rendezvous hashing, as HAProxy's consistent hash on the URI); in each document one client writes ${s.rate} edits/s ` +
    `for ${s.durationMs / 1000} s after a ${s.warmupMs / 1000} s warm-up (${s.documents * s.rate} edits/s in all)`,
  metrics: () => TRAFFIC_METRICS,
  async run({ server: kind, pool, settings, log }) {
    const s = settings.clusterManyDocuments
    const deployment = await Deployment.start(kind)
    try {
      const docs = Array.from({ length: s.documents }, (_, i) => `cluster-many-${i}`)
      const layout = spreadLayout(pool.clients.length, docs, s.perDocument, 1)
      const everyInstance = deployment.instances.map((_, i) => i)
      return await measurePlacedTraffic(deployment, pool, layout, byDocument(everyInstance), s, log)
    } finally {
      await pool.closeAll()
      await deployment.cleanup()
    }
  },
}
