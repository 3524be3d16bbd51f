/**
 * The one HTTP listener: the sync endpoint's WebSocket upgrades on `/sync/…`, health on
 * `/healthz` and `/readyz`, the view-link API on `/api/…`, and the Next.js app for everything
 * else, all on one port. With TLS credentials it is an https server (and wss) with the same
 * handlers.
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { ServerConfig } from '../config.ts'
import type { ViewLinks } from '../document/view-links.ts'
import type { Health, HealthAnswer } from '../ops/health.ts'
import type { Logger } from '../ops/logger.ts'
import { METRICS_PATH, type Metrics } from '../ops/metrics.ts'
import { SyncEndpoint } from './sync-endpoint.ts'
import type { TlsCredentials } from './tls.ts'
import { handleApiRequest, isApiPath } from './view-link-api.ts'
import { handleHistoryRequest, isHistoryApiPath } from './history-api.ts'
import type { DocumentHistory } from '../document/history.ts'
import { httpTimeouts } from './http-timeouts.ts'
import type { AccessApi } from '../access/access-api.ts'

type RequestHandler = (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void> | void

/** The Next.js app, when this process serves it. */
export interface AppHandler {
  dev: boolean
  handle: RequestHandler
  close(): Promise<void>
}

export interface Routes {
  health: Health
  sync: SyncEndpoint
  viewLinks: ViewLinks
  history: DocumentHistory
  logger: Logger
  app: AppHandler | null
  /** Serves /metrics here; null when it has a port of its own (METRICS_PORT). */
  metrics: Metrics | null
  /** Sign-in and sharing (/auth/…, /api/session, /api/documents/…/access…). */
  accessApi: AccessApi | null
}

function sendJson(response: http.ServerResponse, { status, body }: HealthAnswer): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

export async function listen(
  config: ServerConfig,
  routes: Routes,
  tls?: TlsCredentials,
): Promise<{ http: http.Server; port: number }> {
  const { health, sync, viewLinks, history, logger, app, metrics, accessApi } = routes
  const handleRequest: RequestHandler = (request, response) => {
    if (request.url === '/healthz') return sendJson(response, health.liveness())
    if (metrics && request.url?.split('?', 1)[0] === METRICS_PATH) return metrics.handle(request, response)
    if (request.url === '/readyz') {
      void health.readiness().then((answer) => sendJson(response, answer))
      return
    }
    if (accessApi?.handles(request.url)) {
      void accessApi.handle(request, response)
      return
    }
    if (isHistoryApiPath(request.url)) {
      void handleHistoryRequest(request, response, history, viewLinks, config, logger, accessApi)
      return
    }
    if (isApiPath(request.url)) {
      void handleApiRequest(request, response, viewLinks, config, logger, accessApi)
      return
    }
    if (app) {
      void Promise.resolve(app.handle(request, response)).catch((error: unknown) => {
        logger.error('request failed', { url: request.url, error })
        if (!response.headersSent) response.writeHead(500)
        response.end()
      })
      return
    }
    response.writeHead(404, { 'content-type': 'text/plain' })
    response.end('Not found: this is the Chorus sync server; connect a WebSocket to /sync/<docId>\n')
  }
  const options = httpTimeouts(config)
  const server = tls
    ? https.createServer({ ...options, cert: tls.cert, key: tls.key }, handleRequest)
    : http.createServer(options, handleRequest)

  server.on('upgrade', (request, socket, head) => {
    if (SyncEndpoint.isSyncPath(request.url)) {
      sync.handleUpgrade(request, socket, head)
    } else if (!app?.dev) {
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
  return { http: server, port: (server.address() as AddressInfo).port }
}
