/**
 * `npm run repair [-- <data dir>] [--out <dir>]`: recovers what can be read from a damaged data
 * folder into a copy. The original is never opened by LevelDB (opening alone would rewrite it);
 * it is copied, LevelDB's RepairDB runs on the copy, and every document of the copy is then
 * loaded the way the server loads it, to say what was recovered.
 *
 * The data folder defaults to DATA_DIR, else ./data; the copy to `<data dir>-repaired-<time>`.
 * Exits 0 when the copy opens and verifies, 1 when it does not, 2 on bad arguments.
 */
import { cp, readFile, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import leveldown from 'leveldown'
import * as Y from 'yjs'
import { LevelDbStore, SEAL_FILE } from './leveldb-store.ts'

export interface RepairReport {
  source: string
  target: string
  documents: number
  /** Documents whose stored data still fails to load in the copy. */
  unreadable: string[]
  logRecords: number
  snapshots: number
  viewLinks: number
  /** LevelDB's own account of what it dropped or rebuilt (lines of the copy's LOG). */
  notes: string[]
}

export async function repairCopy(source: string, target: string): Promise<RepairReport> {
  const sourceInfo = await stat(source).catch(() => null)
  if (!sourceInfo?.isDirectory()) throw new Error(`${source} is not a folder`)
  if (await stat(target).catch(() => null)) throw new Error(`${target} already exists; name another with --out`)
  await cp(source, target, { recursive: true, errorOnExist: true, force: false })
  // The lock belongs to the original; the seal counts commits the repair may not bring back,
  // and the repaired copy is the new reference.
  await rm(path.join(target, 'LOCK'), { force: true })
  await rm(path.join(target, SEAL_FILE), { force: true })
  await new Promise<void>((resolve, reject) => leveldown.repair(target, (error) => (error ? reject(error) : resolve())))
  const notes = (await readFile(path.join(target, 'LOG'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((line) => /dropping|dropped|ignoring|repaired|Archiving|entries|ops saved/i.test(line))
    .map((line) => line.replace(/^\S+ \S+\s+/, '').trim())

  const { documents, logRecords, snapshots, viewLinks } = await countKeys(target)
  const store = await LevelDbStore.open(target)
  try {
    const unreadable: string[] = []
    for (const docId of documents) {
      try {
        const ydoc = new Y.Doc()
        const stored = await store.load(docId)
        Y.transact(ydoc, () => {
          for (const update of stored.updates) Y.applyUpdate(ydoc, update)
        })
        ydoc.destroy()
      } catch {
        unreadable.push(docId)
      }
    }
    return { source, target, documents: documents.size, unreadable, logRecords, snapshots, viewLinks, notes }
  } finally {
    await store.close()
  }
}

/** Counts keys by kind, reading the copy with a plain iterator. */
async function countKeys(location: string) {
  const db = leveldown(location)
  await new Promise<void>((resolve, reject) =>
    db.open({ createIfMissing: false }, (error) => (error ? reject(error) : resolve())),
  )
  const documents = new Set<string>()
  let logRecords = 0
  let snapshots = 0
  let viewLinks = 0
  const iterator = db.iterator({ keys: true, values: false, keyAsBuffer: false })
  try {
    for (;;) {
      const key = await new Promise<string | undefined>((resolve, reject) =>
        iterator.next((error, k) => (error ? reject(error) : resolve(k as unknown as string | undefined))),
      )
      if (key === undefined) break
      const match = /^doc\/([^/]+)\/(log\/|snapshot$)/.exec(key)
      if (match) {
        // Keys hold the percent-encoded name; load() encodes it again.
        documents.add(decodeURIComponent(match[1]))
        if (match[2] === 'log/') logRecords++
        else snapshots++
      } else if (key.startsWith('link/doc/')) {
        viewLinks++
      }
    }
  } finally {
    await new Promise<void>((resolve) => iterator.end(() => resolve()))
    await new Promise<void>((resolve) => db.close(() => resolve()))
  }
  return { documents, logRecords, snapshots, viewLinks }
}

function parseArguments(argv: string[], env: NodeJS.ProcessEnv): { source: string; target: string } {
  let source: string | undefined
  let target: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') target = argv[++i]
    else if (argv[i].startsWith('--out=')) target = argv[i].slice('--out='.length)
    else if (!argv[i].startsWith('-') && source === undefined) source = argv[i]
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  if (target === '') throw new Error('--out needs a folder')
  const resolvedSource = path.resolve(source ?? (env.DATA_DIR?.trim() || 'data'))
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
  return { source: resolvedSource, target: path.resolve(target ?? `${resolvedSource}-repaired-${stamp}`) }
}

async function main(): Promise<void> {
  let source: string
  let target: string
  try {
    ;({ source, target } = parseArguments(process.argv.slice(2), process.env))
  } catch (error) {
    process.stderr.write(`repair: ${(error as Error).message}\nusage: npm run repair [-- <data dir>] [--out <copy>]\n`)
    process.exit(2)
  }
  process.stdout.write(
    `Repairing a copy of ${source} (stop Chorus first: a running server changes the folder while it is copied)\n`,
  )
  let report: RepairReport
  try {
    report = await repairCopy(source, target)
  } catch (error) {
    process.stderr.write(`repair: failed: ${(error as Error).message}\nThe original ${source} was not changed.\n`)
    process.exit(1)
  }
  const lines = [
    `Repaired copy: ${report.target}`,
    `Recovered ${report.documents} documents (${report.logRecords} log records, ${report.snapshots} snapshots) and ${report.viewLinks} view links.`,
  ]
  if (report.unreadable.length > 0) {
    lines.push(
      `Still unreadable, left out of service: ${report.unreadable.length} documents (${report.unreadable.slice(0, 20).join(', ')})`,
    )
  }
  if (report.notes.length > 0) {
    lines.push(`LevelDB's repair log:`)
    for (const note of report.notes.slice(0, 30)) lines.push(`  ${note}`)
    if (report.notes.length > 30) lines.push(`  … ${report.notes.length - 30} more lines in ${path.join(report.target, 'LOG')}`)
  }
  lines.push(
    `The original ${report.source} was not changed.`,
    `To use the copy: start Chorus with DATA_DIR=${report.target} (or move the original aside and the copy in its place).`,
    `Edits lost with the damage may still be in editors' browsers: they are sent again when those editors reconnect.`,
  )
  process.stdout.write(`${lines.join('\n')}\n`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) await main()
