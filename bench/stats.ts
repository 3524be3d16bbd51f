/**
 * Percentiles and medians. Percentiles use the nearest-rank method on a sorted copy, so a p99 is
 * always a latency that was actually observed, never an interpolation between two.
 */

/** Sorts a copy ascending (numeric, not lexicographic). */
export function sorted(values: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(values as ArrayLike<number>)
  copy.sort()
  return copy
}

/** Nearest-rank percentile of an ascending array; NaN when empty. `p` in 0..100. */
export function percentile(ascending: ArrayLike<number>, p: number): number {
  const n = ascending.length
  if (n === 0) return NaN
  const rank = Math.ceil((p / 100) * n)
  return ascending[Math.min(n - 1, Math.max(0, rank - 1))]
}

export interface Distribution {
  count: number
  p50: number
  p99: number
  max: number
  mean: number
}

export function distribution(values: ArrayLike<number>): Distribution {
  const s = sorted(values)
  let sum = 0
  for (let i = 0; i < s.length; i++) sum += s[i]
  return {
    count: s.length,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? sum / s.length : NaN,
  }
}

/** Median of the finite values; null when there are none (a metric that did not apply or failed). */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (finite.length === 0) return null
  finite.sort((a, b) => a - b)
  const mid = finite.length >> 1
  return finite.length % 2 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2
}

/** Smallest and largest finite value, to show the spread of the repeats next to their median. */
export function range(values: readonly (number | null | undefined)[]): [number, number] | null {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (finite.length === 0) return null
  return [Math.min(...finite), Math.max(...finite)]
}
