/**
 * Version history with real parts: a Chorus server on a free port over LevelDB (and PostgreSQL
 * where storage is the subject), real y-websocket clients with awareness identities, and the HTTP
 * API as the browser uses it.
 */
import assert from 'node:assert/strict'
import { after, afterEach, describe, it } from 'node:test'
import type * as Y from 'yjs'
import type { Author, Version, VersionPage } from '../../lib/history.ts'
import { historyApiBase, viewLinkApiPath } from '../../lib/routes.ts'
import { makeTempDir, startTestServer, type TestClient, type TestServer, TestScope, whenSynced } from '../support/sync-harness.ts'
import { type PostgresCluster, postgresMissing, startPostgres } from '../support/postgres.ts'
import { waitFor } from '../support/wait-for.ts'
import { paragraphText } from '../support/editor-fragment.ts'

const ADA: Author = { id: 'author-ada', name: 'Ada', color: '#aa3355' }
const BOB: Author = { id: 'author-bob', name: 'Bob', color: '#3355aa' }
/** Short, so that automatic versions come within a test. */
const FAST_HISTORY = { historyPauseMs: 300, historyMaxIntervalMs: 5000 }

const scope = new TestScope()
afterEach(() => scope.cleanup())

let cluster: Promise<PostgresCluster> | null = null
after(async () => (await cluster)?.remove())

function as(client: TestClient, author: Author): TestClient {
  client.provider.awareness.setLocalStateField('user', author)
  return client
}

function texts(doc: Y.Doc): string[] {
  return doc
    .getXmlFragment('default')
    .toArray()
    .map((node) => ((node as Y.XmlElement).get(0) as Y.XmlText | undefined)?.toString() ?? '')
}

async function api<T>(
  server: TestServer,
  path: string,
  init?: { method?: string; body?: unknown },
): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  })
  return { status: response.status, body: (await response.json()) as T }
}

const versionsOf = async (server: TestServer, docId: string) =>
  (await api<VersionPage>(server, `${historyApiBase({ docId })}/versions`)).body.versions

async function versionCount(server: TestServer, docId: string, count: number): Promise<Version[]> {
  let versions: Version[] = []
  await waitFor(async () => (versions = await versionsOf(server, docId)).length >= count, `${count} versions of ${docId}`, 10_000)
  return versions
}

describe('version history', () => {
  it('makes versions after a pause, attributed to the connections that wrote', async () => {
    const server = await scope.serverWith(FAST_HISTORY)
    const ada = as(scope.client(server, 'attrib'), ADA)
    const bob = as(scope.client(server, 'attrib'), BOB)
    await Promise.all([whenSynced(ada), whenSynced(bob)])
    await waitFor(() => bob.provider.awareness.getStates().size === 2, 'both present')
    paragraphText(ada, 0).insert(0, 'Ada wrote this')
    const [first] = await versionCount(server, 'attrib', 1)
    assert.equal(first.kind, 'auto')
    assert.deepEqual(
      first.authors.map((author) => author.id),
      [ADA.id],
      'only the writer, not everyone present',
    )
    assert.deepEqual(first.summary, { added: 3, removed: 0 })
    paragraphText(bob, 0).insert(14, ' and Bob added this')
    const [second] = await versionCount(server, 'attrib', 2)
    assert.deepEqual(second.authors, [BOB])
    const { body } = await api<{ content: string }>(
      server,
      `${historyApiBase({ docId: 'attrib' })}/versions/${second.id}?format=html&compare=previous`,
    )
    assert.match(
      body.content,
      /<ins class="version-added" data-author="Bob" style="--author-color:#3355aa"> and Bob added this<\/ins>/,
    )
    const text = await api<{ content: string }>(server, `${historyApiBase({ docId: 'attrib' })}/versions/${first.id}?format=text`)
    assert.equal(text.body.content, 'Ada wrote this')
  })

  it('names versions, refuses viewers who write, and answers unknown versions with 404', async () => {
    const server = await scope.serverWith(FAST_HISTORY)
    const ada = as(scope.client(server, 'named'), ADA)
    await whenSynced(ada)
    paragraphText(ada, 0).insert(0, 'draft')
    await ada.whenSaved()
    const base = historyApiBase({ docId: 'named' })
    const named = await api<Version>(server, `${base}/versions`, { method: 'POST', body: { name: 'First draft', author: ADA } })
    assert.equal(named.status, 201)
    assert.equal(named.body.kind, 'named')
    assert.equal(named.body.name, 'First draft')
    assert.equal((await api(server, `${base}/versions`, { method: 'POST', body: { name: '' } })).status, 400)
    assert.equal((await api(server, `${base}/versions/999`)).status, 404)
    assert.equal((await api(server, `${base}/versions/nonsense?format=json`)).status, 404)
    assert.equal((await api(server, `${base}/versions/999/restore`, { method: 'POST' })).status, 404)

    const { body: link } = await api<{ viewId: string }>(server, viewLinkApiPath('named'), { method: 'POST' })
    const viewBase = historyApiBase({ viewId: link.viewId })
    const seen = await api<VersionPage>(server, `${viewBase}/versions`)
    assert.equal(seen.status, 200)
    assert.equal(seen.body.versions[0].name, 'First draft')
    const json = await api<{ content: { content: unknown[] } }>(server, `${viewBase}/versions/${named.body.id}?format=json`)
    assert.deepEqual(json.body.content, {
      type: 'doc',
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'draft' }] }],
    })
    const refused = await api<{ error: string }>(server, `${viewBase}/versions`, { method: 'POST', body: { name: 'mine' } })
    assert.equal(refused.status, 403)
    assert.match(refused.body.error, /view link/)
    assert.equal((await api(server, `${viewBase}/versions/${named.body.id}/restore`, { method: 'POST' })).status, 403)
    assert.equal((await api(server, `${historyApiBase({ viewId: 'no-such-view' })}/versions`)).status, 404)
  })

  it('restores while someone else is typing: both converge and neither side loses an edit', async () => {
    const server = await scope.serverWith(FAST_HISTORY)
    const ada = as(scope.client(server, 'restore'), ADA)
    const bob = as(scope.client(server, 'restore'), BOB)
    await Promise.all([whenSynced(ada), whenSynced(bob)])
    paragraphText(ada, 0).insert(0, 'The original opening.')
    paragraphText(ada, 1).insert(0, 'Bob types here:')
    await ada.whenSaved()
    const base = historyApiBase({ docId: 'restore' })
    const v1 = (await api<Version>(server, `${base}/versions`, { method: 'POST', body: { name: 'good' } })).body
    // A paste gone wrong.
    const opening = paragraphText(ada, 0)
    opening.delete(0, opening.length)
    opening.insert(0, 'GARBAGE')
    await ada.whenSaved()
    await waitFor(() => texts(bob.doc)[0] === 'GARBAGE', 'bob sees the bad paste')
    // Bob keeps typing, one keystroke per turn, while Ada restores through the API.
    let typed = 0
    const typing = setInterval(() => {
      const line = paragraphText(bob, 1)
      line.insert(line.length, String(typed++ % 10))
    }, 5)
    const restored = await api<Version>(server, `${base}/versions/${v1.id}/restore`, { method: 'POST', body: { author: ADA } })
    await waitFor(() => typed >= 30, 'bob typed on after the restore')
    clearInterval(typing)
    assert.equal(restored.status, 200)
    assert.equal(restored.body.kind, 'restore')
    assert.equal(restored.body.restoredFrom, v1.id)
    assert.deepEqual(restored.body.authors[0], ADA, 'the restorer first (then whoever typed meanwhile)')
    await waitFor(() => JSON.stringify(texts(ada.doc)) === JSON.stringify(texts(bob.doc)), 'converged')
    const [first, second] = texts(ada.doc)
    assert.equal(first, 'The original opening.')
    // Bob's line as it was when the restore was made is in the version the restore left behind
    // (a restore takes back everything since the version, his earlier typing too); what he typed
    // at the same moment, not yet seen by the server, is kept after it. Together: every keystroke.
    const timeline = await versionsOf(server, 'restore')
    const left = timeline.find((version) => Number(version.id) === Number(restored.body.id) - 1)
    assert.equal(left?.kind, 'auto', 'the state left behind became a version first')
    const leftText = (await api<{ content: string }>(server, `${base}/versions/${left?.id}?format=text`)).body.content.split('\n')
    assert.equal(leftText[0], 'GARBAGE')
    const prefix = 'Bob types here:'
    assert.ok(leftText[1].startsWith(prefix) && second.startsWith(prefix))
    const all = Array.from({ length: typed }, (_, i) => String(i % 10)).join('')
    assert.equal(leftText[1].slice(prefix.length) + second.slice(prefix.length), all, 'every keystroke of Bob kept, in order')
    assert.ok(second.length > prefix.length, 'some typing went on concurrently with and after the restore')
  })

  it('keeps every version through compactions and a restart (LevelDB)', async () => {
    const temp = await makeTempDir()
    scope.defer(() => temp.remove())
    await keepsVersions(temp.dir, {})
  })

  it('keeps every version through compactions and a restart (PostgreSQL)', { skip: postgresMissing() ?? false }, async () => {
    const url = await (await (cluster ??= startPostgres())).createDatabase()
    const temp = await makeTempDir()
    scope.defer(() => temp.remove())
    await keepsVersions(temp.dir, { databaseUrl: url })
  })
})

async function keepsVersions(dataDir: string, overrides: { databaseUrl?: string }): Promise<void> {
  // A compaction after every record: each version outlives several.
  const settings = { ...FAST_HISTORY, compactAfterRecords: 1, ...overrides }
  let server = await startTestServer(dataDir, settings)
  scope.defer(() => server.close())
  const ada = as(scope.client(server, 'kept'), ADA)
  await whenSynced(ada)
  const base = historyApiBase({ docId: 'kept' })
  const expected: string[] = []
  for (const word of ['alpha', 'beta', 'gamma']) {
    const line = paragraphText(ada, 0)
    // Each version deletes what the one before wrote: only a gc-free history can show it again.
    line.delete(0, line.length)
    line.insert(0, word)
    await ada.whenSaved()
    const made = await api<Version>(server, `${base}/versions`, { method: 'POST', body: { name: word } })
    assert.equal(made.status, 201)
    expected.push(word)
  }
  ada.destroy()
  await waitFor(() => server.documents.size === 0, 'the document compacted and unloaded')
  await server.close()
  server = await startTestServer(dataDir, settings)
  const versions = await versionsOf(server, 'kept')
  assert.deepEqual(
    versions.map((version) => version.name),
    [...expected].reverse(),
  )
  for (const version of versions) {
    const { body } = await api<{ content: string }>(server, `${base}/versions/${version.id}?format=text`)
    assert.equal(body.content, version.name)
  }
  const { body } = await api<{ content: string }>(server, `${base}/versions/3?format=html&compare=1`)
  assert.match(body.content, /<del[^>]*>alpha<\/del>/)
  assert.match(body.content, /<ins[^>]*>gamma<\/ins>/)
}
