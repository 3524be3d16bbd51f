/**
 * An in-memory DocumentStore whose failures a test controls, served by a real SyncServer on a free
 * port (real sockets, real y-websocket clients). For the document lifecycle around storage
 * failures; the real LevelDB behaviour is tested on a real small disk (full-disk.test.ts).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { silentLogger } from '../../server/logger.ts'
import {
  StorageError,
  type DocumentStore,
  type StorageHealth,
  type StoredDocument,
  type ViewLinkStore,
} from '../../server/storage/document-store.ts'
import { SyncServer } from '../../server/sync-server.ts'

interface HeldWrite {
  docId: string
  seq: number
  updates: readonly Uint8Array[]
  resolve: () => void
  reject: (error: Error) => void
}

export class FaultStore implements DocumentStore, ViewLinkStore {
  readonly logs = new Map<string, Map<number, readonly Uint8Array[]>>()
  readonly snapshots = new Map<string, Uint8Array>()
  /** When true, appends wait in `held` until the test settles them. */
  holdWrites = false
  readonly held: HeldWrite[] = []
  failWrites = false
  /** Appends that failed because of `failWrites`. */
  failedAppends = 0
  failCompactions = false
  /** Thrown by load() (e.g. a DamagedDataError), or null. */
  loadError: Error | null = null
  health: StorageHealth = 'ok'
  private readonly listeners: ((health: StorageHealth) => void)[] = []

  onHealthChange(listener: (health: StorageHealth) => void): void {
    this.listeners.push(listener)
  }

  setHealth(health: StorageHealth): void {
    this.health = health
    for (const listener of this.listeners) listener(health)
  }

  async load(docId: string): Promise<StoredDocument> {
    if (this.loadError) throw this.loadError
    const log = [...(this.logs.get(docId) ?? new Map<number, readonly Uint8Array[]>()).entries()].sort(([a], [b]) => a - b)
    const snapshot = this.snapshots.get(docId)
    const nextSeq = log.length > 0 ? log[log.length - 1][0] + 1 : 0
    return {
      updates: [...(snapshot ? [snapshot] : []), ...log.flatMap(([, updates]) => updates)],
      firstLogSeq: log.length > 0 ? log[0][0] : nextSeq,
      nextSeq,
      logRecords: log.length,
      logBytes: log.reduce((sum, [, updates]) => sum + updates.reduce((s, u) => s + u.byteLength, 0), 0),
      snapshotBytes: snapshot?.byteLength ?? 0,
    }
  }

  appendRecord(docId: string, seq: number, updates: readonly Uint8Array[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const write: HeldWrite = { docId, seq, updates, resolve: () => this.commit(write, resolve), reject }
      if (this.holdWrites) this.held.push(write)
      else
        setImmediate(() => {
          if (!this.failWrites) return write.resolve()
          this.failedAppends++
          reject(new StorageError('disk full (injected)'))
        })
    })
  }

  /** Settles the held write of `seq` (of the only document, or `docId`). */
  settle(seq: number, outcome: 'ok' | 'fail', docId?: string): void {
    const index = this.held.findIndex((write) => write.seq === seq && (docId === undefined || write.docId === docId))
    if (index < 0) throw new Error(`no held write with seq ${seq}`)
    const [write] = this.held.splice(index, 1)
    if (outcome === 'ok') write.resolve()
    else write.reject(new StorageError('disk full (injected)'))
  }

  private commit(write: HeldWrite, resolve: () => void): void {
    let log = this.logs.get(write.docId)
    if (!log) this.logs.set(write.docId, (log = new Map()))
    log.set(write.seq, write.updates)
    resolve()
  }

  async replaceLogWithSnapshot(docId: string, snapshot: Uint8Array, fromSeq: number, toSeq: number): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    if (this.failCompactions || this.failWrites) throw new StorageError('disk full (injected)')
    this.snapshots.set(docId, snapshot)
    const log = this.logs.get(docId)
    for (let seq = fromSeq; seq <= toSeq; seq++) log?.delete(seq)
  }

  async close(): Promise<void> {}
  async getViewId(): Promise<string | null> {
    return null
  }
  async resolveViewId(): Promise<string | null> {
    return null
  }
  async setViewId(): Promise<void> {}
}

export interface FaultServer {
  readonly sync: SyncServer
  readonly wsUrl: string
  close(): Promise<void>
}

/** A real SyncServer over `store` on a free loopback port. */
export async function serveStore(store: FaultStore): Promise<FaultServer> {
  const sync = new SyncServer({ ...DEFAULT_CONFIG, rateLimitMessagesPerSecond: 0, rateLimitBytesPerSecond: 0 }, store, silentLogger)
  const server = http.createServer((_request, response) => response.writeHead(404).end())
  server.on('upgrade', (request, socket, head) => sync.handleUpgrade(request, socket, head))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    sync,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    async close() {
      await Promise.race([sync.close(), new Promise((resolve) => setTimeout(resolve, 1000))])
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
