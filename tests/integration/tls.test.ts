/**
 * Chorus serving https and wss itself (TLS_CERT_FILE, TLS_KEY_FILE): a real server process with
 * self-signed certificates made by openssl, real y-websocket clients over wss, and certificate
 * reloads on SIGHUP while clients stay connected.
 */
import assert from 'node:assert/strict'
import { readFileSync, renameSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { makeCertificate, OPENSSL, servedFingerprint, type TestCertificate } from '../support/tls-certificates.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = OPENSSL ? false : 'openssl is not installed (apt-get install openssl)'

describe('TLS served by Chorus itself', { skip }, () => {
  let dir: string
  let first: TestCertificate
  let second: TestCertificate
  /** The files the server is configured with; tests replace their contents. */
  let certFile: string
  let keyFile: string
  let chorus: ChorusServer
  const clients: TestClient[] = []

  /** Replaces a served file in one step, as a certificate renewal tool does. */
  function replace(file: string, contents: string | Buffer): void {
    writeFileSync(`${file}.new`, contents)
    renameSync(`${file}.new`, file)
  }

  function connect(docId: string, ca: string[]): TestClient {
    const client = connectClient(chorus.wsUrl, docId, { ca })
    clients.push(client)
    return client
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-tls-'))
    first = makeCertificate(dir, 'first')
    second = makeCertificate(dir, 'second')
    certFile = join(dir, 'served.pem')
    keyFile = join(dir, 'served.key')
    copyFileSync(first.certFile, certFile)
    copyFileSync(first.keyFile, keyFile)
    chorus = await startChorus({
      entry: 'standalone',
      env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, LOG_LEVEL: 'info' },
    })
  })

  after(async () => {
    for (const client of clients) client.destroy()
    await chorus?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves https and wss on its one port, and says https in its ready line', async () => {
    assert.match(chorus.output(), /^Chorus listening on https:\/\/127\.0\.0\.1:\d+$/m)
    assert.match(chorus.wsUrl, /^wss:/)
    assert.equal(await servedFingerprint(chorus.port, [first.pem]), first.fingerprint)

    const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(`${chorus.url}/healthz`, { ca: [first.pem] }, (response) => {
          let body = ''
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
        })
        .once('error', reject)
    })
    assert.equal(health.status, 200)
    assert.equal(JSON.parse(health.body).status, 'ok')

    const ada = connect('over-wss', [first.pem])
    const grace = connect('over-wss', [first.pem])
    await Promise.all([whenSynced(ada), whenSynced(grace)])
    ada.doc.getText('t').insert(0, 'hello over wss')
    await waitFor(() => grace.doc.getText('t').toString() === 'hello over wss', 'grace sees the edit')
    await ada.whenSaved()

    // Plain ws to a TLS port is no connection at all, not a silent downgrade.
    const plain = new WebSocket(`${chorus.wsUrl.replace('wss:', 'ws:')}/over-wss`)
    await new Promise<void>((resolve) => {
      plain.once('error', () => resolve())
      plain.once('open', () => assert.fail('plain ws opened on the TLS port'))
    })
  })

  it('SIGHUP serves a new certificate to new connections, while open ones stay and keep syncing', async () => {
    const trusted = [first.pem, second.pem]
    const ada = connect('reload', trusted)
    const grace = connect('reload', trusted)
    await Promise.all([whenSynced(ada), whenSynced(grace)])
    const sockets = [ada.provider.ws, grace.provider.ws]
    let closes = 0
    for (const client of [ada, grace]) client.provider.on('connection-close', () => closes++)
    const before = await servedFingerprint(chorus.port, trusted)
    const next = before === first.fingerprint ? second : first

    replace(certFile, readFileSync(next.certFile))
    replace(keyFile, readFileSync(next.keyFile))
    process.kill(chorus.pid, 'SIGHUP')
    await waitFor(async () => (await servedFingerprint(chorus.port, trusted)) === next.fingerprint, 'the new certificate served')
    assert.match(chorus.output(), new RegExp(`TLS certificate reloaded .*sha256=${next.fingerprint}`))

    ada.doc.getText('t').insert(0, 'after the reload')
    await waitFor(() => grace.doc.getText('t').toString() === 'after the reload', 'grace sees ada’s edit after the reload')
    grace.doc.getText('t').insert(0, '> ')
    await waitFor(() => ada.doc.getText('t').toString() === '> after the reload', 'ada sees grace’s edit after the reload')
    await ada.whenSaved()
    assert.equal(closes, 0, 'no connection was closed by the reload')
    assert.deepEqual([ada.provider.ws, grace.provider.ws], sockets, 'the same sockets carry on')

    // A client that trusts only the new certificate gets in, and gets the document.
    const linus = connect('reload', [next.pem])
    await whenSynced(linus)
    assert.equal(linus.doc.getText('t').toString(), '> after the reload')
    assert.equal(chorus.running, true)
  })

  it('SIGHUP with a broken certificate or a key that does not match keeps serving the previous one', async () => {
    const trusted = [first.pem, second.pem]
    const served = await servedFingerprint(chorus.port, trusted)
    const other = served === first.fingerprint ? second : first
    const ada = connect('broken', trusted)
    await whenSynced(ada)

    const goodCert = readFileSync(certFile)
    const refusals = () => chorus.output().match(/TLS reload refused/g)?.length ?? 0
    replace(certFile, '-----BEGIN CERTIFICATE-----\ntruncated by a failed renewal\n')
    process.kill(chorus.pid, 'SIGHUP')
    await waitFor(() => refusals() === 1, 'the broken certificate refused')
    assert.match(
      chorus.output(),
      new RegExp(
        `TLS reload refused; still serving the previous certificate reason="TLS_CERT_FILE ${certFile} holds no PEM certificate`,
      ),
    )

    // The new certificate in place, but the key still the old one: refused too.
    replace(certFile, readFileSync(other.certFile))
    process.kill(chorus.pid, 'SIGHUP')
    await waitFor(() => refusals() === 2, 'the mismatched key refused')
    assert.match(chorus.output(), /TLS reload refused.*is not the key of the certificate/)

    assert.equal(await servedFingerprint(chorus.port, trusted), served)
    const grace = connect('broken', [served === first.fingerprint ? first.pem : second.pem])
    await whenSynced(grace)
    ada.doc.getText('t').insert(0, 'still served')
    await waitFor(() => grace.doc.getText('t').toString() === 'still served', 'grace sees the edit')
    assert.equal(chorus.running, true)
    replace(certFile, goodCert)
  })

  it('stops the start with one line and exit code 2 when a file cannot be used', async () => {
    const missing = join(dir, 'missing.pem')
    await assert.rejects(
      startChorus({ entry: 'standalone', env: { TLS_CERT_FILE: missing, TLS_KEY_FILE: first.keyFile } }),
      (error: Error) =>
        /exited with code 2 before it was ready/.test(error.message) &&
        error.message.includes(`chorus: TLS_CERT_FILE ${missing} does not exist\n`),
    )
    await assert.rejects(
      startChorus({ entry: 'standalone', env: { TLS_CERT_FILE: first.certFile, TLS_KEY_FILE: undefined } }),
      (error: Error) =>
        /exited with code 2 before it was ready/.test(error.message) &&
        error.message.includes('chorus: TLS_CERT_FILE is set but TLS_KEY_FILE is not; set both (https) or neither (http)\n'),
    )
  })
})

describe('SIGHUP without TLS', () => {
  // Nothing to reload: it still means "stop", as it did before TLS existed (a closed terminal).
  it('stops the server gracefully', async () => {
    const chorus = await startChorus({ entry: 'standalone', env: { TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined } })
    try {
      assert.match(chorus.url, /^http:/)
      // A request answered means the start has run to its end, signal handlers included: the ready
      // line comes just before they are installed, and a signal in between would kill the server.
      assert.equal((await fetch(`${chorus.url}/healthz`)).status, 200)
      assert.equal(await chorus.stop('SIGHUP'), 0)
    } finally {
      await chorus.cleanup()
    }
  })
})
