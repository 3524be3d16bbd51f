/**
 * What both entry points do as a process: read the config, check DATA_DIR, start, print the ready
 * line, and stop gracefully on SIGTERM/SIGINT/SIGHUP (SIGHUP reloads the certificate instead with
 * TLS) or when the start script that ran us dies.
 * A failed start prints one line `chorus: …` and exits with the code startup-failure.ts documents.
 */
import { ConfigError, loadConfig } from './config.ts'
import { startServer, type RunningServer, type StartOptions } from './compose.ts'
import { createLogger, ignoreClosedOutput } from './ops/logger.ts'
import { describeStartupFailure, EXIT_CONFIG, EXIT_FAILED, prepareDataDir, showPath, type StartupFailure } from './ops/startup-failure.ts'

/**
 * A signal sent to a process group reaches us directly and again through the start script (and
 * npm, which forwards it too): copies this close together are one request to stop, not the
 * impatient second one that means "exit now".
 */
const SAME_REQUEST_MS = 1000

export async function runServerProcess(next: StartOptions['next']): Promise<void> {
  ignoreClosedOutput()
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) exitWith({ message: error.message, exitCode: EXIT_CONFIG })
    throw error
  }
  const logger = createLogger(config.logLevel)
  let server: RunningServer
  try {
    const { created } = await prepareDataDir(config.dataDir)
    if (created) logger.info('no store in DATA_DIR yet; creating a new, empty one', { dataDir: showPath(config.dataDir) })
    server = await startServer({ config, logger, next })
  } catch (error) {
    const failure = describeStartupFailure(error, config)
    // The one line names the problem; a developer chasing an unforeseen one gets the stack too.
    if (failure.exitCode === EXIT_FAILED) logger.debug('startup failed', { error })
    exitWith(failure)
  }
  // Tests and scripts wait for this exact line; keep its shape.
  process.stdout.write(`Chorus listening on ${server.url}\n`)
  logger.info('ready', {
    dataDir: config.dataDir,
    mode: next ? (next.dev ? 'dev' : 'production') : 'sync-only',
    pid: process.pid,
  })

  let stoppingSince: number | undefined
  const stop = (reason: string) => {
    if (stoppingSince !== undefined) {
      if (performance.now() - stoppingSince < SAME_REQUEST_MS) return
      logger.warn('second signal, exiting now', { reason })
      process.exit(1)
    }
    stoppingSince = performance.now()
    logger.info('stopping', { reason })
    server.close().then(
      () => {
        logger.info('stopped; everything stored', { ms: Math.round(performance.now() - stoppingSince!) })
        process.exit(0)
      },
      (error: unknown) => {
        logger.error('error while stopping', { error })
        process.exit(1)
      },
    )
  }
  // ── TLS reload (SIGHUP) ──
  // With TLS, SIGHUP reloads the certificate and key, as it does for nginx, so that a renewed
  // certificate is served without a restart; the outcome is logged by the reload itself.
  // Without TLS it stops the server as it always has (a closed terminal).
  const { reloadTls } = server
  if (reloadTls) process.on('SIGHUP', () => void reloadTls())
  const stopSignals = reloadTls ? (['SIGTERM', 'SIGINT'] as const) : (['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
  // ── end TLS reload ──
  for (const signal of stopSignals) process.on(signal, () => stop(signal))
  // scripts/start.mjs gives us an IPC channel only to learn of its death: if it is killed
  // outright (SIGKILL, a crash), nobody would forward a signal to us any more, and we would hold
  // the port and the store's lock forever as an orphan.
  if (process.channel) {
    if (process.connected) process.on('disconnect', () => stop('start script exited'))
    else stop('start script exited')
  }
}

function exitWith(failure: Pick<StartupFailure, 'message' | 'exitCode'>): never {
  process.stderr.write(`chorus: ${failure.message}\n`)
  process.exit(failure.exitCode)
}
