import { useEffect, useState } from 'react'
import type { Awareness } from 'y-protocols/awareness'

export interface Person {
  clientId: number
  name: string
  color: string
  isMe: boolean
  /** Came through a view link: can read and be seen, not type. */
  viewing: boolean
}

const COLOR_PATTERN = /^#[0-9a-f]{6}$/i

/** Everyone with a `user` field in the awareness states: me first, then others as they joined. */
export function readPeople(awareness: Awareness): Person[] {
  const people: Person[] = []
  for (const [clientId, state] of awareness.getStates()) {
    const user = (state as { user?: { name?: unknown; color?: unknown; viewing?: unknown } }).user
    if (!user || typeof user.name !== 'string') continue
    const color = typeof user.color === 'string' && COLOR_PATTERN.test(user.color) ? user.color : '#64748b'
    people.push({
      clientId,
      name: user.name,
      color,
      isMe: clientId === awareness.clientID,
      viewing: user.viewing === true,
    })
  }
  return people.sort((a, b) => Number(b.isMe) - Number(a.isMe))
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
