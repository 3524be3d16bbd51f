/**
 * How long the HTTP listener waits for slow clients. Node's defaults (a request may take 300 s,
 * and overdue requests are looked for only every 30 s) let a few hundred trickled request bodies
 * hold sockets for minutes; these bound them to the configured times.
 */
import type { ServerOptions } from 'node:http'
import type { ServerConfig } from '../config.ts'

export type HttpTimeoutSettings = Pick<ServerConfig, 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs' | 'httpKeepAliveTimeoutMs'>

export function httpTimeouts(config: HttpTimeoutSettings): ServerOptions {
  return {
    headersTimeout: config.httpHeadersTimeoutMs,
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    // Overdue requests are found at most this late; a tenth of the shorter timeout, within 0.1-1 s.
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(config.httpHeadersTimeoutMs / 10))),
  }
}
