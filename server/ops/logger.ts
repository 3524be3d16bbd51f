/**
 * A small structured logger: one line per event on stderr, either `time LEVEL message key=value…`
 * for people (pretty, the default) or one JSON object per line for log shippers (LOG_FORMAT=json).
 * Injected everywhere rather than imported as a global, so tests can silence or capture it.
 *
 * Why not pino: this is ~100 lines with no dependency, logging is off the hot path (per-message
 * events are throttled or at debug level, which costs one comparison), and what it must do beyond
 * writing lines (survive a closed stderr, see ignoreClosedOutput) we would have to add around
 * pino's own stream anyway. The measurements are in docs/metrics.md ("Logs").
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
export type LogFormat = 'pretty' | 'json'

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

export function isLogFormat(value: string): value is LogFormat {
  return value === 'pretty' || value === 'json'
}

/**
 * In JSON, the context keys every component uses get the names log shippers index on; the
 * pretty form keeps them short for people.
 */
const JSON_KEYS: Record<string, string> = { doc: 'document', conn: 'connection' }
/** The line's own keys: a field of the same name is kept beside them as `<name>_`. */
const RESERVED_KEYS = new Set(['time', 'level', 'message'])

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.stack ?? value.message)
  if (typeof value === 'string') return /^[\w./:@-]*$/.test(value) && value !== '' ? value : JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

/**
 * A class rather than closures: every connection holds a child logger, and an instance with
 * shared prototype methods costs a fraction of five fresh functions.
 */
class LineLogger implements Logger {
  constructor(
    private readonly threshold: number,
    private readonly write: (line: string) => void,
    private readonly context: LogFields,
    private readonly format: LogFormat,
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields)
  }
  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields)
  }
  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields)
  }
  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields)
  }
  child(fields: LogFields): Logger {
    return new LineLogger(this.threshold, this.write, { ...this.context, ...fields }, this.format)
  }

  private log(level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < this.threshold) return
    if (this.format === 'json') {
      this.write(jsonLine(level, message, { ...this.context, ...fields }))
      return
    }
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`
    for (const [key, value] of Object.entries({ ...this.context, ...fields })) {
      if (value !== undefined) line += ` ${key}=${formatValue(value)}`
    }
    this.write(line)
  }
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = writeToStderr,
  context: LogFields = {},
  format: LogFormat = 'pretty',
): Logger {
  return new LineLogger(LEVEL_RANK[level], write, context, format)
}

/** `{"time":…,"level":"info","message":…,"document":…,"connection":…,…fields}`; never throws. */
function jsonLine(level: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields): string {
  const entry: Record<string, unknown> = { time: new Date().toISOString(), level, message }
  for (const key in fields) {
    const value = fields[key]
    if (value === undefined) continue
    const name = JSON_KEYS[key] ?? key
    entry[RESERVED_KEYS.has(name) ? `${name}_` : name] = value instanceof Error ? errorFields(value) : value
  }
  try {
    // Without a replacer first: it makes JSON.stringify several times slower, and top-level
    // errors (the usual case) are converted above.
    return JSON.stringify(entry)
  } catch {
    try {
      return JSON.stringify(entry, (_key, value: unknown) =>
        value instanceof Error ? errorFields(value) : typeof value === 'bigint' ? value.toString() : value,
      )
    } catch {
      // A cycle: say so rather than lose the line.
      return JSON.stringify({ time: entry.time, level, message, logError: 'fields could not be serialised' })
    }
  }
}

function errorFields(error: Error): { type: string; message: string; stack: string | undefined } {
  return { type: error.name, message: error.message, stack: error.stack }
}

function writeToStderr(line: string): void {
  // Once the reader of our stderr is gone (a closed pipe, `| head`, a closed terminal), every
  // line would only fail again.
  if (!closedOutput.has(process.stderr)) process.stderr.write(`${line}\n`)
}

const closedOutput = new WeakSet<NodeJS.WritableStream>()

/**
 * Makes a closed stdout or stderr harmless. Without a listener, a write to a pipe whose reader has
 * gone (EPIPE; EIO for a closed terminal) is an uncaught exception: fatal for the sync server
 * alone, and with Next loaded, whose `uncaughtException` handler logs it to the same stderr, an
 * endless loop of failing writes at 100 % CPU. Node never really destroys these two streams, so
 * each later write would fail again; the logger stops writing to one that failed. The server goes
 * on serving and still stores everything on a signal.
 */
export function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    // Always our own listener: one found here may be temporary (stream.pipe() removes its own).
    stream.on('error', () => closedOutput.add(stream))
  }
}

export const silentLogger: Logger = createLogger('silent')
