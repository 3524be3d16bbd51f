/**
 * `npm run migrate -- --from-leveldb <dir>` on a round trip: a server on LevelDB gets documents
 * (one compacted by a clean stop, one left as a log by kill -9, one with a name that needs
 * encoding) and view links (one reset); the migration copies them into a real PostgreSQL; a server
 * on that database serves the same content and the same view links.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, describe, it } from 'node:test'
import { PostgresStore } from '../../server/storage/postgres-store.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'
import type { DocumentAccess } from '../../server/access/permissions.ts'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { type PostgresCluster, postgresMissing, startPostgres } from '../support/postgres.ts'
import { connectClient, makeTempDir, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = postgresMissing() ?? false
const REPO_ROOT = new URL('../..', import.meta.url).pathname

function runMigrate(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn('npm', ['run', '--silent', 'migrate', '--', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, DATABASE_URL: databaseUrl },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })))
}

describe('npm run migrate -- --from-leveldb', { skip }, () => {
  let cluster: PostgresCluster | undefined
  const cleanups: (() => unknown)[] = []
  after(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await cluster?.remove()
  })

  const connect = (server: ChorusServer, docId: string): TestClient => {
    // The room is the URL path: a '/' in a name travels as %2F.
    const client = connectClient(server.wsUrl, docId.startsWith('view/') ? docId : encodeURIComponent(docId))
    cleanups.push(() => client.destroy())
    return client
  }
  const viewLink = async (server: ChorusServer, docId: string, reset = false) => {
    const response = await fetch(`${server.url}/api/documents/${encodeURIComponent(docId)}/view-link${reset ? '/reset' : ''}`, {
      method: 'POST',
    })
    assert.equal(response.status, 200)
    return ((await response.json()) as { viewId: string }).viewId
  }

  it('copies documents and view links; a server on PostgreSQL serves the same', { timeout: 90_000 }, async () => {
    cluster = await startPostgres()
    const texts: Record<string, string> = { compacted: 'kept by a clean stop. ', logged: '', 'a/b ä': 'an encoded name.' }
    const leveldb = await startChorus({ entry: 'standalone' })
    cleanups.push(() => leveldb.cleanup())
    for (const docId of ['compacted', 'a/b ä']) {
      const client = connect(leveldb, docId)
      await whenSynced(client)
      client.doc.getText('t').insert(0, texts[docId])
      await client.whenSaved()
      client.destroy()
    }
    const named = await fetch(`${leveldb.url}/api/documents/compacted/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'before the move' }),
    })
    assert.equal(named.status, 201)
    // Documents left (unloaded) with edits got an automatic version too.
    const versionsBefore = await (await fetch(`${leveldb.url}/api/documents/compacted/versions`)).json()
    const firstView = await viewLink(leveldb, 'compacted')
    const resetView = await viewLink(leveldb, 'compacted', true)
    const otherView = await viewLink(leveldb, 'a/b ä')
    assert.notEqual(firstView, resetView)
    // Many small records, left as a log: kill -9 skips the compaction of a clean stop.
    const writer = connect(leveldb, 'logged')
    await whenSynced(writer)
    for (let i = 0; i < 200; i++) writer.doc.getText('t').insert(writer.doc.getText('t').length, `${i} `)
    texts.logged = writer.doc.getText('t').toString()
    await writer.whenSaved()
    await leveldb.kill9()
    writer.destroy()

    const databaseUrl = await cluster.createDatabase()
    const copied = await runMigrate(['--from-leveldb', leveldb.dataDir], databaseUrl)
    assert.equal(copied.code, 0, copied.stderr + copied.stdout)
    assert.match(copied.stdout, /Copied 3 documents \(\d+ bytes of snapshots\), \d+ versions and 2 view links/)
    assert.match(copied.stdout, /copied "logged": \d+ stored updates → one snapshot/)

    const again = await runMigrate(['--from-leveldb', leveldb.dataDir], databaseUrl)
    assert.equal(again.code, 2, 'refuses a database that is not empty')
    assert.match(
      again.stderr,
      /^migrate: the database at postgres:\/\/.* is not empty \(3 documents, 0 log records, 2 view links\); pass --force/,
    )
    const forced = await runMigrate(['--from-leveldb', leveldb.dataDir, '--force'], databaseUrl)
    assert.equal(forced.code, 0, forced.stderr)

    const postgres = await startChorus({ entry: 'standalone', env: { DATABASE_URL: databaseUrl } })
    cleanups.push(() => postgres.cleanup())
    for (const [docId, text] of Object.entries(texts)) {
      const reader = connect(postgres, docId)
      await whenSynced(reader, 20_000)
      assert.equal(reader.doc.getText('t').toString(), text, `${docId}: the same content (merged twice, not doubled)`)
    }
    const history = await (await fetch(`${postgres.url}/api/documents/compacted/versions`)).json()
    assert.deepEqual(history, versionsBefore, 'the history came along, once')
    assert.equal((history as { versions: { name: string }[] }).versions[0].name, 'before the move')
    const viewer = connect(postgres, `view/${resetView}`)
    await waitFor(() => viewer.doc.getText('t').toString() === texts.compacted, 'the view link opens the document read-only')
    const store = await PostgresStore.open(databaseUrl)
    cleanups.push(() => store.close())
    assert.equal(await store.resolveViewId(resetView), 'compacted')
    assert.equal(await store.resolveViewId(otherView), 'a/b ä')
    assert.equal(await store.resolveViewId(firstView), null, 'the link reset before the migration stays dead')
  })

  it("copies each document's owner, people and link setting (sign-in)", { timeout: 60_000 }, async () => {
    cluster ??= await startPostgres()
    const temp = await makeTempDir()
    cleanups.push(() => temp.remove())
    const access: DocumentAccess = {
      owner: { sub: 'idp#ada', email: 'ada@example.com', name: 'Ada' },
      members: [{ email: 'bob@example.com', role: 'view' }],
      link: 'signed-in-edit',
    }
    const leveldb = await LevelDbStore.open(temp.dir)
    await leveldb.setAccess('shared doc', access, null)
    await leveldb.close()
    const databaseUrl = await cluster.createDatabase()
    const copied = await runMigrate(['--from-leveldb', temp.dir], databaseUrl)
    assert.equal(copied.code, 0, copied.stderr + copied.stdout)
    assert.match(copied.stdout, /Copied the owner, people and link setting of 1 documents/)
    const store = await PostgresStore.open(databaseUrl)
    cleanups.push(() => store.close())
    assert.deepEqual(await store.getAccess('shared doc'), access)
    assert.deepEqual(await store.documentsSharedWith('bob@example.com'), ['shared doc'])
  })

  it('says what is wrong with its arguments and settings', async () => {
    const missing = await runMigrate([], 'postgres://127.0.0.1/x')
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--from-leveldb <data dir> is required/)
    const noUrl = await runMigrate(['--from-leveldb', '/nonexistent'], '')
    assert.equal(noUrl.code, 2)
    assert.match(noUrl.stderr, /DATABASE_URL is not set/)
    const noFolder = await runMigrate(['--from-leveldb', '/nonexistent'], 'postgres://127.0.0.1/x')
    assert.equal(noFolder.code, 2)
    assert.match(noFolder.stderr, /\/nonexistent is not a folder/)
  })
})
