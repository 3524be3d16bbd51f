/**
 * Every setting of the server, parsed once from the environment into a typed object.
 * Nothing reads `process.env` at import time; entry points call `loadConfig()` and pass the
 * result down. Each setting is listed in the README's configuration table.
 */
import path from 'node:path'
import { isLogFormat, isLogLevel, type LogFormat, type LogLevel } from './ops/logger.ts'

/** TLS_CERT_FILE and TLS_KEY_FILE, resolved. */
export interface TlsFiles {
  /** The certificate, followed by its intermediates (a "fullchain" file). */
  certFile: string
  keyFile: string
}
import { parseTrustProxy, TRUST_NOBODY, TrustProxyError, type TrustProxy } from './transport/client-address.ts'
import { readFileSync } from 'node:fs'
import { publicKeyAndAlgorithm, type TokenKey } from './access/token-keys.ts'

/** Sign-in and access (server/access/). Nothing set: the edit link is the key, as before. */
export interface AccessConfig {
  /** AUTH_JWT_SECRET (HS256) or AUTH_JWT_PUBLIC_KEY (EdDSA, RS256): apps' tokens for their users. */
  jwt: TokenKey | undefined
  /** OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: sign-in with an OpenID Connect provider. */
  oidc: { issuer: string; clientId: string; clientSecret: string } | undefined
  /** PUBLIC_URL: the address people open Chorus at (the provider redirects back to it). */
  publicUrl: string | undefined
  /** ALLOW_PUBLIC_LINKS: whether a document may be opened by anyone with its link, signed in or not. */
  allowPublicLinks: boolean
  /** SESSION_SECRET: signs session cookies; random per start when unset (restarts sign everyone out). */
  sessionSecret: string | undefined
}

export interface ServerConfig {
  /** TCP port for the app and the sync endpoint. 0 picks a free port. */
  port: number
  /** Interface to bind; undefined means all interfaces, like `next start`. */
  host: string | undefined
  /** Serve https and wss on that port with this certificate and key (PEM files); reloaded on SIGHUP. */
  tls: TlsFiles | undefined
  /** LevelDB folder (unused when databaseUrl is set). */
  dataDir: string
  /** PostgreSQL connection URL (postgres://…): documents are stored there instead of LevelDB. */
  databaseUrl: string | undefined
  logLevel: LogLevel
  /**
   * How often every socket is pinged; a socket that missed the previous pong is dropped and its
   * presence removed, so a vanished peer (a suspended laptop, a cut network) is gone for everyone
   * within one to two intervals. Browsers answer pings below the page, even while it is busy.
   */
  pingIntervalMs: number
  /** Largest WebSocket frame accepted; larger frames close the connection (code 1009). */
  maxMessageBytes: number
  /** Largest stored size of a document; past it, further edits are refused (reading still works). */
  maxDocumentBytes: number
  /** Most simultaneous connections to one document. */
  maxConnectionsPerDocument: number
  /** Most new connections from one address per minute (0 = no limit). */
  maxConnectionsPerAddressPerMinute: number
  /** Sustained messages per second per connection (token bucket; 0 = no limit)… */
  rateLimitMessagesPerSecond: number
  /** …and bytes per second per connection. Bursts of 10 s worth are allowed. */
  rateLimitBytesPerSecond: number
  /** How long a connection may stay over its rate (being slowed down) before it is closed. */
  rateLimitGraceMs: number
  /** A socket whose unsent data exceeds this is dropped rather than buffered in our memory. */
  maxBufferedBytes: number
  /**
   * Origins allowed to open WebSockets, besides the app's own (same host as the request).
   * '*' allows any. Requests without an Origin header (non-browser clients) are allowed.
   */
  allowedOrigins: string[]
  /** How long a synced write waits for others to share its fsync ("Saved" comes this much later). */
  commitDelayMs: number
  /** The update log of a document is merged into its snapshot once it holds this many records… */
  compactAfterRecords: number
  /** …or once it holds more bytes than the snapshot itself (and at least this many). */
  compactMinLogBytes: number
  /** An automatic version is made after this much quiet following an edit… */
  historyPauseMs: number
  /** …and at least this often while editing goes on. */
  historyMaxIntervalMs: number
  /**
   * Longest a graceful stop waits for storage (a full disk can make that forever); past it the
   * stop logs what it could not store and the process exits non-zero.
   */
  stopTimeoutMs: number
  // --- Operations (metrics, logs, deploys) ---
  /** 'pretty' (`time LEVEL message key=value…`) or 'json' (one object per line, for log shippers). */
  logFormat: LogFormat
  /** When set, /metrics answers only requests with `Authorization: Bearer <token>` (else 401). */
  metricsToken: string | undefined
  /** Serve /metrics on this port of its own instead of the main one; 0 = on the main port. */
  metricsPort: number
  /**
   * After SIGTERM, how long the server goes on serving (readiness already 503) so that a load
   * balancer stops sending it new connections, before it closes the sockets with 1012 and stores
   * everything. A second signal ends the wait early; it never cuts the storing short.
   */
  drainSeconds: number

  // --- Behind a proxy, slow clients ---
  /**
   * Which peers may say who the client is (TRUST_PROXY, TRUST_PROXY_HEADER): nobody by default,
   * so limits and logs use the socket's address. See transport/client-address.ts.
   */
  trustProxy: TrustProxy
  /** Longest a client may take to send a request's headers (slowloris). */
  httpHeadersTimeoutMs: number
  /** Longest a client may take to send a whole request, body included (trickled bodies). */
  httpRequestTimeoutMs: number
  /** How long an idle keep-alive connection is kept; behind a proxy, above the proxy's own idle timeout. */
  httpKeepAliveTimeoutMs: number
  /** A WebSocket that sends nothing this long after the upgrade is closed (every real client speaks at once). */
  firstMessageTimeoutMs: number

  // --- Scale-out (with databaseUrl above, the shared store) ---
  /** Redis (`redis://…`, `rediss://…`): carries updates and presence between instances (REDIS_URL). */
  redisUrl: string | undefined
  /**
   * REDIS_CLUSTER=true: REDIS_URL names one or more seed nodes (comma-separated) of a Redis
   * Cluster, and channels use sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7).
   */
  redisCluster: boolean

  // --- Sign-in and access ---
  access: AccessConfig
}

export const DEFAULT_CONFIG: ServerConfig = {
  port: 3000,
  host: undefined,
  tls: undefined,
  dataDir: path.resolve('data'),
  databaseUrl: undefined,
  logLevel: 'info',
  pingIntervalMs: 5_000,
  maxMessageBytes: 1024 * 1024,
  maxDocumentBytes: 64 * 1024 * 1024,
  maxConnectionsPerDocument: 1000,
  maxConnectionsPerAddressPerMinute: 600,
  rateLimitMessagesPerSecond: 300,
  rateLimitBytesPerSecond: 1024 * 1024,
  rateLimitGraceMs: 10_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  allowedOrigins: [],
  commitDelayMs: 50,
  compactAfterRecords: 500,
  compactMinLogBytes: 256 * 1024,
  historyPauseMs: 120_000,
  historyMaxIntervalMs: 30 * 60_000,
  stopTimeoutMs: 10_000,
  logFormat: 'pretty',
  metricsToken: undefined,
  metricsPort: 0,
  // One instance with nobody to take its clients over gains nothing from waiting: it would only
  // be down for longer. Set it when a load balancer or orchestrator routes by readiness.
  drainSeconds: 0,
  trustProxy: TRUST_NOBODY,
  httpHeadersTimeoutMs: 20_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
  firstMessageTimeoutMs: 10_000,
  redisUrl: undefined,
  redisCluster: false,
  access: { jwt: undefined, oidc: undefined, publicUrl: undefined, allowPublicLinks: true, sessionSecret: undefined },
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number, min: number): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`)
  }
  return value
}

function tlsFiles(env: Record<string, string | undefined>): TlsFiles | undefined {
  const certFile = env.TLS_CERT_FILE?.trim()
  const keyFile = env.TLS_KEY_FILE?.trim()
  if (!certFile && !keyFile) return undefined
  // Half a TLS setup must not quietly serve plain http.
  if (!certFile) throw new ConfigError('TLS_KEY_FILE is set but TLS_CERT_FILE is not; set both (https) or neither (http)')
  if (!keyFile) throw new ConfigError('TLS_CERT_FILE is set but TLS_KEY_FILE is not; set both (https) or neither (http)')
  return { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) }
}

function databaseUrl(env: Record<string, string | undefined>): string | undefined {
  const raw = env.DATABASE_URL?.trim()
  if (!raw) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('DATABASE_URL must be a URL like postgres://user:password@host:5432/database')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got ${url.protocol}//`)
  }
  return raw
}

export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const logLevel = env.LOG_LEVEL?.trim() || DEFAULT_CONFIG.logLevel
  if (!isLogLevel(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, silent; got "${logLevel}"`)
  }
  const port = integer(env, 'PORT', DEFAULT_CONFIG.port, 0)
  if (port > 65535) throw new ConfigError(`PORT must be at most 65535, got ${port}`)
  const logFormat = env.LOG_FORMAT?.trim() || DEFAULT_CONFIG.logFormat
  if (!isLogFormat(logFormat)) throw new ConfigError(`LOG_FORMAT must be pretty or json; got "${logFormat}"`)
  const metricsPort = integer(env, 'METRICS_PORT', DEFAULT_CONFIG.metricsPort, 0)
  if (metricsPort > 65535) throw new ConfigError(`METRICS_PORT must be at most 65535, got ${metricsPort}`)
  if (metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError(`METRICS_PORT must differ from PORT (${port}); leave it unset to serve /metrics on PORT`)
  }
  const edge = loadEdgeConfig(env)
  const database = databaseUrl(env)
  return {
    port,
    host: env.HOST?.trim() || undefined,
    tls: tlsFiles(env),
    dataDir: path.resolve(env.DATA_DIR?.trim() || DEFAULT_CONFIG.dataDir),
    databaseUrl: database,
    logLevel,
    pingIntervalMs: integer(env, 'PING_INTERVAL_MS', DEFAULT_CONFIG.pingIntervalMs, 100),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', DEFAULT_CONFIG.maxMessageBytes, 1024),
    maxDocumentBytes: integer(env, 'MAX_DOCUMENT_BYTES', DEFAULT_CONFIG.maxDocumentBytes, 1024),
    maxConnectionsPerDocument: integer(env, 'MAX_CONNECTIONS_PER_DOCUMENT', DEFAULT_CONFIG.maxConnectionsPerDocument, 1),
    maxConnectionsPerAddressPerMinute: integer(
      env,
      'MAX_CONNECTIONS_PER_ADDRESS_PER_MINUTE',
      DEFAULT_CONFIG.maxConnectionsPerAddressPerMinute,
      0,
    ),
    rateLimitMessagesPerSecond: integer(env, 'RATE_LIMIT_MESSAGES_PER_SECOND', DEFAULT_CONFIG.rateLimitMessagesPerSecond, 0),
    rateLimitBytesPerSecond: integer(env, 'RATE_LIMIT_BYTES_PER_SECOND', DEFAULT_CONFIG.rateLimitBytesPerSecond, 0),
    rateLimitGraceMs: integer(env, 'RATE_LIMIT_GRACE_MS', DEFAULT_CONFIG.rateLimitGraceMs, 0),
    maxBufferedBytes: integer(env, 'MAX_BUFFERED_BYTES', DEFAULT_CONFIG.maxBufferedBytes, 1024),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
    commitDelayMs: integer(env, 'COMMIT_DELAY_MS', DEFAULT_CONFIG.commitDelayMs, 0),
    compactAfterRecords: integer(env, 'COMPACT_AFTER_RECORDS', DEFAULT_CONFIG.compactAfterRecords, 1),
    compactMinLogBytes: integer(env, 'COMPACT_MIN_LOG_BYTES', DEFAULT_CONFIG.compactMinLogBytes, 0),
    historyPauseMs: integer(env, 'HISTORY_PAUSE_MS', DEFAULT_CONFIG.historyPauseMs, 100),
    historyMaxIntervalMs: integer(env, 'HISTORY_MAX_INTERVAL_MS', DEFAULT_CONFIG.historyMaxIntervalMs, 100),
    stopTimeoutMs: integer(env, 'STOP_TIMEOUT_MS', DEFAULT_CONFIG.stopTimeoutMs, 100),
    logFormat,
    metricsToken: env.METRICS_TOKEN?.trim() || undefined,
    metricsPort,
    drainSeconds: integer(env, 'DRAIN_SECONDS', DEFAULT_CONFIG.drainSeconds, 0),
    ...edge,
    ...redisSettings(env, database),
    access: loadAccessConfig(env),
  }
}

/** HS256 secrets shorter than this are guessable offline from one token. */
const MIN_SECRET_LENGTH = 32

function loadAccessConfig(env: Record<string, string | undefined>): AccessConfig {
  const secret = env.AUTH_JWT_SECRET?.trim() || undefined
  const publicKey = env.AUTH_JWT_PUBLIC_KEY?.trim() || undefined
  if (secret && publicKey) throw new ConfigError('set AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, not both')
  if (secret && secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -base64 32)`)
  }
  let jwt: TokenKey | undefined = secret ? { kind: 'secret', secret } : undefined
  if (publicKey) {
    // The PEM itself (newlines may be written as \n in env files), or the path of a file holding it.
    let pem = publicKey.replace(/\\n/g, '\n')
    if (!pem.startsWith('-----BEGIN')) {
      try {
        pem = readFileSync(path.resolve(publicKey), 'utf8')
      } catch (error) {
        throw new ConfigError(`AUTH_JWT_PUBLIC_KEY: not a PEM key, nor a readable file (${(error as Error).message})`)
      }
    }
    jwt = { kind: 'public-key', pem }
  }
  if (jwt?.kind === 'public-key') {
    try {
      publicKeyAndAlgorithm(jwt.pem)
    } catch (error) {
      throw new ConfigError(`AUTH_JWT_PUBLIC_KEY: ${(error as Error).message}`)
    }
  }
  const issuer = env.OIDC_ISSUER?.trim() || undefined
  const clientId = env.OIDC_CLIENT_ID?.trim() || undefined
  const clientSecret = env.OIDC_CLIENT_SECRET?.trim() || undefined
  const publicUrl = env.PUBLIC_URL?.trim().replace(/\/+$/, '') || undefined
  if (publicUrl && !/^https?:\/\/[^/]/.test(publicUrl)) {
    throw new ConfigError(`PUBLIC_URL must be an http(s) address like https://chorus.example.com, got "${publicUrl}"`)
  }
  let oidc: AccessConfig['oidc']
  if (issuer || clientId || clientSecret) {
    // Half a sign-in setup must not quietly leave every document open.
    const missing = [
      ['OIDC_ISSUER', issuer],
      ['OIDC_CLIENT_ID', clientId],
      ['OIDC_CLIENT_SECRET', clientSecret],
      ['PUBLIC_URL', publicUrl],
    ]
      .filter(([, value]) => !value)
      .map(([name]) => name)
    if (missing.length > 0) throw new ConfigError(`sign-in needs ${missing.join(', ')} too`)
    if (!/^https?:\/\//.test(issuer!)) throw new ConfigError(`OIDC_ISSUER must be an http(s) URL, got "${issuer}"`)
    oidc = { issuer: issuer!, clientId: clientId!, clientSecret: clientSecret! }
  }
  const allowRaw = env.ALLOW_PUBLIC_LINKS?.trim().toLowerCase()
  if (allowRaw && allowRaw !== 'true' && allowRaw !== 'false') {
    throw new ConfigError(`ALLOW_PUBLIC_LINKS must be true or false, got "${env.ALLOW_PUBLIC_LINKS}"`)
  }
  const sessionSecret = env.SESSION_SECRET?.trim() || undefined
  if (sessionSecret && sessionSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`SESSION_SECRET must be at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -base64 32)`)
  }
  return { jwt, oidc, publicUrl, allowPublicLinks: allowRaw !== 'false', sessionSecret }
}

/** The message a cluster on the embedded store stops with (one line, exit 2). */
export const REDIS_NEEDS_SHARED_STORE =
  'REDIS_URL needs a shared store (DATABASE_URL): the embedded LevelDB belongs to one instance and cannot be shared, so instances connected through Redis would each serve their own copy of every document'

/** REDIS_URL and REDIS_CLUSTER. */
function redisSettings(
  env: Record<string, string | undefined>,
  databaseUrl: string | undefined,
): Pick<ServerConfig, 'redisUrl' | 'redisCluster'> {
  const flag = env.REDIS_CLUSTER?.trim().toLowerCase() || 'false'
  if (flag !== 'true' && flag !== 'false')
    throw new ConfigError(`REDIS_CLUSTER must be true or false, got "${env.REDIS_CLUSTER}"`)
  if (flag === 'false') return { redisUrl: redisUrl(env, databaseUrl), redisCluster: false }
  const seeds = (env.REDIS_URL ?? '')
    .split(',')
    .map((seed) => seed.trim())
    .filter((seed) => seed !== '')
  if (seeds.length === 0)
    throw new ConfigError("REDIS_CLUSTER=true needs REDIS_URL: one or more of the cluster's nodes, comma-separated")
  for (const seed of seeds) {
    // A cluster has database 0 only; a /db would be silently ignored.
    if (!/^rediss?:\/\/[^/,]+\/?$/.test(seed)) {
      throw new ConfigError(
        `with REDIS_CLUSTER=true, REDIS_URL must be redis://host:port[,redis://host:port…] (no /db), got "${seed}"`,
      )
    }
  }
  if (databaseUrl === undefined) throw new ConfigError(REDIS_NEEDS_SHARED_STORE)
  return { redisUrl: seeds.join(','), redisCluster: true }
}

/** REDIS_URL: several instances serving the same documents, which needs a shared store. */
function redisUrl(env: Record<string, string | undefined>, databaseUrl: string | undefined): string | undefined {
  const redisUrl = env.REDIS_URL?.trim() || undefined
  if (redisUrl !== undefined && !/^rediss?:\/\/[^/]/.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must be redis://host[:port][/db] or rediss://…, got "${redisUrl}"`)
  }
  if (redisUrl !== undefined && databaseUrl === undefined) throw new ConfigError(REDIS_NEEDS_SHARED_STORE)
  return redisUrl
}

type EdgeConfig = Pick<
  ServerConfig,
  'trustProxy' | 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs' | 'httpKeepAliveTimeoutMs' | 'firstMessageTimeoutMs'
>

/** The settings of the network edge: proxies in front, and clients too slow to be honest. */
function loadEdgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  const header = (env.TRUST_PROXY_HEADER?.trim() || 'x-forwarded-for').toLowerCase()
  if (header !== 'x-forwarded-for' && header !== 'forwarded') {
    throw new ConfigError(`TRUST_PROXY_HEADER must be x-forwarded-for or forwarded, got "${env.TRUST_PROXY_HEADER}"`)
  }
  let trustProxy: TrustProxy
  try {
    trustProxy = parseTrustProxy(env.TRUST_PROXY, header)
  } catch (error) {
    if (error instanceof TrustProxyError) throw new ConfigError(`TRUST_PROXY: ${error.message}`)
    throw error
  }
  const httpHeadersTimeoutMs = integer(env, 'HTTP_HEADERS_TIMEOUT_MS', DEFAULT_CONFIG.httpHeadersTimeoutMs, 100)
  const httpRequestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', DEFAULT_CONFIG.httpRequestTimeoutMs, 100)
  // Node refuses to start otherwise: the headers are part of the request.
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    throw new ConfigError(
      `HTTP_HEADERS_TIMEOUT_MS (${httpHeadersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${httpRequestTimeoutMs})`,
    )
  }
  return {
    trustProxy,
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    httpKeepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', DEFAULT_CONFIG.httpKeepAliveTimeoutMs, 100),
    firstMessageTimeoutMs: integer(env, 'FIRST_MESSAGE_TIMEOUT_MS', DEFAULT_CONFIG.firstMessageTimeoutMs, 100),
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'postgres://…'
  }
}
