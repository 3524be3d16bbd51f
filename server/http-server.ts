/**
 * Starts the HTTP server: the sync endpoint on `/sync/<docId>`, a health check on `/healthz`, and
 * (in main.ts) the Next.js app for everything else, all on one port.
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
  /** Graceful stop: no new connections, everything stored, sockets closed with 1012. */
  close(): Promise<void>
}

export interface StartOptions {
  config: ServerConfig
  logger: Logger
  /** Serve the Next.js app too; `dev` runs it with hot reload. */
  next?: { dev: boolean }
}

type RequestHandler = (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void> | void

export async function startServer({ config, logger, next }: StartOptions): Promise<RunningServer> {
  const store = await LevelDbStore.open(config.dataDir, { commitDelayMs: config.commitDelayMs })
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
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      response.end(
        JSON.stringify({
          status: 'ok',
          documents: sync.documents.size,
          connections: sync.connectionCount,
          ignoredMessages: sync.ignoredMessages.byKind,
        }),
      )
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

  let closing: Promise<void> | null = null
  return {
    http: server,
    sync,
    port,
    url,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await sync.close()
        server.closeIdleConnections()
        await closeApp()
        server.closeAllConnections()
        await stopped
      })()
      return closing
    },
  }
}
