import { test } from 'node:test'
import assert from 'node:assert/strict'
import { distinctColor } from '../../components/lib/distinct-color.ts'

const PALETTE = ['#000001', '#000002', '#000003']
const others = (...entries: [number, string][]) => new Map(entries)

test('I keep my own colour while nobody before me shows it', () => {
  assert.equal(distinctColor(5, '#000001', '#000001', others([9, '#000001'], [2, '#000002']), PALETTE), '#000001')
})

test('I give way to a lower client id and take a colour nobody shows', () => {
  assert.equal(distinctColor(5, '#000001', '#000001', others([2, '#000001'], [7, '#000003']), PALETTE), '#000002')
})

test('what I show is kept while no lower id shows it, so colours do not change as people come and go', () => {
  assert.equal(distinctColor(5, '#000001', '#000003', others([2, '#000001']), PALETTE), '#000003')
  assert.equal(distinctColor(5, '#000001', '#000003', others([7, '#000002']), PALETTE), '#000003')
  // A lower id taking my stand-in sends me back to my own colour when that is free.
  assert.equal(distinctColor(5, '#000001', '#000003', others([2, '#000003']), PALETTE), '#000001')
})

test('with every colour shown, I still avoid the ones shown by lower ids', () => {
  assert.equal(distinctColor(5, '#000001', '#000001', others([1, '#000001'], [2, '#000002'], [9, '#000003']), PALETTE), '#000003')
})

test('pages that each decide alone end with distinct colours', () => {
  // Four people who all chose the same colour, each page deciding from what it sees, in rounds,
  // as awareness updates would arrive.
  const ids = [40, 7, 23, 11]
  const shown = new Map(ids.map((id) => [id, '#000001']))
  const palette = ['#000001', '#000002', '#000003', '#000004', '#000005']
  for (let round = 0; round < ids.length; round++) {
    for (const id of ids) {
      const seen = new Map([...shown].filter(([other]) => other !== id))
      shown.set(id, distinctColor(id, '#000001', shown.get(id)!, seen, palette))
    }
  }
  assert.equal(new Set(shown.values()).size, ids.length)
  assert.equal(shown.get(7), '#000001')
})
