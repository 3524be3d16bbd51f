import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError, DEFAULT_CONFIG, loadConfig } from '../../server/config.ts'

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    assert.deepEqual(loadConfig({}), DEFAULT_CONFIG)
    assert.equal(DEFAULT_CONFIG.port, 3000)
    assert.equal(DEFAULT_CONFIG.dataDir, path.resolve('data'))
  })

  it('reads and resolves settings', () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'x/y', LOG_LEVEL: 'warn', PING_INTERVAL_MS: '500' })
    assert.equal(config.port, 0)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.dataDir, path.resolve('x/y'))
    assert.equal(config.logLevel, 'warn')
    assert.equal(config.pingIntervalMs, 500)
  })

  it('reads DATABASE_URL (unset: LevelDB) and refuses what is not a postgres:// URL', () => {
    assert.equal(DEFAULT_CONFIG.databaseUrl, undefined)
    assert.equal(loadConfig({ DATABASE_URL: ' ' }).databaseUrl, undefined)
    const url = 'postgres://chorus:pw@db.example:5432/chorus?sslmode=require'
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url)
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://db/chorus' }).databaseUrl, 'postgresql://db/chorus')
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://db/chorus' }), /DATABASE_URL must start with postgres:\/\//)
    assert.throws(() => loadConfig({ DATABASE_URL: 'not a url' }), /DATABASE_URL must be a URL/)
  })

  it('names the setting when a value is invalid', () => {
    assert.throws(
      () => loadConfig({ PORT: 'abc' }),
      (error: Error) => error instanceof ConfigError && /PORT/.test(error.message),
    )
    assert.throws(() => loadConfig({ PORT: '70000' }), /PORT/)
    assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/)
    assert.throws(() => loadConfig({ PING_INTERVAL_MS: '5' }), /PING_INTERVAL_MS/)
  })

  it('reads STOP_TIMEOUT_MS, default 10 s, and refuses values too short to store anything', () => {
    assert.equal(DEFAULT_CONFIG.stopTimeoutMs, 10_000)
    assert.equal(loadConfig({ STOP_TIMEOUT_MS: '2500' }).stopTimeoutMs, 2500)
    assert.throws(() => loadConfig({ STOP_TIMEOUT_MS: '50' }), /STOP_TIMEOUT_MS must be an integer >= 100/)
    assert.throws(() => loadConfig({ STOP_TIMEOUT_MS: '1.5s' }), /STOP_TIMEOUT_MS/)
  })

  it('reads the operations settings: LOG_FORMAT, METRICS_TOKEN, METRICS_PORT, DRAIN_SECONDS', () => {
    assert.equal(DEFAULT_CONFIG.logFormat, 'pretty')
    assert.equal(DEFAULT_CONFIG.metricsToken, undefined)
    assert.equal(DEFAULT_CONFIG.metricsPort, 0)
    assert.equal(DEFAULT_CONFIG.drainSeconds, 0)
    const config = loadConfig({ LOG_FORMAT: 'json', METRICS_TOKEN: ' s3cret ', METRICS_PORT: '9464', DRAIN_SECONDS: '15' })
    assert.equal(config.logFormat, 'json')
    assert.equal(config.metricsToken, 's3cret')
    assert.equal(config.metricsPort, 9464)
    assert.equal(config.drainSeconds, 15)
    assert.equal(loadConfig({ METRICS_TOKEN: '  ' }).metricsToken, undefined)
    assert.throws(() => loadConfig({ LOG_FORMAT: 'xml' }), /LOG_FORMAT must be pretty or json/)
    assert.throws(() => loadConfig({ METRICS_PORT: '70000' }), /METRICS_PORT/)
    assert.throws(() => loadConfig({ PORT: '4000', METRICS_PORT: '4000' }), /METRICS_PORT must differ from PORT/)
    assert.throws(() => loadConfig({ DRAIN_SECONDS: '-1' }), /DRAIN_SECONDS/)
  })
})

describe('loadConfig: proxies and slow clients', () => {
  it('trusts no proxy by default and reads TRUST_PROXY as hops or addresses', () => {
    assert.deepEqual(loadConfig({}).trustProxy, { kind: 'off' })
    assert.deepEqual(loadConfig({ TRUST_PROXY: '1' }).trustProxy, { kind: 'hops', hops: 1, header: 'x-forwarded-for' })
    const trust = loadConfig({ TRUST_PROXY: '10.0.0.0/8,::1', TRUST_PROXY_HEADER: 'Forwarded' }).trustProxy
    assert.equal(trust.kind === 'ranges' && trust.header, 'forwarded')
  })

  it('names TRUST_PROXY and the bad part when it cannot be used', () => {
    assert.throws(
      () => loadConfig({ TRUST_PROXY: '10.0.0.0/8,proxy' }),
      (error: Error) => error instanceof ConfigError && /^TRUST_PROXY: "proxy" is neither/.test(error.message),
    )
    assert.throws(() => loadConfig({ TRUST_PROXY: 'true' }), /TRUST_PROXY: "true" would let any client choose/)
    assert.throws(() => loadConfig({ TRUST_PROXY: '1', TRUST_PROXY_HEADER: 'x-real-ip' }), /TRUST_PROXY_HEADER must be/)
  })

  it('reads the HTTP and first-message timeouts, and refuses a headers timeout above the request timeout', () => {
    const config = loadConfig({
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
      FIRST_MESSAGE_TIMEOUT_MS: '500',
    })
    assert.deepEqual(
      [config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs, config.httpKeepAliveTimeoutMs, config.firstMessageTimeoutMs],
      [1000, 2000, 65000, 500],
    )
    assert.throws(
      () => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '40000' }),
      /HTTP_HEADERS_TIMEOUT_MS \(40000\) must not exceed HTTP_REQUEST_TIMEOUT_MS/,
    )
    assert.throws(() => loadConfig({ FIRST_MESSAGE_TIMEOUT_MS: '10' }), /FIRST_MESSAGE_TIMEOUT_MS/)
  })
})

describe('loadConfig: scale-out', () => {
  it('reads DATABASE_URL and REDIS_URL, neither by default', () => {
    assert.equal(DEFAULT_CONFIG.redisUrl, undefined)
    assert.equal(DEFAULT_CONFIG.databaseUrl, undefined)
    const config = loadConfig({ DATABASE_URL: 'postgres://db/chorus', REDIS_URL: 'redis://cache:6379' })
    assert.equal(config.databaseUrl, 'postgres://db/chorus')
    assert.equal(config.redisUrl, 'redis://cache:6379')
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/chorus' }).redisUrl, undefined)
  })

  it('refuses REDIS_URL without a shared store, saying why, and a REDIS_URL that is not one', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'redis://cache:6379' }),
      (error: Error) =>
        error instanceof ConfigError &&
        error.message.startsWith('REDIS_URL needs a shared store (DATABASE_URL)') &&
        error.message.includes('cannot be shared') &&
        !error.message.includes('\n'),
    )
    assert.throws(
      () => loadConfig({ REDIS_URL: 'cache:6379', DATABASE_URL: 'postgres://db/chorus' }),
      /REDIS_URL must be redis:\/\//,
    )
  })

  it('reads REDIS_CLUSTER: one or more seed nodes in REDIS_URL, off by default', () => {
    const database = { DATABASE_URL: 'postgres://db/chorus' }
    assert.equal(DEFAULT_CONFIG.redisCluster, false)
    assert.equal(loadConfig({ ...database, REDIS_URL: 'redis://cache:6379' }).redisCluster, false)
    const one = loadConfig({ ...database, REDIS_URL: 'redis://node-1:6379', REDIS_CLUSTER: 'true' })
    assert.deepEqual([one.redisUrl, one.redisCluster], ['redis://node-1:6379', true])
    const seeds = loadConfig({
      ...database,
      REDIS_URL: 'redis://node-1:6379, rediss://:secret@node-2:6380',
      REDIS_CLUSTER: 'TRUE',
    })
    assert.equal(seeds.redisUrl, 'redis://node-1:6379,rediss://:secret@node-2:6380')
    assert.throws(
      () => loadConfig({ ...database, REDIS_URL: 'redis://node-1:6379', REDIS_CLUSTER: 'yes' }),
      /REDIS_CLUSTER must be true or false/,
    )
    assert.throws(() => loadConfig({ ...database, REDIS_CLUSTER: 'true' }), /REDIS_CLUSTER=true needs REDIS_URL/)
    assert.throws(() => loadConfig({ ...database, REDIS_URL: 'redis://node-1:6379/2', REDIS_CLUSTER: 'true' }), /no \/db/)
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://node-1:6379', REDIS_CLUSTER: 'true' }), /needs a shared store/)
  })
})
