/**
 * tlsReloader on a real https server in this process: reloads asked for while one runs are folded
 * into one more run (a signal to a process group arrives twice), and that run still sees files
 * replaced meanwhile.
 */
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createLogger } from '../../server/ops/logger.ts'
import { tlsReloader } from '../../server/transport/tls.ts'
import { makeCertificate, OPENSSL, servedFingerprint, type TestCertificate } from '../support/tls-certificates.ts'

describe('tlsReloader', { skip: OPENSSL ? false : 'openssl is not installed (apt-get install openssl)' }, () => {
  let dir: string
  let first: TestCertificate
  let second: TestCertificate
  let server: https.Server
  let port: number
  const files = () => ({ certFile: join(dir, 'served.pem'), keyFile: join(dir, 'served.key') })
  const serve = (certificate: TestCertificate) => {
    copyFileSync(certificate.certFile, files().certFile)
    copyFileSync(certificate.keyFile, files().keyFile)
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-tls-reload-'))
    first = makeCertificate(dir, 'first')
    second = makeCertificate(dir, 'second')
    serve(first)
    server = https.createServer({ cert: first.pem, key: readFileSync(first.keyFile) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  after(async () => {
    await new Promise((resolve) => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  it('folds reloads asked for during one into a single further run, which reads the files anew', async () => {
    const lines: string[] = []
    const reload = tlsReloader(
      server,
      files(),
      createLogger('info', (line) => lines.push(line)),
    )
    serve(second)
    const firstRun = reload()
    // Asked while the first run reads: both get the one run that follows it.
    const [again, againToo] = [reload(), reload()]
    assert.equal(again, againToo)
    // Replaced after the first run started: the folded run must still serve it.
    serve(first)
    assert.deepEqual(await Promise.all([firstRun, again, againToo]), [true, true, true])
    assert.equal(lines.filter((line) => line.includes('TLS certificate reloaded')).length, 2)
    assert.equal(await servedFingerprint(port, [first.pem, second.pem]), first.fingerprint)
  })

  it('keeps the served certificate when the files are refused, and says why', async () => {
    const lines: string[] = []
    const reload = tlsReloader(
      server,
      files(),
      createLogger('info', (line) => lines.push(line)),
    )
    const served = await servedFingerprint(port, [first.pem, second.pem])
    copyFileSync(second.keyFile, files().keyFile)
    assert.equal(await reload(), false)
    assert.match(
      lines.join(''),
      /ERROR.*TLS reload refused; still serving the previous certificate.*is not the key of the certificate/,
    )
    assert.equal(await servedFingerprint(port, [first.pem, second.pem]), served)
  })
})
