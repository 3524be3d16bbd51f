/**
 * TLS_CERT_FILE and TLS_KEY_FILE: both or neither; and every way a file can be unusable gets one
 * line naming the setting, the file and what is wrong, instead of OpenSSL's "PEM routines::no
 * start line". Real files, real certificates (openssl).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path, { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../../server/config.ts'
import { readTlsCredentials, TlsFileError } from '../../server/transport/tls.ts'
import { makeCertificate, OPENSSL, type TestCertificate } from '../support/tls-certificates.ts'

describe('TLS_CERT_FILE and TLS_KEY_FILE settings', () => {
  it('are read together, resolved, and refused one without the other', () => {
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

describe('readTlsCredentials', { skip: OPENSSL ? false : 'openssl is not installed (apt-get install openssl)' }, () => {
  let dir: string
  let first: TestCertificate
  let second: TestCertificate
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-tls-unit-'))
    first = makeCertificate(dir, 'first')
    second = makeCertificate(dir, 'second')
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  async function refusal(certFile: string, keyFile: string): Promise<string> {
    const error = await readTlsCredentials({ certFile, keyFile }).then(
      () => assert.fail('accepted'),
      (error: unknown) => error,
    )
    assert.ok(error instanceof TlsFileError, String(error))
    assert.doesNotMatch(error.message, /\n/)
    return error.message
  }

  it('reads a certificate and its key', async () => {
    const credentials = await readTlsCredentials({ certFile: first.certFile, keyFile: first.keyFile })
    assert.equal(credentials.certificate.fingerprint256, first.fingerprint)
    assert.equal(credentials.cert.toString(), first.pem)
  })

  it('says which file is missing, a folder or not PEM', async () => {
    const missing = join(dir, 'missing.pem')
    assert.equal(await refusal(missing, first.keyFile), `TLS_CERT_FILE ${missing} does not exist`)
    assert.equal(await refusal(first.certFile, missing), `TLS_KEY_FILE ${missing} does not exist`)
    const folder = join(dir, 'folder')
    mkdirSync(folder)
    assert.equal(await refusal(folder, first.keyFile), `TLS_CERT_FILE ${folder} is a folder, not a file`)
    const garbage = join(dir, 'garbage.pem')
    writeFileSync(garbage, 'not a certificate\n')
    assert.match(await refusal(garbage, first.keyFile), /^TLS_CERT_FILE .*garbage\.pem holds no PEM certificate/)
    assert.match(await refusal(first.keyFile, first.keyFile), /^TLS_CERT_FILE .*first\.key holds no PEM certificate/)
    assert.match(await refusal(first.certFile, garbage), /^TLS_KEY_FILE .*garbage\.pem holds no PEM private key/)
    assert.match(await refusal(first.certFile, first.certFile), /^TLS_KEY_FILE .*first\.pem holds no PEM private key/)
  })

  it('refuses a key that is not the certificate’s, and a key locked with a passphrase', async () => {
    assert.equal(
      await refusal(first.certFile, second.keyFile),
      `TLS_KEY_FILE ${second.keyFile} is not the key of the certificate in TLS_CERT_FILE ${first.certFile}`,
    )
    const encrypted = join(dir, 'encrypted.key')
    execFileSync(OPENSSL ?? 'openssl', ['pkey', '-in', first.keyFile, '-aes256', '-passout', 'pass:secret', '-out', encrypted])
    assert.match(await refusal(first.certFile, encrypted), /^TLS_KEY_FILE .*encrypted\.key is encrypted with a passphrase/)
  })
})
