/**
 * The certificate and key that https and wss are served with (TLS_CERT_FILE, TLS_KEY_FILE):
 * read and checked at start, and again on every reload. A check failure names the file and what
 * is wrong with it in one line, so that a bad file stops a start plainly, and a bad new file on a
 * reload is refused while the server keeps the certificate it has.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import tls from 'node:tls'
import type { TlsFiles } from '../config.ts'
import type { Logger } from '../ops/logger.ts'

/** A certificate file or key file that cannot be served, with a one-line reason. */
export class TlsFileError extends Error {
  override name = 'TlsFileError'
}

export interface TlsCredentials {
  /** PEM as read; the certificate file may carry intermediates after the server's certificate. */
  cert: Buffer
  key: Buffer
  /** The server's own certificate (the first in the file). */
  certificate: X509Certificate
}

/** What logs say about a certificate: enough to tell which one is being served. */
export function describeCertificate(certificate: X509Certificate): Record<string, string> {
  return {
    subject: certificate.subject.replace(/\n/g, ', '),
    names: certificate.subjectAltName ?? '',
    serial: certificate.serialNumber,
    sha256: certificate.fingerprint256,
    validTo: new Date(certificate.validTo).toISOString(),
  }
}

export async function readTlsCredentials(files: TlsFiles): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([readPem('TLS_CERT_FILE', files.certFile), readPem('TLS_KEY_FILE', files.keyFile)])
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(cert)
  } catch {
    throw new TlsFileError(`TLS_CERT_FILE ${files.certFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`)
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw new TlsFileError(
      /ENCRYPTED/.test(key.toString('latin1'))
        ? `TLS_KEY_FILE ${files.keyFile} is encrypted with a passphrase; give Chorus an unencrypted key (readable by it alone)`
        : `TLS_KEY_FILE ${files.keyFile} holds no PEM private key ("-----BEGIN PRIVATE KEY-----")`,
    )
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFileError(`TLS_KEY_FILE ${files.keyFile} is not the key of the certificate in TLS_CERT_FILE ${files.certFile}`)
  }
  try {
    // What the server will do with them; catches what the checks above do not (a broken chain).
    tls.createSecureContext({ cert, key })
  } catch (error) {
    throw new TlsFileError(`TLS_CERT_FILE ${files.certFile} cannot be used: ${(error as Error).message}`)
  }
  return { cert, key, certificate }
}

async function readPem(setting: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read: permission denied'
          : code === 'EISDIR'
            ? 'is a folder, not a file'
            : `cannot be read: ${(error as Error).message}`
    throw new TlsFileError(`${setting} ${file} ${why}`)
  }
}

/**
 * Reloading: the files are read and checked again and, if good, become the context of every new
 * handshake (server.setSecureContext); open connections keep theirs, so nobody is disconnected.
 * A bad file is refused, logged, and the previous certificate served on. Reloads asked for while
 * one runs (a signal to a process group arrives twice: directly and through the start script) are
 * folded into one more run after it, so a file replaced meanwhile is still picked up.
 */
export function tlsReloader(
  server: tls.Server,
  files: TlsFiles,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
): () => Promise<boolean> {
  let running: Promise<boolean> | null = null
  let again: Promise<boolean> | null = null
  const reload = async (): Promise<boolean> => {
    let credentials: TlsCredentials
    try {
      credentials = await readTlsCredentials(files)
    } catch (error) {
      logger.error('TLS reload refused; still serving the previous certificate', {
        reason: error instanceof TlsFileError ? error.message : String(error),
      })
      return false
    }
    server.setSecureContext({ cert: credentials.cert, key: credentials.key })
    logCertificate(logger, 'TLS certificate reloaded', credentials.certificate)
    return true
  }
  const start = (): Promise<boolean> => {
    const run = reload().finally(() => {
      running = null
    })
    running = run
    return run
  }
  return () => {
    if (!running) return start()
    again ??= running.then(() => {
      again = null
      return start()
    })
    return again
  }
}

/** Logs which certificate is served, and warns when it has expired (browsers will refuse it). */
export function logCertificate(logger: Pick<Logger, 'info' | 'warn'>, message: string, certificate: X509Certificate): void {
  const details = describeCertificate(certificate)
  if (Date.parse(certificate.validTo) <= Date.now()) logger.warn(`${message}, but it has EXPIRED`, details)
  else logger.info(message, details)
}
