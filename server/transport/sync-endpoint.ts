/**
 * The transport: turns HTTP upgrade requests into Connections on documents, keeps them alive
 * with pings, and shuts down without losing anything.
 *
 *   /sync/<docId>          edit: read and write
 *   /sync/view/<viewId>    view: read and be present, never write; never learns the doc id
 *
 * A refusal is an HTTP status with a readable reason, logged once per address and reason; one a
 * client must not retry (a bad name, an unknown view link, no access: 4401, 4403) is an accepted
 * socket closed with a final code instead, as stock clients retry an HTTP refusal forever.
 * It is attached to the HTTP listener by compose.ts (see http-server.ts).
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { decodePathSegment, documentNameProblem, isValidDocId } from '../../lib/doc-id.ts'
import { CHORUS_PROTOCOL_PARAM, CloseCode, MessageType } from '../../lib/protocol.ts'
import { SYNC_PATH_PREFIX, VIEW_SYNC_SEGMENT } from '../../lib/routes.ts'
import type { ServerConfig } from '../config.ts'
import { Connection, IgnoredMessageCounts, type ConnectionInfo } from './connection.ts'
import type { DocumentRegistry } from '../document/document-registry.ts'
import { AddressConnectionCounter, isOriginAllowed } from './limits.ts'
import { LogThrottle } from '../ops/log-throttle.ts'
import { resolveClientAddress } from './client-address.ts'
import { SilentConnections } from './silent-connections.ts'
import type { Logger } from '../ops/logger.ts'
import type { ViewLinks } from '../document/view-links.ts'
import { Traffic } from './traffic.ts'
import { AccessRefusal, TOKEN_PARAM, type AccessControl } from '../access/access-control.ts'
import type { DocumentAccess } from '../access/permissions.ts'
import { encodeNotice } from '../../lib/protocol.ts'

export type SyncEndpointOptions = Pick<
  ServerConfig,
  | 'pingIntervalMs'
  | 'maxMessageBytes'
  | 'maxDocumentBytes'
  | 'maxConnectionsPerDocument'
  | 'maxConnectionsPerAddressPerMinute'
  | 'rateLimitMessagesPerSecond'
  | 'rateLimitBytesPerSecond'
  | 'rateLimitGraceMs'
  | 'maxBufferedBytes'
  | 'allowedOrigins'
  | 'trustProxy'
  | 'firstMessageTimeoutMs'
>

/** Pings go out in this many slices per interval (see SyncEndpoint.pingSome). */
const PING_SLICES = 20
/** A sync frame's bytes around its update: message type, sync type, the update's length. */
const SYNC_FRAME_OVERHEAD = 16
/** How long a connection must have said nothing before a newcomer from its address may take its place. */
const SILENT_LENDS_PLACE_AFTER_MS = 1000

type Route = { kind: 'edit'; docId: string } | { kind: 'view'; viewId: string } | { kind: 'invalid'; reason: string }

/**
 * Reads `/sync/<name>` or `/sync/view/<viewId>` from a request's raw path (before any URL
 * normalisation, which would fold `..` and `%2e` segments into other paths); null for paths
 * outside the sync endpoint. The name is one percent-decoded segment (see lib/doc-id.ts).
 */
export function parseSyncPath(rawUrl: string): Route | null {
  const path = rawUrl.split('?', 1)[0]
  if (!path.startsWith(SYNC_PATH_PREFIX)) return null
  const segments = path.slice(SYNC_PATH_PREFIX.length).split('/')
  if (segments.length === 2 && segments[0] === VIEW_SYNC_SEGMENT) {
    const viewId = decodePathSegment(segments[1])
    return { kind: 'view', viewId: viewId !== null && isValidDocId(viewId) ? viewId : '' }
  }
  if (segments.length !== 1) {
    return { kind: 'invalid', reason: "invalid document name: a '/' in a name must be sent as %2F" }
  }
  const name = decodePathSegment(segments[0])
  if (name === null) return { kind: 'invalid', reason: 'invalid document name: not valid percent-encoded UTF-8' }
  const problem = documentNameProblem(name)
  return problem ? { kind: 'invalid', reason: `invalid document name: ${problem}` } : { kind: 'edit', docId: name }
}

/** A request target's query parameters, without parsing it as a whole URL (once per connection). */
function queryOf(rawUrl: string): URLSearchParams {
  const start = rawUrl.indexOf('?')
  if (start === -1) return new URLSearchParams()
  const end = rawUrl.indexOf('#', start)
  return new URLSearchParams(rawUrl.slice(start + 1, end === -1 ? undefined : end))
}

class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
    /** When set, the upgrade is accepted and closed at once with this code instead. */
    readonly closeCode?: number,
  ) {}
}

export class SyncEndpoint {
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  private readonly pingTimer: NodeJS.Timeout
  /** Where the last round of pings stopped (see pingSome). */
  private pingCursor: Iterator<Connection> | null = null
  private readonly addressCounter: AddressConnectionCounter
  /** Accepted, but nothing received yet (see silent-connections.ts). */
  private readonly silent: SilentConnections<Connection>
  private readonly refusalLog = new LogThrottle(60_000)
  /** Messages let pass without effect since the server started, by kind (see Connection.ignore). */
  readonly ignoredMessages = new IgnoredMessageCounts()
  /** Messages in and out, refusals and closes, for /metrics (see traffic.ts). */
  readonly traffic = new Traffic()
  private closing = false

  constructor(
    private readonly options: SyncEndpointOptions,
    readonly documents: DocumentRegistry,
    readonly viewLinks: ViewLinks,
    private readonly logger: Logger,
    private readonly access: AccessControl | null = null,
  ) {
    this.addressCounter = new AddressConnectionCounter(options.maxConnectionsPerAddressPerMinute, performance.now())
    this.silent = new SilentConnections<Connection>(
      options.firstMessageTimeoutMs,
      Math.min(SILENT_LENDS_PLACE_AFTER_MS, options.firstMessageTimeoutMs),
      (connection, address, why) => {
        this.addressCounter.refund(address)
        connection.log.debug('closing silent connection', { remoteAddress: address, why })
        connection.close(
          CloseCode.Silent,
          why === 'timeout'
            ? `nothing received within ${options.firstMessageTimeoutMs} ms of connecting`
            : 'nothing received; another connection from this address took its place',
        )
      },
    )
    this.wss = new WebSocketServer({
      noServer: true,
      // A sync message may be as large as the document may grow (a big paste, an offline
      // backlog); every other message is held to maxMessageBytes once it has arrived.
      maxPayload: Math.max(options.maxMessageBytes, options.maxDocumentBytes + SYNC_FRAME_OVERHEAD),
      // Yjs updates are small and already compact; per-message deflate would cost CPU and
      // memory per socket for little gain.
      perMessageDeflate: false,
    })
    this.pingTimer = setInterval(() => this.pingSome(), options.pingIntervalMs / PING_SLICES)
    this.pingTimer.unref()
  }

  /** True if `url` is the sync endpoint's (other upgrades belong to someone else, e.g. Next). */
  static isSyncPath(url: string | undefined): boolean {
    return url?.startsWith(SYNC_PATH_PREFIX) === true
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** Open connections by role, for /metrics (counted when scraped, not on every open and close). */
  connectionsByRole(): { editors: number; viewers: number } {
    let viewers = 0
    for (const connection of this.connections) if (connection.readOnly) viewers++
    return { editors: this.connections.size - viewers, viewers }
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node takes its error listener off a socket it hands over for an upgrade, and ws puts its own
    // on only once we accept: a peer resetting meanwhile (or after a refusal) would crash the process.
    // A shared function, not an arrow: an arrow here would keep this call's scope (the request,
    // its headers and buffers) alive for as long as the socket lives, ~1.5 KiB per connection.
    socket.on('error', ignoreSocketError)
    // Behind trusted proxies, the client they report (TRUST_PROXY); otherwise the socket's peer.
    const remoteAddress = resolveClientAddress(request.socket.remoteAddress, request.headers, this.options.trustProxy)
    this.admit(request, remoteAddress).then(
      (info) => {
        if (socket.destroyed) return
        this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, info))
      },
      (error: unknown) => {
        const refusal = error instanceof Refusal ? error : new Refusal(500, 'internal error')
        if (!(error instanceof Refusal)) this.logger.error('upgrade failed', { error })
        this.logRefusal(remoteAddress, refusal)
        this.traffic.refused(refusal.status, refusal.reason)
        if (refusal.closeCode !== undefined && !socket.destroyed) {
          this.wss.handleUpgrade(request, socket, head, (ws) => ws.close(refusal.closeCode, refusal.reason))
        } else {
          refuseUpgrade(socket, refusal)
        }
      },
    )
  }

  /** Decides whether an upgrade may become a connection, and as what. Throws a Refusal. */
  private async admit(request: IncomingMessage, remoteAddress: string): Promise<ConnectionInfo> {
    if (this.closing) throw new Refusal(503, 'server is shutting down')
    const route = parseSyncPath(request.url ?? '/')
    if (!route) throw new Refusal(404, 'not a sync path')
    if (!isOriginAllowed(request.headers.origin, request.headers.host, this.options.allowedOrigins)) {
      throw new Refusal(403, 'origin not allowed')
    }
    if (!this.addressCounter.tryAdd(remoteAddress, performance.now())) {
      // A connection from this address that has said nothing since it connected gives its place up.
      const replaced = this.silent.replaceOne(remoteAddress, performance.now())
      if (!replaced || !this.addressCounter.tryAdd(remoteAddress, performance.now())) {
        throw new Refusal(429, 'too many new connections from this address; wait a minute')
      }
    }
    // Accepted, then closed with a final code: stock clients retry an HTTP refusal forever.
    if (route.kind === 'invalid') throw new Refusal(400, route.reason, CloseCode.MalformedMessage)
    let docId: string
    if (route.kind === 'view') {
      const resolved = route.viewId === '' ? null : await this.viewLinks.resolve(route.viewId)
      if (!resolved) throw new Refusal(404, 'this view link does not exist or was reset', CloseCode.ViewLinkNotFound)
      docId = resolved
    } else {
      docId = route.docId
    }
    const query = queryOf(request.url ?? '/')
    // Before anything of the document is sent: the socket is accepted and closed with the code.
    let admission = null
    if (this.access?.enabled) {
      try {
        admission = await this.access.admit({
          docId,
          viaViewLink: route.kind === 'view',
          token: query.get(TOKEN_PARAM),
          cookieHeader: request.headers.cookie,
        })
      } catch (error) {
        if (error instanceof AccessRefusal) {
          throw new Refusal(error.closeCode === CloseCode.Forbidden ? 403 : 401, error.message, error.closeCode)
        }
        throw error
      }
    }
    if (this.closing) throw new Refusal(503, 'server is shutting down')
    const open = this.documents.get(docId)
    if (open && open.connections.size >= this.options.maxConnectionsPerDocument) {
      throw new Refusal(503, 'too many people in this document right now')
    }
    return {
      docId,
      readOnly: admission ? admission.role === 'view' : route.kind === 'view',
      viewId: route.kind === 'view' ? route.viewId : null,
      wantsExtensions: query.get(CHORUS_PROTOCOL_PARAM) !== null,
      remoteAddress,
      person: admission?.person ?? null,
      via: admission?.via ?? 'link',
      color: admission?.color ?? null,
    }
  }

  private accept(ws: WebSocket, info: ConnectionInfo): void {
    const connection = new Connection(ws, info, this.options, this.logger, this.ignoredMessages, this.traffic.sent)
    const log = connection.log
    this.connections.add(connection)
    const document = this.documents.open(info.docId)
    document.join(connection)
    log.debug('connection opened', { remoteAddress: info.remoteAddress, readOnly: info.readOnly, via: connection.via })
    // A Chorus page opened with the edit link learns here that it may only view (its role).
    if (info.readOnly && info.viewId === null && info.wantsExtensions) connection.send(encodeNotice(VIEW_ROLE_NOTICE))
    this.silent.watch(connection, info.remoteAddress, performance.now())

    let silent = true
    ws.on('message', (data, isBinary) => {
      connection.alive = true
      if (silent) {
        silent = false
        this.silent.forget(connection)
      }
      // While shutting down, late frames are dropped rather than half-stored: the client still
      // holds them and sends them again after reconnecting (our sync step 1 shows they are missing).
      if (this.closing) return
      // ws delivers a Buffer unless the frame was fragmented (then an array of them).
      const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      this.traffic.received.count(frame, isBinary)
      if (!connection.admit(frame.byteLength)) return
      // Harmless, and y-websocket's own server ignores them too; closing would cost interop.
      if (!isBinary) return connection.ignore('text-frame')
      if (frame.byteLength > this.options.maxMessageBytes && frame[0] !== MessageType.Sync) {
        connection.close(CloseCode.MessageTooBig, 'message too big; only document updates may be that large')
        return
      }
      document.receive(connection, frame)
    })
    ws.on('pong', () => {
      connection.alive = true
    })
    ws.on('error', (error) => {
      // ws closes the socket itself after a protocol error (e.g. a frame over maxPayload: 1009).
      log.warn('socket error', { error: error.message })
    })
    ws.on('close', (code) => {
      this.traffic.closed(code)
      this.silent.forget(connection)
      connection.closed()
      this.connections.delete(connection)
      document.leave(connection)
      log.debug('connection closed', { code })
    })
  }

  /** Closes the viewers that came in through `viewId`, which was just reset. */
  disconnectViewers(docId: string, viewId: string): void {
    const document = this.documents.get(docId)
    if (!document) return
    for (const connection of document.connections) {
      if (connection.viewId === viewId) {
        connection.close(CloseCode.ViewLinkRevoked, 'this view link was reset; ask an editor for the new one')
      }
    }
  }

  /**
   * Closes the viewers whose view link no longer exists. A reset made on another instance reaches
   * this one over Redis (disconnectViewers); one made while Redis was away is caught here, once it
   * is back. While storage cannot answer, viewers stay: nothing says their link is gone.
   */
  async recheckViewers(): Promise<void> {
    const byViewId = new Map<string, Connection[]>()
    for (const connection of this.connections) {
      if (connection.viewId === null) continue
      const viewers = byViewId.get(connection.viewId)
      if (viewers) viewers.push(connection)
      else byViewId.set(connection.viewId, [connection])
    }
    for (const [viewId, viewers] of byViewId) {
      const docId = await this.viewLinks.resolve(viewId).catch(() => undefined)
      if (docId !== null) continue
      for (const viewer of viewers) {
        viewer.close(CloseCode.ViewLinkRevoked, 'this view link was reset; ask an editor for the new one')
      }
    }
  }

  /**
   * A document's access changed: every socket whose right came from a session is looked at again,
   * at once. Without access now it is closed (4403, or 4401 when not signed in); lowered to view,
   * it stays, but its writes are dropped from now on and its page is told; raised to edit, it
   * stays too, and is asked for what it wrote meanwhile. Neither reconnects: a y-websocket client
   * that reconnects would not see the others' presence again until they renew it (up to 15 s).
   * Tokens are the embedding app's to revoke: their sockets are left alone.
   */
  reassess(docId: string, access: DocumentAccess): void {
    const document = this.documents.get(docId)
    if (!document || !this.access) return
    for (const connection of document.connections) {
      if (!(connection instanceof Connection) || connection.via !== 'session') continue
      let role: 'edit' | 'view'
      try {
        role = this.access.decide(access, connection.person, connection.viewId !== null)
      } catch (error) {
        if (!(error instanceof AccessRefusal)) throw error
        const reason = error.closeCode === CloseCode.Forbidden ? 'your access to this document was removed' : error.message
        if (connection.wantsExtensions) {
          connection.send(
            encodeNotice({ level: 'error', code: 'access-removed', message: accessRemovedMessage(error.closeCode) }),
          )
        }
        connection.close(error.closeCode, reason)
        continue
      }
      if (role === 'view' && !connection.readOnly) {
        connection.readOnly = true
        connection.log.info('lowered to view', { person: connection.person?.sub })
        if (connection.wantsExtensions) connection.send(encodeNotice(LOWERED_TO_VIEW_NOTICE))
      } else if (role === 'edit' && connection.readOnly && connection.viewId === null) {
        // Raised in place: asked for what it holds that we lack (what it typed while it could
        // only view was dropped, and it still has it), as an editor's greeting does.
        connection.readOnly = false
        connection.log.info('raised to edit', { person: connection.person?.sub })
        document.askForMissing(connection)
        if (connection.wantsExtensions) connection.send(encodeNotice(RAISED_TO_EDIT_NOTICE))
      }
    }
  }

  private logRefusal(remoteAddress: string, refusal: Refusal): void {
    const suppressed = this.refusalLog.shouldLog(`${remoteAddress} ${refusal.status}`, performance.now())
    if (suppressed === null) return
    this.logger.warn('refused connection', { remoteAddress, status: refusal.status, reason: refusal.reason, suppressed })
  }

  /**
   * Pings a slice of the connections each tick, so that each is pinged once per interval: pinging
   * thousands at once writes to every socket in one turn, and every edit arriving meanwhile waits
   * (the many-documents benchmark's p99 doubled with 5 s pings sent all at once).
   */
  private pingSome(): void {
    let count = Math.ceil(this.connections.size / PING_SLICES)
    while (count-- > 0) {
      let next = this.pingCursor?.next()
      if (!next || next.done) {
        // A Set's iterator skips what was deleted and visits what was added since it started.
        this.pingCursor = this.connections.values()
        next = this.pingCursor.next()
        if (next.done) return
      }
      const connection = next.value
      // Its pongs wait unread behind what it sent too fast (a large paste takes a while to pay).
      if (connection.isThrottled) continue
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
   * Graceful stop: refuse new connections and close every socket with a code clients reconnect
   * on. Storing what the documents hold is the caller's next step (compose.ts).
   */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.pingTimer)
    this.silent.clear()
    for (const connection of this.connections) {
      connection.close(CloseCode.ServiceRestart, 'server restarting')
    }
  }
}

/** Told to a page that opened the edit link but may only view. */
const VIEW_ROLE_NOTICE = {
  level: 'info',
  code: 'access-view',
  message: 'You can view this document but not edit it.',
} as const

const LOWERED_TO_VIEW_NOTICE = {
  level: 'warning',
  code: 'access-view',
  message: 'The owner changed your access: you can now view this document but not edit it. Everything saved is kept.',
} as const

const RAISED_TO_EDIT_NOTICE = {
  level: 'info',
  code: 'access-edit',
  message: 'The owner changed your access: you can edit this document now.',
} as const

function accessRemovedMessage(code: number): string {
  return code === CloseCode.Forbidden
    ? 'The owner removed your access to this document. Everything saved before is kept; ask the owner to share it again.'
    : 'This document is no longer open to anyone with the link: sign in to open it. Everything saved before is kept.'
}

/** Swallows the errors of a socket between Node's handing it over and ws's taking it (see handleUpgrade). */
function ignoreSocketError(): void {}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

function refuseUpgrade(socket: Duplex, { status, reason }: Refusal): void {
  if (socket.destroyed) return
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  )
}
