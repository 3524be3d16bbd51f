/**
 * Chorus instances as separate server processes (`npm run server`, via chorus-process.ts) over
 * one real PostgreSQL and one real redis-server, for the scale-out properties (issue 12):
 *
 *   const services = await startClusterServices()        // per test file; skip: clusterMissing()
 *   const databaseUrl = await services.postgres.createDatabase()
 *   const [a, b, c] = await startInstances(3, { databaseUrl, redisUrl: services.redis.url })
 *   await a.kill9(); await a.restart()                   // crash, come back on the same port
 *   await services.redis.stop(); await services.redis.start()
 *   await services.postgres.stop(); await services.postgres.start()
 *   ... cleanup() each instance, then services.remove(), in after hooks
 *
 * Instances run with their defaults but for what a test on a busy 2-core machine needs: no rate
 * or per-address limits (every client comes from 127.0.0.1), a short commit delay and stop timeout.
 */
import * as Y from 'yjs'
import { PostgresStore } from '../../server/storage/postgres-store.ts'
import { type ChorusEntry, type ChorusServer, startChorus } from './chorus-process.ts'
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres.ts'
import { REDIS_MISSING, redisAvailable, startRedis, type TestRedis } from './redis.ts'
import { connectClient, type TestClient, type TestScope } from './sync-harness.ts'
import { waitFor } from './wait-for.ts'

/** Why these tests cannot run here, or false (for `describe(..., { skip })`). */
export function clusterMissing(): string | false {
  return postgresMissing() ?? (redisAvailable() ? false : REDIS_MISSING)
}

export interface ClusterServices {
  readonly postgres: PostgresCluster
  readonly redis: TestRedis
  remove(): Promise<void>
}

export async function startClusterServices(): Promise<ClusterServices> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()])
  return {
    postgres,
    redis,
    async remove() {
      await Promise.all([postgres.remove(), redis.remove()])
    },
  }
}

export interface InstanceOptions {
  databaseUrl: string
  /** One URL for all, or one per instance (e.g. through a tcp-link.ts link a test can cut). */
  redisUrl: string | ((index: number) => string)
  env?: Record<string, string | undefined>
  /** 'standalone' (the sync server alone, default) or 'app' (with the web app; needs a build). */
  entry?: ChorusEntry
}

/** `n` instances, started side by side; resolves once each is ready with Redis connected. */
export async function startInstances(n: number, options: InstanceOptions): Promise<ChorusServer[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startInstance(i, options)))
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) {
    for (const result of started) if (result.status === 'fulfilled') await result.value.cleanup()
    throw (failed as PromiseRejectedResult).reason
  }
  return started.map((result) => (result as PromiseFulfilledResult<ChorusServer>).value)
}

async function startInstance(index: number, { databaseUrl, redisUrl, env, entry }: InstanceOptions): Promise<ChorusServer> {
  const instance = await startChorus({
    entry: entry ?? 'standalone',
    readyTimeoutMs: 60_000,
    env: {
      DATABASE_URL: databaseUrl,
      REDIS_URL: typeof redisUrl === 'string' ? redisUrl : redisUrl(index),
      COMMIT_DELAY_MS: '5',
      STOP_TIMEOUT_MS: '3000',
      RATE_LIMIT_MESSAGES_PER_SECOND: '0',
      RATE_LIMIT_BYTES_PER_SECOND: '0',
      MAX_CONNECTIONS_PER_ADDRESS_PER_MINUTE: '0',
      ...env,
    },
  })
  await whenReady(instance).catch(async (error) => {
    await instance.cleanup()
    throw error
  })
  return instance
}

/** Ready with Redis connected (the ready line comes before the first connection to Redis). */
export function whenReady(instance: ChorusServer, timeoutMs = 15_000): Promise<void> {
  return waitFor(async () => (await readiness(instance)).body.status === 'ready', `instance on ${instance.port} ready`, timeoutMs)
}

export interface Readiness {
  status: number
  body: { status: string; reason?: string }
}

export async function readiness(instance: { url: string }): Promise<Readiness> {
  try {
    const response = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(3000) })
    return { status: response.status, body: (await response.json()) as Readiness['body'] }
  } catch (error) {
    return { status: 0, body: { status: 'unreachable', reason: (error as Error).message } }
  }
}

/** /healthz: open documents and connections on this instance. */
export async function health(instance: { url: string }): Promise<{ documents: number; connections: number }> {
  const response = await fetch(`${instance.url}/healthz`, { signal: AbortSignal.timeout(3000) })
  return (await response.json()) as { documents: number; connections: number }
}

/** A stock y-websocket client (with Chorus's Saved messages) at `wsUrl`, shown as `name`. */
export function personAt(wsUrl: string, docId: string, name: string, doc?: Y.Doc): TestClient {
  const client = connectClient(wsUrl, docId, doc ? { doc } : {})
  client.provider.awareness.setLocalStateField('user', { name, color: '#3355ff' })
  return client
}

/** One person on `id` at each instance (P0, P1, …), destroyed when `scope` is cleaned up. */
export function peopleOn(instances: readonly { wsUrl: string }[], id: string, scope: TestScope): TestClient[] {
  return instances.map((instance, i) => {
    const client = personAt(instance.wsUrl, id, `P${i}`)
    scope.defer(() => client.destroy())
    return client
  })
}

/** A document as committed in PostgreSQL, loaded the way an instance loads it. */
export async function storedDoc(databaseUrl: string, docId: string): Promise<Y.Doc> {
  const store = await PostgresStore.open(databaseUrl, { maxConnections: 1 })
  try {
    const stored = await store.load(docId)
    const doc = new Y.Doc()
    for (const update of stored.updates) Y.applyUpdate(doc, update)
    return doc
  } finally {
    await store.close()
  }
}

/** The text `t` (what the tests' clients type into) of a document as committed in PostgreSQL. */
export async function storedText(databaseUrl: string, docId: string): Promise<string> {
  const doc = await storedDoc(databaseUrl, docId)
  const text = doc.getText('t').toString()
  doc.destroy()
  return text
}
