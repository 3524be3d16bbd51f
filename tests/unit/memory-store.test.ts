/**
 * The in-memory store's fault injection (its DocumentStore contract is checked with LevelDB's in
 * tests/integration/store-contract.test.ts).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { StorageError, type StorageHealth } from '../../server/storage/document-store.ts'
import { MemoryStore } from '../../server/storage/memory-store.ts'

const bytes = (...values: number[]) => Uint8Array.from(values)

describe('MemoryStore faults', () => {
  it('fails the next N writes, turns failing, and healthy again with the next success', async () => {
    const store = new MemoryStore()
    const health: StorageHealth[] = []
    store.onHealthChange((h) => health.push(h))
    store.failNextWrites(2)
    await assert.rejects(store.appendRecord('d', 0, [bytes(1)]), StorageError)
    await assert.rejects(store.appendRecord('d', 0, [bytes(1)]), StorageError)
    assert.equal(store.health, 'failing')
    await store.appendRecord('d', 0, [bytes(1)])
    assert.deepEqual(health, ['failing', 'ok'])
    assert.equal(store.failedAppends, 2)
    assert.deepEqual((await store.load('d')).updates, [bytes(1)])
  })

  it('with a full disk, every write fails (appends, compactions, view links) until it is freed', async () => {
    const store = new MemoryStore()
    store.fillDisk()
    assert.equal(await store.acceptsWrites(), false)
    await assert.rejects(store.appendRecord('d', 0, [bytes(1)]), StorageError)
    await assert.rejects(store.replaceLogWithSnapshot('d', bytes(2), 0, 0), StorageError)
    await assert.rejects(store.setViewId('d', 'v', null), StorageError)
    store.freeDisk()
    assert.equal(await store.acceptsWrites(), true)
    await store.appendRecord('d', 0, [bytes(1)])
  })

  it('slows writes by the delay it is given', async () => {
    const store = new MemoryStore()
    store.slowWrites(60)
    const started = performance.now()
    await store.appendRecord('d', 0, [bytes(1)])
    assert.ok(performance.now() - started >= 55)
  })

  it('holds writes until released, each as it is told', async () => {
    const store = new MemoryStore()
    store.holdWrites()
    const first = store.appendRecord('d', 0, [bytes(1)])
    const second = store.appendRecord('d', 1, [bytes(2)])
    assert.deepEqual(
      store.held.map((write) => write.seq),
      [0, 1],
    )
    store.release(1, 'fail')
    await assert.rejects(second, StorageError)
    store.releaseAll()
    await first
    assert.deepEqual((await store.load('d')).updates, [bytes(1)])
  })

  it('fails loads and compactions while told to', async () => {
    const store = new MemoryStore()
    store.failLoads(new StorageError('injected'))
    await assert.rejects(store.load('d'), /injected/)
    store.failLoads(null)
    await store.appendRecord('d', 0, [bytes(1)])
    store.failCompactions()
    await assert.rejects(store.replaceLogWithSnapshot('d', bytes(9), 0, 0), StorageError)
    assert.deepEqual((await store.load('d')).updates, [bytes(1)], 'the log is intact')
  })
})
