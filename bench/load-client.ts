/**
 * A load-generating client process (forked by load-pool.ts; one of a few). It opens many plain
 * `ws` sockets and speaks just enough of the y-websocket protocol for any of the servers to treat
 * each one as a client:
 *
 *   - on open it sends sync step 1 for an empty document, and answers the server's step 1 with an
 *     empty step 2; the server's step 2 marks the socket "synced" (connect-to-synced time);
 *   - writers send one real Yjs update per edit, typing at the end of their text (encoded directly,
 *     see append-update.ts); every edit inserts a marker `<#writer.seq.sentMicros#> ` (ASCII, so it
 *     appears verbatim in the update's bytes, even when a server re-encodes the update);
 *   - receivers never decode Yjs: they look for the marker bytes in raw update frames with
 *     Buffer.indexOf and compute the latency from the send time the marker carries. Clocks are
 *     `performance.timeOrigin + performance.now()` in every process, relative to an epoch the
 *     parent hands out;
 *   - observers (trace replay, persistence checks) do decode: they apply every update to a Y.Doc
 *     and report when its text equals the expected final text.
 *
 * Hocuspocus speaks the same messages with two differences (`protocol: 'hocuspocus'` on open):
 * every frame, both ways, starts with the document's name (one socket may carry several
 * documents), and a document is served only after an Auth message (an empty token here: the
 * reference server has no authentication hook). The sockets here add and strip that prefix, and
 * otherwise behave exactly as for the other servers.
 *
 * Everything is driven by request/response messages over IPC (see LoadRequest). The process exits
 * when the parent goes away.
 */
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { encodeSyncUpdate } from '../lib/protocol.ts'
import { appendUpdate, randomClientId } from './append-update.ts'
import { decodeSavedStateFrame } from '../lib/state-vector.ts'

export interface SocketSpec {
  doc: string
  /** Global writer id: this socket sends edits. */
  writer?: number
  /** Ask Chorus for its save confirmations (`?chorus=1`); other servers ignore the parameter. */
  ext?: boolean
  /** Apply every update to a Y.Doc (see the 'expect' request). */
  observe?: boolean
}

export type LoadRequest =
  | { type: 'open'; base: string; sockets: SocketSpec[]; concurrency: number; timeoutMs: number; protocol?: Protocol }
  | {
      type: 'write'
      epoch: number
      startAt: number
      durationMs: number
      rate: number
      /** 'caret': each tick sends an awareness update (a caret move) instead of an edit. */
      what?: 'edit' | 'caret'
    }
  | { type: 'burst'; epoch: number; count: number; chunk: number }
  | { type: 'replay'; file: string }
  | { type: 'expect'; text: string; timeoutMs: number }
  | { type: 'wait-saved'; clientId?: number; clock?: number; timeoutMs: number }
  | { type: 'counts' }
  | { type: 'report' }
  | { type: 'reset' }
  | { type: 'close' }

/** How frames are addressed: y-websocket's (one document per socket), or Hocuspocus's (named in each frame). */
export type Protocol = 'y-websocket' | 'hocuspocus'

export interface OpenResult {
  synced: number
  failed: number
  /** Connect-to-synced milliseconds of each socket that synced. */
  connectMs: number[]
  /** The same per requested socket, in request order (NaN: did not sync). */
  connectMsBySocket: number[]
  /** When each requested socket synced, on the shared clock (`performance.timeOrigin + now()`; NaN: did not). */
  syncedAtBySocket: number[]
}

export interface WriterReport {
  id: number
  doc: string
  clientId: number
  /** Edits handed to the socket since the last reset. */
  sent: number
  /** Edits whose bytes the socket wrote out without error (ws send callback). */
  written: number
  /** This writer's Yjs clock after its last edit (markers are ASCII: clock = characters). */
  clock: number
  /** This writer's clock in the last Chorus SavedState received (-1: none). */
  confirmedClock: number
  /** Clock after each edit, in order (writers with `ext` only: the persistence scenario). */
  editClocks?: number[]
  /** For each edit, whether its bytes were written out (same order). */
  editWritten?: boolean[]
  firstSendAt: number
  lastSendAt: number
}

export interface LoadReport {
  latencies: Float64Array
  received: number
  duplicates: number
  writers: WriterReport[]
}

const STEP1_EMPTY = Uint8Array.of(0, 0, 1, 0)
const STEP2_EMPTY = Uint8Array.of(0, 1, 2, 0, 0)
const MARK_OPEN = Buffer.from('<#')
const MESSAGE_SAVED_STATE = 100
const MAX_BUFFERED_BYTES = 1 << 20

const now = (): number => performance.timeOrigin + performance.now()

interface Sock {
  spec: SocketSpec
  ws: WebSocket
  /** Hocuspocus: the document's name as a varString, before every frame. */
  prefix: Buffer | null
  createdAt: number
  synced: boolean
  closed: boolean
  /** Highest sequence number seen per writer: counts each marker once. */
  lastSeq: Map<number, number> | null
  writer: Writer | null
  observer: Observer | null
  savedState: Map<number, number> | null
}

interface Writer {
  id: number
  sock: Sock
  clientId: number
  seq: number
  /** seq at the last reset: edits are counted from there. */
  baseSeq: number
  clock: number
  written: number
  nextAt: number
  interval: number
  endAt: number
  editClocks: number[] | null
  editWritten: boolean[] | null
  firstSendAt: number
  lastSendAt: number
  /** The clock of this writer's awareness state (y-protocols keeps a state only with a higher clock). */
  caretClock: number
}

interface Observer {
  ydoc: Y.Doc
  text: Y.Text
  doneAt: number
}

let sockets: Sock[] = []
let epoch = 0
let latencies = new Float64Array(1 << 16)
let latencyCount = 0
let received = 0
let duplicates = 0
let expected: string | null = null
let onObserverProgress: (() => void) | null = null

function pushLatency(ms: number): void {
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[latencyCount++] = ms
}

/** Finds every marker in an update frame; counts each (writer, seq) once per socket. */
function scanMarkers(sock: Sock, data: Buffer, receivedAt: number): void {
  let pos = 3
  for (;;) {
    const start = data.indexOf(MARK_OPEN, pos)
    if (start < 0) return
    let writer = 0
    let seq = 0
    let micros = 0
    let field = 0
    let ok = false
    let j = start + 2
    for (; j < data.length; j++) {
      const c = data[j]
      if (c >= 48 && c <= 57) {
        const digit = c - 48
        if (field === 0) writer = writer * 10 + digit
        else if (field === 1) seq = seq * 10 + digit
        else micros = micros * 10 + digit
      } else if (c === 46 /* . */) {
        if (++field > 2) break
      } else {
        ok = c === 35 /* # */ && data[j + 1] === 62 /* > */ && field === 2
        break
      }
    }
    pos = j + 1
    if (!ok) continue
    // y-websocket's server echoes an update to its sender too; only other clients' receipts count.
    if (sock.writer && sock.writer.id === writer) continue
    const seen = (sock.lastSeq ??= new Map())
    if ((seen.get(writer) ?? 0) >= seq) {
      duplicates++
      continue
    }
    seen.set(writer, seq)
    received++
    pushLatency(receivedAt - epoch - micros / 1000)
  }
}

/** Sends a frame, addressed to the socket's document when the protocol wants that. */
function sendFrame(sock: Sock, frame: Uint8Array, callback?: (error?: Error) => void): void {
  sock.ws.send(sock.prefix ? Buffer.concat([sock.prefix, frame]) : frame, callback)
}

const HOCUSPOCUS_AUTH_TOKEN = Uint8Array.of(2, 0, 0) // Auth, Token, empty string

function onFrame(sock: Sock, raw: Buffer): void {
  const receivedAt = now()
  const data = sock.prefix ? raw.subarray(sock.prefix.length) : raw
  const type = data[0]
  if (type === 0) {
    const syncType = data[1]
    if (syncType === 0) {
      // The server's step 1: we hold nothing it lacks at this point.
      sendFrame(sock, STEP2_EMPTY)
      return
    }
    if (syncType === 1 && !sock.synced) {
      sock.synced = true
      pending.get(sock)?.(receivedAt)
    }
    if (sock.observer) applyToObserver(sock.observer, data)
    else if (syncType === 2) scanMarkers(sock, data, receivedAt)
  } else if (type === 1) {
    // Awareness: a caret move carries its writer's marker in its state's JSON.
    scanMarkers(sock, data, receivedAt)
  } else if (type === MESSAGE_SAVED_STATE && sock.savedState) {
    sock.savedState = decodeSavedStateFrame(data)
  }
}

function applyToObserver(observer: Observer, data: Buffer): void {
  const decoder = decoding.createDecoder(data)
  decoding.readVarUint(decoder)
  decoding.readVarUint(decoder)
  Y.applyUpdate(observer.ydoc, decoding.readVarUint8Array(decoder))
  if (expected !== null && observer.doneAt === 0 && observer.text.length === expected.length) {
    if (observer.text.toString() === expected) {
      observer.doneAt = now()
      onObserverProgress?.()
    }
  }
}

/** Sockets still waiting for their step 2, and what to call when it comes. */
const pending = new Map<Sock, (at: number) => void>()

async function open(request: Extract<LoadRequest, { type: 'open' }>): Promise<OpenResult> {
  const connectMs: number[] = []
  const connectMsBySocket: number[] = request.sockets.map(() => NaN)
  const syncedAtBySocket: number[] = request.sockets.map(() => NaN)
  let failed = 0
  let next = 0
  const deadline = now() + request.timeoutMs
  await new Promise<void>((resolve) => {
    let inFlight = 0
    let finished = 0
    const launch = (): void => {
      while (inFlight < request.concurrency && next < request.sockets.length && now() < deadline) {
        const index = next++
        const spec = request.sockets[index]
        inFlight++
        connectOne(request.base, spec, deadline, request.protocol ?? 'y-websocket')
          .then(
            ({ ms, at }) => {
              connectMs.push(ms)
              connectMsBySocket[index] = ms
              syncedAtBySocket[index] = at
            },
            () => failed++,
          )
          .finally(() => {
            inFlight--
            finished++
            if (finished === request.sockets.length || (now() >= deadline && inFlight === 0)) resolve()
            else launch()
          })
      }
      if (next >= request.sockets.length && inFlight === 0) resolve()
    }
    launch()
  })
  failed += request.sockets.length - next
  return { synced: connectMs.length, failed, connectMs, connectMsBySocket, syncedAtBySocket }
}

function connectOne(base: string, spec: SocketSpec, deadline: number, protocol: Protocol): Promise<{ ms: number; at: number }> {
  const url = `${base}/${spec.doc}${spec.ext ? '?chorus=1' : ''}`
  const createdAt = now()
  const ws = new WebSocket(url, { perMessageDeflate: false })
  let prefix: Buffer | null = null
  if (protocol === 'hocuspocus') {
    const encoder = encoding.createEncoder()
    encoding.writeVarString(encoder, spec.doc)
    prefix = Buffer.from(encoding.toUint8Array(encoder))
  }
  const sock: Sock = {
    spec,
    ws,
    prefix,
    createdAt,
    synced: false,
    closed: false,
    lastSeq: null,
    writer: null,
    observer: null,
    savedState: spec.ext ? new Map() : null,
  }
  if (spec.writer !== undefined) sock.writer = createWriter(spec.writer, sock)
  if (spec.observe) {
    const ydoc = new Y.Doc()
    sock.observer = { ydoc, text: ydoc.getText('t'), doneAt: 0 }
  }
  sockets.push(sock)
  return new Promise<{ ms: number; at: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        pending.delete(sock)
        ws.terminate()
        reject(new Error('timeout'))
      },
      Math.max(0, deadline - createdAt),
    )
    pending.set(sock, (at) => {
      clearTimeout(timer)
      pending.delete(sock)
      resolve({ ms: at - createdAt, at })
    })
    ws.on('open', () => {
      if (sock.prefix) sendFrame(sock, HOCUSPOCUS_AUTH_TOKEN)
      sendFrame(sock, STEP1_EMPTY)
    })
    ws.on('message', (data: Buffer) => onFrame(sock, data))
    ws.on('error', () => undefined)
    ws.on('close', () => {
      sock.closed = true
      if (pending.has(sock)) {
        clearTimeout(timer)
        pending.delete(sock)
        reject(new Error('closed before synced'))
      }
    })
  })
}

function createWriter(id: number, sock: Sock): Writer {
  return {
    id,
    sock,
    clientId: randomClientId(),
    seq: 0,
    baseSeq: 0,
    clock: 0,
    written: 0,
    nextAt: 0,
    interval: 0,
    endAt: 0,
    // Writers that ask for save confirmations keep per-edit records, to count losses after a crash.
    editClocks: sock.spec.ext ? [] : null,
    editWritten: sock.spec.ext ? [] : null,
    firstSendAt: 0,
    lastSendAt: 0,
    caretClock: 0,
  }
}

/**
 * A caret move: an awareness update with this writer's state, the marker inside its JSON (ASCII,
 * so receivers find it in the raw frame like an edit's). Servers relay it without storing it.
 */
function sendCaret(writer: Writer): void {
  if (writer.sock.closed) return
  const sentAt = now()
  const marker = `<#${writer.id}.${++writer.seq}.${Math.round((sentAt - epoch) * 1000)}#>`
  const update = encoding.createEncoder()
  encoding.writeVarUint(update, 1)
  encoding.writeVarUint(update, writer.clientId)
  encoding.writeVarUint(update, ++writer.caretClock)
  encoding.writeVarString(update, JSON.stringify({ user: { name: `writer ${writer.id}` }, cursor: marker }))
  const frame = encoding.createEncoder()
  encoding.writeVarUint(frame, 1) // awareness
  encoding.writeVarUint8Array(frame, encoding.toUint8Array(update))
  if (writer.firstSendAt === 0) writer.firstSendAt = sentAt
  writer.lastSendAt = sentAt
  sendFrame(writer.sock, encoding.toUint8Array(frame), (error) => {
    if (!error) writer.written++
  })
}

function sendEdit(writer: Writer): void {
  if (writer.sock.closed) return
  const sentAt = now()
  const marker = `<#${writer.id}.${++writer.seq}.${Math.round((sentAt - epoch) * 1000)}#> `
  const frame = encodeSyncUpdate(appendUpdate(writer.clientId, writer.clock, marker))
  writer.clock += marker.length
  const index = writer.editWritten ? writer.editWritten.length : -1
  if (writer.editClocks && writer.editWritten) {
    writer.editClocks.push(writer.clock)
    writer.editWritten.push(false)
  }
  if (writer.firstSendAt === 0) writer.firstSendAt = sentAt
  writer.lastSendAt = sentAt
  sendFrame(writer.sock, frame, (error) => {
    if (error) return
    writer.written++
    if (index >= 0) writer.editWritten![index] = true
  })
}

function writers(): Writer[] {
  return sockets.flatMap((sock) => (sock.writer ? [sock.writer] : []))
}

/** Each writer edits at `rate` per second from startAt for durationMs, phases spread evenly. */
function write(request: Extract<LoadRequest, { type: 'write' }>): Promise<void> {
  epoch = request.epoch
  const all = writers()
  const interval = 1000 / request.rate
  const send = request.what === 'caret' ? sendCaret : sendEdit
  for (const writer of all) {
    writer.interval = interval
    // Phases spread by the golden ratio, so writers never tick in lockstep.
    writer.nextAt = request.startAt + interval * ((writer.id * 0.618) % 1)
    writer.endAt = request.startAt + request.durationMs
  }
  return new Promise<void>((resolve) => {
    const tick = (): void => {
      const t = now()
      let nextDue = Infinity
      for (const writer of all) {
        // A writer that fell behind catches up, but never with more than 250 ms of edits at once.
        if (t - writer.nextAt > 250) writer.nextAt = t - 250
        while (writer.nextAt <= t && writer.nextAt < writer.endAt) {
          send(writer)
          writer.nextAt += writer.interval
        }
        if (writer.nextAt < writer.endAt && !writer.sock.closed) nextDue = Math.min(nextDue, writer.nextAt)
      }
      if (nextDue === Infinity) resolve()
      else setTimeout(tick, Math.max(0, nextDue - now()))
    }
    setTimeout(tick, Math.max(0, request.startAt - now()))
  })
}

/** Sends `count` edits per writer as fast as the sockets take them. */
function burst(request: Extract<LoadRequest, { type: 'burst' }>): Promise<{ ms: number }> {
  epoch = request.epoch
  const all = writers()
  const started = now()
  let left = request.count
  return new Promise((resolve) => {
    const pump = (): void => {
      if (all.some((w) => !w.sock.closed && w.sock.ws.bufferedAmount > MAX_BUFFERED_BYTES)) {
        setTimeout(pump, 1)
        return
      }
      const n = Math.min(left, request.chunk)
      for (let i = 0; i < n; i++) for (const writer of all) sendEdit(writer)
      left -= n
      if (left > 0 && all.some((w) => !w.sock.closed)) setImmediate(pump)
      else waitWritten(all).then(() => resolve({ ms: now() - started }))
    }
    pump()
  })
}

function waitWritten(all: Writer[]): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (all.every((w) => w.sock.closed || w.sock.ws.bufferedAmount === 0)) resolve()
      else setTimeout(check, 2)
    }
    check()
  })
}

/** Sends precomputed update frames (length-prefixed in `file`) on the first writer socket. */
function replay(
  request: Extract<LoadRequest, { type: 'replay' }>,
): Promise<{ startedAt: number; sentAt: number; frames: number }> {
  const bytes = readFileSync(request.file)
  const frames: Buffer[] = []
  for (let pos = 0; pos < bytes.length; ) {
    const length = bytes.readUInt32LE(pos)
    frames.push(bytes.subarray(pos + 4, pos + 4 + length))
    pos += 4 + length
  }
  const sock = sockets.find((s) => s.spec.writer !== undefined)
  if (!sock) throw new Error('replay needs a writer socket')
  const startedAt = now()
  let i = 0
  return new Promise((resolve) => {
    const pump = (): void => {
      while (i < frames.length) {
        if (sock.closed) break
        if (sock.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          setTimeout(pump, 1)
          return
        }
        sendFrame(sock, frames[i++])
        if ((i & 255) === 0) {
          setImmediate(pump)
          return
        }
      }
      resolve({ startedAt, sentAt: now(), frames: i })
    }
    pump()
  })
}

/** Resolves when every observer's text equals `text`, or at the timeout. */
function expect(request: Extract<LoadRequest, { type: 'expect' }>): Promise<{ doneAt: number[]; ok: boolean }> {
  expected = request.text
  const observers = sockets.flatMap((s) => (s.observer ? [s.observer] : []))
  for (const observer of observers) {
    if (observer.doneAt === 0 && observer.text.toString() === expected) observer.doneAt = now()
  }
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer)
      onObserverProgress = null
      resolve({ doneAt: observers.map((o) => o.doneAt), ok: observers.every((o) => o.doneAt > 0) })
    }
    const timer = setTimeout(finish, request.timeoutMs)
    onObserverProgress = () => {
      if (observers.every((o) => o.doneAt > 0)) finish()
    }
    onObserverProgress()
  })
}

/** Resolves once a Chorus SavedState covers the given clock (default: every writer's own). */
function waitSaved(request: Extract<LoadRequest, { type: 'wait-saved' }>): Promise<{ ok: boolean; at: number }> {
  const extSockets = sockets.filter((s) => s.savedState)
  const covered = (): boolean =>
    extSockets.some((s) => !s.closed) &&
    extSockets.every((s) => {
      if (request.clientId !== undefined) return (s.savedState!.get(request.clientId) ?? 0) >= (request.clock ?? 0)
      return !s.writer || (s.savedState!.get(s.writer.clientId) ?? 0) >= s.writer.clock
    })
  const deadline = now() + request.timeoutMs
  return new Promise((resolve) => {
    const check = (): void => {
      if (covered()) resolve({ ok: true, at: now() })
      else if (now() > deadline) resolve({ ok: false, at: now() })
      else setTimeout(check, 1)
    }
    check()
  })
}

function report(): LoadReport {
  return {
    latencies: latencies.slice(0, latencyCount),
    received,
    duplicates,
    writers: writers().map((w) => ({
      id: w.id,
      doc: w.sock.spec.doc,
      clientId: w.clientId,
      sent: w.seq - w.baseSeq,
      written: w.written,
      clock: w.clock,
      confirmedClock: w.sock.savedState ? (w.sock.savedState.get(w.clientId) ?? -1) : -1,
      editClocks: w.editClocks ?? undefined,
      editWritten: w.editWritten ?? undefined,
      firstSendAt: w.firstSendAt,
      lastSendAt: w.lastSendAt,
    })),
  }
}

function reset(): void {
  for (const writer of writers()) writer.baseSeq = writer.seq
  latencies = new Float64Array(1 << 16)
  latencyCount = 0
  received = 0
  duplicates = 0
}

async function closeAll(): Promise<void> {
  const closing = sockets.map(
    (sock) =>
      new Promise<void>((resolve) => {
        if (sock.closed || sock.ws.readyState === WebSocket.CLOSED) return resolve()
        const timer = setTimeout(() => {
          sock.ws.terminate()
          resolve()
        }, 2000)
        sock.ws.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
        sock.ws.close()
      }),
  )
  await Promise.all(closing)
  for (const sock of sockets) sock.observer?.ydoc.destroy()
  sockets = []
  pending.clear()
  expected = null
  reset()
}

async function handle(request: LoadRequest): Promise<unknown> {
  switch (request.type) {
    case 'open':
      return open(request)
    case 'write':
      return write(request)
    case 'burst':
      return burst(request)
    case 'replay':
      return replay(request)
    case 'expect':
      return expect(request)
    case 'wait-saved':
      return waitSaved(request)
    case 'counts':
      return { received }
    case 'report':
      return report()
    case 'reset':
      return reset()
    case 'close':
      return closeAll()
  }
}

process.on('message', (message: { id: number; request: LoadRequest }) => {
  handle(message.request).then(
    (result) => process.send!({ id: message.id, result }),
    (error: Error) => process.send!({ id: message.id, error: error.stack ?? String(error) }),
  )
})
// The parent is gone: nothing else would ever end us.
process.on('disconnect', () => process.exit(0))
process.send!({ ready: true })
