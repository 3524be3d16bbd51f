/**
 * The PostgreSQL schema, as ordered migrations applied by the server at start.
 *
 * Each migration runs in its own transaction and is recorded in `schema_migrations` in that same
 * transaction, so a failed one leaves nothing half-applied. A session advisory lock serialises
 * instances that start together: the second waits, then finds the migrations applied.
 * Append only: a shipped migration is never edited, a change is a new one.
 */
import type pg from 'pg'
import type { Logger } from '../ops/logger.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, log, view links',
    sql: `
      CREATE TABLE documents (
        doc_id text PRIMARY KEY,
        -- One merged Yjs update: every compacted record.
        snapshot bytea,
        -- Raised by every compaction, so an instance can tell a snapshot it has not seen.
        snapshot_version bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE document_log (
        id bigserial PRIMARY KEY,
        doc_id text NOT NULL,
        -- The appending instance's own record number: a hint for numbering a loaded log, not a key.
        seq bigint NOT NULL,
        -- The record's updates, length-prefixed, with a CRC-32 trailer (leveldb-store.ts encodeRecord).
        record bytea NOT NULL
      );
      CREATE INDEX document_log_doc_id ON document_log (doc_id, id);
      CREATE TABLE view_links (
        doc_id text PRIMARY KEY,
        view_id text NOT NULL UNIQUE
      );
      -- Readiness probes write here: a real commit, one row per process.
      CREATE TABLE chorus_probe (
        instance integer PRIMARY KEY,
        probed_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'document access',
    sql: `
      -- The owner, people and link setting (server/access/permissions.ts DocumentAccess), as JSON.
      CREATE TABLE document_access (
        doc_id text PRIMARY KEY,
        access jsonb NOT NULL
      );
      -- One row per person added, for "shared with me"; the primary key serves that lookup.
      CREATE TABLE document_members (
        email text NOT NULL,
        doc_id text NOT NULL,
        role text NOT NULL,
        PRIMARY KEY (email, doc_id)
      );
    `,
  },
  {
    version: 3,
    name: 'document versions',
    sql: `
      CREATE TABLE document_versions (
        doc_id text NOT NULL,
        seq bigint NOT NULL,
        -- The version's description as JSON text (see server/document/history.ts).
        meta text NOT NULL,
        -- A Yjs snapshot; a delta of the previous version's unless it is a keyframe.
        snapshot bytea NOT NULL,
        PRIMARY KEY (doc_id, seq)
      );
    `,
  },
]

/** Any 64-bit number unique to Chorus's migrations ("chorus" in ASCII). */
const MIGRATION_LOCK = 0x63686f727573

export async function migrate(pool: pg.Pool, logger: Logger, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect()
  let broken: Error | undefined
  // Not listened to by the pool while checked out: a cut connection must not end the process.
  const lost = (error: Error) => (broken ??= error)
  client.on('error', lost)
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      )
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations')
      const applied = new Set(rows.map((row) => row.version))
      const newest = Math.max(0, ...applied)
      const known = Math.max(0, ...migrations.map((migration) => migration.version))
      if (newest > known) {
        throw new Error(`the database's schema is version ${newest}, newer than this Chorus knows (${known}); upgrade Chorus`)
      }
      const ran: number[] = []
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue
        await client.query('BEGIN')
        try {
          await client.query(migration.sql)
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
          await client.query('COMMIT')
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw new Error(`schema migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`)
        }
        logger.info('applied schema migration', { version: migration.version, name: migration.name })
        ran.push(migration.version)
      }
      return ran
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined)
    }
  } catch (error) {
    broken = error as Error
    throw error
  } finally {
    client.off('error', lost)
    client.release(broken)
  }
}
