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
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are passed on to the server, which stores everything and
 * exits (with TLS, SIGHUP reloads the certificate instead); this script then exits with its code. The server stays in our process group, so a
 * signal to the group reaches it as well (it takes the copies as one request), and it stops by
 * itself if this script dies without passing anything on (SIGKILL). Our exit means the server
 * is gone. package.json runs this script with `exec`, so that npm's own forwarding reaches us
 * rather than a shell that would die and leave us behind (the case of Docker's `npm start` as PID 1).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { buildIfStale, REPO_ROOT } from './build-if-stale.mjs'
import { serverNodeArgs } from './server-command.mjs'

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP']
const PARENT_CHECK_MS = 1000

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
let nodeArgs
try {
  nodeArgs = await serverNodeArgs(entry, { sourceMaps: dev })
} catch (error) {
  console.error(`start: could not build the server: ${error.message}`)
  process.exit(1)
}
const server = spawn(process.execPath, [...nodeArgs, ...args.filter((arg) => arg !== '--standalone')], {
  cwd: REPO_ROOT, // server/main.ts sets NODE_ENV=production itself when it is unset
  // The IPC channel carries no messages: its closing tells the server that we are gone.
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})

for (const signal of FORWARDED_SIGNALS) {
  process.on(signal, () => server.kill(signal))
}

// Our parent (npm, a shell, a supervisor) dying without signalling us would leave us and the
// server running unseen; go down with it. Linux only (/proc); elsewhere this check is skipped.
const parent = parentPid()
if (parent !== undefined) {
  const timer = setInterval(() => {
    if (parentPid() === parent) return
    clearInterval(timer)
    server.kill('SIGTERM')
  }, PARENT_CHECK_MS).unref()
}

server.on('error', (error) => {
  console.error(`start: could not run the server: ${error.message}`)
  process.exit(1)
})

server.on('exit', (code, signal) => {
  // Killed by a signal it did not handle: report it the way a shell would (128 + number).
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0))
})

/** process.ppid is fixed at start-up in Node 20; /proc says who the parent is now. */
function parentPid() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // "pid (command) state ppid …", and the command may itself contain ") ".
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}
