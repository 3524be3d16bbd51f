/**
 * Every setting of the server, parsed once from the environment into a typed object.
 * Nothing reads `process.env` at import time; entry points call `loadConfig()` and pass the
 * result down. Each setting is listed in the README's configuration table.
 */
import path from 'node:path'
import { isLogLevel, type LogLevel } from './logger.ts'

export interface ServerConfig {
  /** TCP port for the app and the sync endpoint. 0 picks a free port. */
  port: number
  /** Interface to bind; undefined means all interfaces, like `next start`. */
  host: string | undefined
  /** LevelDB folder. */
  dataDir: string
  logLevel: LogLevel
  /** How often every socket is pinged; a socket that missed the previous pong is dropped. */
  pingIntervalMs: number
  /** Largest WebSocket frame accepted; larger frames close the connection (code 1009). */
  maxMessageBytes: number
  /** The update log of a document is merged into its snapshot once it holds this many records… */
  compactAfterRecords: number
  /** …or once it holds more bytes than the snapshot itself (and at least this many). */
  compactMinLogBytes: number
}

export const DEFAULT_CONFIG: ServerConfig = {
  port: 3000,
  host: undefined,
  dataDir: path.resolve('data'),
  logLevel: 'info',
  pingIntervalMs: 30_000,
  maxMessageBytes: 16 * 1024 * 1024,
  compactAfterRecords: 500,
  compactMinLogBytes: 256 * 1024,
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`)
  }
  return value
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const logLevel = env.LOG_LEVEL?.trim() || DEFAULT_CONFIG.logLevel
  if (!isLogLevel(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, silent; got "${logLevel}"`)
  }
  const port = integer(env, 'PORT', DEFAULT_CONFIG.port, 0)
  if (port > 65535) throw new ConfigError(`PORT must be at most 65535, got ${port}`)
  return {
    port,
    host: env.HOST?.trim() || undefined,
    dataDir: path.resolve(env.DATA_DIR?.trim() || DEFAULT_CONFIG.dataDir),
    logLevel,
    pingIntervalMs: integer(env, 'PING_INTERVAL_MS', DEFAULT_CONFIG.pingIntervalMs, 100),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', DEFAULT_CONFIG.maxMessageBytes, 1024),
    compactAfterRecords: integer(env, 'COMPACT_AFTER_RECORDS', DEFAULT_CONFIG.compactAfterRecords, 1),
    compactMinLogBytes: integer(env, 'COMPACT_MIN_LOG_BYTES', DEFAULT_CONFIG.compactMinLogBytes, 0),
  }
}
