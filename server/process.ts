/**
 * What both entry points do as a process: read the config, check DATA_DIR, start, print the ready
 * line, and stop gracefully (draining first, see ops/graceful-stop.ts) on SIGTERM/SIGINT/SIGHUP
 * (SIGHUP reloads the certificate instead with TLS) or when the start script that ran us dies.
 * A failed start prints one line `chorus: …` and exits with the code startup-failure.ts documents.
 */
import { ConfigError, loadConfig, redactUrl, type ServerConfig } from './config.ts'
import { startServer, type RunningServer, type StartOptions } from './compose.ts'
import { GracefulStop } from './ops/graceful-stop.ts'
import { createLogger, ignoreClosedOutput } from './ops/logger.ts'
import {
  describeStartupFailure,
  EXIT_CONFIG,
  EXIT_FAILED,
  prepareDataDir,
  showPath,
  type StartupFailure,
} from './ops/startup-failure.ts'

export async function runServerProcess(next: StartOptions['next']): Promise<void> {
  ignoreClosedOutput()
  let config: ServerConfig
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) exitWith({ message: error.message, exitCode: EXIT_CONFIG })
    throw error
  }
  const logger = createLogger(config.logLevel, undefined, {}, config.logFormat)
  let server: RunningServer
  try {
    // With DATABASE_URL, DATA_DIR is not used: no folder is created for it.
    if (!config.databaseUrl) {
      const { created } = await prepareDataDir(config.dataDir)
      if (created) logger.info('no store in DATA_DIR yet; creating a new, empty one', { dataDir: showPath(config.dataDir) })
    }
    server = await startServer({ config, logger, next })
  } catch (error) {
    const failure = describeStartupFailure(error, config)
    // The one line names the problem; a developer chasing an unforeseen one gets the stack too.
    if (failure.exitCode === EXIT_FAILED) logger.debug('startup failed', { error })
    exitWith(failure)
  }
  // Drain, then store everything and exit; a second signal skips the rest of the drain (graceful-stop.ts).
  const graceful = new GracefulStop(server, config.drainSeconds * 1000, logger)
  const stop = (reason: string, options?: { drain: boolean }) => graceful.request(reason, options)
  // With TLS, SIGHUP reloads the certificate and key, as it does for nginx, so that a renewed
  // certificate is served without a restart; the outcome is logged by the reload itself.
  // Without TLS it stops the server as it always has (a closed terminal).
  const { reloadTls } = server
  if (reloadTls) process.on('SIGHUP', () => void reloadTls())
  const stopSignals = reloadTls ? (['SIGTERM', 'SIGINT'] as const) : (['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
  for (const signal of stopSignals) process.on(signal, () => stop(signal))
  // Only now the ready line: whoever waits for it may signal us at once, and a signal that came
  // before the handlers would kill the process without storing anything.
  // Tests and scripts wait for this exact line; keep its shape.
  process.stdout.write(`Chorus listening on ${server.url}\n`)
  logger.info('ready', {
    ...(config.databaseUrl ? { database: redactUrl(config.databaseUrl) } : { dataDir: config.dataDir }),
    mode: next ? (next.dev ? 'dev' : 'production') : 'sync-only',
    pid: process.pid,
    metricsPort: server.metricsPort !== server.port ? server.metricsPort : undefined,
  })

  // scripts/start.mjs gives us an IPC channel only to learn of its death: if it is killed
  // outright (SIGKILL, a crash), nobody would forward a signal to us any more, and we would hold
  // the port and the store's lock forever as an orphan.
  if (process.channel) {
    if (process.connected) process.on('disconnect', () => stop('start script exited', { drain: false }))
    else stop('start script exited', { drain: false })
  }
}

function exitWith(failure: Pick<StartupFailure, 'message' | 'exitCode'>): never {
  process.stderr.write(`chorus: ${failure.message}\n`)
  process.exit(failure.exitCode)
}
