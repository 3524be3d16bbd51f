import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { loadKeystrokes } from '../../bench/trace.ts'
import { assertWellFormedUpdate } from '../../server/document/update-check.ts'

/** The reference: what Yjs itself accepts. */
function yjsAccepts(update: Uint8Array): boolean {
  try {
    Y.decodeUpdate(update)
    return true
  } catch {
    return false
  }
}

function weAccept(update: Uint8Array): boolean {
  try {
    assertWellFormedUpdate(update)
    return true
  } catch {
    return false
  }
}

/** Updates with every kind of struct, content, type and value Yjs writes. */
function corpus(): { name: string; update: Uint8Array }[] {
  const updates: { name: string; update: Uint8Array }[] = []
  const doc = new Y.Doc()
  doc.on('update', (update: Uint8Array) => updates.push({ name: `edit ${updates.length}`, update }))
  const text = doc.getText('text')
  text.insert(0, 'hello world')
  text.insert(5, ' there, ünïcödé 文字 and 🎉', { bold: true, link: { href: 'https://example.com' } })
  text.format(0, 3, { italic: true })
  text.insertEmbed(2, { image: 'cat.png', size: [1, 2.5] })
  text.delete(1, 4)
  const array = doc.getArray<unknown>('array')
  array.push([1, -7, 2 ** 40, -(2 ** 52), 0.5, 1e300, 'str', null, true, false, { a: [1, { b: 'c' }] }, [[]]])
  array.push([new Uint8Array([1, 2, 3]), { big: BigInt(-5), bytes: new Uint8Array([4]), none: undefined }])
  const nested = new Y.Map<unknown>()
  array.insert(0, [nested, new Y.Array(), new Y.Text('inner')])
  nested.set('key', 'value')
  nested.set('nothing', undefined)
  nested.set('null', null)
  nested.set('subdoc', new Y.Doc({ guid: 'sub-guid', meta: { kind: 'x' } }))
  nested.delete('key')
  const xml = doc.getXmlFragment('xml')
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.setAttribute('align', 'left')
  const xmlText = new Y.XmlText('text in xml')
  paragraph.insert(0, [xmlText])
  // Yjs reads and writes hooks in fragments, though its types leave them out.
  xml.insert(0, [paragraph, new Y.XmlHook('hook-name') as unknown as Y.XmlElement])
  xmlText.format(0, 4, { bold: {} })
  array.delete(2, 3)
  updates.push({ name: 'whole document', update: Y.encodeStateAsUpdate(doc) })
  // Without garbage collection, deleted content is written as such.
  const kept = new Y.Doc({ gc: false })
  Y.applyUpdate(kept, Y.encodeStateAsUpdate(doc))
  kept.getText('text').delete(0, 3)
  updates.push({ name: 'gc off', update: Y.encodeStateAsUpdate(kept) })
  // A merged update with a gap between its parts holds a Skip struct.
  updates.push({ name: 'merged with a gap', update: Y.mergeUpdates([updates[0].update, updates[3].update]) })
  // JSON content: Yjs no longer writes it, but still reads it (old documents).
  const legacy = encoding.createEncoder()
  encoding.writeVarUint(legacy, 1) // one client
  encoding.writeVarUint(legacy, 1) // one struct
  encoding.writeVarUint(legacy, 7) // client
  encoding.writeVarUint(legacy, 0) // clock
  encoding.writeUint8(legacy, 2) // JSON content, no origins
  encoding.writeVarUint(legacy, 1) // the parent is a root type
  encoding.writeVarString(legacy, 'array')
  encoding.writeVarUint(legacy, 2)
  encoding.writeVarString(legacy, '{"x":[1,2]}')
  encoding.writeVarString(legacy, 'undefined')
  encoding.writeVarUint(legacy, 0) // empty delete set
  updates.push({ name: 'legacy JSON', update: encoding.toUint8Array(legacy) })
  return updates
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function mutate(update: Uint8Array, next: () => number): Uint8Array {
  const bytes = Array.from(update)
  const at = Math.floor(next() * (bytes.length + 1))
  const byte = Math.floor(next() * 256)
  switch (Math.floor(next() * 5)) {
    case 0:
      if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = byte
      break
    case 1:
      bytes.splice(at, 0, byte)
      break
    case 2:
      bytes.splice(at, 1 + Math.floor(next() * 4))
      break
    case 3:
      bytes.length = at
      break
    default:
      // Lengths and kinds are often single bytes with the high bit clear or set.
      if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] ^= 1 << Math.floor(next() * 8)
  }
  return Uint8Array.from(bytes)
}

describe('update format check', () => {
  it('accepts every kind of update Yjs writes', () => {
    const updates = corpus()
    assert.ok(updates.length >= 20, `${updates.length} updates`)
    for (const { name, update } of updates) {
      assert.equal(yjsAccepts(update), true, `${name}: Yjs itself accepts it`)
      assert.doesNotThrow(() => assertWellFormedUpdate(update), name)
    }
  })

  it('agrees with Y.decodeUpdate on 30,000 mutated updates', () => {
    const updates = corpus()
    const next = random(Number(process.env.FUZZ_SEED ?? 20261121))
    let rejected = 0
    for (let i = 0; i < 30_000; i++) {
      const { name, update } = updates[i % updates.length]
      let mutated = mutate(update, next)
      if (next() < 0.3) mutated = mutate(mutated, next)
      const expected = yjsAccepts(mutated)
      if (!expected) rejected++
      assert.equal(weAccept(mutated), expected, `mutation ${i} of "${name}": ${Buffer.from(mutated).toString('hex')}`)
    }
    // Both verdicts must be exercised, or the comparison proves nothing.
    assert.ok(rejected > 5000 && rejected < 28_000, `${rejected} of 30000 rejected`)
  })

  it('agrees with Y.decodeUpdate on every one-byte change of a document with every kind of content', () => {
    const whole = corpus().find(({ name }) => name === 'whole document')!.update
    let rejected = 0
    for (let at = 0; at < whole.length; at++) {
      const mutated = Uint8Array.from(whole)
      for (let byte = 0; byte < 256; byte++) {
        if (byte === whole[at]) continue
        mutated[at] = byte
        const expected = yjsAccepts(mutated)
        if (!expected) rejected++
        if (weAccept(mutated) !== expected) assert.fail(`byte ${at} set to ${byte}: Yjs ${expected ? 'accepts' : 'rejects'} it`)
      }
    }
    assert.ok(rejected > 0, 'some changes are rejected')
  })

  it('rejects what would make a half-applied update, with a reason', () => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'abc')
    const update = Y.encodeStateAsUpdate(doc)
    // The delete set is the tail of the update: cutting it leaves well-formed structs before it.
    assert.throws(() => assertWellFormedUpdate(update.subarray(0, update.length - 1)), /malformed update: unexpected end/)
    const badString = Uint8Array.from(update)
    badString[badString.indexOf(0x61)] = 0xff // 'a' becomes a byte that is never UTF-8
    assert.throws(() => assertWellFormedUpdate(badString), /not valid UTF-8/)
  })

  it('never reads past the update into the buffer around it', () => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'abc')
    const update = Y.encodeStateAsUpdate(doc)
    // As ws hands them out: a view into a larger buffer whose next bytes would complete it.
    const pool = new Uint8Array(update.length + 16)
    pool.set(update)
    const cut = pool.subarray(0, update.length - 1)
    assert.equal(yjsAccepts(cut), false)
    assert.equal(weAccept(cut), false)
  })

  it('accepts every keystroke of a real editing trace (or of generated ones)', () => {
    const keystrokes = loadKeystrokes(3000, () => {})
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    const text = doc.getText('text')
    for (const [position, deleted, inserted] of keystrokes.patches) {
      if (deleted > 0) text.delete(position, deleted)
      if (inserted) text.insert(position, inserted)
    }
    assert.ok(updates.length >= 2900, `${updates.length} updates from ${keystrokes.source}`)
    for (const update of updates) assertWellFormedUpdate(update)
  })
})
