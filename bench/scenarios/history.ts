/**
 * Scenario 10, version history, on Chorus (the only server with one), against a real server:
 *   a. storage: the automerge-paper trace replayed as the editor's document, one update per 1,000
 *      keystrokes, each followed by a version (POST /versions); then the stored bytes of the
 *      document and its history, read back from the server's LevelDB after a graceful stop, against
 *      the same document stored without history (one gc'd Yjs state, what Chorus stored before);
 *   b. the history list of a document with 1,000 versions: GET of its first page (what the panel
 *      asks for) and of all 1,000 at once;
 *   c. a version of the 105k-character document shown: GET ?format=html&compare=previous;
 *   d. the initial sync's cost: the state a new client receives from the gc-free document
 *      (client-state.ts), in bytes and in the time a client takes to apply it, against the gc'd state.
 */
import { rm } from 'node:fs/promises'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { historyApiBase } from '../../lib/routes.ts'
import { encodeStateForClients } from '../../server/document/client-state.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'
import type { Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import { buildEditorDocument, loadKeystrokes } from '../trace.ts'
import { now } from '../traffic.ts'

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = now()
  const result = await work()
  return [result, now() - started]
}

async function post(base: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`)
}

const stateVectorOf = (doc: Y.Doc) => Buffer.from(Y.encodeStateVector(doc)).toString('base64')

export const history: Scenario = {
  id: 'history',
  title: 'Version history: storage, list, a version shown, sync cost',
  appliesTo: (server) => server === 'chorus',
  parameters: ({ trace }) =>
    `the automerge-paper trace${trace.keystrokes ? ` (first ${trace.keystrokes.toLocaleString('en')} keystrokes)` : ''} as the editor's document, ` +
    'a version every 1,000 keystrokes; a second document with 1,000 versions; the final document shown compared with its previous version',
  metrics: () => [
    { key: 'versions', label: 'versions of the trace document', unit: '', digits: 0, better: 'none' },
    { key: 'plainBytes', label: 'document stored without history (gc)', unit: 'KiB', digits: 0, better: 'none' },
    { key: 'documentBytes', label: 'document stored with history (gc off)', unit: 'KiB', digits: 0, better: 'lower' },
    { key: 'versionBytes', label: 'versions (snapshots + descriptions)', unit: 'KiB', digits: 0, better: 'lower' },
    { key: 'storageRatio', label: 'history storage vs without history', unit: 'x', digits: 2, better: 'lower' },
    { key: 'listFirstPageMs', label: 'list of 1,000 versions: first page (100)', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'listAllMs', label: 'list of 1,000 versions: all at once', unit: 'ms', digits: 1, better: 'lower' },
    { key: 'versionShownMs', label: 'a version of the 105k document, html with changes', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'syncBytesRatio', label: 'initial sync bytes, with history vs without', unit: 'x', digits: 2, better: 'lower' },
    { key: 'syncApplyRatio', label: 'initial sync apply time, with history vs without', unit: 'x', digits: 2, better: 'lower' },
  ],
  async run({ settings, log, note }) {
    const keystrokes = loadKeystrokes(settings.trace.keystrokes, log)
    note(keystrokes.source)
    const { updates, ydoc } = buildEditorDocument(keystrokes, 1000)
    const server = await ServerProcess.launch('chorus', {
      env: { HISTORY_PAUSE_MS: '3600000', HISTORY_MAX_INTERVAL_MS: '3600000' },
    })
    const api = `${server.httpUrl}${historyApiBase({ docId: 'trace' })}`
    try {
      // a. the trace, a version after every 1,000 keystrokes
      const doc = new Y.Doc()
      const provider = new WebsocketProvider(server.wsBase, 'trace', doc, {
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        // A stock client: it needs no "Saved" (each version waits for its state vector instead).
        disableBc: true,
      })
      provider.awareness.setLocalStateField('user', { id: 'bench-author', name: 'Bench', color: '#336699' })
      await new Promise<void>((resolve) => provider.once('sync', () => resolve()))
      let count = 0
      for (const update of updates) {
        Y.applyUpdate(doc, update)
        await post(api, '/versions', {
          name: `after ${(++count * 1000).toLocaleString('en')} keystrokes`,
          stateVector: stateVectorOf(doc),
        })
        if (count % 50 === 0) log(`    ${count} of ${updates.length} versions`)
      }
      provider.destroy()
      // c. the newest version, compared with the one before
      const shown: number[] = []
      for (let i = 0; i < 5; i++) {
        const [, ms] = await timed(async () => {
          const response = await fetch(`${api}/versions/${count}?format=html&compare=previous`)
          await response.json()
        })
        shown.push(ms)
      }
      // b. 1,000 versions of another document
      const many = `${server.httpUrl}${historyApiBase({ docId: 'many-versions' })}`
      const small = new Y.Doc()
      const smallProvider = new WebsocketProvider(server.wsBase, 'many-versions', small, {
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      })
      await new Promise<void>((resolve) => smallProvider.once('sync', () => resolve()))
      for (let i = 0; i < 1000; i++) {
        small.getText('t').insert(0, 'x')
        await post(many, '/versions', { name: `v${i}`, stateVector: stateVectorOf(small) })
      }
      smallProvider.destroy()
      const firstPage: number[] = []
      const all: number[] = []
      for (let i = 0; i < 5; i++) {
        firstPage.push((await timed(async () => (await fetch(`${many}/versions?limit=100`)).json()))[1])
        all.push((await timed(async () => (await fetch(`${many}/versions?limit=1000`)).json()))[1])
      }
      await server.stop('SIGTERM')
      // a. the bytes on disk, read back through the store
      const store = await LevelDbStore.open(server.dataDir)
      const stored = await store.load('trace')
      const versions = await store.readVersions('trace', 1, count)
      await store.close()
      const versionBytes = versions.reduce((sum, version) => sum + version.meta.length + version.snapshot.byteLength, 0)
      const plain = new Y.Doc()
      Y.applyUpdate(plain, Y.encodeStateAsUpdate(ydoc))
      const plainBytes = Y.encodeStateAsUpdate(plain).byteLength
      const documentBytes = stored.snapshotBytes + stored.logBytes
      // d. what a new client receives and applies: the gc-free state against the gc'd one
      const full = new Y.Doc({ gc: false })
      for (const update of stored.updates) Y.applyUpdate(full, update)
      // What a new client is sent (client-state.ts), against the gc'd state Chorus sent before.
      const fullState = encodeStateForClients(full)
      const gcState = Y.encodeStateAsUpdate(plain)
      // Alternating, after one warm-up each, so that neither side pays for the JIT alone.
      const applyTimes: [number[], number[]] = [[], []]
      for (let i = 0; i < 12; i++) {
        for (const [side, state] of [gcState, fullState].entries()) {
          const started = now()
          Y.applyUpdate(new Y.Doc(), state)
          if (i > 0) applyTimes[side].push(now() - started)
        }
      }
      const applyGc = median(applyTimes[0])
      const applyFull = median(applyTimes[1])
      return {
        versions: count,
        plainBytes: plainBytes / 1024,
        documentBytes: documentBytes / 1024,
        versionBytes: versionBytes / 1024,
        storageRatio: (documentBytes + versionBytes) / plainBytes,
        listFirstPageMs: median(firstPage),
        listAllMs: median(all),
        versionShownMs: median(shown),
        syncBytesRatio: fullState.byteLength / gcState.byteLength,
        syncApplyRatio: applyFull / applyGc,
      }
    } finally {
      await server.cleanup()
      await rm(server.dataDir, { recursive: true, force: true }).catch(() => undefined)
    }
  },
}
