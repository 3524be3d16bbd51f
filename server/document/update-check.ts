/**
 * Checks that a Yjs update (encoding v1) is well formed, without building it.
 *
 * Why: Yjs applies an update's structs before it reads the update's delete set, so an update
 * whose tail is malformed would leave the document half-changed. Every update is therefore
 * checked in full before it is applied. `Y.decodeUpdate` can do that, but it builds every struct
 * and string, allocating about 1.7 KB for a one-keystroke update; this walks the same bytes and
 * allocates nothing for the updates people make (JSON contents aside).
 *
 * It accepts exactly what `Y.decodeUpdate` (yjs 13.6, lib0 0.2.120) accepts, which the unit
 * tests check against it, on every kind of content and on mutated updates:
 *   - every read must lie within the update (lib0 checks bounds; trailing bytes are ignored);
 *   - strings must be valid UTF-8 (lib0 decodes with a fatal TextDecoder);
 *   - JSON, embed and format contents must parse as JSON;
 *   - content kinds 1-9, type kinds 0-6 and lib0 "any" tags 116-127 only;
 *   - a subdocument's options must not be null or undefined.
 * One deliberate difference: "any" values nested deeper than MAX_ANY_DEPTH are refused, where
 * Yjs would overflow its stack at some depth of its own.
 */
import { isUtf8 } from 'node:buffer'
import { ProtocolError } from '../../lib/protocol.ts'
import { formatBytes } from './notices.ts'

/** A change that did not come from a connection would take the document past its size cap. */
export class DocumentTooLargeError extends Error {
  override name = 'DocumentTooLargeError'
}

/** Throws DocumentTooLargeError when `update` would take a document of `documentBytes` past `maxBytes`. */
export function assertWithinSizeCap(documentBytes: number, update: Uint8Array, maxBytes: number): void {
  if (documentBytes + update.byteLength > maxBytes) {
    throw new DocumentTooLargeError(`the document may be at most ${formatBytes(maxBytes)}`)
  }
}

const MAX_ANY_DEPTH = 1000

class MalformedUpdate extends ProtocolError {
  constructor(reason: string) {
    super(`malformed update: ${reason}`)
  }
}

export function assertWellFormedUpdate(update: Uint8Array): void {
  const reader = new Reader(update)
  // Structs, grouped by client.
  const clients = reader.varUint()
  for (let c = 0; c < clients; c++) {
    const structs = reader.varUint()
    reader.varUint() // client
    reader.varUint() // first clock
    for (let s = 0; s < structs; s++) readStruct(reader)
  }
  // The delete set.
  const deleteClients = reader.varUint()
  for (let c = 0; c < deleteClients; c++) {
    reader.varUint() // client
    const ranges = reader.varUint()
    for (let r = 0; r < ranges; r++) {
      reader.varUint() // clock
      reader.varUint() // length
    }
  }
}

const BIT6 = 0b0010_0000 // the item has a parentSub
const BIT7 = 0b0100_0000 // the item has a right origin
const BIT8 = 0b1000_0000 // the item has an origin
const BITS5 = 0b0001_1111 // the content kind

function readStruct(reader: Reader): void {
  const info = reader.uint8()
  if (info === 10) {
    reader.varUint() // Skip: length
    return
  }
  const contentKind = info & BITS5
  if (contentKind === 0) {
    reader.varUint() // GC: length
    return
  }
  if ((info & BIT8) !== 0) reader.id() // origin
  if ((info & BIT7) !== 0) reader.id() // right origin
  if ((info & (BIT7 | BIT8)) === 0) {
    // Neither origin: the parent is written out, as a root type's name or as an item's id.
    if (reader.varUint() === 1) reader.string()
    else reader.id()
    if ((info & BIT6) !== 0) reader.string() // parentSub
  }
  readContent(reader, contentKind)
}

function readContent(reader: Reader, kind: number): void {
  switch (kind) {
    case 1: // deleted: length
      reader.varUint()
      return
    case 2: {
      // JSON: strings that each parse as JSON, or the string "undefined"
      const count = reader.varUint()
      for (let i = 0; i < count; i++) {
        const text = reader.decodedString()
        if (text !== 'undefined') parseJson(text)
      }
      return
    }
    case 3: // binary
      reader.bytes()
      return
    case 4: // string
      reader.string()
      return
    case 5: // embed: JSON
      parseJson(reader.decodedString())
      return
    case 6: // format: key, JSON value
      reader.string()
      parseJson(reader.decodedString())
      return
    case 7: {
      // type: array, map, text, XML element (with its name), fragment, hook (with its name), XML text
      const typeKind = reader.varUint()
      if (typeKind > 6) throw new MalformedUpdate(`unknown type kind ${typeKind}`)
      if (typeKind === 3 || typeKind === 5) reader.string()
      return
    }
    case 8: {
      // any: lib0-encoded values
      const count = reader.varUint()
      for (let i = 0; i < count; i++) readAny(reader, 0)
      return
    }
    case 9: {
      // subdocument: guid, options
      reader.string()
      const tag = readAny(reader, 0)
      // Yjs reads the options' properties: null or undefined would throw.
      if (tag === ANY_UNDEFINED || tag === ANY_NULL) throw new MalformedUpdate('subdocument without options')
      return
    }
    default:
      throw new MalformedUpdate(`unknown content kind ${kind}`)
  }
}

const ANY_UNDEFINED = 127
const ANY_NULL = 126

/** Skips one lib0 "any" value; returns its tag. */
function readAny(reader: Reader, depth: number): number {
  const tag = reader.uint8()
  switch (tag) {
    case 127: // undefined
    case 126: // null
    case 121: // false
    case 120: // true
      break
    case 125: // integer
      reader.varInt()
      break
    case 124: // float32
      reader.skip(4)
      break
    case 123: // float64
    case 122: // bigint64
      reader.skip(8)
      break
    case 119: // string
      reader.string()
      break
    case 118: {
      // object: key, value pairs
      if (depth >= MAX_ANY_DEPTH) throw new MalformedUpdate('values nested too deep')
      const entries = reader.varUint()
      for (let i = 0; i < entries; i++) {
        reader.string()
        readAny(reader, depth + 1)
      }
      break
    }
    case 117: {
      // array
      if (depth >= MAX_ANY_DEPTH) throw new MalformedUpdate('values nested too deep')
      const items = reader.varUint()
      for (let i = 0; i < items; i++) readAny(reader, depth + 1)
      break
    }
    case 116: // Uint8Array
      reader.bytes()
      break
    default:
      throw new MalformedUpdate(`unknown value tag ${tag}`)
  }
  return tag
}

function parseJson(text: string): void {
  try {
    JSON.parse(text)
  } catch {
    throw new MalformedUpdate('content is not valid JSON')
  }
}

const truncated = () => new MalformedUpdate('unexpected end of update')

/** Reads lib0's encodings with the same bounds and overflow checks as lib0's decoder. */
class Reader {
  private pos = 0

  constructor(private readonly bytesIn: Uint8Array) {}

  uint8(): number {
    if (this.pos >= this.bytesIn.length) throw truncated()
    return this.bytesIn[this.pos++]
  }

  varUint(): number {
    const bytes = this.bytesIn
    let num = 0
    let mult = 1
    while (this.pos < bytes.length) {
      const r = bytes[this.pos++]
      num += (r & 0x7f) * mult
      mult *= 128
      if (r < 0x80) return num
      if (num > Number.MAX_SAFE_INTEGER) throw new MalformedUpdate('integer out of range')
    }
    throw truncated()
  }

  /** lib0's signed varint: sign and 6 bits in the first byte, then 7 bits per byte. */
  varInt(): void {
    const first = this.uint8()
    if ((first & 0x80) === 0) return
    const bytes = this.bytesIn
    let num = first & 0x3f
    let mult = 64
    while (this.pos < bytes.length) {
      const r = bytes[this.pos++]
      num += (r & 0x7f) * mult
      mult *= 128
      if (r < 0x80) return
      if (num > Number.MAX_SAFE_INTEGER) throw new MalformedUpdate('integer out of range')
    }
    throw truncated()
  }

  id(): void {
    this.varUint() // client
    this.varUint() // clock
  }

  skip(length: number): void {
    if (length > this.bytesIn.length - this.pos) throw truncated()
    this.pos += length
  }

  /** A length-prefixed byte string; returns where it starts. */
  bytes(): number {
    const length = this.varUint()
    const start = this.pos
    this.skip(length)
    return start
  }

  /** A length-prefixed UTF-8 string, checked but not decoded. */
  string(): void {
    const start = this.bytes()
    const bytes = this.bytesIn
    for (let i = start; i < this.pos; i++) {
      // Mostly ASCII: only strings with other characters need the full check.
      if (bytes[i] >= 0x80) {
        if (!isUtf8(bytes.subarray(start, this.pos))) throw new MalformedUpdate('string is not valid UTF-8')
        return
      }
    }
  }

  decodedString(): string {
    const start = this.bytes()
    const view = this.bytesIn.subarray(start, this.pos)
    if (!isUtf8(view)) throw new MalformedUpdate('string is not valid UTF-8')
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('utf8')
  }
}
