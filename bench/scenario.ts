/**
 * What a scenario is, and the settings of a full and a quick run.
 */
import type { LoadPool } from './load-pool.ts'
import type { ServerKind } from './servers.ts'

export const SCENARIO_IDS = [
  'fan-out',
  'many-documents',
  'idle',
  'saturation',
  'persistence',
  'trace',
  'browser',
  'large-document',
  'reconnect-storm',
  'cluster-one-document',
  'cluster-many-documents',
  'cluster-kill',
  'history',
] as const
export type ScenarioId = (typeof SCENARIO_IDS)[number]

export interface MetricInfo {
  key: string
  label: string
  unit: string
  digits: number
  better: 'lower' | 'higher' | 'none'
}

/** One measurement: one scenario, one server, one repetition. */
export type Metrics = Record<string, number | null>

export interface Measurement {
  server: ServerKind
  rep: number
  metrics: Metrics
  notes: string[]
  error?: string
  seconds: number
}

export interface ScenarioResult {
  id: ScenarioId
  title: string
  parameters: string
  metrics: MetricInfo[]
  measurements: Measurement[]
  /** Set when the scenario could not run at all (e.g. the app is not built yet). */
  skipped?: string
}

export interface RunContext {
  server: ServerKind
  rep: number
  pool: LoadPool
  settings: Settings
  quick: boolean
  /** Progress lines for the console. */
  log: (line: string) => void
  /** Notes that go into the report next to this measurement (e.g. "generated keystrokes"). */
  note: (line: string) => void
  /** A folder for this run's scratch files (precomputed traces), removed at the end. */
  scratchDir: string
}

export interface Scenario {
  id: ScenarioId
  title: string
  parameters(settings: Settings): string
  metrics(settings: Settings): MetricInfo[]
  /** Which servers the scenario is measured on (default: all). */
  appliesTo?(server: ServerKind): boolean
  /** Once per run, before the first measurement (e.g. building the app); a string skips the scenario. */
  // biome-ignore lint/suspicious/noConfusingVoidType: most scenarios resolve to nothing at all
  prepare?(context: Omit<RunContext, 'server' | 'rep'>): Promise<string | void>
  run(context: RunContext): Promise<Metrics>
}

export interface Settings {
  loadClients: number
  fanOut: { sizes: number[]; writers: number; rate: number; durationMs: number; warmupMs: number }
  manyDocuments: { documents: number; perDocument: number; rate: number; durationMs: number; warmupMs: number }
  idle: { connections: number; documents: number; concurrency: number; settleMs: number }
  saturation: { clients: number; steps: number[]; stepMs: number; p99LimitMs: number; warmupMs: number }
  /** quietMs: how long y-websocket's CPU must stay idle before its writes count as done. */
  persistence: { updates: number; killRate: number; killAfterMs: number; quietMs: number }
  trace: { keystrokes: number | null; observers: number; quietMs: number }
  browser: { keystrokes: number; warmup: boolean }
  /** keys: how many keys each typing run times (isolated, and at typing pace). */
  largeDocument: { keys: number }
  /** concurrency: handshakes in flight on the first connect (the storm itself is every client at once). */
  reconnectStorm: { clients: number; documents: number; concurrency: number }
  /** One document, `clientsPerInstance` for each instance of the deployment, round robin over them. */
  clusterOneDocument: { clientsPerInstance: number; writers: number; rate: number; durationMs: number; warmupMs: number }
  /**
   * Documents placed by hash, `documentsPerInstance` for each instance of the deployment; one writer
   * per document, which then moves its caret at the same rate for caretMs.
   */
  clusterManyDocuments: {
    documentsPerInstance: number
    perDocument: number
    rate: number
    durationMs: number
    warmupMs: number
    caretMs: number
  }
  /** Documents placed by hash, one writer each; kill -9 of one instance after killAfterMs of writing. */
  clusterKill: { documents: number; perDocument: number; rate: number; killAfterMs: number; writeAfterMs: number }
}

export const FULL: Settings = {
  loadClients: 3,
  fanOut: { sizes: [100, 300], writers: 4, rate: 20, durationMs: 8000, warmupMs: 1500 },
  manyDocuments: { documents: 400, perDocument: 3, rate: 4, durationMs: 8000, warmupMs: 1500 },
  idle: { connections: 4000, documents: 1000, concurrency: 8, settleMs: 1000 },
  saturation: {
    clients: 10,
    steps: [1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 20000],
    stepMs: 2000,
    p99LimitMs: 100,
    warmupMs: 1000,
  },
  persistence: { updates: 50_000, killRate: 2000, killAfterMs: 1500, quietMs: 1000 },
  trace: { keystrokes: null, observers: 1, quietMs: 1000 },
  browser: { keystrokes: 30, warmup: true },
  largeDocument: { keys: 30 },
  reconnectStorm: { clients: 2000, documents: 500, concurrency: 200 },
  // Modest sizes: all of the cluster scenarios together take about 6 minutes with 3 repeats.
  clusterOneDocument: { clientsPerInstance: 60, writers: 4, rate: 20, durationMs: 4000, warmupMs: 1000 },
  clusterManyDocuments: { documentsPerInstance: 80, perDocument: 3, rate: 4, durationMs: 4000, warmupMs: 1000, caretMs: 2000 },
  clusterKill: { documents: 60, perDocument: 3, rate: 4, killAfterMs: 2500, writeAfterMs: 1500 },
}

/** A smoke run: every scenario and server, with loads and windows small enough for about a minute. */
export const QUICK: Settings = {
  loadClients: 3,
  fanOut: { sizes: [100], writers: 4, rate: 20, durationMs: 700, warmupMs: 200 },
  manyDocuments: { documents: 40, perDocument: 3, rate: 4, durationMs: 700, warmupMs: 200 },
  idle: { connections: 200, documents: 50, concurrency: 8, settleMs: 300 },
  saturation: { clients: 10, steps: [5000], stepMs: 700, p99LimitMs: 100, warmupMs: 300 },
  persistence: { updates: 5000, killRate: 2000, killAfterMs: 300, quietMs: 300 },
  trace: { keystrokes: 5000, observers: 1, quietMs: 300 },
  browser: { keystrokes: 5, warmup: false },
  largeDocument: { keys: 8 },
  reconnectStorm: { clients: 200, documents: 50, concurrency: 50 },
  clusterOneDocument: { clientsPerInstance: 20, writers: 3, rate: 20, durationMs: 700, warmupMs: 200 },
  clusterManyDocuments: { documentsPerInstance: 10, perDocument: 3, rate: 4, durationMs: 700, warmupMs: 200, caretMs: 500 },
  clusterKill: { documents: 15, perDocument: 3, rate: 4, killAfterMs: 500, writeAfterMs: 500 },
}
