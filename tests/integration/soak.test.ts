/**
 * Soak: open and close a few thousand documents and connections; afterwards every document is
 * unloaded, no connection or listener is left behind, and the heap returns near its baseline.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { MessageType, encodeSyncStep1, encodeSyncUpdate } from '../../lib/protocol.ts'
import { makeTempDir, startTestServer, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const DOCUMENTS = 1500
const CLIENTS_PER_DOCUMENT = 2
const CONCURRENCY = 50

function decodeServerSync(frame: Uint8Array): { syncType: number; payload: Uint8Array } | null {
  const decoder = decoding.createDecoder(frame)
  if (decoding.readVarUint(decoder) !== MessageType.Sync) return null
  return { syncType: decoding.readVarUint(decoder), payload: decoding.readVarUint8Array(decoder) }
}

/** One short visit: connect, write something, get the server's reply, leave. */
async function visit(server: TestServer, docId: string, text: string): Promise<void> {
  const ws = new WebSocket(`${server.wsUrl}/${docId}`)
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => {
      const doc = new Y.Doc()
      doc.getText('t').insert(0, text)
      ws.send(encodeSyncUpdate(Y.encodeStateAsUpdate(doc)))
      ws.send(encodeSyncStep1(new Uint8Array([0])))
    })
    // The reply to our step 1 (a step 2) proves the document was loaded and served us.
    ws.on('message', (data: Buffer) => {
      if (decodeServerSync(data)?.syncType === 1) ws.close()
    })
    ws.once('close', () => resolve())
  })
}

async function churn(server: TestServer, prefix: string, documents: number): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < documents) {
      const docId = `${prefix}-${next++}`
      await Promise.all(Array.from({ length: CLIENTS_PER_DOCUMENT }, (_, i) => visit(server, docId, `client ${i} was here`)))
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

async function settledHeap(server: TestServer): Promise<number> {
  await waitFor(() => server.sync.documents.size === 0 && server.sync.connectionCount === 0, 'all documents unloaded', 20_000)
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

describe('soak', () => {
  it(`opens and closes ${DOCUMENTS * CLIENTS_PER_DOCUMENT} connections over ${DOCUMENTS} documents without leaking`, async (t) => {
    const temp = await makeTempDir()
    const server = await startTestServer(temp.dir, { maxConnectionsPerAddressPerMinute: 0 })
    try {
      // Warm up first, so that JIT code, pools and LevelDB caches are part of the baseline.
      await churn(server, 'warm', 200)
      const baseline = await settledHeap(server)
      const upgradeListeners = server.http.listenerCount('upgrade')
      const started = performance.now()
      await churn(server, 'soak', DOCUMENTS)
      const elapsed = performance.now() - started
      const after = await settledHeap(server)
      const growthMb = (after - baseline) / 1024 / 1024
      t.diagnostic(
        `heap ${(baseline / 1048576).toFixed(1)} MB -> ${(after / 1048576).toFixed(1)} MB after ${DOCUMENTS} documents in ${Math.round(elapsed)} ms`,
      )
      assert.equal(server.http.listenerCount('upgrade'), upgradeListeners, 'no upgrade listeners leaked')
      assert.ok(
        growthMb < 8,
        `heap grew by ${growthMb.toFixed(1)} MB over ${DOCUMENTS} documents (baseline ${(baseline / 1048576).toFixed(1)} MB, ${Math.round(elapsed)} ms)`,
      )
      // Everything written survived the churn: a sample of documents reads back both visits.
      const check = new WebSocket(`${server.wsUrl}/soak-${DOCUMENTS - 1}`)
      const doc = new Y.Doc()
      await new Promise<void>((resolve) => {
        check.on('open', () => check.send(encodeSyncStep1(Y.encodeStateVector(doc))))
        check.on('message', (data: Buffer) => {
          const message = decodeServerSync(data)
          if (message?.syncType === 1) {
            Y.applyUpdate(doc, message.payload)
            resolve()
          }
        })
      })
      check.close()
      assert.match(doc.getText('t').toString(), /client 0 was here/)
      assert.match(doc.getText('t').toString(), /client 1 was here/)
    } finally {
      await server.close()
      await temp.remove()
    }
  })
})
