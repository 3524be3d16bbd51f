/**
 * Cluster scenario 1: one document whose clients are spread round robin over the instances, as a
 * load balancer without stickiness would spread them; a few of them write. Every edit then
 * crosses Redis to reach the other instances' clients. Against one instance of the same kind in
 * the same run: the delivery latency (writer's send to each other client's receipt) and the CPU
 * of the instances together per delivered update.
 *
 * Each instance serves as many of the document's clients as the single instance does (the
 * cluster three times as many, the same writers), as in the many-documents scenario: the question
 * is what a delivery costs when a document's audience is spread over instances, not what a third
 * of the work costs an instance (more per unit: see cluster-many-documents.ts).
 */
import { Deployment, HOCUSPOCUS_STORES_LATER, measurePlacedTraffic, roundRobin, TRAFFIC_METRICS } from '../deployment.ts'
import type { Scenario } from '../scenario.ts'
import type { ServerKind } from '../servers.ts'
import { servicesMissing } from '../services.ts'
import { spreadLayout } from '../traffic.ts'

export const CLUSTER_BENCH_KINDS: ServerKind[] = ['chorus-postgres', 'chorus-cluster', 'hocuspocus', 'hocuspocus-cluster']

export const clusterOneDocument: Scenario = {
  id: 'cluster-one-document',
  title: 'Cluster: one document, clients round robin over the instances',
  appliesTo: (server) => CLUSTER_BENCH_KINDS.includes(server),
  prepare: async () => servicesMissing() ?? undefined,
  parameters: ({ clusterOneDocument: s }) =>
    `1 document; ${s.clientsPerInstance} clients per instance (one instance: ${s.clientsPerInstance}, a cluster of 3: ` +
    `${3 * s.clientsPerInstance}), the k-th to instance k mod 3, of which ${s.writers} write ` +
    `${s.rate} edits/s each for ${s.durationMs / 1000} s after a ${s.warmupMs / 1000} s warm-up; latency from the writer's send ` +
    `to each other client's receipt; CPU per delivered update = CPU of all instances over the window / deliveries. ` +
    HOCUSPOCUS_STORES_LATER,
  metrics: () => TRAFFIC_METRICS,
  async run({ server: kind, pool, settings, log }) {
    const s = settings.clusterOneDocument
    const deployment = await Deployment.start(kind)
    try {
      const clients = s.clientsPerInstance * deployment.instances.length
      const layout = spreadLayout(pool.clients.length, ['cluster-one'], clients, s.writers)
      return await measurePlacedTraffic(deployment, pool, layout, roundRobin(deployment.instances.length), s, log)
    } finally {
      await pool.closeAll()
      await deployment.cleanup()
    }
  },
}
