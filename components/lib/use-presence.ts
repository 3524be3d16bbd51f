import { useEffect, useState } from 'react'
import type { Awareness } from 'y-protocols/awareness'

export interface Person {
  /** Stable across renders: the browser's author id, or the client id of a page that sent none. */
  key: string
  name: string
  color: string
  /** This browser: the page itself or another of its tabs. */
  isMe: boolean
  /** Came through a view link: can read and be seen, not type. */
  viewing: boolean
}

const COLOR_PATTERN = /^#[0-9a-f]{6}$/i

interface User {
  name?: unknown
  color?: unknown
  viewing?: unknown
  id?: unknown
}

/**
 * Everyone with a `user` field in the awareness states, one entry per person: the tabs of one
 * browser carry the same `user.id` and are shown once (carets stay per tab). Me first, then the
 * others as they joined. Pure, for tests.
 */
export function groupPeople(states: ReadonlyMap<number, unknown>, myClientId: number): Person[] {
  const myUser = userOf(states.get(myClientId))
  const myKey = myUser ? personKey(myUser, myClientId) : null
  const byKey = new Map<string, Person>()
  // My own page first, so that my entry shows what this page says (e.g. a name just changed here).
  const ordered = [...states].sort(([a], [b]) => Number(b === myClientId) - Number(a === myClientId))
  for (const [clientId, state] of ordered) {
    const user = userOf(state)
    if (!user || typeof user.name !== 'string') continue
    const key = personKey(user, clientId)
    if (byKey.has(key)) continue
    byKey.set(key, {
      key,
      name: user.name,
      color: typeof user.color === 'string' && COLOR_PATTERN.test(user.color) ? user.color : '#64748b',
      isMe: clientId === myClientId || key === myKey,
      viewing: user.viewing === true,
    })
  }
  return [...byKey.values()]
}

/**
 * Tabs of one browser share the key. Viewing tabs are grouped apart (the server marks them, and a
 * page cannot unmark itself): anyone can copy an author id, and a viewer must not vanish into an
 * editor's entry, or be called "you", by doing so.
 */
function personKey(user: User, clientId: number): string {
  if (typeof user.id !== 'string' || user.id === '') return `client:${clientId}`
  return `author:${user.id}${user.viewing === true ? ':viewing' : ''}`
}

function userOf(state: unknown): User | undefined {
  const user = (state as { user?: unknown } | undefined)?.user
  return typeof user === 'object' && user !== null ? (user as User) : undefined
}

export function readPeople(awareness: Awareness): Person[] {
  return groupPeople(awareness.getStates(), awareness.clientID)
}

export function usePresence(awareness: Awareness): Person[] {
  const [people, setPeople] = useState(() => readPeople(awareness))
  useEffect(() => {
    // 'change' (not 'update') fires only when someone joins, leaves or edits their state, not on
    // the 15-second keep-alive renewals. Most of those edits are carets moving, which leave the
    // list as it was: keeping the same array then spares a render on every keystroke.
    const onChange = () => {
      const next = readPeople(awareness)
      setPeople((previous) => (samePeople(previous, next) ? previous : next))
    }
    onChange()
    awareness.on('change', onChange)
    return () => awareness.off('change', onChange)
  }, [awareness])
  return people
}

function samePeople(a: Person[], b: Person[]): boolean {
  const keys = (person: Person) => Object.keys(person) as (keyof Person)[]
  return a.length === b.length && a.every((person, i) => keys(person).every((key) => person[key] === b[i][key]))
}
