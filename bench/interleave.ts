/**
 * This checkout's sync server against the baseline's (BENCH_BASELINE_DIR), in short alternating
 * slices of one load (many documents by default, or one document read by many), for as many rounds as asked:
 *
 *   node --import tsx bench/interleave.ts [rounds] [many-documents|fan-out]
 *
 * A full benchmark run measures one server for ~10 s, then the next: on a shared machine whose
 * speed drifts minute to minute, that spreads a few-percent difference into noise. Here both
 * servers stay up with their documents open, each with its own load clients, and take turns
 * every few seconds, so whatever else runs on the machine weighs on both alike. Prints server CPU
 * per thousand delivered updates for each slice and the median of the ratios.
 */
import { LoadPool } from './load-pool.ts'
import { baselineDir, cleanupAllServers, ServerProcess } from './servers.ts'
import { openLayout, runWritePhase, spreadLayout } from './traffic.ts'

const ROUNDS = Number(process.argv[2] ?? 8)
// The two loads where a per-message cost shows: many small documents, and one document read by many.
const LOADS = {
  'many-documents': { documents: 400, perDocument: 3, writers: 1, rate: 4 },
  'fan-out': { documents: 1, perDocument: 100, writers: 4, rate: 20 },
}
const loadName = (process.argv[3] ?? 'many-documents') as keyof typeof LOADS
const LOAD = LOADS[loadName]
if (!LOAD) {
  console.error(`interleave: the load is one of ${Object.keys(LOADS).join(', ')}`)
  process.exit(2)
}
const SLICE_MS = 3000

if (!baselineDir()) {
  console.error('interleave: set BENCH_BASELINE_DIR to the checkout to compare with (with its node_modules)')
  process.exit(2)
}

const kinds = ['chorus', 'chorus-baseline'] as const
const sides = await Promise.all(
  kinds.map(async (kind) => {
    const server = await ServerProcess.launch(kind)
    const pool = await LoadPool.start(2)
    const docs = Array.from({ length: LOAD.documents }, (_, i) => `${loadName}-${i}`)
    const layout = spreadLayout(pool.clients.length, docs, LOAD.perDocument, LOAD.writers)
    return { kind, server, pool, layout }
  }),
)
const ratios: number[] = []
try {
  for (const side of sides) {
    const opened = await openLayout(side.server, side.pool, side.layout, { settleMs: 500 })
    if (opened.failed) throw new Error(`${side.kind}: ${opened.failed} sockets failed to sync`)
    await runWritePhase(side.server, side.pool, side.layout, { rate: LOAD.rate, durationMs: 1500, drainMs: 5000 })
  }
  for (let round = 1; round <= ROUNDS; round++) {
    const perThousand: Record<string, number> = {}
    // Which goes first flips each round: neither always follows the other's garbage.
    const order = round % 2 ? sides : [...sides].reverse()
    for (const side of order) {
      const phase = await runWritePhase(side.server, side.pool, side.layout, {
        rate: LOAD.rate,
        durationMs: SLICE_MS,
        drainMs: 5000,
      })
      const cpuMs = (phase.cpuPercent / 100) * SLICE_MS
      perThousand[side.kind] = (cpuMs / phase.received) * 1000
    }
    const ratio = perThousand.chorus / perThousand['chorus-baseline']
    ratios.push(ratio)
    console.log(
      `round ${round}: chorus ${perThousand.chorus.toFixed(1)} ms, baseline ${perThousand['chorus-baseline'].toFixed(1)} ms ` +
        `of server CPU per 1,000 delivered; ratio ${ratio.toFixed(3)}`,
    )
  }
  const sortedRatios = [...ratios].sort((a, b) => a - b)
  console.log(`median ratio (this checkout / baseline): ${sortedRatios[Math.floor(sortedRatios.length / 2)].toFixed(3)}`)
} finally {
  for (const side of sides) {
    await side.pool.closeAll().catch(() => undefined)
    await side.pool.shutdown()
    await side.server.cleanup()
  }
  await cleanupAllServers()
}
