/**
 * Several instances serving the same documents, connected through a real redis-server, with
 * stock y-websocket clients (issue 12, properties 1, 2, 4's presence expiry, 9). The instances
 * run in this process over one shared in-memory database, which stands in for PostgreSQL until
 * that store lands (tests/support/shared-store.ts).
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { documentChannel } from '../../server/cluster/cluster-messages.ts'
import { allSee, namesSeenBy, person, startInstance, text, type, type Instance } from '../support/cluster.ts'
import { REDIS_MISSING, redisAvailable, startRedis, type TestRedis } from '../support/redis.ts'
import { SharedDatabase } from '../support/shared-store.ts'
import { TestScope } from '../support/sync-harness.ts'
import { startTcpLink } from '../support/tcp-link.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = redisAvailable() ? false : REDIS_MISSING

describe('a cluster through Redis', { skip }, () => {
  let redis: TestRedis
  const scope = new TestScope()
  let db: SharedDatabase
  let docCounter = 0
  const docId = () => `cluster-doc-${process.pid}-${++docCounter}`

  before(async () => {
    redis = await startRedis()
  })
  after(() => redis?.remove())
  afterEach(() => scope.cleanup())

  /** `n` instances over the database `db`, a new one unless the test made it already. */
  async function instances(n: number, shared = false): Promise<Instance[]> {
    if (!shared) db = new SharedDatabase()
    const started: Instance[] = []
    for (let i = 0; i < n; i++) {
      const instance = await startInstance(db, redis.url, `i${i}`)
      scope.defer(() => instance.close())
      started.push(instance)
    }
    return started
  }

  function personOn(instance: Instance, id: string, name: string) {
    const client = person(instance, id, name)
    scope.defer(() => client.destroy())
    return client
  }

  it('co-edits across instances: text, carets and presence both ways, and to a third', async () => {
    const [a, b, c] = await instances(3)
    const id = docId()
    const ann = personOn(a, id, 'Ann')
    const bob = personOn(b, id, 'Bob')
    type(ann, '[ann]')
    type(bob, '[bob]')
    const cid = personOn(c, id, 'Cid')
    await allSee([ann, bob, cid], (t) => t.includes('[ann]') && t.includes('[bob]'), 'both edits everywhere')
    await waitFor(
      () => [ann, bob, cid].every((client) => namesSeenBy(client).join() === 'Ann,Bob,Cid'),
      'everyone sees all three present',
    )
    // A caret: a relative position into the text, set on one instance, read on another.
    ann.provider.awareness.setLocalStateField('cursor', { at: 3 })
    await waitFor(
      () =>
        [...cid.provider.awareness.getStates().values()].some((state) => (state as { cursor?: { at: number } }).cursor?.at === 3),
      "Ann's caret reaches the third instance",
    )
    type(cid, '[cid]')
    await allSee([ann, bob, cid], (t) => t.includes('[cid]'), "the third's edit everywhere")
    assert.equal(text(ann), text(bob))
    assert.equal(text(bob), text(cid))
  })

  it('publishes a document only while another instance holds it, and misses nothing when one joins mid-edit', async () => {
    const [a, b] = await instances(2)
    const id = docId()
    const ann = personOn(a, id, 'Ann')
    await allSee([ann], (t) => t === '', 'Ann is synced')
    const relay = a.server.cluster!
    const before = relay.counts.published
    for (let i = 0; i < 40; i++) {
      type(ann, `<${i}>`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    ann.provider.awareness.setLocalStateField('cursor', { at: 1 })
    // Heartbeats alone (one a second) in that time; each edit would have been a publish.
    assert.ok(relay.counts.published - before < 10, `published ${relay.counts.published - before} alone`)
    // Bob's instance opens the document while Ann keeps typing: the edits before it offered its
    // state vector come in the answer to that offer, the later ones are published.
    let typing = true
    let n = 0
    const typist = (async () => {
      while (typing) {
        type(ann, `{${n++}}`)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    const bob = personOn(b, id, 'Bob')
    await waitFor(() => text(bob).includes('{3}'), 'Bob has the edits made while he joined')
    typing = false
    await typist
    type(bob, '[bob]')
    await allSee([ann, bob], (t) => t.includes(`{${n - 1}}`) && t.includes('[bob]') && t.includes('<39>'), 'every edit both ways')
    assert.equal(text(ann), text(bob))
    await waitFor(() => namesSeenBy(ann).join() === 'Ann,Bob' && namesSeenBy(bob).join() === 'Ann,Bob', 'presence both ways')
    await waitFor(
      () =>
        [...bob.provider.awareness.getStates().values()].some((state) => (state as { cursor?: { at: number } }).cursor?.at === 1),
      "Ann's caret, set before Bob's instance held the document, reaches Bob",
    )
  })

  it('serves a document complete on an instance that never had it open', async () => {
    const [a, b, c] = await instances(3)
    const id = docId()
    const ann = personOn(a, id, 'Ann')
    const bob = personOn(b, id, 'Bob')
    for (let i = 0; i < 20; i++) type(i % 2 ? ann : bob, `<${i}>`)
    await allSee([ann, bob], (t) => t.includes('<19>') && t.includes('<18>'), 'both have every edit')
    await ann.whenSaved()
    await bob.whenSaved()
    assert.equal(c.server.documents.get(id), undefined, 'the third instance never had it')
    const cid = personOn(c, id, 'Cid')
    await allSee([cid], (t) => t === text(ann), 'the newcomer sees the whole document')
    assert.equal(text(cid), text(bob))
  })

  it('removes a departing person for everyone, and a dead instance’s people within 5 s', async () => {
    db = new SharedDatabase()
    // The third instance reaches Redis through a link the test can cut without a goodbye.
    const link = await startTcpLink(redis.port)
    scope.defer(() => link.close())
    const [a, b] = await instances(2, true)
    const c = await startInstance(db, link.url, 'i2')
    scope.defer(() => c.close())
    const id = docId()
    const ann = personOn(a, id, 'Ann')
    const bob = personOn(b, id, 'Bob')
    const cid = personOn(c, id, 'Cid')
    await waitFor(() => [ann, bob].every((client) => namesSeenBy(client).join() === 'Ann,Bob,Cid'), 'all present')

    // A normal disconnect: its removal travels like any awareness update.
    bob.destroy()
    await waitFor(() => namesSeenBy(ann).join() === 'Ann,Cid' && namesSeenBy(cid).join() === 'Ann,Cid', 'Bob gone')

    // Instance c dies as far as the others can tell: no heartbeat, no goodbye.
    const cut = performance.now()
    link.cut()
    await waitFor(() => namesSeenBy(ann).join() === 'Ann', "Cid's presence expired", 5000)
    const gone = performance.now() - cut
    assert.ok(gone < 5000, `gone after ${Math.round(gone)} ms`)
    process.stdout.write(`# presence of a silent instance gone after ${Math.round(gone)} ms\n`)
  })

  it('removes the people of an instance that stops gracefully at once', async () => {
    const [a, b] = await instances(2)
    const id = docId()
    const ann = personOn(a, id, 'Ann')
    personOn(b, id, 'Bob')
    await waitFor(() => namesSeenBy(ann).join() === 'Ann,Bob', 'both present')
    const stopped = performance.now()
    await b.close()
    // Well before a lapsed heartbeat (3 s) would remove them.
    await waitFor(() => namesSeenBy(ann).join() === 'Ann', 'Bob gone with his instance', 2500)
    process.stdout.write(`# presence of a stopped instance gone after ${Math.round(performance.now() - stopped)} ms\n`)
  })

  it('stores what a killed instance published but never stored', async () => {
    // Root cause: an update is published when applied, before its instance stores it; the
    // others hold it without storing it (a peer's update is not theirs to store), and one of them
    // would confirm it as "Saved" to its author reconnecting there, with nobody having stored it.
    db = new SharedDatabase()
    const link = await startTcpLink(redis.port)
    scope.defer(() => link.close())
    const doomed = await startInstance(db, link.url, 'doomed')
    scope.defer(() => doomed.close())
    const [b] = await instances(1, true)
    const id = docId()
    const ann = personOn(doomed, id, 'Ann')
    const bob = personOn(b, id, 'Bob')
    await allSee([ann, bob], () => true, 'connected')
    await waitFor(() => b.server.documents.get(id)?.isReady === true, 'open on b')
    // The doomed instance writes nothing from now on, then vanishes without a goodbye.
    doomed.store.freeze()
    type(ann, '<never stored by its instance>')
    await allSee([bob], (t) => t.includes('<never stored by its instance>'), 'b has it')
    link.cut()
    await waitFor(
      () => db.contents(id).getText('t').toString().includes('<never stored by its instance>'),
      'stored by the survivor once the doomed instance fell silent',
      8000,
    )
  })

  it('stores what a killed instance could not store for longer than the others keep its updates', async () => {
    // Root cause: the others kept a peer's updates for a fixed few seconds, as if a live instance
    // always stored within them; one whose store had failed for longer held the only copies.
    db = new SharedDatabase()
    const quick = { heartbeatMs: 100, expireAfterMs: 300 } // updates kept 500 ms plus the store lag
    const link = await startTcpLink(redis.port)
    scope.defer(() => link.close())
    const doomed = await startInstance(db, link.url, 'doomed', {}, quick)
    scope.defer(() => doomed.close())
    const b = await startInstance(db, redis.url, 'b', {}, quick)
    scope.defer(() => b.close())
    const id = docId()
    const ann = personOn(doomed, id, 'Ann')
    const bob = personOn(b, id, 'Bob')
    await allSee([ann, bob], () => true, 'connected')
    await waitFor(() => b.server.documents.get(id)?.isReady === true, 'open on b')
    doomed.store.freeze()
    type(ann, '<held only in memory>')
    await allSee([bob], (t) => t.includes('<held only in memory>'), 'b has it')
    await waitFor(
      () => doomed.server.documents.storeLagMs(performance.now()) > 1500,
      'the doomed instance failing to store for three times the window',
    )
    link.cut()
    await waitFor(
      () => db.contents(id).getText('t').toString().includes('<held only in memory>'),
      'stored by the survivor once the doomed instance fell silent',
    )
  })

  it('lets a document leave memory on every instance, and unsubscribes', async () => {
    const [a, b] = await instances(2)
    const id = docId()
    const ann = personOn(a, id, 'Ann')
    const bob = personOn(b, id, 'Bob')
    type(ann, 'one')
    type(bob, 'two')
    await allSee([ann, bob], (t) => t.includes('one') && t.includes('two'), 'both edits')
    await ann.whenSaved()
    await bob.whenSaved()
    const channel = documentChannel(id)
    assert.ok(a.server.cluster!.subscriptions.has(channel) && b.server.cluster!.subscriptions.has(channel))
    ann.destroy()
    bob.destroy()
    await waitFor(() => a.server.documents.size === 0 && b.server.documents.size === 0, 'document unloaded everywhere')
    assert.ok(!a.server.cluster!.subscriptions.has(channel) && !b.server.cluster!.subscriptions.has(channel))
    const stored = db.contents(id).getText('t').toString()
    assert.ok(stored.includes('one') && stored.includes('two'), `stored: ${stored}`)
  })
})
