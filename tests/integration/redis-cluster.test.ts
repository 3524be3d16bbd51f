/**
 * Three Chorus instance processes on one PostgreSQL and a real three-master Redis Cluster
 * (REDIS_CLUSTER=true: sharded pub/sub), through stock y-websocket clients: documents whose
 * channels live on different masters each carry edits and presence across instances, and a
 * master killed and started again costs its documents nothing once the instances have
 * resubscribed and reconciled, and so does a channel whose slot moves to another master.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { documentChannel } from '../../server/cluster/cluster-messages.ts'
import { keySlot } from '../../server/cluster/redis-cluster-link.ts'
import type { ChorusServer } from '../support/chorus-process.ts'
import { allSee, count, namesSeenBy, text, type } from '../support/cluster.ts'
import { peopleOn, readiness, startInstances, storedText } from '../support/cluster-processes.ts'
import { type PostgresCluster, postgresMissing, startPostgres } from '../support/postgres.ts'
import { redisClusterMissing, startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.ts'
import { TestScope } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = postgresMissing() ?? redisClusterMissing()

describe('three instance processes on a three-master Redis Cluster (sharded pub/sub)', { skip, timeout: 60_000 }, () => {
  let postgres: PostgresCluster
  let redis: TestRedisCluster
  let databaseUrl: string
  let instances: ChorusServer[]
  const scope = new TestScope()
  let docCounter = 0
  /** One document per master: ids tried in turn until each master owns one's channel. */
  const docsByMaster = new Map<string, string>()

  before(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedisCluster()])
    databaseUrl = await postgres.createDatabase()
    instances = await startInstances(3, { databaseUrl, redisUrl: redis.url, env: { REDIS_CLUSTER: 'true' } })
    while (docsByMaster.size < redis.masters.length) {
      const id = `shard-${process.pid}-${++docCounter}`
      const owner = await redis.ownerOf(documentChannel(id))
      if (!docsByMaster.has(owner)) docsByMaster.set(owner, id)
    }
  })
  after(async () => {
    await scope.cleanup()
    await Promise.all((instances ?? []).map((instance) => instance.cleanup()))
    await Promise.all([redis?.remove(), postgres?.remove()])
  })
  afterEach(() => scope.cleanup())

  function readinessIs(instance: ChorusServer, body: string): Promise<void> {
    return waitFor(
      async () => (await readiness(instance)).body.status === body,
      `instance on ${instance.port}: /readyz ${body}`,
      15_000,
    )
  }

  it('document channels on different masters each carry edits and presence across instances', async () => {
    // Our slot function agrees with the cluster's, and the documents span every master.
    for (const id of docsByMaster.values()) {
      const channel = documentChannel(id)
      const { Redis } = await import('ioredis')
      const node = new Redis({ port: redis.masters[0]!.port, host: '127.0.0.1' })
      assert.equal(keySlot(channel), Number(await node.call('CLUSTER', 'KEYSLOT', channel)), channel)
      node.disconnect()
    }
    assert.deepEqual([...docsByMaster.keys()].sort(), redis.masters.map((master) => master.address).sort())
    for (const [master, id] of docsByMaster) {
      const people = peopleOn(instances, id, scope)
      type(people[0]!, '[a]')
      type(people[1]!, '[b]')
      await allSee(people, (t) => t.includes('[a]') && t.includes('[b]'), `edits on ${id} (on ${master}) everywhere`)
      await waitFor(
        () => people.every((person) => namesSeenBy(person).join() === 'P0,P1,P2'),
        `everyone on ${id} (on ${master}) sees all three present`,
      ).catch((error) => {
        throw new Error(`${error.message}: ${people.map((person) => namesSeenBy(person).join()).join(' / ')}`)
      })
      type(people[2]!, '[c]')
      await allSee(people, (t) => t.includes('[c]'), `the third's edit on ${id}`)
      assert.equal(text(people[0]!), text(people[2]!))
    }
  })

  it('a master killed and started again: its documents degrade, then reconcile with nothing lost', async () => {
    const [downAddress, downId] = [...docsByMaster][0]!
    const [, upId] = [...docsByMaster][1]!
    const master = redis.masters.find((m) => m.address === downAddress)!
    const down = peopleOn(instances, downId, scope)
    const up = peopleOn(instances, upId, scope)
    const tokens = ['[before]']
    type(down[0]!, '[before]')
    await allSee(down, (t) => t.includes('[before]'), 'shared before the outage')

    await master.stop()
    // Every instance has a channel on the stopped master (the document open on all three).
    await Promise.all(instances.map((instance) => readinessIs(instance, 'degraded')))
    // The other masters' documents are still relayed meanwhile.
    type(up[0]!, '[still]')
    await allSee(up, (t) => t.includes('[still]'), "another master's document live during the outage")
    for (const [i, person] of down.entries()) {
      tokens.push(`<${i}>`)
      type(person, `<${i}>`)
    }
    await Promise.all(down.map((person) => person.whenSaved()))
    assert.ok(!text(down[0]!).includes('<1>'), "nothing crosses instances while the document's master is down")

    await master.start()
    const back = performance.now()
    await allSee(down, (t) => tokens.every((token) => t.includes(token)), 'reconciled after the master returned', 20_000)
    process.stdout.write(`# master back: every instance reconciled after ${Math.round(performance.now() - back)} ms\n`)
    await Promise.all(instances.map((instance) => readinessIs(instance, 'ready')))
    for (const person of down) {
      for (const token of tokens) assert.equal(count(text(person), token), 1, `${token} once in ${text(person)}`)
    }
    type(down[1]!, '[after]')
    await allSee(down, (t) => t.includes('[after]'), 'live again on the restarted master')
    await Promise.all(down.map((person) => person.whenSaved()))
    assert.equal(await storedText(databaseUrl, downId), text(down[0]!))
    await redis.whenHealthy()
  })
  it("a document channel's slot moved to another master: the instances subscribe there, nothing lost", async () => {
    const [fromAddress, id] = [...docsByMaster][2]!
    const channel = documentChannel(id)
    const to = redis.masters.find((master) => master.address !== fromAddress)!
    const people = peopleOn(instances, id, scope)
    const tokens = ['[before]']
    type(people[0]!, '[before]')
    await allSee(people, (t) => t.includes('[before]'), 'shared before the move')

    assert.equal(await redis.shardSubscribers(fromAddress, channel), instances.length)
    await redis.moveSlot(keySlot(channel), to.address)
    assert.equal(await redis.ownerOf(channel), to.address)
    // Typed at once: some of it goes out before the instances notice the move.
    for (const [i, person] of people.entries()) {
      tokens.push(`<${i}>`)
      type(person, `<${i}>`)
    }
    await waitFor(
      async () => (await redis.shardSubscribers(to.address, channel)) === instances.length,
      'every instance subscribed to the channel on its new master',
    )
    await allSee(people, (t) => tokens.every((token) => t.includes(token)), 'every edit everywhere after the move', 15_000)
    assert.equal(await redis.shardSubscribers(fromAddress, channel), 0)
    // Each went through lost and ready again: what the move hid from it was reconciled.
    for (const instance of instances) assert.match(instance.output(), /redis cluster (slots moved|master unsubscribed us)/)
    await Promise.all(instances.map((instance) => readinessIs(instance, 'ready')))
    type(people[2]!, '[after]')
    tokens.push('[after]')
    await allSee(people, (t) => t.includes('[after]'), 'live on the new master')
    for (const person of people) {
      for (const token of tokens) assert.equal(count(text(person), token), 1, `${token} once in ${text(person)}`)
    }
  })
})
