/**
 * How every Chorus server process is started: `npm start`, `npm run dev`, `npm run server`, the
 * tests that run it as a process and the benchmark all take their node arguments from here, so
 * what is measured is what runs.
 */
import { buildServer, builtEntry } from './build-server.mjs'

/**
 * V8 lets its young generation grow to 3 x 16 MiB under a burst of allocation (thousands of
 * documents opening) and keeps those pages: an idle server then holds ~10 MiB per thousand
 * connections that nothing uses. 4 MiB semi-spaces keep it at 12 MiB; the benchmark showed no
 * change in CPU time for the replay of a 260k-keystroke trace or the fan-out to 300 clients.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=4']

/**
 * The node arguments that run one of the server's entry points ('server/main.ts' or
 * 'server/standalone.ts') from its build (build-server.mjs), made first if the sources changed.
 * `sourceMaps` makes stack traces name the TypeScript files and lines.
 */
export async function serverNodeArgs(entry, { root, sourceMaps = false } = {}) {
  const dir = await buildServer({ root })
  return [...SERVER_NODE_FLAGS, ...(sourceMaps ? ['--enable-source-maps'] : []), builtEntry(dir, entry)]
}
