/**
 * What both entry points do as a process: read the config, start, print the ready line, and
 * stop gracefully on SIGTERM/SIGINT (a second signal exits at once).
 */
import { ConfigError, loadConfig } from './config.ts'
import { startServer, type StartOptions } from './http-server.ts'
import { createLogger } from './logger.ts'

export async function runServerProcess(next: StartOptions['next']): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`chorus: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const logger = createLogger(config.logLevel)
  const server = await startServer({ config, logger, next })
  // Tests and scripts wait for this exact line; keep its shape.
  process.stdout.write(`Chorus listening on ${server.url}\n`)
  logger.info('ready', { dataDir: config.dataDir, mode: next ? (next.dev ? 'dev' : 'production') : 'sync-only' })

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal, exiting now', { signal })
      process.exit(1)
    }
    stopping = true
    const started = performance.now()
    logger.info('stopping', { signal })
    server.close().then(
      () => {
        logger.info('stopped; everything stored', { ms: Math.round(performance.now() - started) })
        process.exit(0)
      },
      (error: unknown) => {
        logger.error('error while stopping', { error })
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
