/**
 * Starts the HTTP server: the sync endpoint on `/sync/<docId>`, liveness on `/healthz`, readiness
 * (storage accepts writes) on `/readyz`, and (in main.ts) the Next.js app for everything else,
 * all on one port.
 */
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { ServerConfig } from './config.ts'
import type { Logger } from './logger.ts'
import { LevelDbStore } from './storage/leveldb-store.ts'
import { SyncServer } from './sync-server.ts'
import { handleApiRequest, isApiPath } from './http-api.ts'

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface RunningServer {
  readonly http: http.Server
  readonly sync: SyncServer
  readonly port: number
  /** http://host:port */
  readonly url: string
  /**
   * Graceful stop: no new connections, everything stored, sockets closed with 1012. Waits for
   * storage at most `stopTimeoutMs`, then rejects with StopTimeoutError.
   */
  close(): Promise<void>
}

export interface StartOptions {
  config: ServerConfig
  logger: Logger
  /** Serve the Next.js app too; `dev` runs it with hot reload. */
  next?: { dev: boolean }
}

/** A graceful stop that gave up waiting for storage (STOP_TIMEOUT_MS). */
export class StopTimeoutError extends Error {
  override name = 'StopTimeoutError'
  constructor(message: string) {
    super(message)
    // The log line says what was not stored; where in our code the timer fired says nothing.
    this.stack = `${this.name}: ${message}`
  }
}

function sendJson(response: http.ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

type RequestHandler = (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void> | void

export async function startServer({ config, logger, next }: StartOptions): Promise<RunningServer> {
  const store = await LevelDbStore.open(config.dataDir, { commitDelayMs: config.commitDelayMs, logger })
  const sync = new SyncServer(config, store, logger)

  let handleApp: RequestHandler | null = null
  let closeApp: () => Promise<void> = async () => {}
  if (next) {
    const { default: createNextApp } = await import('next')
    const app = createNextApp({ dev: next.dev, dir: PROJECT_ROOT, hostname: config.host, port: config.port })
    await app.prepare()
    handleApp = app.getRequestHandler()
    closeApp = () => app.close()
  }

  const server = http.createServer((request, response) => {
    if (request.url === '/healthz') {
      // Liveness: the process serves. Storage trouble is reported, and is /readyz's business.
      sendJson(response, 200, {
        status: 'ok',
        storage: store.health,
        documents: sync.documents.size,
        connections: sync.connectionCount,
        ignoredMessages: sync.ignoredMessages.byKind,
      })
      return
    }
    if (request.url === '/readyz') {
      void readiness().then(({ status, body }) => sendJson(response, status, body))
      return
    }
    if (isApiPath(request.url)) {
      void handleApiRequest(request, response, sync.viewLinks, config, logger)
      return
    }
    if (handleApp) {
      void Promise.resolve(handleApp(request, response)).catch((error: unknown) => {
        logger.error('request failed', { url: request.url, error })
        if (!response.headersSent) response.writeHead(500)
        response.end()
      })
      return
    }
    response.writeHead(404, { 'content-type': 'text/plain' })
    response.end('Not found: this is the Chorus sync server; connect a WebSocket to /sync/<docId>\n')
  })

  server.on('upgrade', (request, socket, head) => {
    if (SyncServer.isSyncPath(request.url)) {
      sync.handleUpgrade(request, socket, head)
    } else if (!next?.dev) {
      // In dev, Next's own upgrade listener serves hot reload (/_next/webpack-hmr); otherwise no
      // one else wants the socket.
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    }
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost'}:${port}`

  /** Ready while storage accepts writes (a real synced write, at most two seconds old). */
  const readiness = async (): Promise<{ status: number; body: object }> => {
    if (closing) return { status: 503, body: { status: 'unavailable', reason: 'stopping' } }
    const writable = await store.acceptsWrites().catch(() => false)
    return writable
      ? { status: 200, body: { status: 'ready' } }
      : { status: 503, body: { status: 'unavailable', reason: 'storage-failing' } }
  }

  let closing: Promise<void> | null = null
  return {
    http: server,
    sync,
    port,
    url,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        let timer: NodeJS.Timeout | undefined
        const stored = await Promise.race([
          sync.close().then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), config.stopTimeoutMs))),
        ])
        clearTimeout(timer)
        const unstored = stored ? null : sync.documents.unstored()
        if (unstored) {
          logger.error('STOP TIMED OUT: could not store everything; the editors still hold it and resend it on reconnect', {
            timeoutMs: config.stopTimeoutMs,
            storage: store.health,
            documents: unstored.documents,
            updates: unstored.updates,
          })
        }
        server.closeIdleConnections()
        await closeApp()
        server.closeAllConnections()
        await stopped
        if (unstored) {
          throw new StopTimeoutError(
            `stopped after ${config.stopTimeoutMs} ms without storing ${unstored.updates} updates of ${unstored.documents} documents`,
          )
        }
      })()
      return closing
    },
  }
}
