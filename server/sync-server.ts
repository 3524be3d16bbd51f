/**
 * The transport: turns HTTP upgrade requests on `/sync/<docId>` into Connections on documents,
 * keeps them alive with pings, and shuts down without losing anything.
 *
 * It is attached to an http.Server by the entry points (main.ts with the Next app on the same
 * port, standalone.ts without it).
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { isValidDocId } from '../lib/doc-id.ts'
import { CHORUS_PROTOCOL_PARAM, CloseCode, SYNC_PATH_PREFIX } from '../lib/protocol.ts'
import type { ServerConfig } from './config.ts'
import { Connection } from './connection.ts'
import { DocumentRegistry } from './document-registry.ts'
import type { Logger } from './logger.ts'
import type { DocumentStore } from './storage/document-store.ts'

export type SyncServerOptions = Pick<
  ServerConfig,
  'pingIntervalMs' | 'maxMessageBytes' | 'compactAfterRecords' | 'compactMinLogBytes'
>

export class SyncServer {
  readonly documents: DocumentRegistry
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  private readonly pingTimer: NodeJS.Timeout
  private closing = false

  constructor(
    options: SyncServerOptions,
    private readonly store: DocumentStore,
    private readonly logger: Logger,
  ) {
    this.documents = new DocumentRegistry(
      store,
      {
        compactAfterRecords: options.compactAfterRecords,
        compactMinLogBytes: options.compactMinLogBytes,
        maxQueuedMessages: 1000,
        retryDelayMs: 500,
      },
      logger,
    )
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      // Yjs updates are small and already compact; per-message deflate would cost CPU and
      // memory per socket for little gain.
      perMessageDeflate: false,
    })
    this.pingTimer = setInterval(() => this.pingAll(), options.pingIntervalMs)
    this.pingTimer.unref()
  }

  /** True if `url` is the sync endpoint's (other upgrades belong to someone else, e.g. Next). */
  static isSyncPath(url: string | undefined): boolean {
    return url !== undefined && url.startsWith(SYNC_PATH_PREFIX)
  }

  get connectionCount(): number {
    return this.connections.size
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) return refuseUpgrade(socket, 503, 'server is shutting down')
    const url = new URL(request.url ?? '/', 'http://localhost')
    const docId = url.pathname.slice(SYNC_PATH_PREFIX.length)
    if (!url.pathname.startsWith(SYNC_PATH_PREFIX) || !isValidDocId(docId)) {
      this.logger.warn('refused upgrade: invalid document id', { path: url.pathname.slice(0, 100) })
      return refuseUpgrade(socket, 400, 'invalid document id')
    }
    const wantsExtensions = url.searchParams.get(CHORUS_PROTOCOL_PARAM) !== null
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.accept(ws, docId, wantsExtensions, request.socket.remoteAddress ?? 'unknown')
    })
  }

  private accept(ws: WebSocket, docId: string, wantsExtensions: boolean, remoteAddress: string): void {
    const connection = new Connection(ws, docId, wantsExtensions, remoteAddress, this.logger)
    const log = this.logger.child({ doc: docId, conn: connection.id })
    this.connections.add(connection)
    const document = this.documents.open(docId)
    document.join(connection)
    log.debug('connection opened', { remoteAddress, wantsExtensions })

    ws.on('message', (data, isBinary) => {
      connection.alive = true
      // While shutting down, late frames are dropped rather than half-stored: the client still
      // holds them and sends them again after reconnecting (our sync step 1 shows they are missing).
      if (this.closing) return
      if (!isBinary) {
        connection.close(CloseCode.MalformedMessage, 'text frames are not part of the protocol')
        return
      }
      // ws delivers a Buffer unless the frame was fragmented (then an array of them).
      const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      document.receive(connection, frame)
    })
    ws.on('pong', () => {
      connection.alive = true
    })
    ws.on('error', (error) => {
      // ws closes the socket itself after an error (e.g. a frame over maxPayload: code 1009).
      log.warn('socket error', { error: error.message })
    })
    ws.on('close', (code) => {
      this.connections.delete(connection)
      document.leave(connection)
      log.debug('connection closed', { code })
    })
  }

  private pingAll(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        this.logger.info('dropping unresponsive connection', { doc: connection.docId, conn: connection.id })
        connection.terminate()
        continue
      }
      connection.alive = false
      connection.ping()
    }
  }

  /**
   * Graceful stop: refuse new connections, store everything pending, then close every socket
   * with a code clients reconnect on.
   */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.pingTimer)
    for (const connection of this.connections) {
      connection.close(CloseCode.ServiceRestart, 'server restarting')
    }
    await this.documents.storeAll()
    await this.store.close()
  }
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const statusText = status === 400 ? 'Bad Request' : status === 503 ? 'Service Unavailable' : 'Error'
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  )
}
