/**
 * Self-signed certificates for tests, made by the `openssl` command (Debian's openssl package;
 * .ci/run installs it when missing): a fresh key and certificate for localhost and 127.0.0.1.
 */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import tls from 'node:tls'

export interface TestCertificate {
  certFile: string
  keyFile: string
  /** The certificate as PEM, to trust it as a CA (a self-signed certificate is its own). */
  pem: string
  /** SHA-256 fingerprint, as X509Certificate.fingerprint256 writes it. */
  fingerprint: string
}

export const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path))

/** Writes `<name>.pem` and `<name>.key` into `dir`. */
export function makeCertificate(dir: string, name: string): TestCertificate {
  if (!OPENSSL) throw new Error('openssl not found: install it (apt-get install openssl) to run the TLS tests')
  const certFile = join(dir, `${name}.pem`)
  const keyFile = join(dir, `${name}.key`)
  // P-256 rather than RSA: a key in milliseconds.
  execFileSync(
    OPENSSL,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=localhost/O=Chorus test ${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const pem = readFileSync(certFile, 'utf8')
  return { certFile, keyFile, pem, fingerprint: new X509Certificate(pem).fingerprint256 }
}

/**
 * The fingerprint of the certificate a fresh TLS connection to 127.0.0.1:port is served, verified
 * against `trusted` (so a connection that is not trusted fails instead of answering).
 */
export function servedFingerprint(port: number, trusted: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: trusted, ALPNProtocols: ['http/1.1'] }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256
      socket.destroy()
      if (fingerprint) resolve(fingerprint)
      else reject(new Error('no peer certificate'))
    })
    socket.once('error', reject)
  })
}
