/**
 * Keystrokes for the replay scenarios: the real automerge-paper trace when it is present beside
 * the checkout (../shared/data/editing-traces, never copied into the repository), otherwise a
 * generated typing session of the same length, with a message saying so.
 *
 * Two encodings of the same keystrokes:
 *   - as a Y.Text 't', one update per keystroke (scenario 6, the sync-server replay);
 *   - as TipTap's document, a Y.XmlFragment 'default' of paragraphs (scenario 7, the browser),
 *     where typing Enter splits a paragraph and deleting a line break joins two, as the editor does.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as Y from 'yjs'
import { encodeSyncUpdate } from '../lib/protocol.ts'
import { tracesDir } from './paths.ts'
import { clockOf } from '../lib/state-vector.ts'

/** [position, deleted count, inserted text], positions in UTF-16 units (see the traces' README). */
export type Patch = [number, number, string]

export interface Keystrokes {
  source: string
  patches: Patch[]
  endContent: string
  /** Whether `patches` is the whole trace (the final text is then checked against the trace's). */
  complete: boolean
}

export const traceFile = (): string => join(tracesDir(), 'automerge-paper.json.gz')
/** Keystrokes in the automerge-paper trace; a generated session has as many. */
export const TRACE_LENGTH = 259_778

let cached: { limit: number | null; value: Keystrokes } | null = null

/** The first `limit` keystrokes (all when null). */
export function loadKeystrokes(limit: number | null, log: (line: string) => void): Keystrokes {
  if (cached && cached.limit === limit) return cached.value
  let value: Keystrokes
  const file = traceFile()
  if (existsSync(file)) {
    const trace = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as {
      endContent: string
      txns: { patches: Patch[] }[]
    }
    const all = trace.txns.flatMap((txn) => txn.patches)
    const patches = limit === null ? all : all.slice(0, limit)
    const endContent = applyPatches(patches)
    if (patches.length === all.length && endContent !== trace.endContent) {
      throw new Error(`replaying ${file} does not give its endContent`)
    }
    value = {
      source: `automerge-paper trace (${patches.length.toLocaleString('en')} of ${all.length.toLocaleString('en')} keystrokes)`,
      patches,
      endContent,
      complete: patches.length === all.length,
    }
  } else {
    log(`  NOTE: ${file} is not there; replaying GENERATED keystrokes instead (figures are not comparable with the real trace's)`)
    const patches = generateKeystrokes(limit ?? TRACE_LENGTH)
    value = {
      source: `generated keystrokes (${patches.length.toLocaleString('en')}; no trace at ${tracesDir()})`,
      patches,
      endContent: applyPatches(patches),
      complete: true,
    }
  }
  cached = { limit, value }
  return value
}

function applyPatches(patches: Patch[]): string {
  // A rope would be faster; chunks of 4 KB keep splice cheap enough for 260k keystrokes.
  const text = new ChunkedText()
  for (const [pos, del, ins] of patches) {
    if (del) text.delete(pos, del)
    if (ins) text.insert(pos, ins)
  }
  return text.toString()
}

/** A string as a list of chunks, so that an edit copies one chunk, not the whole text. */
class ChunkedText {
  private chunks: string[] = ['']

  private locate(pos: number): [number, number] {
    let i = 0
    while (i < this.chunks.length - 1 && pos > this.chunks[i].length) pos -= this.chunks[i++].length
    return [i, pos]
  }

  insert(pos: number, text: string): void {
    const [i, offset] = this.locate(pos)
    const chunk = this.chunks[i]
    const next = chunk.slice(0, offset) + text + chunk.slice(offset)
    if (next.length > 4096) this.chunks.splice(i, 1, next.slice(0, 2048), next.slice(2048))
    else this.chunks[i] = next
  }

  delete(pos: number, count: number): void {
    while (count > 0) {
      let [i, offset] = this.locate(pos)
      // At a chunk's end the character is the first of the next non-empty chunk.
      while (offset >= this.chunks[i].length) offset -= this.chunks[i++].length
      const chunk = this.chunks[i]
      const n = Math.min(count, chunk.length - offset)
      this.chunks[i] = chunk.slice(0, offset) + chunk.slice(offset + n)
      if (this.chunks[i] === '' && this.chunks.length > 1) this.chunks.splice(i, 1)
      count -= n
    }
  }

  toString(): string {
    return this.chunks.join('')
  }
}

/**
 * A deterministic typing session: mostly typing at a cursor, some backspacing, now and then a
 * jump to another place; line breaks every so often. One character per keystroke, like the trace.
 */
export function generateKeystrokes(count: number): Patch[] {
  let seed = 0x2545f491
  const random = (): number => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 0x1_0000_0000
  }
  const letters = 'etaoinshrdlucmfwypvbgkjqxz'
  const patches: Patch[] = []
  let length = 0
  let cursor = 0
  while (patches.length < count) {
    const r = random()
    if (r < 0.02) {
      cursor = Math.floor(random() * (length + 1))
    } else if (r < 0.14 && cursor > 0) {
      patches.push([cursor - 1, 1, ''])
      cursor--
      length--
    } else {
      const c = random() < 0.17 ? ' ' : random() < 0.015 ? '\n' : letters[Math.floor(random() * random() * letters.length)]
      patches.push([cursor, 0, c])
      cursor++
      length++
    }
  }
  return patches
}

export interface TraceFrames {
  file: string
  frames: number
  clientId: number
  /** The writer's clock after the last keystroke (what a SavedState must cover). */
  clock: number
  bytes: number
}

/** One sync-update frame per keystroke, into a Y.Text 't', written length-prefixed to a file. */
export function writeTraceFrames(keystrokes: Keystrokes, file: string): TraceFrames {
  const ydoc = new Y.Doc()
  const text = ydoc.getText('t')
  const frames: Uint8Array[] = []
  let bytes = 0
  ydoc.on('update', (update: Uint8Array) => {
    const frame = encodeSyncUpdate(update)
    frames.push(frame)
    bytes += 4 + frame.byteLength
  })
  for (const [pos, del, ins] of keystrokes.patches) {
    ydoc.transact(() => {
      if (del) text.delete(pos, del)
      if (ins) text.insert(pos, ins)
    })
  }
  if (text.toString() !== keystrokes.endContent) throw new Error('Y.Text replay does not give the expected text')
  const out = Buffer.allocUnsafe(bytes)
  let offset = 0
  for (const frame of frames) {
    out.writeUInt32LE(frame.byteLength, offset)
    out.set(frame, offset + 4)
    offset += 4 + frame.byteLength
  }
  writeFileSync(file, out)
  const clock = clockOf(ydoc)
  const result = { file, frames: frames.length, clientId: ydoc.clientID, clock, bytes }
  ydoc.destroy()
  return result
}

/**
 * The keystrokes as an editor would have made them in TipTap's Y.XmlFragment 'default': one
 * `paragraph` element (holding one Y.XmlText) per line. Returns the updates of one transaction per
 * `batch` keystrokes (the same history as one per keystroke, in fewer frames) and the state vector
 * the server must confirm.
 */
export function buildEditorDocument(
  keystrokes: Keystrokes,
  batch = 1000,
): { updates: Uint8Array[]; paragraphs: number; ydoc: Y.Doc } {
  const ydoc = new Y.Doc()
  const fragment = ydoc.getXmlFragment('default')
  const updates: Uint8Array[] = []
  ydoc.on('update', (update: Uint8Array) => updates.push(update))
  const texts: Y.XmlText[] = []
  const lines: string[] = []
  const addParagraph = (index: number, content: string): void => {
    const paragraph = new Y.XmlElement('paragraph')
    const text = new Y.XmlText()
    paragraph.insert(0, [text])
    fragment.insert(index, [paragraph])
    if (content) text.insert(0, content)
    texts.splice(index, 0, text)
    lines.splice(index, 0, content)
  }
  // Where a position is: typing is local, so the search starts from the last paragraph used.
  let at = 0
  let atStart = 0
  const locate = (pos: number): [number, number] => {
    while (pos < atStart) atStart -= lines[--at].length + 1
    while (pos > atStart + lines[at].length) atStart += lines[at++].length + 1
    return [at, pos - atStart]
  }
  ydoc.transact(() => addParagraph(0, ''))
  const { patches } = keystrokes
  for (let start = 0; start < patches.length; start += batch) {
    ydoc.transact(() => {
      for (const [pos, del, ins] of patches.slice(start, start + batch)) {
        for (let n = 0; n < del; n++) {
          const [i, offset] = locate(pos)
          if (offset === lines[i].length) {
            // Deleting a line break joins the next paragraph onto this one.
            const tail = lines[i + 1]
            if (tail) texts[i].insert(offset, tail)
            lines[i] += tail
            fragment.delete(i + 1, 1)
            texts.splice(i + 1, 1)
            lines.splice(i + 1, 1)
          } else {
            texts[i].delete(offset, 1)
            lines[i] = lines[i].slice(0, offset) + lines[i].slice(offset + 1)
          }
        }
        let cursor = pos
        for (const c of ins) {
          const [i, offset] = locate(cursor)
          if (c === '\n') {
            // Enter splits the paragraph at the caret.
            const tail = lines[i].slice(offset)
            if (tail) texts[i].delete(offset, tail.length)
            lines[i] = lines[i].slice(0, offset)
            addParagraph(i + 1, tail)
          } else {
            texts[i].insert(offset, c)
            lines[i] = lines[i].slice(0, offset) + c + lines[i].slice(offset)
          }
          cursor++
        }
      }
    })
  }
  if (lines.join('\n') !== keystrokes.endContent) throw new Error('the editor-document replay does not give the expected text')
  return { updates, paragraphs: lines.length, ydoc }
}
