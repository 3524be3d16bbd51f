#!/usr/bin/env node
/**
 * Runs a Chorus server process with the node arguments of server-command.mjs:
 *
 *   node scripts/start.mjs               `npm start`: build the front end if stale, then the app
 *                                        (Next and the sync server) in production mode
 *   node scripts/start.mjs --dev         `npm run dev`: the app with hot reload, no build
 *   node scripts/start.mjs --standalone  `npm run server`: the sync server alone
 *
 * Env: PORT (default 3000), HOST, DATA_DIR (default ./data) are read by the server itself.
 * Other arguments are passed on to it.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { buildIfStale, REPO_ROOT } from './build-if-stale.mjs'
import { serverNodeArgs } from './server-command.mjs'

const args = process.argv.slice(2)
const standalone = args.includes('--standalone')
const dev = args.includes('--dev')

if (!standalone && !dev) {
  try {
    await buildIfStale({ root: REPO_ROOT })
  } catch (error) {
    console.error(`start: ${error.message}`)
    process.exit(1)
  }
}

const entry = standalone ? 'server/standalone.ts' : 'server/main.ts'
const server = spawn(process.execPath, [...serverNodeArgs(entry), ...args.filter((arg) => arg !== '--standalone')], {
  cwd: REPO_ROOT, // server/main.ts sets NODE_ENV=production itself when it is unset
  // Own process group: Ctrl-C in a terminal signals the whole foreground group, so without this
  // the server would get SIGINT twice (from the terminal and from us below) and a second SIGINT
  // commonly means "stop waiting for a clean shutdown".
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit'],
})

// Forward exactly once, to the server's whole group, so nothing it started outlives it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    try {
      process.kill(-server.pid, signal)
    } catch {
      // already gone; its exit handler below ends this process
    }
  })
}

server.on('error', (error) => {
  console.error(`start: could not run the server: ${error.message}`)
  process.exit(1)
})

server.on('exit', (code, signal) => {
  // Killed by a signal it did not handle: report it the way a shell would (128 + number).
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0))
})
