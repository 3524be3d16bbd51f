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

  it('names the setting when a value is invalid', () => {
    assert.throws(() => loadConfig({ PORT: 'abc' }), (error: Error) => error instanceof ConfigError && /PORT/.test(error.message))
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

  it('reads TLS_CERT_FILE and TLS_KEY_FILE together, and refuses one without the other', () => {
    assert.equal(loadConfig({}).tls, undefined)
    assert.deepEqual(loadConfig({ TLS_CERT_FILE: 'tls/cert.pem', TLS_KEY_FILE: '/etc/key.pem' }).tls, {
      certFile: path.resolve('tls/cert.pem'),
      keyFile: '/etc/key.pem',
    })
    assert.throws(
      () => loadConfig({ TLS_CERT_FILE: 'cert.pem' }),
      (error: Error) => error instanceof ConfigError && /TLS_CERT_FILE is set but TLS_KEY_FILE is not/.test(error.message),
    )
    assert.throws(
      () => loadConfig({ TLS_KEY_FILE: 'key.pem', TLS_CERT_FILE: ' ' }),
      /TLS_KEY_FILE is set but TLS_CERT_FILE is not/,
    )
  })
})
