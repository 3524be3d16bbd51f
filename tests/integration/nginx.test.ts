/**
 * The shipped nginx config (docs/deploy/nginx.conf) in front of a real Chorus: Debian's nginx
 * terminating TLS with a self-signed certificate, real y-websocket clients over wss through it.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import https from 'node:https'
import http2 from 'node:http2'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { NGINX, startNginx, type NginxProxy } from '../support/nginx.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { makeCertificate, OPENSSL, type TestCertificate } from '../support/tls-certificates.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = !NGINX
  ? 'nginx is not installed (apt-get install nginx; .ci/run installs it)'
  : !OPENSSL
    ? 'openssl is not installed (apt-get install openssl)'
    : false

describe('Chorus behind nginx (docs/deploy/nginx.conf)', { skip }, () => {
  let dir: string
  let certificate: TestCertificate
  let chorus: ChorusServer
  let proxy: NginxProxy
  const clients: TestClient[] = []

  function connect(docId: string): TestClient {
    const client = connectClient(proxy.wssUrl, docId, { ca: [certificate.pem] })
    clients.push(client)
    return client
  }

  function get(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    const client = url.startsWith('https:') ? https : http
    return new Promise((resolve, reject) => {
      client
        .get(url, { ca: [certificate.pem], headers }, (response) => {
          let body = ''
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
        })
        .once('error', reject)
    })
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chorus-nginx-test-'))
    certificate = makeCertificate(dir, 'proxy')
    chorus = await startChorus({ entry: 'standalone' })
    proxy = await startNginx({ upstreamPort: chorus.port, certificate })
  })

  after(async () => {
    for (const client of clients) client.destroy()
    await proxy?.stop()
    await chorus?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('redirects plain http to https, and serves https', async () => {
    const redirect = await get(`http://127.0.0.1:${proxy.httpPort}/d/some-doc?x=1`)
    assert.equal(redirect.status, 301)
    // $host: the name the browser asked for, on the standard https port.
    assert.equal(redirect.headers.location, 'https://127.0.0.1/d/some-doc?x=1')

    const health = await get(`${proxy.httpsUrl}/healthz`)
    assert.equal(health.status, 200)
    assert.equal(JSON.parse(health.body).status, 'ok')

    // Browsers load the page over HTTP/2 (and open their WebSockets over HTTP/1.1 beside it).
    const session = http2.connect(proxy.httpsUrl, { ca: [certificate.pem] })
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const request = session.request({ ':path': '/healthz' })
        request.once('response', (headers) => resolve(Number(headers[':status'])))
        request.once('error', reject)
        request.resume()
      })
      assert.equal(status, 200)
    } finally {
      session.close()
    }
  })

  it('carries y-websocket clients over wss both ways', async () => {
    const ada = connect('through-nginx')
    const grace = connect('through-nginx')
    await Promise.all([whenSynced(ada), whenSynced(grace)])
    ada.doc.getText('t').insert(0, 'hello through nginx')
    await waitFor(() => grace.doc.getText('t').toString() === 'hello through nginx', 'grace sees ada’s edit')
    grace.doc.getText('t').insert(0, '> ')
    await waitFor(() => ada.doc.getText('t').toString() === '> hello through nginx', 'ada sees grace’s edit')
    await ada.whenSaved()
    await grace.whenSaved()
  })

  it('passes Host on, so a page of this site may open sockets and one of another site may not', async () => {
    const open = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${proxy.wssUrl}/origin-check`, { ca: [certificate.pem], origin })
        socket.once('open', () => {
          socket.close()
          resolve(101)
        })
        socket.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0)
          socket.terminate()
        })
        socket.once('error', reject)
      })
    assert.equal(await open(proxy.httpsUrl), 101)
    assert.equal(await open('https://elsewhere.example'), 403)
  })

  it('lets a 2 MiB update through: client_max_body_size limits HTTP bodies, not WebSocket messages', async () => {
    const ada = connect('big-paste')
    const grace = connect('big-paste')
    await Promise.all([whenSynced(ada), whenSynced(grace)])
    const text = 'x'.repeat(2 * 1024 * 1024)
    ada.doc.getText('t').insert(0, text)
    await waitFor(() => grace.doc.getText('t').length === text.length, 'grace has the 2 MiB paste', 20_000)
    await ada.whenSaved(20_000)
    assert.equal(chorus.running, true)
  })
})
