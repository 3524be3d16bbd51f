/** Where things are, relative to this checkout. */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Real editing traces live beside the checkout, never inside it (they may not be redistributed
 * with the project; see their README). Everything that uses them falls back to generated data.
 */
export function tracesDir(): string {
  // BENCH_TRACES_DIR points elsewhere (e.g. a missing folder, to try the generated fallback).
  return resolve(REPO_ROOT, process.env.BENCH_TRACES_DIR ?? join('..', 'shared', 'data', 'editing-traces'))
}

/** Raw per-run results (git-ignored), written as the run goes so a crash loses nothing done. */
export const RESULTS_DIR = resolve(REPO_ROOT, 'bench', 'results')
