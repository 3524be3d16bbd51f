/**
 * Yjs updates for "type at the end", encoded by hand.
 *
 * A writer that only ever appends to its own text needs no Y.Doc: each edit is one Item whose
 * left origin is the writer's previous character (or, for the first, the root type 't') and whose
 * right origin is null, exactly what Y.Text produces for typing at the end. Encoding it directly
 * costs about a microsecond, while Y.Text.insert(text.length, ...) costs ~0.5 ms per edit once a
 * text holds 30 000 of them, which would make the load client the bottleneck. The bytes are the
 * update format v1 (yjs `Item.write` with UpdateEncoderV1); every bench run first checks them
 * byte for byte against what Yjs itself produces (checkAppendUpdate).
 *
 *   numClients=1, numStructs=1, client, clock, info, (left origin | parent 't'), string, empty delete set
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

const CONTENT_STRING = 4
const HAS_ORIGIN = 0x80

export function appendUpdate(client: number, clock: number, text: string, root = 't'): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, clock)
  if (clock > 0) {
    encoding.writeUint8(encoder, CONTENT_STRING | HAS_ORIGIN)
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock - 1)
  } else {
    encoding.writeUint8(encoder, CONTENT_STRING)
    encoding.writeVarUint(encoder, 1) // parent is a root type, named by key
    encoding.writeVarString(encoder, root)
  }
  encoding.writeVarString(encoder, text)
  encoding.writeVarUint(encoder, 0) // delete set: no clients
  return encoding.toUint8Array(encoder)
}

/** A random client id, as Yjs makes them (uint32). */
export function randomClientId(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0
}

/** Throws unless appendUpdate's bytes equal Yjs's own for the same edits (run before measuring). */
export function checkAppendUpdate(): void {
  const ydoc = new Y.Doc()
  ydoc.clientID = 2_654_435_761
  const text = ydoc.getText('t')
  let last: Uint8Array | null = null
  ydoc.on('update', (update: Uint8Array) => (last = update))
  let clock = 0
  for (let i = 0; i < 300; i++) {
    const insert = `<#7.${i}.${i * 977}#> `
    text.insert(text.length, insert)
    const ours = appendUpdate(ydoc.clientID, clock, insert)
    if (!last || Buffer.compare(Buffer.from(ours), Buffer.from(last)) !== 0) {
      throw new Error(
        `appendUpdate differs from Yjs at edit ${i}: ${Buffer.from(ours).toString('hex')} vs ${Buffer.from(last ?? []).toString('hex')}`,
      )
    }
    clock += insert.length
  }
  ydoc.destroy()
}
