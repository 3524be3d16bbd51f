/**
 * Cluster scenario 2: many documents, each one's clients placed on one instance by a hash of the
 * document's path, as docs/deploy/haproxy.cfg places them (bench/deployment.ts). An edit then
 * reaches its co-editors without leaving the instance; what the cluster adds is publishing it to
 * Redis for instances that might join.
 *
 * Every instance carries the same load as the single instance it is compared with (the same
 * number of documents per instance, so the cluster has three times as many), because the question
 * is whether three instances carry three times the load at the same CPU per update. Giving three
 * instances the load of one instead measures something else: an instance's cost per update falls
 * as its load rises (batches, group commits and event-loop turns carry more updates), and a third
 * of the load costs about twice as much per update even with no Redis at all (measured while
 * writing this scenario: 3 instances on one database without REDIS_URL, 1.9-2.1x one instance).
 */
import {
  byDocument,
  CARET_METRICS,
  Deployment,
  HOCUSPOCUS_STORES_LATER,
  measurePlacedTraffic,
  TRAFFIC_METRICS,
} from '../deployment.ts'
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
    `${s.documentsPerInstance} documents per instance (one instance: ${s.documentsPerInstance}, a cluster of 3: ` +
    `${3 * s.documentsPerInstance}) x ${s.perDocument} clients, all clients of a document on the instance its path hashes to ` +
    `(rendezvous hashing, as HAProxy's consistent hash on the URI); in each document one client writes ${s.rate} edits/s ` +
    `for ${s.durationMs / 1000} s after a ${s.warmupMs / 1000} s warm-up (${s.documentsPerInstance * s.rate} edits/s per instance); ` +
    `then the same writers move their carets (awareness updates) at the same rate for ${s.caretMs / 1000} s. ` +
    HOCUSPOCUS_STORES_LATER,
  metrics: () => [...TRAFFIC_METRICS, ...CARET_METRICS],
  async run({ server: kind, pool, settings, log }) {
    const s = settings.clusterManyDocuments
    const deployment = await Deployment.start(kind)
    try {
      const documents = s.documentsPerInstance * deployment.instances.length
      const docs = Array.from({ length: documents }, (_, i) => `cluster-many-${i}`)
      const layout = spreadLayout(pool.clients.length, docs, s.perDocument, 1)
      const everyInstance = deployment.instances.map((_, i) => i)
      return await measurePlacedTraffic(deployment, pool, layout, byDocument(everyInstance), s, log)
    } finally {
      await pool.closeAll()
      await deployment.cleanup()
    }
  },
}
