/**
 * An in-memory DocumentStore whose failures a test controls, served by a real SyncEndpoint on a free
 * port (real sockets, real y-websocket clients). For the document lifecycle around storage
 * failures; the real LevelDB behaviour is tested on a real small disk (full-disk.test.ts).
 */
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { silentLogger } from '../../server/ops/logger.ts'
import {
  StorageError,
  type DocumentStore,
  type StorageHealth,
  type StoredDocument,
  type ViewLinkStore,
} from '../../server/storage/document-store.ts'
import type { SyncEndpoint } from '../../server/transport/sync-endpoint.ts'
import { startServer, type RunningServer } from '../../server/compose.ts'

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

  async acceptsWrites(): Promise<boolean> {
    return this.health === 'ok' && !this.failWrites
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
  readonly sync: SyncEndpoint
  readonly server: RunningServer
  readonly wsUrl: string
  close(): Promise<void>
}

/** A real Chorus server (the composition root, without the app) over `store` on a free loopback port. */
export async function serveStore(store: FaultStore): Promise<FaultServer> {
  const config = { ...DEFAULT_CONFIG, port: 0, host: '127.0.0.1', rateLimitMessagesPerSecond: 0, rateLimitBytesPerSecond: 0, stopTimeoutMs: 1000 }
  const server = await startServer({ config, logger: silentLogger, store })
  return {
    sync: server.sync,
    server,
    wsUrl: `ws://127.0.0.1:${server.port}/sync`,
    // A store made to fail can hold a graceful stop until its timeout; that is not this test's subject.
    close: () => server.close().catch(() => {}),
  }
}
