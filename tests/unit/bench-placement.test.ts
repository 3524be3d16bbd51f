/**
 * The cluster benchmark places clients as a document-affine load balancer would (bench/deployment.ts):
 * its figures mean something only if every client of a document lands on one instance, documents
 * spread evenly, and a dead instance's documents, and only those, move to the others.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { instanceForDocument, place, roundRobin } from '../../bench/deployment.ts'

const docs = Array.from({ length: 3000 }, (_, i) => `doc-${i}`)

describe('bench placement by document', () => {
  it('spreads documents evenly over three instances', () => {
    const counts = [0, 0, 0]
    for (const doc of docs) counts[instanceForDocument(doc, [0, 1, 2])]++
    for (const count of counts) assert.ok(Math.abs(count - 1000) < 120, `uneven spread: ${counts}`)
  })

  it("moves only a dead instance's documents, spread over the others", () => {
    const moved = [0, 0, 0]
    for (const doc of docs) {
      const before = instanceForDocument(doc, [0, 1, 2])
      const after = instanceForDocument(doc, [1, 2])
      if (before !== 0) assert.equal(after, before, `${doc} moved from a live instance`)
      else moved[after]++
    }
    assert.ok(moved[1] > 400 && moved[2] > 400, `the dead instance's documents went mostly to one: ${moved}`)
  })

  it('round robin spreads the writers of one document too', () => {
    const layout = [
      [
        { doc: 'd', writer: 1 },
        { doc: 'd', writer: 2 },
        { doc: 'd', writer: 3 },
      ],
      [{ doc: 'd' }],
      [{ doc: 'd' }],
    ]
    const placed = place(layout, roundRobin(3))
    assert.deepEqual(
      placed.filter((s) => s.spec.writer !== undefined).map((s) => s.instance),
      [0, 1, 2],
    )
  })
})
