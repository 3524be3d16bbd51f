/**
 * Many light sync clients that reconnect as y-websocket does, for the reconnect storm (the
 * integration test behind a real proxy, and the benchmark scenario). Each is a real WebSocket
 * holding a real Y.Doc and speaking the y-websocket sync protocol: sync step 1 on open, step 2 in
 * answer to the server's step 1, local changes as updates, remote ones applied. No awareness, no
 * IndexedDB, no provider machinery: thousands fit in one process.
 *
 * A client is "synced" on a socket once the server's step 2 has arrived on it; `generation` counts
 * the sockets that got that far, so "resynced after the restart" is `generation > before`.
 */
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate, MessageType, SyncMessageType } from '../lib/protocol.ts'

export interface StormClientOptions {
  /** The sync endpoint's base URL, e.g. ws://127.0.0.1:3000/sync; the client appends /<docId>. */
  base: string
  docId: string
  /** Connect from this local address (e.g. 127.1.0.7: a distinct client behind a proxy). */
  localAddress?: string
  /** Send this X-Forwarded-For, as a proxy in front would (for a server that trusts loopback). */
  forwardedFor?: string
}

/** y-websocket's reconnect: 100 ms doubling per failed attempt, at most 2.5 s (maxBackoffTime). */
const BACKOFF_BASE_MS = 100
const MAX_BACKOFF_MS = 2500

export class StormClient {
  readonly doc = new Y.Doc()
  readonly text = this.doc.getText('t')
  /** Sockets on which the server's step 2 arrived. */
  generation = 0
  /** Upgrades refused with HTTP 429 (the per-address limit). */
  refused = 0
  /** Other refused upgrades, by status (e.g. a proxy's 502/503 while the server restarts). */
  readonly otherStatuses = new Map<number, number>()
  /** When the server's step 2 last arrived (performance.now()). */
  syncedAt = 0
  /** Sockets opened. */
  opened = 0
  /** Connection attempts that ended before opening, without an HTTP answer (refused, reset). */
  failed = 0
  private ws: WebSocket | null = null
  private failures = 0
  private retry: NodeJS.Timeout | null = null
  private stopped = false

  constructor(private readonly options: StormClientOptions) {
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== this && this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeSyncUpdate(update))
    })
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  connect(): void {
    if (this.stopped) return
    const { base, docId, localAddress, forwardedFor } = this.options
    const ws = new WebSocket(`${base}/${encodeURIComponent(docId)}`, {
      localAddress,
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    })
    ws.binaryType = 'nodebuffer'
    this.ws = ws
    let opened = false
    let answered = false
    ws.on('open', () => {
      opened = true
      this.opened++
      this.failures = 0
      ws.send(encodeSyncStep1(Y.encodeStateVector(this.doc)))
    })
    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0
      answered = true
      response.on('error', () => {})
      if (status === 429) this.refused++
      else this.otherStatuses.set(status, (this.otherStatuses.get(status) ?? 0) + 1)
      response.resume()
      ws.terminate()
    })
    ws.on('message', (data: Buffer) => this.receive(ws, data))
    ws.on('error', () => {})
    ws.on('close', () => {
      if (this.ws !== ws) return
      this.ws = null
      if (!opened) this.failures++
      if (!opened && !answered) this.failed++
      if (this.stopped) return
      const delay = Math.min(BACKOFF_BASE_MS * 2 ** this.failures, MAX_BACKOFF_MS)
      this.retry = setTimeout(() => this.connect(), delay)
    })
  }

  private receive(ws: WebSocket, data: Buffer): void {
    const decoder = decoding.createDecoder(data)
    if (decoding.readVarUint(decoder) !== MessageType.Sync) return // awareness, SavedState, notices
    const syncType = decoding.readVarUint(decoder)
    const payload = decoding.readVarUint8Array(decoder)
    if (syncType === SyncMessageType.Step1) {
      ws.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, payload)))
    } else {
      Y.applyUpdate(this.doc, payload, this)
      if (syncType === SyncMessageType.Step2) {
        this.generation++
        this.syncedAt = performance.now()
      }
    }
  }

  /** Stops for good: no reconnecting. */
  destroy(): void {
    this.stopped = true
    if (this.retry) clearTimeout(this.retry)
    this.ws?.terminate()
    this.doc.destroy()
  }
}

export interface StormLayout {
  clients: number
  documents: number
}

/** The text every client of document `d` should hold once synced, before and after the restart's offline edits. */
export const seedText = (d: number): string => `seed ${d};`
export const offlineText = (d: number): string => ` offline ${d};`

/**
 * `clients` clients over `documents` documents (client i on document i % documents). Client d
 * (the first of each document) seeds it before connecting: everyone else learns it from the server.
 */
export function makeStormClients(
  layout: StormLayout,
  docPrefix: string,
  address: (i: number) => Pick<StormClientOptions, 'localAddress' | 'forwardedFor'>,
  base: string,
): StormClient[] {
  return Array.from({ length: layout.clients }, (_, i) => {
    const client = new StormClient({ base, docId: `${docPrefix}-${i % layout.documents}`, ...address(i) })
    if (i < layout.documents) client.text.insert(0, seedText(i))
    return client
  })
}

/** A distinct loopback address per client, 127.1.0.1 onwards (Linux routes all of 127/8 to lo). */
export function loopbackAddress(i: number): string {
  const n = i + 1
  return `127.1.${(n >> 8) & 255}.${n & 255}`
}

/** A distinct documentation-range address per client (RFC 5737), for X-Forwarded-For. */
export function documentationAddress(i: number): string {
  const n = i + 1
  return `198.51.${100 + ((n >> 8) & 3)}.${n & 255}`
}

/** Opens the clients, at most `concurrency` handshakes at a time (a first start, not the storm). */
export async function connectGradually(
  clients: StormClient[],
  concurrency: number,
  isDone: (c: StormClient) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let next = 0
  const inFlight = new Set<StormClient>()
  while (next < clients.length || inFlight.size > 0) {
    if (performance.now() > deadline) {
      throw new Error(
        `connecting: ${next - inFlight.size} of ${clients.length} clients done after ${timeoutMs} ms (${JSON.stringify(totals(clients))})`,
      )
    }
    for (const client of inFlight) if (isDone(client)) inFlight.delete(client)
    while (inFlight.size < concurrency && next < clients.length) {
      const client = clients[next++]
      client.connect()
      inFlight.add(client)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Whether every client holds the text its document should hold. */
export function everyoneHolds(clients: StormClient[], layout: StormLayout, expected: (d: number) => string): boolean {
  return clients.every((client, i) => client.text.toString() === expected(i % layout.documents))
}

export function totals(clients: StormClient[]): {
  refused: number
  other: Record<string, number>
  opened: number
  failed: number
} {
  const other: Record<string, number> = {}
  let refused = 0
  let opened = 0
  let failed = 0
  for (const client of clients) {
    refused += client.refused
    opened += client.opened
    failed += client.failed
    for (const [status, count] of client.otherStatuses) other[status] = (other[status] ?? 0) + count
  }
  return { refused, other, opened, failed }
}
