/**
 * The DocumentStore and ViewLinkStore contract, run against every store: LevelDB in a temp folder
 * the in-memory store, and PostgreSQL (a real server for this file, a fresh database per test). A store that passes these can serve
 * documents; the in-memory store passing them is what makes the lifecycle tests over it count.
 */
import assert from 'node:assert/strict'
import { after, afterEach, beforeEach, describe, it } from 'node:test'
import * as Y from 'yjs'
import type { AccessStore, DocumentStore, VersionStore, ViewLinkStore } from '../../server/storage/document-store.ts'
import type { DocumentAccess } from '../../server/access/permissions.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'
import { PostgresStore } from '../../server/storage/postgres-store.ts'
import { makeTempDir } from '../support/sync-harness.ts'
import { type PostgresCluster, postgresMissing, startPostgres } from '../support/postgres.ts'

type Store = DocumentStore & ViewLinkStore & AccessStore & VersionStore

interface StoreUnderTest {
  store: Store
  /** Closes the store and opens it again on the same data (the memory store has nothing to reopen). */
  reopen(): Promise<Store>
  dispose(): Promise<void>
}

const STORES: [string, () => Promise<StoreUnderTest>][] = [
  [
    'LevelDbStore',
    async () => {
      const temp = await makeTempDir()
      let store = await LevelDbStore.open(temp.dir)
      return {
        store,
        async reopen() {
          await store.close()
          return (store = await LevelDbStore.open(temp.dir))
        },
        async dispose() {
          await store.close()
          await temp.remove()
        },
      }
    },
  ],
  [
    'MemoryStore',
    async () => {
      const store = new MemoryStore()
      return { store, reopen: async () => store, dispose: () => store.close() }
    },
  ],
  [
    'PostgresStore',
    async () => {
      const url = await (await postgres()).createDatabase()
      let store = await PostgresStore.open(url)
      return {
        store,
        async reopen() {
          await store.close()
          return (store = await PostgresStore.open(url))
        },
        dispose: () => store.close(),
      }
    },
  ],
]

/** Started on first use, so the other stores' cases run where PostgreSQL is absent. */
let cluster: Promise<PostgresCluster> | null = null
const postgres = () => (cluster ??= startPostgres())
after(async () => (await cluster)?.remove())

const bytes = (...values: number[]) => Uint8Array.from(values)

/** A real Yjs update that inserts `text` (as its own client). */
function insertUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

function textOf(updates: readonly Uint8Array[]): string {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

for (const [name, make] of STORES) {
  const skip = name === 'PostgresStore' ? (postgresMissing() ?? false) : false
  describe(`store contract: ${name}`, { skip }, () => {
    let subject: StoreUnderTest
    let store: Store

    beforeEach(async () => {
      subject = await make()
      store = subject.store
    })
    afterEach(() => subject.dispose())

    it('loads an unknown document as empty', async () => {
      assert.deepEqual(await store.load('nothing-here'), {
        updates: [],
        firstLogSeq: 0,
        nextSeq: 0,
        logRecords: 0,
        logBytes: 0,
        snapshotBytes: 0,
      })
    })

    it('loads appended records back in order, per document, durably', async () => {
      await Promise.all([
        store.appendRecord('d', 0, [bytes(1), bytes(2)]),
        store.appendRecord('d', 1, [bytes(3)]),
        store.appendRecord('other', 0, [bytes(9)]),
      ])
      await store.appendRecord('d', 2, [bytes(4)])
      store = await subject.reopen()
      const stored = await store.load('d')
      assert.deepEqual(stored.updates, [bytes(1), bytes(2), bytes(3), bytes(4)])
      assert.equal(stored.firstLogSeq, 0)
      assert.equal(stored.nextSeq, 3)
      assert.equal(stored.logRecords, 3)
      assert.ok(stored.logBytes >= 4, 'logBytes counts at least the updates')
      assert.equal(stored.snapshotBytes, 0)
      assert.deepEqual((await store.load('other')).updates, [bytes(9)])
    })

    it('keeps documents whose names look alike apart', async () => {
      const names = ['a', 'a/b', 'a%2Fb', 'a/', 'ä b']
      await Promise.all(names.map((docId, i) => store.appendRecord(docId, 0, [bytes(i)])))
      for (const [i, docId] of names.entries()) assert.deepEqual((await store.load(docId)).updates, [bytes(i)], docId)
    })

    it('replaces a prefix of the log with a snapshot: the snapshot first, then the rest of the log', async () => {
      await store.appendRecord('d', 0, [bytes(1)])
      await store.appendRecord('d', 1, [bytes(2)])
      await store.appendRecord('d', 2, [bytes(3)])
      const snapshot = bytes(7, 7, 7)
      await store.replaceLogWithSnapshot('d', snapshot, 0, 1)
      store = await subject.reopen()
      const stored = await store.load('d')
      assert.deepEqual(stored.updates, [snapshot, bytes(3)])
      assert.equal(stored.firstLogSeq, 2)
      assert.equal(stored.nextSeq, 3)
      assert.equal(stored.logRecords, 1)
      assert.equal(stored.snapshotBytes, snapshot.byteLength)
    })

    it('after the whole log is compacted, loads the snapshot alone and starts the log again at 0', async () => {
      await store.appendRecord('d', 0, [bytes(1)])
      await store.appendRecord('d', 1, [bytes(2)])
      await store.replaceLogWithSnapshot('d', bytes(5), 0, 1)
      const stored = await store.load('d')
      assert.deepEqual(stored, { updates: [bytes(5)], firstLogSeq: 0, nextSeq: 0, logRecords: 0, logBytes: 0, snapshotBytes: 1 })
      await store.appendRecord('d', 0, [bytes(6)])
      assert.deepEqual((await store.load('d')).updates, [bytes(5), bytes(6)])
    })

    it('keeps a record appended while a compaction of the records before it is under way', async () => {
      await store.appendRecord('d', 0, [insertUpdate('a')])
      const b = insertUpdate('b')
      await Promise.all([store.replaceLogWithSnapshot('d', insertUpdate('a'), 0, 0), store.appendRecord('d', 1, [b])])
      const stored = await store.load('d')
      assert.equal(stored.logRecords, 1)
      assert.equal(stored.firstLogSeq, 1)
      assert.equal(stored.nextSeq, 2)
      assert.deepEqual(stored.updates.at(-1), b)
    })

    it('replaces atomically: a load during a compaction sees the old log or the new snapshot, never neither', async () => {
      const parts = ['one ', 'two ', 'three']
      const whole = new Y.Doc()
      const records = parts.map((part) => {
        const before = Y.encodeStateVector(whole)
        whole.getText('t').insert(whole.getText('t').length, part)
        return Y.encodeStateAsUpdate(whole, before)
      })
      for (const [seq, record] of records.entries()) await store.appendRecord('d', seq, [record])
      const [during] = await Promise.all([
        store.load('d'),
        store.replaceLogWithSnapshot('d', Y.encodeStateAsUpdate(whole), 0, records.length - 1),
      ])
      assert.equal(textOf(during.updates), 'one two three')
      assert.equal(textOf((await store.load('d')).updates), 'one two three')
    })

    it('stores view links: a view id opens its document, a reset forgets the old one', async () => {
      assert.equal(await store.getViewId('d'), null)
      assert.equal(await store.resolveViewId('v1'), null)
      await store.setViewId('d', 'v1', null)
      await store.setViewId('other', 'w1', null)
      assert.equal(await store.getViewId('d'), 'v1')
      assert.equal(await store.resolveViewId('v1'), 'd')
      await store.setViewId('d', 'v2', 'v1')
      store = await subject.reopen()
      assert.equal(await store.getViewId('d'), 'v2')
      assert.equal(await store.resolveViewId('v2'), 'd')
      assert.equal(await store.resolveViewId('v1'), null, 'the old link stops working')
      assert.equal(await store.resolveViewId('w1'), 'other')
    })

    it('stores access: owner, people and link setting, and who each document is shared with', async () => {
      assert.equal(await store.getAccess('d'), null)
      const owner = { sub: 'idp#ada', email: 'ada@example.com', name: 'Ada' }
      const first: DocumentAccess = {
        owner,
        members: [
          { email: 'bob@example.com', role: 'view' },
          { email: 'eve@example.com', role: 'edit' },
        ],
        link: 'people',
      }
      await store.setAccess('d', first, null)
      await store.setAccess('a/b', { owner, members: [{ email: 'bob@example.com', role: 'edit' }], link: 'anyone' }, null)
      const second: DocumentAccess = { ...first, members: [{ email: 'bob@example.com', role: 'edit' }], link: 'signed-in-view' }
      await store.setAccess('d', second, first)
      store = await subject.reopen()
      assert.deepEqual(await store.getAccess('d'), second)
      assert.deepEqual((await store.documentsSharedWith('bob@example.com')).sort(), ['a/b', 'd'])
      assert.deepEqual(await store.documentsSharedWith('eve@example.com'), [], 'a removed person is no longer listed')
      assert.deepEqual(await store.documentsSharedWith('nobody@example.com'), [])
    })

    it('stores versions durably, lists them newest first in pages, reads runs with snapshots', async () => {
      assert.deepEqual(await store.listVersions('d', { beforeSeq: null, limit: 10 }), [])
      for (let seq = 1; seq <= 5; seq++)
        await store.appendVersion('d', { seq, meta: `{"id":"${seq}"}`, snapshot: bytes(seq, 0, 255) })
      await store.appendVersion('other', { seq: 1, meta: '{"id":"x"}', snapshot: bytes(7) })
      store = await subject.reopen()
      const newest = await store.listVersions('d', { beforeSeq: null, limit: 2 })
      assert.deepEqual(newest, [
        { seq: 5, meta: '{"id":"5"}' },
        { seq: 4, meta: '{"id":"4"}' },
      ])
      assert.deepEqual(
        (await store.listVersions('d', { beforeSeq: 4, limit: 10 })).map((version) => version.seq),
        [3, 2, 1],
      )
      const run = await store.readVersions('d', 2, 4)
      assert.deepEqual(
        run.map((version) => [version.seq, version.meta, [...version.snapshot]]),
        [
          [2, '{"id":"2"}', [2, 0, 255]],
          [3, '{"id":"3"}', [3, 0, 255]],
          [4, '{"id":"4"}', [4, 0, 255]],
        ],
      )
      assert.deepEqual(await store.readVersions('d', 9, 12), [])
      assert.deepEqual(await store.listVersions('other', { beforeSeq: null, limit: 10 }), [{ seq: 1, meta: '{"id":"x"}' }])
    })

    it('keeps versions through a compaction of the document', async () => {
      await store.appendRecord('d', 0, [insertUpdate('a')])
      await store.appendVersion('d', { seq: 1, meta: '{}', snapshot: bytes(1) })
      await store.replaceLogWithSnapshot('d', insertUpdate('a'), 0, 0)
      assert.equal((await store.listVersions('d', { beforeSeq: null, limit: 10 })).length, 1)
      assert.equal((await store.readVersions('d', 1, 1)).length, 1)
    })

    it('refuses a second version with the same number', async () => {
      await store.appendVersion('d', { seq: 1, meta: '{}', snapshot: bytes(1) })
      if (name === 'LevelDbStore') return // A key-value store overwrites; the history numbers versions serially.
      await assert.rejects(store.appendVersion('d', { seq: 1, meta: '{}', snapshot: bytes(2) }))
    })

    it('is healthy and accepts writes when nothing fails', async () => {
      assert.equal(store.health, 'ok')
      assert.equal(await store.acceptsWrites(), true)
    })
  })
}

// A stop writes each document's last records, then its compaction, then its version, one after
// another: each waiting the commit delay (50 ms by default) made a graceful stop twice as slow.
describe('store contract: commitPromptly (a stop) sends writes without the commit delay', () => {
  const DELAY_MS = 600_000
  const opened: [string, () => Promise<{ store: Store; reopen: () => Promise<Store>; dispose: () => Promise<void> }>][] = [
    [
      'LevelDbStore',
      async () => {
        const temp = await makeTempDir()
        let store = await LevelDbStore.open(temp.dir, { commitDelayMs: DELAY_MS })
        return {
          store,
          reopen: async () => {
            await store.close()
            return (store = await LevelDbStore.open(temp.dir))
          },
          dispose: async () => {
            await store.close()
            await temp.remove()
          },
        }
      },
    ],
    [
      'PostgresStore',
      async () => {
        const url = await (await postgres()).createDatabase()
        let store = await PostgresStore.open(url, { commitDelayMs: DELAY_MS })
        return {
          store,
          reopen: async () => {
            await store.close()
            return (store = await PostgresStore.open(url))
          },
          dispose: () => store.close(),
        }
      },
    ],
  ]
  for (const [name, open] of opened) {
    const skip = name === 'PostgresStore' ? (postgresMissing() ?? false) : false
    it(`${name}: a write waiting its delay goes at once, and so does every later one`, { skip, timeout: 60_000 }, async () => {
      const subject = await open()
      try {
        const waiting = subject.store.appendRecord('d', 0, [insertUpdate('a')])
        subject.store.commitPromptly()
        await waiting
        await subject.store.appendRecord('d', 1, [insertUpdate('b')])
        const store = await subject.reopen()
        assert.equal((await store.load('d')).logRecords, 2)
      } finally {
        await subject.dispose()
      }
    })
  }
})
