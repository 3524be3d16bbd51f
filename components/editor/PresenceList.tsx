'use client'

import type { Awareness } from 'y-protocols/awareness'
import { initials } from '../lib/identity'
import { usePresence } from '../lib/use-presence'

/** Everyone in the document right now, me first. */
export function PresenceList({ awareness }: { awareness: Awareness }) {
  const people = usePresence(awareness)
  return (
    <ul className="presence" aria-label="People here">
      {people.map((person) => (
        <li
          key={person.clientId}
          className="presence__person"
          data-me={person.isMe || undefined}
          title={person.isMe ? `${person.name} (you)` : person.name}
        >
          <span className="avatar" style={{ backgroundColor: person.color }} aria-hidden="true">
            {initials(person.name)}
          </span>
          <span className="presence__name">
            {person.name}
            {person.isMe && <span className="presence__you"> (you)</span>}
          </span>
        </li>
      ))}
    </ul>
  )
}
