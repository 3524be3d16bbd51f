/**
 * Reads a Chorus /metrics answer (Prometheus text format) into samples a test can compare.
 */
export interface Scrape {
  status: number
  text: string
  /** `name{label="value",…}` (labels sorted) → value. */
  samples: Map<string, number>
}

export async function scrapeMetrics(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  const text = await response.text()
  return { status: response.status, text, samples: response.status === 200 ? parseSamples(text) : new Map() }
}

export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line)
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`)
    samples.set(sampleKey(match[1], parseLabels(match[2] ?? '')), Number(match[3]))
  }
  return samples
}

export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]] = match[2]
  return labels
}

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))
  return entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`
}

/** The sample's value; throws if the server does not export it (a renamed metric must fail loudly). */
export function sample(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const value = scrape.samples.get(sampleKey(name, labels))
  if (value === undefined) throw new Error(`no sample ${sampleKey(name, labels)} in /metrics`)
  return value
}

/** How much a sample grew between two scrapes. */
export function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return sample(after, name, labels) - sample(before, name, labels)
}
