/**
 * A small structured logger: one line per event on stderr, `time level message key=value…`.
 * Injected everywhere rather than imported as a global, so tests can silence or capture it.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line, e.g. `{ doc, conn }`. */
  child(fields: LogFields): Logger
}

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVEL_RANK
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.stack ?? value.message)
  if (typeof value === 'string') return /^[\w./:@-]*$/.test(value) && value !== '' ? value : JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  context: LogFields = {},
): Logger {
  const threshold = LEVEL_RANK[level]
  const log = (lineLevel: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (LEVEL_RANK[lineLevel] < threshold) return
    let line = `${new Date().toISOString()} ${lineLevel.toUpperCase().padEnd(5)} ${message}`
    for (const [key, value] of Object.entries({ ...context, ...fields })) {
      if (value !== undefined) line += ` ${key}=${formatValue(value)}`
    }
    write(line)
  }
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(level, write, { ...context, ...fields }),
  }
}

export const silentLogger: Logger = createLogger('silent')
