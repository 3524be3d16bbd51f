/**
 * Redis and PostgreSQL go away under three Chorus instance processes, with stock y-websocket
 * clients (issue 12, properties 5, 6 and 7): Redis stops for everyone, one instance alone loses
 * it (a partition, which also makes it the stale instance among three), PostgreSQL stops. The
 * same rules are tested in process, in more detail, by cluster-reconcile.test.ts; here they hold
 * for separate processes on a real PostgreSQL, with the Redis traffic watched on the wire.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { decodeClusterMessage, DOCUMENT_CHANNEL_PREFIX, Kind } from '../../server/cluster/cluster-messages.ts'
import { clockOf } from '../../lib/state-vector.ts'
import { CloseCode, decodeNoticePayload, MessageType } from '../../lib/protocol.ts'
import type { ChorusServer } from '../support/chorus-process.ts'
import { allSee, count, text, type } from '../support/cluster.ts'
import {
  type ClusterServices,
  clusterMissing,
  peopleOn,
  readiness,
  startClusterServices,
  startInstances,
  storedText,
} from '../support/cluster-processes.ts'
import { connectClient, TestScope, type TestClient } from '../support/sync-harness.ts'
import { startTcpLink, type TcpLink } from '../support/tcp-link.ts'
import { waitFor } from '../support/wait-for.ts'

/** Every token once, and nothing else: nothing lost, duplicated or truncated. */
function assertExactlyOnce(clients: TestClient[], tokens: string[]): void {
  const expectedLength = tokens.reduce((sum, token) => sum + token.length, 0)
  for (const client of clients) {
    const t = text(client)
    for (const token of tokens) assert.equal(count(t, token), 1, `${token} once in ${t}`)
    assert.equal(t.length, expectedLength, `no more and no less: ${t}`)
  }
}

describe('three instance processes when Redis or PostgreSQL goes away', { skip: clusterMissing(), timeout: 120_000 }, () => {
  let services: ClusterServices
  let databaseUrl: string
  /** The third instance reaches Redis through this link, which a test can cut. */
  let link: TcpLink
  let instances: ChorusServer[]
  const scope = new TestScope()
  let docCounter = 0
  const docId = () => `outage-${process.pid}-${++docCounter}`

  before(async () => {
    services = await startClusterServices()
    databaseUrl = await services.postgres.createDatabase()
    link = await startTcpLink(services.redis.port)
    instances = await startInstances(3, {
      databaseUrl,
      redisUrl: (i) => (i === 2 ? link.url : services.redis.url),
    })
  })
  after(async () => {
    await scope.cleanup()
    for (const instance of instances ?? []) await instance.cleanup()
    await link?.close()
    await services?.remove()
  })
  afterEach(() => scope.cleanup())

  function readinessIs(instance: ChorusServer, status: number, body: string): Promise<void> {
    return waitFor(async () => {
      const answer = await readiness(instance)
      return answer.status === status && answer.body.status === body
    }, `instance on ${instance.port}: /readyz ${status} ${body}`)
  }

  it('Redis stops: every instance serves and stores alone, degraded; reconciled once it returns', async () => {
    const id = docId()
    const people = peopleOn(instances, id, scope)
    const tokens = ['[before]']
    type(people[0], '[before]')
    await allSee(people, (t) => t === '[before]', 'shared before the outage')

    await services.redis.stop()
    await Promise.all(instances.map((instance) => readinessIs(instance, 200, 'degraded')))
    for (const [i, person] of people.entries()) {
      for (let round = 0; round < 3; round++) {
        tokens.push(`<${i}.${round}>`)
        type(person, `<${i}.${round}>`)
      }
    }
    // "Saved" means committed in PostgreSQL, Redis or not.
    await Promise.all(people.map((person) => person.whenSaved()))
    assert.ok(!text(people[0]).includes('<1.0>'), 'nothing crosses instances without Redis')

    await services.redis.start()
    const back = performance.now()
    await allSee(people, (t) => tokens.every((token) => t.includes(token)), 'reconciled after Redis returned', 15_000)
    process.stdout.write(`# Redis back: every instance reconciled after ${Math.round(performance.now() - back)} ms\n`)
    await Promise.all(instances.map((instance) => readinessIs(instance, 200, 'ready')))
    assertExactlyOnce(people, tokens)
    type(people[1], '[after]')
    tokens.push('[after]')
    await allSee(people, (t) => t.includes('[after]'), 'live again')
    await Promise.all(people.map((person) => person.whenSaved()))
    assert.equal(await storedText(databaseUrl, id), text(people[0]))
    assertExactlyOnce(people, tokens)
  })

  it('one instance loses Redis: it alone is degraded, goes stale, and is caught up by replies to it alone', async () => {
    const id = docId()
    // Everything said about the document on Redis, and on the instances' own channels.
    const spy = new Redis(services.redis.url)
    scope.defer(() => spy.disconnect())
    const kindsOnDocumentChannel = new Set<number>()
    const kindsOnInstanceChannels = new Set<number>()
    spy.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      const kind = decodeClusterMessage(message).kind
      if (channel.toString().startsWith(DOCUMENT_CHANNEL_PREFIX)) kindsOnDocumentChannel.add(kind)
      else kindsOnInstanceChannels.add(kind)
    })
    await spy.psubscribe(`${DOCUMENT_CHANNEL_PREFIX}${id}`, 'chorus:instance:*')

    const people = peopleOn(instances, id, scope)
    const [ann, bob, sam] = people
    const tokens = ['[start]']
    type(ann, '[start]')
    await allSee(people, (t) => t === '[start]', 'a shared start')

    link.cut()
    await readinessIs(instances[2], 200, 'degraded')
    for (const instance of instances.slice(0, 2)) assert.equal((await readiness(instance)).body.status, 'ready')
    // The others go on, far ahead of the stale one; its own client edits too; all of it is stored.
    for (let round = 0; round < 20; round++) {
      for (const [client, name] of [
        [ann, 'a'],
        [bob, 'b'],
      ] as const) {
        tokens.push(`<${name}${round}>`)
        type(client, `<${name}${round}>`)
      }
    }
    tokens.push('<s>')
    type(sam, '<s>')
    await Promise.all(people.map((person) => person.whenSaved()))
    await allSee([ann, bob], (t) => t.includes('<a19>') && t.includes('<b19>'), 'the two others still co-edit')
    assert.ok(!text(sam).includes('<a0>') && !text(ann).includes('<s>'), 'the partition holds')

    link.restore()
    const restored = performance.now()
    await allSee(people, (t) => tokens.every((token) => t.includes(token)), 'everyone has everything')
    process.stdout.write(`# partition over: the stale instance caught up after ${Math.round(performance.now() - restored)} ms\n`)
    assertExactlyOnce(people, tokens)
    await readinessIs(instances[2], 200, 'ready')
    assert.ok(kindsOnInstanceChannels.has(Kind.Reply), 'the stale instance was answered on its own channel')
    assert.ok(
      !kindsOnDocumentChannel.has(Kind.Reply) && !kindsOnDocumentChannel.has(Kind.CatchUp),
      'no reply computed for one instance on the document channel',
    )
    assert.equal(await storedText(databaseUrl, id), text(ann))
  })

  it('closes a viewer whose link was reset while its instance had no Redis, once Redis is back', async () => {
    // Root cause: a reset reaches the other instances over Redis only; an instance cut off from
    // it at that moment kept the old link's viewers following the document for good.
    const id = docId()
    const [ann] = peopleOn(instances, id, scope)
    const viewLink = async (instance: ChorusServer, reset = false): Promise<string> => {
      const response = await fetch(`${instance.url}/api/documents/${id}/view-link${reset ? '/reset' : ''}`, { method: 'POST' })
      assert.equal(response.status, 200)
      return ((await response.json()) as { viewId: string }).viewId
    }
    const viewer = connectClient(`${instances[2].wsUrl}/view`, await viewLink(instances[0]), { chorus: false })
    scope.defer(() => viewer.destroy())
    let closedWith: number | undefined
    viewer.provider.on('connection-close', (event) => {
      closedWith ??= event?.code
    })
    type(ann, '<seen>')
    await allSee([viewer], (t) => t === '<seen>', 'the viewer follows')
    link.cut()
    await readinessIs(instances[2], 200, 'degraded')
    await viewLink(instances[0], true)
    link.restore()
    await waitFor(() => closedWith !== undefined, 'the viewer disconnected once its instance heard again')
    assert.equal(closedWith, CloseCode.ViewLinkRevoked)
  })

  it('PostgreSQL stops: editing and relaying go on, /readyz 503, nothing Saved until committed, then all lands', async () => {
    const id = docId()
    const people = peopleOn(instances, id, scope)
    const [ann, bob] = people
    type(ann, '[before]')
    await ann.whenSaved()
    await allSee(people, (t) => t === '[before]', 'shared')

    // Every SavedState Ann receives from now on, with when it came.
    const saved: { at: number; clock: number }[] = []
    const handle = ann.provider.messageHandlers[MessageType.SavedState]
    ann.provider.messageHandlers[MessageType.SavedState] = (...args) => {
      handle(...args)
      saved.push({ at: performance.now(), clock: ann.savedStateVector?.get(ann.doc.clientID) ?? 0 })
    }

    // What the page is told: the server cannot save, then that it can again (an empty message).
    const notices: string[] = []
    for (const person of people) {
      person.provider.messageHandlers[MessageType.Notice] = (_encoder, decoder) => {
        const notice = decodeNoticePayload(decoder)
        if (person === ann) notices.push(`${notice.code}:${notice.message ? 'on' : 'off'}`)
      }
    }

    await services.postgres.stop()
    await Promise.all(instances.map((instance) => readinessIs(instance, 503, 'unavailable')))
    type(ann, '<ann during>')
    type(bob, '<bob during>')
    const clockDuring = clockOf(ann.doc)
    await allSee(people, (t) => t.includes('<ann during>') && t.includes('<bob during>'), 'relayed during the outage')
    await waitFor(() => notices.includes('storage-failing:on'), 'Ann told that the server cannot save')

    const restarted = performance.now()
    await services.postgres.start()
    const databaseBack = performance.now()
    await Promise.all(people.map((person) => person.whenSaved(20_000)))
    process.stdout.write(
      `# PostgreSQL back: pending writes Saved ${Math.round(performance.now() - databaseBack)} ms after it accepted connections\n`,
    )
    const confirmations = saved.filter((entry) => entry.clock >= clockDuring)
    assert.ok(confirmations.length > 0)
    assert.ok(
      confirmations.every((entry) => entry.at >= restarted),
      'no "Saved" for an edit made during the outage before the database was back',
    )
    const stored = await storedText(databaseUrl, id)
    assert.ok(stored.includes('<ann during>') && stored.includes('<bob during>'), `pending writes landed: ${stored}`)
    await Promise.all(instances.map((instance) => readinessIs(instance, 200, 'ready')))
    await waitFor(() => notices.at(-1) === 'storage-failing:off', 'the notice withdrawn')
  })
})
