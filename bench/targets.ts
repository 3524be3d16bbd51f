/**
 * The issue's targets for Chorus (durable storage on), each evaluated from the medians of a run.
 */
import type { ScenarioId, ScenarioResult } from './scenario.ts'
import { SERVER_KINDS, type ServerKind } from './servers.ts'
import { median } from './stats.ts'

export interface TargetOutcome {
  /** Chorus's figure as shown, e.g. "4.1 ms". */
  chorus: string
  /** The figure the target compares with, e.g. "1.12x the floor". */
  measured: string
  met: boolean | null
  /**
   * For the chart: the share of the allowance used (1 = exactly at the target; above 1 = missed),
   * with the text to print beside the bar. Null for yes/no targets.
   */
  budget: { used: number; text: string } | null
  /** Medians per server of the metric the target is about, for the table. */
  servers: Partial<Record<ServerKind, number | null>>
}

export interface Target {
  label: string
  goal: string
  scenario: ScenarioId
  /**
   * Which table of the report it goes in: the single-server comparison with the floor and
   * y-websocket, or scale-out (Chorus on PostgreSQL, its cluster, and Hocuspocus's cluster).
   */
  group?: 'scale-out'
  evaluate(results: ScenarioResult[]): TargetOutcome | null
}

/** Median over the repeats of one metric on one server (null: not measured or failed). */
export function medianOf(results: ScenarioResult[], scenario: ScenarioId, server: ServerKind, key: string): number | null {
  const result = results.find((r) => r.id === scenario)
  if (!result) return null
  return median(result.measurements.filter((m) => m.server === server && !m.error).map((m) => m.metrics[key]))
}

function perServer(results: ScenarioResult[], scenario: ScenarioId, key: string): Partial<Record<ServerKind, number | null>> {
  const out: Partial<Record<ServerKind, number | null>> = {}
  for (const server of SERVER_KINDS) out[server] = medianOf(results, scenario, server, key)
  return out
}

export function format(value: number | null | undefined, unit: string, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  const text = value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
  return unit ? `${text} ${unit}` : text
}

/** Chorus's figure at most `limit` times the floor's. */
function ratioToFloor(scenario: ScenarioId, key: string, limit: number, unit: string, digits: number, label: string): Target {
  return {
    label,
    goal: `≤ ${limit}x floor`,
    scenario,
    evaluate(results) {
      const servers = perServer(results, scenario, key)
      const chorus = servers.chorus
      const floor = servers.floor
      if (chorus == null || floor == null)
        return chorus == null
          ? null
          : { chorus: format(chorus, unit, digits), measured: 'no floor figure', met: null, budget: null, servers }
      const ratio = chorus / floor
      return {
        chorus: format(chorus, unit, digits),
        measured: `${ratio.toFixed(2)}x floor (${format(floor, unit, digits)})`,
        met: ratio <= limit,
        budget: { used: ratio / limit, text: `${ratio.toFixed(2)}x / ${limit}x` },
        servers,
      }
    },
  }
}

/** Chorus's figure (on `server`) below (or at most) an absolute limit. */
function absolute(
  scenario: ScenarioId,
  key: string,
  limit: number,
  unit: string,
  digits: number,
  label: string,
  strict = true,
  server: ServerKind = 'chorus',
): Target {
  return {
    label,
    goal: `${strict ? '<' : '≤'} ${format(limit, unit, limit % 1 ? 1 : 0)}`,
    scenario,
    ...(server === 'chorus' ? {} : { group: 'scale-out' as const }),
    evaluate(results) {
      const servers = perServer(results, scenario, key)
      const chorus = servers[server]
      if (chorus == null) return null
      return {
        chorus: format(chorus, unit, digits),
        measured: format(chorus, unit, digits),
        met: strict ? chorus < limit : chorus <= limit,
        budget: limit > 0 ? { used: chorus / limit, text: `${format(chorus, unit, digits)} / ${format(limit, unit, 0)}` } : null,
        servers,
      }
    },
  }
}

/** Worst case over the repeats must equal `value` (delivered 100 %, nothing lost, recovered). */
function always(
  scenario: ScenarioId,
  key: string,
  value: number,
  unit: string,
  label: string,
  goal: string,
  server: ServerKind = 'chorus',
): Target {
  return {
    label,
    goal,
    scenario,
    ...(server === 'chorus' ? {} : { group: 'scale-out' as const }),
    evaluate(results) {
      const result = results.find((r) => r.id === scenario)
      const chorusRuns = result?.measurements.filter((m) => m.server === server) ?? []
      const values = chorusRuns.map((m) => m.metrics[key])
      if (values.length === 0 || values.every((v) => v === null || v === undefined)) return null
      const failed = chorusRuns.some((m) => m.error)
      const worst = values.reduce<number>(
        (w, v) =>
          v === null || v === undefined || !Number.isFinite(v) ? NaN : Math.abs(v - value) > Math.abs(w - value) ? v : w,
        value,
      )
      const met = !failed && Number.isFinite(worst) && Math.abs(worst - value) < 1e-9
      return {
        chorus: `${format(worst, unit, unit === '%' ? 2 : 0)} (worst of ${values.length})`,
        measured: `${format(worst, unit, unit === '%' ? 2 : 0)} in the worst repeat`,
        met,
        budget: null,
        servers: perServer(results, scenario, key),
      }
    },
  }
}

/**
 * The Chorus cluster's figure at most `limit` times one Chorus instance's (on the same store,
 * PostgreSQL, so that the ratio is the price of the cluster alone), measured in the same run.
 */
function clusterToOneInstance(
  scenario: ScenarioId,
  key: string,
  limit: number,
  unit: string,
  digits: number,
  label: string,
): Target {
  return {
    label,
    goal: `≤ ${limit}x one instance`,
    scenario,
    group: 'scale-out',
    evaluate(results) {
      const servers = perServer(results, scenario, key)
      const cluster = servers['chorus-cluster']
      const one = servers['chorus-postgres']
      if (cluster == null) return null
      if (one == null)
        return { chorus: format(cluster, unit, digits), measured: 'no one-instance figure', met: null, budget: null, servers }
      const ratio = cluster / one
      return {
        chorus: format(cluster, unit, digits),
        measured: `${ratio.toFixed(2)}x one instance (${format(one, unit, digits)})`,
        met: ratio <= limit,
        budget: { used: ratio / limit, text: `${ratio.toFixed(2)}x / ${limit}x` },
        servers,
      }
    },
  }
}

export const TARGETS: Target[] = [
  ratioToFloor('fan-out', 'c100.p99', 1.3, 'ms', 2, 'Fan-out, 100 clients: latency p99'),
  ratioToFloor('fan-out', 'c100.cpu', 1.3, '%', 1, 'Fan-out, 100 clients: server CPU'),
  ratioToFloor('fan-out', 'c300.p99', 1.3, 'ms', 2, 'Fan-out, 300 clients: latency p99'),
  ratioToFloor('fan-out', 'c300.cpu', 1.3, '%', 1, 'Fan-out, 300 clients: server CPU'),
  always('fan-out', 'c100.delivered', 100, '%', 'Fan-out, 100 clients: delivered', '100 %'),
  always('fan-out', 'c300.delivered', 100, '%', 'Fan-out, 300 clients: delivered', '100 %'),
  ratioToFloor('many-documents', 'p99', 1.3, 'ms', 2, 'Many documents: latency p99'),
  ratioToFloor('many-documents', 'cpu', 1.5, '%', 1, 'Many documents: server CPU'),
  absolute('idle', 'memPerConn', 12, 'KiB', 1, 'Idle: memory per connection'),
  ratioToFloor('idle', 'connectP50', 1.3, 'ms', 2, 'Idle: connect-to-synced p50'),
  {
    label: 'Saturation: highest sustained edit rate',
    goal: "≥ floor's step (and ≥ 1.6x y-websocket's)",
    scenario: 'saturation',
    evaluate(results) {
      const servers = perServer(results, 'saturation', 'edits')
      const { chorus, floor, reference } = servers
      if (chorus == null) return null
      const vsFloor = floor ? chorus / floor : null
      const vsReference = reference ? chorus / reference : null
      // A floor that did not pass even the first step says the machine was too busy to tell.
      const met = !floor ? null : chorus >= floor && (reference == null || chorus >= 1.6 * reference)
      return {
        chorus: format(chorus, 'edits/s', 0),
        measured: `${vsFloor === null ? '–' : `${vsFloor.toFixed(2)}x`} floor (${format(floor, 'edits/s', 0)}), ${vsReference === null ? '–' : `${vsReference.toFixed(2)}x`} y-websocket`,
        met,
        // Higher is better: the allowance used is the floor's step over ours.
        budget: floor ? { used: floor / Math.max(chorus, 1), text: `${vsFloor!.toFixed(2)}x / ≥ 1x` } : null,
        servers,
      }
    },
  },
  absolute('persistence', 'coldLoadMs', 50, 'ms', 1, 'Cold load of the 50 000-update document'),
  absolute(
    'persistence',
    'coldLoadMs',
    50,
    'ms',
    1,
    'PostgreSQL: cold load of the 50 000-update document',
    true,
    'chorus-postgres',
  ),
  always('persistence', 'k9ConfirmedLost', 0, '', 'PostgreSQL: kill -9, confirmed updates lost', '0', 'chorus-postgres'),
  clusterToOneInstance('cluster-one-document', 'p99', 2, 'ms', 2, 'Cluster, one document round robin: latency p99'),
  clusterToOneInstance(
    'cluster-one-document',
    'cpuPerUpdate',
    1.5,
    'µs',
    1,
    'Cluster, one document round robin: CPU per delivery',
  ),
  always(
    'cluster-one-document',
    'delivered',
    100,
    '%',
    'Cluster, one document round robin: delivered',
    '100 %',
    'chorus-cluster',
  ),
  clusterToOneInstance(
    'cluster-many-documents',
    'cpuPerUpdate',
    1.1,
    'µs',
    1,
    'Cluster, many documents by hash: CPU per delivery',
  ),
  always(
    'cluster-many-documents',
    'delivered',
    100,
    '%',
    'Cluster, many documents by hash: delivered',
    '100 %',
    'chorus-cluster',
  ),
  absolute(
    'cluster-kill',
    'resyncMax',
    3000,
    'ms',
    0,
    'Cluster, kill -9 of an instance: its clients resynced',
    true,
    'chorus-cluster',
  ),
  always(
    'cluster-kill',
    'confirmedLost',
    0,
    '',
    'Cluster, kill -9 of an instance: confirmed updates lost',
    '0',
    'chorus-cluster',
  ),
  {
    label: 'Graceful stop (SIGTERM, everything stored)',
    goal: '< 1 s',
    scenario: 'persistence',
    evaluate(results) {
      const stops = [medianOf(results, 'persistence', 'chorus', 'stopMs'), medianOf(results, 'trace', 'chorus', 'stopMs')].filter(
        (v): v is number => v !== null,
      )
      if (stops.length === 0) return null
      const worst = Math.max(...stops)
      return {
        chorus: format(worst, 'ms', 0),
        measured: `${format(worst, 'ms', 0)} (slower of the persistence and trace scenarios)`,
        met: worst < 1000,
        budget: { used: worst / 1000, text: `${format(worst, 'ms', 0)} / 1,000 ms` },
        servers: perServer(results, 'persistence', 'stopMs'),
      }
    },
  },
  always('persistence', 'k9ConfirmedLost', 0, '', 'kill -9: confirmed updates lost', '0'),
  ratioToFloor('trace', 'replayMs', 1.5, 'ms', 0, 'Trace replay: time to final text'),
  absolute('trace', 'rss', 250, 'MiB', 0, 'Trace replay: server peak RSS'),
  always('trace', 'recovered', 1, '', 'Trace replay: every update durably stored (1 = recovered after restart)', '1 (yes)'),
  absolute(
    'history',
    'storageRatio',
    2,
    'x',
    2,
    'History: storage of the trace with a version every 1,000 keystrokes, vs without history',
    false,
  ),
  absolute('history', 'listFirstPageMs', 300, 'ms', 1, 'History: list of a document with 1,000 versions opens'),
  absolute('history', 'versionShownMs', 500, 'ms', 0, 'History: a version of the 105k-character document shown, changes marked'),
  absolute('history', 'syncApplyRatio', 1.1, 'x', 2, 'History: initial sync (client apply time) vs without history', false),
  absolute('browser', 'openCold', 1500, 'ms', 0, 'Browser: 105k-character document editable and synced'),
  absolute('browser', 'keyP50', 15, 'ms', 1, 'Browser: keystroke visible in the other page, p50'),
  absolute('large-document', 'big.pace.localScreen', 30, 'ms', 1, 'Browser: keystroke to screen in a 200 KB document, p50'),
  absolute(
    'large-document',
    'small.pace.remoteScreen',
    15,
    'ms',
    1,
    "Browser: keystroke to the other page's screen at typing pace, p50",
  ),
]
