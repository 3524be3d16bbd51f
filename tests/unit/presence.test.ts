import { test } from 'node:test'
import assert from 'node:assert/strict'
import { groupPeople } from '../../components/lib/use-presence.ts'

const user = (name: string, id?: string, extra: object = {}) => ({ user: { name, color: '#1d4ed8', id, ...extra } })

// Root cause: the list had one entry per awareness client, and every tab is a client of its own.
test("one browser's tabs are one person; me first", () => {
  const states = new Map<number, unknown>([
    [10, user('Grace', 'g')],
    [11, user('Ada', 'a')],
    [12, user('Grace', 'g')],
    [13, user('Ada', 'a')],
  ])
  const people = groupPeople(states, 13)
  assert.deepEqual(
    people.map((p) => [p.name, p.isMe]),
    [
      ['Ada', true],
      ['Grace', false],
    ],
  )
})

test('my other tab counts as me, and the name shown is the one this page has', () => {
  const states = new Map<number, unknown>([
    [1, user('Old name', 'a')],
    [2, user('New name', 'a')],
  ])
  assert.deepEqual(
    groupPeople(states, 2).map((p) => [p.name, p.isMe]),
    [['New name', true]],
  )
})

test('pages without an author id stay one entry each; states without a user are skipped', () => {
  const states = new Map<number, unknown>([
    [1, user('Stock client')],
    [2, user('Stock client')],
    [3, {}],
    [4, { user: 'nonsense' }],
  ])
  assert.deepEqual(
    groupPeople(states, 99).map((p) => p.key),
    ['client:1', 'client:2'],
  )
})

test('viewing tabs are never folded into an editing entry, so a copied author id cannot hide a viewer', () => {
  const states = new Map<number, unknown>([
    [1, user('Bob', 'b', { viewing: true })],
    [2, user('Bob', 'b')],
    [3, user('Bob', 'b', { viewing: true })],
    [4, user('Ada', 'a')],
    [5, user('Eve', 'a', { viewing: true })],
  ])
  assert.deepEqual(
    groupPeople(states, 99).map((p) => [p.name, p.viewing]),
    [
      ['Bob', true],
      ['Bob', false],
      ['Ada', false],
      ['Eve', true],
    ],
  )
  // Seen from Ada's page, Eve copied her id but is not "you".
  assert.deepEqual(
    groupPeople(states, 4).map((p) => [p.name, p.isMe]),
    [
      ['Ada', true],
      ['Bob', false],
      ['Bob', false],
      ['Eve', false],
    ],
  )
})
