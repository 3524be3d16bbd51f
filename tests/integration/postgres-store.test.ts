/**
 * Chorus on PostgreSQL (DATABASE_URL), against a real PostgreSQL started for this file: a real
 * server process with stock y-websocket clients through kill -9 and a database outage, the start
 * failures, and two stores on one database appending and compacting one document at once (what
 * several instances do).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import * as Y from 'yjs'
import { serverNodeArgs } from '../../scripts/server-command.mjs'
import { clockOf } from '../../lib/state-vector.ts'
import { PostgresStore } from '../../server/storage/postgres-store.ts'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { type PostgresCluster, postgresMissing, startPostgres } from '../support/postgres.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = postgresMissing() ?? false

describe('Chorus on PostgreSQL', { skip }, () => {
  let cluster: PostgresCluster
  const cleanups: (() => unknown)[] = []
  before(async () => {
    cluster = await startPostgres()
  })
  after(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
    await cluster?.remove()
  })

  async function serve(): Promise<ChorusServer> {
    const url = await cluster.createDatabase()
    const chorus = await startChorus({ entry: 'standalone', env: { DATABASE_URL: url, COMMIT_DELAY_MS: '5' } })
    cleanups.push(() => chorus.cleanup())
    return chorus
  }

  function connect(chorus: ChorusServer, docId: string): TestClient {
    const client = connectClient(chorus.wsUrl, docId)
    cleanups.push(() => client.destroy())
    return client
  }

  it('keeps every "Saved" edit through kill -9 and a restart', { timeout: 60_000 }, async () => {
    const chorus = await serve()
    const writer = connect(chorus, 'crash')
    await whenSynced(writer)
    const text = writer.doc.getText('t')
    let typed = 0
    const typing = setInterval(() => {
      for (let i = 0; i < 5; i++) text.insert(text.length, `${typed++};`)
    }, 1)
    await waitFor(
      () => (writer.savedStateVector?.get(writer.doc.clientID) ?? 0) > 200,
      'a confirmation after some typing',
      20_000,
    )
    clearInterval(typing)
    const confirmed = writer.savedStateVector!.get(writer.doc.clientID)!
    text.insert(text.length, 'in flight;')
    const typedText = text.toString()
    await chorus.kill9()
    writer.destroy()
    await chorus.restart()
    const reader = connect(chorus, 'crash')
    await whenSynced(reader, 20_000)
    const recovered = clockOf(reader.doc, writer.doc.clientID)
    assert.ok(recovered >= confirmed, `recovered clock ${recovered} >= confirmed ${confirmed}: 0 confirmed updates lost`)
    assert.ok(typedText.startsWith(reader.doc.getText('t').toString()), 'what survived is a prefix of what was typed')
  })

  it('PostgreSQL stops: nothing new is "Saved", editing and relaying go on, /readyz 503; all lands once it is back', {
    timeout: 60_000,
  }, async () => {
    const chorus = await serve()
    const ready = async () => (await fetch(`${chorus.url}/readyz`)).status
    const ada = connect(chorus, 'outage')
    const bob = connect(chorus, 'outage')
    await Promise.all([whenSynced(ada), whenSynced(bob)])
    ada.doc.getText('t').insert(0, 'before. ')
    await ada.whenSaved()
    assert.equal(await ready(), 200)

    await cluster.stop()
    try {
      ada.doc.getText('t').insert(8, 'during. ')
      await waitFor(() => bob.doc.getText('t').toString() === 'before. during. ', 'the edit relayed while the database is down')
      await waitFor(async () => (await ready()) === 503, '/readyz 503 while the database is down', 15_000)
      // Its write has been tried and failed by now (readiness fails only after a failed write or probe).
      const savedClock = ada.savedStateVector?.get(ada.doc.clientID) ?? 0
      assert.ok(
        savedClock < clockOf(ada.doc),
        `not "Saved" while the database is down (saved ${savedClock}, typed ${clockOf(ada.doc)})`,
      )
      bob.doc.getText('t').insert(0, '> ')
      await waitFor(() => ada.doc.getText('t').toString() === '> before. during. ', 'relayed both ways')
    } finally {
      await cluster.start()
    }
    await Promise.all([ada.whenSaved(15_000), bob.whenSaved(15_000)])
    await waitFor(async () => (await ready()) === 200, '/readyz 200 once the database is back', 15_000)

    // What was "Saved" is in the database: a restart serves it.
    await chorus.stop('SIGTERM')
    await chorus.restart()
    const reader = connect(chorus, 'outage')
    await whenSynced(reader, 20_000)
    assert.equal(reader.doc.getText('t').toString(), '> before. during. ')
  })

  it('with a synchronous standby, "Saved" means committed on both servers', { timeout: 90_000 }, async () => {
    // Its own primary: synchronous_standby_names would hold every other test's commits too.
    const primary = await startPostgres()
    cleanups.push(() => primary.remove())
    const url = await primary.createDatabase()
    const standby = await primary.addSynchronousStandby()
    const chorus = await startChorus({ entry: 'standalone', env: { DATABASE_URL: url, COMMIT_DELAY_MS: '5' } })
    cleanups.push(() => chorus.cleanup())
    const ada = connect(chorus, 'two-machines')
    const bob = connect(chorus, 'two-machines')
    await Promise.all([whenSynced(ada), whenSynced(bob)])
    ada.doc.getText('t').insert(0, 'on both. ')
    await ada.whenSaved()

    await standby.stop()
    const admin = new pg.Client(primary.adminUrl)
    cleanups.push(() => admin.end())
    await admin.connect()
    ada.doc.getText('t').insert(9, 'primary only. ')
    await waitFor(() => bob.doc.getText('t').toString() === 'on both. primary only. ', 'relayed meanwhile')
    // The commit is on the primary's disk and waits for the standby: PostgreSQL says so.
    await waitFor(
      async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'SyncRep'")).rowCount! > 0,
      'a commit waiting for the synchronous standby',
    )
    const saved = ada.savedStateVector?.get(ada.doc.clientID) ?? 0
    assert.ok(saved < clockOf(ada.doc), `not "Saved" while only the primary has it (saved ${saved}, typed ${clockOf(ada.doc)})`)

    await standby.start()
    await ada.whenSaved(15_000)
  })

  async function failedStart(databaseUrl: string): Promise<{ code: number; output: string }> {
    const child = spawn(process.execPath, await serverNodeArgs('server/standalone.ts'), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: databaseUrl },
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    const code = await new Promise<number>((resolve) =>
      child.once('exit', (exit, signal) => resolve(exit ?? 128 + constants.signals[signal!])),
    )
    return { code, output }
  }

  it('a database that does not answer: one line, exit 1', { timeout: 30_000 }, async () => {
    const closed = `postgres://chorus:secret@127.0.0.1:${cluster.port + 1}/nothing`
    const { code, output } = await failedStart(closed)
    assert.equal(code, 1, output)
    assert.equal(output.trimEnd().split('\n').length, 1, `one line, got:\n${output}`)
    assert.match(output, /^chorus: cannot use PostgreSQL at DATABASE_URL postgres:\/\/chorus:\*\*\*@127\.0\.0\.1:\d+\/nothing: /)
    assert.doesNotMatch(output, /secret/, 'the password is not printed')
  })

  it('a database that does not exist: one line, exit 2 (a setting to fix)', { timeout: 30_000 }, async () => {
    const { code, output } = await failedStart(`postgres://chorus@127.0.0.1:${cluster.port}/no_such_database`)
    assert.equal(code, 2, output)
    assert.equal(output.trimEnd().split('\n').length, 1, `one line, got:\n${output}`)
    assert.match(output, /^chorus: cannot use PostgreSQL .*no_such_database.*does not exist/)
  })

  it('a DATABASE_URL that is not postgres://: exit 2', async () => {
    const { code, output } = await failedStart('mysql://localhost/x')
    assert.equal(code, 2, output)
    assert.match(output, /^chorus: DATABASE_URL must start with postgres:\/\//)
  })

  it('migrates once when three instances start together', async () => {
    const url = await cluster.createDatabase()
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)))
    await Promise.all(stores.map((store) => store.close()))
    const again = await PostgresStore.open(url)
    await again.close()
  })

  it('commits synchronously even where the database turns synchronous_commit off', async () => {
    const url = await cluster.createDatabase()
    const admin = await PostgresStore.open(url)
    assert.equal(await admin.synchronousCommit(), 'on', "PostgreSQL's default")
    await admin.close()
    const name = new URL(url).pathname.slice(1)
    const pgClient = new pg.Client(cluster.adminUrl)
    await pgClient.connect()
    await pgClient.query(`ALTER DATABASE ${name} SET synchronous_commit = off`)
    await pgClient.end()
    const store = await PostgresStore.open(url)
    cleanups.push(() => store.close())
    assert.equal(await store.synchronousCommit(), 'on', 'turned on again for its own transactions')
  })

  // Root cause this guards against: seqs are instance-local and a compaction's snapshot holds only
  // what its instance has in memory; keyed by seq, or deleting without merging, loses the others'.
  it('two stores on one database: concurrent appends and compactions of one document lose nothing', {
    timeout: 60_000,
  }, async () => {
    const url = await cluster.createDatabase()
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)])
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    // Each instance's memory: the document as it loaded it plus its own edits (no relay between them).
    const instance = async (store: PostgresStore, name: string) => {
      const loaded = await store.load('shared')
      const doc = new Y.Doc()
      for (const update of loaded.updates) Y.applyUpdate(doc, update)
      return { store, name, doc, nextSeq: loaded.nextSeq, firstSeq: loaded.firstLogSeq }
    }
    const instances = await Promise.all([instance(a, 'a'), instance(b, 'b')])
    const expected = new Set<string>()
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        instances.map(async (it) => {
          const writes: Promise<void>[] = []
          for (let i = 0; i < 5; i++) {
            const before = Y.encodeStateVector(it.doc)
            const key = `${it.name}${round}.${i}`
            it.doc.getMap('m').set(key, round)
            expected.add(key)
            writes.push(it.store.appendRecord('shared', it.nextSeq++, [Y.encodeStateAsUpdate(it.doc, before)]))
          }
          await Promise.all(writes)
          if (round % 3 === (it.name === 'a' ? 0 : 1) || round % 4 === 0) {
            await it.store.replaceLogWithSnapshot('shared', Y.encodeStateAsUpdate(it.doc), it.firstSeq, it.nextSeq - 1)
            it.firstSeq = it.nextSeq
          }
        }),
      )
    }
    const check = await PostgresStore.open(url)
    cleanups.push(() => check.close())
    const merged = new Y.Doc()
    for (const update of (await check.load('shared')).updates) Y.applyUpdate(merged, update)
    const keys = new Set(merged.getMap('m').keys())
    const missing = [...expected].filter((key) => !keys.has(key))
    assert.deepEqual(missing, [], 'every update of both stores is stored')
    assert.equal(keys.size, expected.size)
  })
})
