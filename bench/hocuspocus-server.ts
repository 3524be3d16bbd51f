/**
 * The reference cluster's instance: Hocuspocus 4.7 as its docs start it (`new Server(...)
 * .listen()`), with @hocuspocus/extension-database on PostgreSQL when DATABASE_URL is set, and
 * @hocuspocus/extension-redis when REDIS_URL is set. Started by bench/servers.ts like every other
 * server, one process per instance.
 *
 * The store is the one Hocuspocus's docs show for a SQL database: the whole document state, one
 * row per document, written after the default debounce (2 s, at most 10 s). That is how
 * Hocuspocus deployments store; it is not Chorus's per-update log, and the kill scenario shows
 * what each loses.
 *
 * Hocuspocus closes a socket that sent nothing for `timeout` (60 s by default; real providers
 * send awareness every 30 s). The bench's idle receivers send nothing, so the timeout is raised
 * well above any scenario's length; nothing else differs from the defaults.
 */
import { Database } from '@hocuspocus/extension-database'
import { Redis } from '@hocuspocus/extension-redis'
import { type Extension, Server } from '@hocuspocus/server'
import pg from 'pg'

const extensions: Extension[] = []

if (process.env.DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 })
  // Three instances start at once on a fresh database: the loser of the race to create the
  // table sees a unique violation on the catalog, and the table exists.
  await pool
    .query('CREATE TABLE IF NOT EXISTS hocuspocus_documents (name text PRIMARY KEY, data bytea NOT NULL)')
    .catch(() => pool.query('SELECT 1 FROM hocuspocus_documents LIMIT 1'))
  extensions.push(
    new Database({
      fetch: async ({ documentName }) => {
        const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM hocuspocus_documents WHERE name = $1', [
          documentName,
        ])
        return rows[0] ? new Uint8Array(rows[0].data) : null
      },
      store: async ({ documentName, state }) => {
        await pool.query(
          'INSERT INTO hocuspocus_documents (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data',
          [documentName, state],
        )
      },
    }),
  )
}

if (process.env.REDIS_URL) {
  const url = new URL(process.env.REDIS_URL)
  extensions.push(new Redis({ host: url.hostname, port: Number(url.port || 6379), identifier: `bench-${process.pid}` }))
}

const server = new Server({
  port: Number(process.env.PORT ?? 0),
  address: process.env.HOST ?? '127.0.0.1',
  quiet: true,
  timeout: 30 * 60_000,
  extensions,
})

await server.listen()
process.stdout.write(`hocuspocus listening on http://127.0.0.1:${server.address.port}\n`)
