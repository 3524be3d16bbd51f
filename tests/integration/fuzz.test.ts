/**
 * Fuzz: random and mutated protocol frames from many connections at a live server while two
 * honest clients edit. Seeded and bounded; reproduce a failure with FUZZ_SEED=<printed seed>.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { encodeAwarenessFrame, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate } from '../../lib/protocol.ts'
import { connectClient, makeTempDir, startTestServer, whenSynced, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const MAX_FRAMES = Number(process.env.FUZZ_FRAMES ?? 6000)
const MAX_MS = 15_000
const HOSTILE_SOCKETS = 12
const DOC_ID = 'fuzzed'

/** mulberry32: small, fast, good enough to pick mutations reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(items: T[]) => items[Math.floor(next() * items.length)] }
}

/** Valid frames of every kind, the raw material for mutations. */
function buildCorpus(): Uint8Array[] {
  const doc = new Y.Doc()
  const frames: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => frames.push(encodeSyncUpdate(update)))
  const text = doc.getText('honest')
  text.insert(0, 'seed text for the corpus')
  text.delete(3, 4)
  doc.getMap('meta').set('title', 'Fuzz')
  const fragment = doc.getXmlFragment('default')
  const paragraph = new Y.XmlElement('paragraph')
  paragraph.insert(0, [new Y.XmlText('rich')])
  fragment.insert(0, [paragraph])
  frames.push(encodeSyncStep1(Y.encodeStateVector(doc)), encodeSyncStep2(Y.encodeStateAsUpdate(doc)))
  const awareness = new Awareness(doc)
  awareness.setLocalStateField('user', { name: 'Fuzzer', color: '#123456' })
  frames.push(encodeAwarenessFrame(encodeAwarenessUpdate(awareness, [doc.clientID])), Uint8Array.of(3))
  awareness.destroy()
  return frames
}

function hostileFrame(random: ReturnType<typeof prng>, corpus: Uint8Array[]): Uint8Array {
  const kind = random.int(6)
  if (kind === 0) return Uint8Array.from({ length: random.int(64) }, () => random.int(256))
  if (kind === 1) {
    // A well-formed envelope around garbage.
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, random.int(5))
    encoding.writeVarUint(encoder, random.int(4))
    encoding.writeVarUint8Array(
      encoder,
      Uint8Array.from({ length: random.int(40) }, () => random.int(256)),
    )
    return encoding.toUint8Array(encoder)
  }
  const frame = Uint8Array.from(random.pick(corpus))
  if (kind === 2) return frame.subarray(0, random.int(frame.length))
  if (kind === 3) {
    const huge = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)
    const at = random.int(frame.length)
    return Uint8Array.from([...frame.subarray(0, at), ...huge, ...frame.subarray(at)])
  }
  // Flip a few bytes: most frames still decode, many updates still parse.
  for (let i = 0, n = 1 + random.int(4); i < n; i++) frame[random.int(frame.length)] = random.int(256)
  return frame
}

async function restartAndRead(dataDir: string): Promise<string> {
  const again = await startTestServer(dataDir)
  try {
    const reader = connectClient(again.wsUrl, DOC_ID)
    await whenSynced(reader)
    const text = reader.doc.getText('honest').toString()
    reader.destroy()
    return text
  } finally {
    await again.close()
  }
}

describe(`fuzz (seed ${SEED}; re-run with FUZZ_SEED=${SEED})`, () => {
  it('survives hostile frames from many connections while honest clients converge', async () => {
    const random = prng(SEED)
    const corpus = buildCorpus()
    const temp = await makeTempDir()
    // No per-address limit: every socket here comes from 127.0.0.1.
    let server: TestServer | null = await startTestServer(temp.dir, { maxConnectionsPerAddressPerMinute: 0 })
    const sockets = new Set<WebSocket>()
    const closeCodes = new Map<number, number>()
    try {
      const a = connectClient(server.wsUrl, DOC_ID)
      const b = connectClient(server.wsUrl, DOC_ID)
      await Promise.all([whenSynced(a), whenSynced(b)])

      let sent = 0
      let opened = 0
      const started = performance.now()
      const openHostile = () => {
        if (sent >= MAX_FRAMES || performance.now() - started > MAX_MS) return
        opened++
        const ws = new WebSocket(`${server!.wsUrl}/${DOC_ID}`)
        sockets.add(ws)
        ws.on('error', () => {})
        ws.on('message', () => {})
        ws.on('open', function pump() {
          for (let i = 0; i < 5 && ws.readyState === WebSocket.OPEN && sent < MAX_FRAMES; i++, sent++) {
            ws.send(hostileFrame(random, corpus))
          }
          if (ws.readyState === WebSocket.OPEN && sent < MAX_FRAMES && performance.now() - started < MAX_MS) setTimeout(pump, 1)
        })
        ws.on('close', (code) => {
          sockets.delete(ws)
          closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1)
          openHostile()
        })
      }
      for (let i = 0; i < HOSTILE_SOCKETS; i++) openHostile()

      // The honest clients type and delete throughout.
      let edits = 0
      const editing = setInterval(() => {
        for (const client of [a, b]) {
          const text = client.doc.getText('honest')
          if (random.next() < 0.75 || text.length < 5)
            text.insert(random.int(text.length + 1), `${client === a ? 'a' : 'b'}${edits++} `)
          else text.delete(random.int(text.length - 3), 3)
        }
      }, 3)
      await waitFor(() => sent >= MAX_FRAMES || performance.now() - started > MAX_MS, 'fuzzing done', MAX_MS + 5000)
      clearInterval(editing)
      for (const ws of sockets) ws.terminate()

      const health = await fetch(`${server.url.replace('localhost', '127.0.0.1')}/healthz`)
      assert.equal(health.status, 200, `server up after ${sent} hostile frames on ${opened} sockets`)
      await waitFor(
        () => a.provider.synced && b.provider.synced && a.doc.getText('honest').toString() === b.doc.getText('honest').toString(),
        `honest clients converge (seed ${SEED})`,
        15_000,
      )
      const final = a.doc.getText('honest').toString()
      assert.ok(edits > 100, `honest clients made ${edits} edits`)
      await Promise.all([a.whenSaved(10_000), b.whenSaved(10_000)])
      a.destroy()
      b.destroy()
      await server.close()
      server = null
      assert.equal(await restartAndRead(temp.dir), final, `stored document loads cleanly after a restart (seed ${SEED})`)
      assert.ok(sent > 1000, `sent ${sent} hostile frames`)
      assert.ok(
        (closeCodes.get(4400) ?? 0) > 0,
        `some hostile connections were closed as malformed: ${JSON.stringify([...closeCodes])}`,
      )
    } finally {
      for (const ws of sockets) ws.terminate()
      await server?.close()
      await temp.remove()
    }
  })
})
