/**
 * A decoding client in the bench process itself, for one-off checks: how long a new client takes to
 * hold a document's full state (cold load), and what state a server recovered after a crash. It
 * applies everything the server sends (step 2 and later updates: y-websocket's server syncs before
 * its LevelDB load finishes and sends the stored state afterwards as an update).
 */
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { encodeSyncStep1, encodeSyncStep2 } from '../lib/protocol.ts'
import type { Protocol } from './load-client.ts'

export interface ProbeResult {
  ok: boolean
  /** From creating the socket to the condition holding (or to giving up). */
  ms: number
  ydoc: Y.Doc
}

export interface ProbeOptions {
  /** Succeed as soon as this holds after a frame was applied. */
  until?: (ydoc: Y.Doc) => boolean
  /**
   * Stop once synced and nothing arrived for this long: with `until`, that is a failure (the
   * state never came); without, it is "whatever the server recovered".
   */
  quietMs?: number
  timeoutMs: number
  /** Hocuspocus names the document in every frame and wants an Auth message first (see load-client.ts). */
  protocol?: Protocol
}

export function probeDocument(wsBase: string, docId: string, options: ProbeOptions): Promise<ProbeResult> {
  const ydoc = new Y.Doc()
  const started = performance.now()
  const ws = new WebSocket(`${wsBase}/${docId}`, { perMessageDeflate: false })
  let prefix: Uint8Array = new Uint8Array(0)
  if (options.protocol === 'hocuspocus') {
    const encoder = encoding.createEncoder()
    encoding.writeVarString(encoder, docId)
    prefix = encoding.toUint8Array(encoder)
  }
  const send = (frame: Uint8Array): void => ws.send(Buffer.concat([prefix, frame]))
  return new Promise<ProbeResult>((resolve) => {
    let synced = false
    let quietTimer: NodeJS.Timeout | undefined
    let done = false
    const finish = (ok: boolean, at = performance.now()): void => {
      if (done) return
      done = true
      clearTimeout(timeout)
      clearTimeout(quietTimer)
      ws.terminate()
      resolve({ ok, ms: at - started, ydoc })
    }
    const timeout = setTimeout(() => finish(false), options.timeoutMs)
    const armQuiet = (): void => {
      if (options.quietMs === undefined || !synced) return
      clearTimeout(quietTimer)
      const lastChange = performance.now()
      quietTimer = setTimeout(() => finish(!options.until, lastChange), options.quietMs)
    }
    ws.on('open', () => {
      if (prefix.length) send(Uint8Array.of(2, 0, 0)) // Auth, Token, ''
      send(encodeSyncStep1(Y.encodeStateVector(ydoc)))
    })
    ws.on('error', () => finish(false))
    ws.on('close', () => finish(false))
    ws.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(data)
      decoder.pos = prefix.length
      if (decoding.readVarUint(decoder) !== 0) return
      const syncType = decoding.readVarUint(decoder)
      const payload = decoding.readVarUint8Array(decoder)
      if (syncType === 0) {
        send(encodeSyncStep2(Y.encodeStateAsUpdate(ydoc, payload)))
        return
      }
      Y.applyUpdate(ydoc, payload)
      if (syncType === 1) synced = true
      if (synced && options.until?.(ydoc)) finish(true)
      else armQuiet()
    })
  })
}
