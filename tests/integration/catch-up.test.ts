/**
 * The catch-up answer's marks (which Yjs clients wrote since a version, and whose they are) with
 * real parts: a Chorus server process over LevelDB, real y-websocket clients with awareness
 * identities, the HTTP API for an editor and through a view link, and the browser's own walk of
 * its Y.Doc (components/editor/inserted-runs.ts) finding the text those clients added.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type * as Y from 'yjs'
import { getSchema } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import { yXmlFragmentToProseMirrorRootNode } from '@tiptap/y-tiptap'
import type { Author, CatchUp, Version } from '../../lib/history.ts'
import { historyApiBase, viewLinkApiPath } from '../../lib/routes.ts'
import { insertedRuns } from '../../components/editor/inserted-runs.ts'
import { startChorus, type ChorusServer } from '../support/chorus-process.ts'
import { connectClient, type TestClient, whenSynced } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'
import { paragraphText } from '../support/editor-fragment.ts'

const ADA: Author = { id: 'author-ada', name: 'Ada', color: '#aa3355' }
const BOB: Author = { id: 'author-bob', name: 'Bob', color: '#3355aa' }
const schema = getSchema([StarterKit])

let chorus: ChorusServer
const clients: TestClient[] = []

before(async () => {
  // No automatic versions within the test: it names the versions it compares with.
  chorus = await startChorus({ entry: 'standalone', env: { HISTORY_PAUSE_MS: '600000', HISTORY_MAX_INTERVAL_MS: '600000' } })
})
after(async () => {
  for (const client of clients) client.destroy()
  await chorus?.cleanup()
})

function writer(docId: string, author: Author): TestClient {
  const client = connectClient(chorus.wsUrl, docId)
  client.provider.awareness.setLocalStateField('user', author)
  clients.push(client)
  return client
}

async function api<T>(path: string, body?: unknown): Promise<{ status: number; type: string | null; body: T }> {
  const response = await fetch(`${chorus.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as T }
}

/** The text a browser holding `doc` would mark with this answer. */
function marked(doc: Y.Doc, answer: CatchUp): { text: string; author: string | undefined }[] {
  const fragment = doc.getXmlFragment('default')
  const { runs, size } = insertedRuns(
    fragment,
    new Map(answer.inserted.map(({ client, from }) => [client, from])),
    (name) => schema.nodes[name]?.isLeaf ?? false,
  )
  const pm = yXmlFragmentToProseMirrorRootNode(fragment, schema)
  assert.equal(size, pm.content.size)
  const authorOf = new Map(answer.inserted.map(({ client, author }) => [client, author]))
  return runs.map((run) => ({ text: pm.textBetween(run.from, run.to), author: authorOf.get(run.client) }))
}

describe('catch-up marks', () => {
  it('names the clients that wrote since a version and their authors, without mine, for editors and viewers', async () => {
    const docId = 'catch-up-marks'
    const base = historyApiBase({ docId })
    const ada = writer(docId, ADA)
    const bob = writer(docId, BOB)
    await Promise.all([whenSynced(ada), whenSynced(bob)])
    await waitFor(
      () => ada.provider.awareness.getStates().size === 2 && bob.provider.awareness.getStates().size === 2,
      'both present',
    )

    paragraphText(ada, 0).insert(0, 'Ada wrote this.')
    await ada.whenSaved()
    const first = await api<Version>(`${base}/versions`, { name: 'Seen', author: ADA })
    assert.equal(first.status, 201)

    // Since then: Bob adds to Ada's paragraph, Ada adds one of her own. Not yet in any version.
    await waitFor(() => paragraphText(bob, 0).toString() === 'Ada wrote this.', 'Bob has the text')
    paragraphText(bob, 0).insert(15, ' Bob added this.')
    await bob.whenSaved()
    paragraphText(ada, 1).insert(0, 'Ada again.')
    await ada.whenSaved()
    await waitFor(() => paragraphText(ada, 0).toString() === 'Ada wrote this. Bob added this.', 'Ada has Bob’s text')

    const forAda = await api<CatchUp>(`${base}/catch-up?since=${first.body.id}&me=${ADA.id}`)
    assert.equal(forAda.status, 200)
    assert.deepEqual(forAda.body.authors, [BOB])
    assert.deepEqual(forAda.body.inserted, [{ client: bob.doc.clientID, from: 0, author: BOB.id }], 'Bob only, never me')
    assert.equal(forAda.body.clientsLeftOut, 0)
    assert.deepEqual(marked(ada.doc, forAda.body), [{ text: ' Bob added this.', author: BOB.id }])

    const forBob = await api<CatchUp>(`${base}/catch-up?since=${first.body.id}&me=${BOB.id}`)
    assert.deepEqual(forBob.body.authors, [ADA])
    const [adaSince] = forBob.body.inserted
    assert.equal(adaSince.client, ada.doc.clientID)
    assert.ok(adaSince.from > 0, 'Ada had written before the version: only what came after counts')
    assert.deepEqual(marked(bob.doc, forBob.body), [{ text: 'Ada again.', author: ADA.id }])

    // Once the edits are a version, the attribution comes from the stored versions; a viewer asks
    // through the view link and gets the same answer.
    assert.equal((await api<Version>(`${base}/versions`, { name: 'Later' })).status, 201)
    const { body: link } = await api<{ viewId: string }>(viewLinkApiPath(docId), {})
    const viewer = await api<CatchUp>(`${historyApiBase({ viewId: link.viewId })}/catch-up?since=${first.body.id}&me=${ADA.id}`)
    assert.equal(viewer.status, 200)
    assert.deepEqual(viewer.body.inserted, forAda.body.inserted)
    assert.deepEqual(viewer.body.authors, [BOB])

    // A version nobody made: a clear 404 in JSON; no since at all: 400.
    for (const since of ['999', 'nonsense']) {
      const unknown = await api<{ error: string }>(`${base}/catch-up?since=${since}&me=${ADA.id}`)
      assert.equal(unknown.status, 404)
      assert.match(unknown.type ?? '', /application\/json/)
      assert.equal(unknown.body.error, 'unknown version')
    }
    assert.equal((await api(`${base}/catch-up?me=${ADA.id}`)).status, 400)
    assert.equal((await api(`${historyApiBase({ viewId: 'no-such-view' })}/catch-up?since=1`)).status, 404)
  })
})
