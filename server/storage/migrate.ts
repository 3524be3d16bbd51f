/**
 * `npm run migrate -- --from-leveldb <dir> [--force]`: copies every document, view link and (with
 * sign-in) every document's owner, people and link setting of a
 * LevelDB data folder into the PostgreSQL database at DATABASE_URL (schema created or migrated
 * first, as the server does at start).
 *
 * Each document goes in as one snapshot: everything it holds (snapshot and log) applied to a Yjs
 * document and encoded once, so the first load from PostgreSQL applies one update. The target
 * must be empty unless --force is given; with --force a copied document is merged into what the
 * target already holds for it (Yjs updates are idempotent), never overwritten. Stop Chorus on the
 * folder first: LevelDB allows one process at a time, and the copy must be complete.
 *
 * Exits 0 when everything was copied, 1 when something could not be read or written, 2 on bad
 * arguments or settings.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import * as Y from 'yjs'
import { ConfigError, loadConfig, redactUrl } from '../config.ts'
import { LevelDbStore } from './leveldb-store.ts'
import { PostgresStore } from './postgres-store.ts'

export interface MigrationReport {
  documents: number
  bytes: number
  viewLinks: number
  /** Documents whose owner, people and link setting (sign-in) were copied. */
  access: number
  /** Versions of the documents' histories copied. */
  versions: number
  /** Documents that could not be read from LevelDB (left out), with the reason. */
  unreadable: { docId: string; error: string }[]
}

export class MigrationRefused extends Error {
  override name = 'MigrationRefused'
}

export async function migrateFromLevelDb(
  source: string,
  databaseUrl: string,
  { force = false, log = (_line: string) => {} }: { force?: boolean; log?: (line: string) => void } = {},
): Promise<MigrationReport> {
  const info = await stat(source).catch(() => null)
  if (!info?.isDirectory()) throw new MigrationRefused(`${source} is not a folder`)
  if (!(await stat(path.join(source, 'CURRENT')).catch(() => null))) {
    throw new MigrationRefused(`${source} holds no LevelDB store (no CURRENT file)`)
  }
  const leveldb = await LevelDbStore.open(source)
  try {
    const postgres = await PostgresStore.open(databaseUrl)
    try {
      const held = await postgres.contents()
      if (!force && (held.documents > 0 || held.logRecords > 0 || held.viewLinks > 0)) {
        throw new MigrationRefused(
          `the database at ${redactUrl(databaseUrl)} is not empty (${held.documents} documents, ${held.logRecords} log records, ` +
            `${held.viewLinks} view links); pass --force to merge into it`,
        )
      }
      const report: MigrationReport = { documents: 0, bytes: 0, viewLinks: 0, access: 0, versions: 0, unreadable: [] }
      for (const docId of (await leveldb.documentIds()).sort()) {
        let snapshot: Uint8Array
        let updates: number
        try {
          const stored = await leveldb.load(docId)
          // gc off, as the server keeps documents: the versions point into deleted content.
          const doc = new Y.Doc({ gc: false })
          Y.transact(doc, () => {
            for (const update of stored.updates) Y.applyUpdate(doc, update)
          })
          snapshot = Y.encodeStateAsUpdate(doc)
          updates = stored.updates.length
          doc.destroy()
        } catch (error) {
          report.unreadable.push({ docId, error: (error as Error).message })
          log(`NOT copied ${JSON.stringify(docId)}: ${(error as Error).message}`)
          continue
        }
        // An empty range: nothing of the target's log is deleted; a snapshot it holds is merged.
        await postgres.replaceLogWithSnapshot(docId, snapshot, 0, -1)
        report.documents++
        report.bytes += snapshot.byteLength
        log(`copied ${JSON.stringify(docId)}: ${updates} stored updates → one snapshot of ${snapshot.byteLength} bytes`)
        const [newest] = await leveldb.listVersions(docId, { beforeSeq: null, limit: 1 })
        if (newest) {
          // Version numbers are the document's own: a target that has versions of it keeps them.
          const [held] = await postgres.listVersions(docId, { beforeSeq: null, limit: 1 })
          if (held) log(`NOT copied the history of ${JSON.stringify(docId)}: the database has versions of it already`)
          else {
            for (const version of await leveldb.readVersions(docId, 1, newest.seq)) await postgres.appendVersion(docId, version)
            report.versions += newest.seq
          }
        }
      }
      for (const { docId, viewId } of await leveldb.viewLinks()) {
        await postgres.setViewId(docId, viewId, null)
        report.viewLinks++
      }
      // With --force, a document's sharing already in the database is replaced by the folder's.
      for (const { docId, access } of await leveldb.accessRecords()) {
        await postgres.setAccess(docId, access, null)
        report.access++
      }
      return report
    } finally {
      await postgres.close()
    }
  } finally {
    await leveldb.close()
  }
}

function parseArguments(argv: string[]): { source: string; force: boolean } {
  let source: string | undefined
  let force = false
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--from-leveldb') source = argv[++i]
    else if (argv[i].startsWith('--from-leveldb=')) source = argv[i].slice('--from-leveldb='.length)
    else if (argv[i] === '--force') force = true
    else throw new ConfigError(`unknown argument ${argv[i]}`)
  }
  if (!source) throw new ConfigError('--from-leveldb <data dir> is required')
  return { source: path.resolve(source), force }
}

async function main(): Promise<void> {
  let source: string
  let force: boolean
  let databaseUrl: string | undefined
  try {
    ;({ source, force } = parseArguments(process.argv.slice(2)))
    databaseUrl = loadConfig().databaseUrl
    if (!databaseUrl) throw new ConfigError('DATABASE_URL is not set: name the PostgreSQL database to copy into')
  } catch (error) {
    process.stderr.write(
      `migrate: ${(error as Error).message}\nusage: DATABASE_URL=postgres://… npm run migrate -- --from-leveldb <data dir> [--force]\n`,
    )
    process.exit(2)
  }
  const started = performance.now()
  process.stdout.write(`Copying ${source} into ${redactUrl(databaseUrl)} (stop Chorus on that folder first)\n`)
  let report: MigrationReport
  try {
    report = await migrateFromLevelDb(source, databaseUrl, { force, log: (line) => process.stdout.write(`  ${line}\n`) })
  } catch (error) {
    process.stderr.write(`migrate: ${(error as Error).message}\n`)
    process.exit(error instanceof MigrationRefused ? 2 : 1)
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  process.stdout.write(
    `Copied ${report.documents} documents (${report.bytes} bytes of snapshots), ${report.versions} versions and ${report.viewLinks} view links in ${seconds} s. ` +
      `${report.access > 0 ? `Copied the owner, people and link setting of ${report.access} documents. ` : ''}${source} was not changed.\n`,
  )
  if (report.unreadable.length > 0) {
    process.stderr.write(
      `migrate: ${report.unreadable.length} documents could not be read and were not copied; run \`DATA_DIR=${source} npm run repair\` and migrate the repaired copy with --force\n`,
    )
    process.exit(1)
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main()
