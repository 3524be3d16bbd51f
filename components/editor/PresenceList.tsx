'use client'

import type { Awareness } from 'y-protocols/awareness'
import { initials } from '../lib/identity'
import { usePresence, type Person } from '../lib/use-presence'

/** "(you)", "(viewing)" or "(you, viewing)": said in words, not only with an icon. */
function qualifier(person: Person): string {
  const words = [person.isMe && 'you', person.viewing && 'viewing'].filter(Boolean)
  return words.length > 0 ? ` (${words.join(', ')})` : ''
}

/** Everyone in the document right now, me first. Viewers are marked, so nobody expects them to type. */
export function PresenceList({ awareness }: { awareness: Awareness }) {
  const people = usePresence(awareness)
  return (
    <ul className="presence" aria-label="People here">
      {people.map((person) => {
        const note = qualifier(person)
        return (
          <li
            key={person.key}
            className="presence__person"
            data-me={person.isMe || undefined}
            data-viewing={person.viewing || undefined}
            title={`${person.name}${note}`}
          >
            <span className="avatar" style={{ backgroundColor: person.color }} aria-hidden="true">
              {initials(person.name)}
            </span>
            <span className="presence__name">
              {person.name}
              {note && <span className="presence__note">{note}</span>}
            </span>
          </li>
        )
      })}
    </ul>
  )
}
