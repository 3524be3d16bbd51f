/**
 * The app as a cluster deployment runs it (issue 12): three Chorus processes on one PostgreSQL and
 * one redis-server, behind the shipped HAProxy config (docs/deploy/haproxy.cfg). Two browsers
 * edit one document through it; the instance holding their sockets is killed with kill -9; the
 * pages reconnect through HAProxy to another instance, show "Saved" only for what is stored, and
 * carry on. One cluster for the file.
 */
import { test as base, expect } from '@playwright/test'
import { newDocId } from '../../lib/doc-id.ts'
import type { ChorusServer } from '../support/chorus-process.ts'
import {
  type ClusterServices,
  clusterMissing,
  health,
  startClusterServices,
  startInstances,
  storedDoc,
} from '../support/cluster-processes.ts'
import { type Haproxy, haproxyAvailable, startShippedHaproxy } from '../support/haproxy.ts'
import { openWriter, type Writer } from './writers.ts'

interface Cluster {
  services: ClusterServices
  databaseUrl: string
  instances: ChorusServer[]
  lb: Haproxy
}

const test = base.extend<Record<never, never>, { cluster: Cluster }>({
  cluster: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a destructured first argument
    async ({}, use) => {
      const services = await startClusterServices()
      try {
        const databaseUrl = await services.postgres.createDatabase()
        const instances = await startInstances(3, { databaseUrl, redisUrl: services.redis.url, entry: 'app' })
        try {
          const lb = await startShippedHaproxy(instances.map((instance) => instance.port))
          try {
            await use({ services, databaseUrl, instances, lb })
          } finally {
            await lb.stop()
          }
        } finally {
          await Promise.all(instances.map((instance) => instance.cleanup()))
        }
      } finally {
        await services.remove()
      }
    },
    { scope: 'worker' },
  ],
})

const missing = clusterMissing() || (haproxyAvailable() ? false : 'haproxy is not installed (apt-get install haproxy)')
test.skip(!!missing, String(missing))

test('two browsers through HAProxy carry on after kill -9 of their instance, losing nothing', async ({ browser, cluster }) => {
  const docId = newDocId()
  const writers: Writer[] = []
  try {
    for (const name of ['Ada', 'Grace']) writers.push(await openWriter(browser, cluster.lb.url, { name, docId }))
    const [ada, grace] = writers
    await ada.typeAtEnd('Before the crash.')
    await expect.poll(grace.text).toBe('Before the crash.')
    await expect(ada.save).toHaveText('Saved')
    const people = (writer: Writer) => writer.page.getByRole('list', { name: 'People here' })
    await expect(people(grace)).toContainText('Ada')

    // Their sockets (the document's path hashes to one instance) are on one instance: kill it.
    const connections = await Promise.all(cluster.instances.map(async (instance) => (await health(instance)).connections))
    const victim = cluster.instances[connections.indexOf(2)]
    expect(victim, `both pages on one instance: ${connections}`).toBeDefined()
    await victim.kill9()

    await ada.typeAtEnd(' After it.')
    await expect(ada.connection).toHaveText('Online')
    await expect(grace.connection).toHaveText('Online')
    await expect.poll(grace.text).toBe('Before the crash. After it.')
    await expect(ada.save).toHaveText('Saved')
    // What the page shows as Saved is committed (TipTap's content is the Y.Doc's 'default' fragment).
    const stored = await storedDoc(cluster.databaseUrl, docId)
    expect(stored.getXmlFragment('default').toString()).toContain('Before the crash. After it.')
    stored.destroy()
    await expect(people(grace)).toContainText('Ada')
    await expect(people(ada)).toContainText('Grace')
  } finally {
    for (const writer of writers) await writer.context.close()
  }
})
