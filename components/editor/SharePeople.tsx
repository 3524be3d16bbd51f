'use client'

import { type FormEvent, useEffect, useId, useState } from 'react'
import { accessApiPath, linkAccessApiPath, membersApiPath } from '../../lib/routes'
import { type Account, accessCall } from '../lib/account'

type Role = 'edit' | 'view'
type LinkAccess = 'people' | 'signed-in-edit' | 'signed-in-view' | 'anyone'

interface AccessAnswer {
  role: Role
  owner: boolean
  ownerName: string
  members?: { email: string; role: Role }[]
  link?: LinkAccess
}

const LINK_CHOICES: [LinkAccess, string][] = [
  ['people', 'Only people added'],
  ['signed-in-edit', 'Anyone signed in with the link can edit'],
  ['signed-in-view', 'Anyone signed in with the link can view'],
  ['anyone', 'Anyone with the link can edit'],
]

/**
 * With sign-in on, the people a document is shared with, by email and role, and who else the
 * link opens it for. Only the owner changes them; every change takes effect on open pages at once.
 */
export function SharePeople({ docId, account }: { docId: string; account: Account }) {
  const headingId = useId()
  const linkId = useId()
  const [access, setAccess] = useState<AccessAnswer | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<Role>('edit')
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    void accessCall<AccessAnswer>(account, accessApiPath(docId), 'GET').then(setAccess, (error: Error) =>
      setProblem(error.message),
    )
  }, [account, docId])

  const change = async (work: () => Promise<AccessAnswer>) => {
    setBusy(true)
    setProblem(null)
    try {
      setAccess(await work())
      return true
    } catch (error) {
      setProblem((error as Error).message)
      return false
    } finally {
      setBusy(false)
    }
  }

  const add = async (event: FormEvent) => {
    event.preventDefault()
    if (await change(() => accessCall(account, membersApiPath(docId), 'POST', { email, role }))) setEmail('')
  }

  if (!access) {
    return problem ? <p role="alert">Could not load who has access. {problem}</p> : null
  }
  if (!access.owner) {
    return (
      <section className="share-section">
        <p className="share-section__text">{access.ownerName} owns this document; only they change who has access.</p>
      </section>
    )
  }
  return (
    // biome-ignore lint/a11y/useSemanticElements: a labelled group of controls, as the link sections
    <section className="share-section share-people" role="group" aria-labelledby={headingId}>
      <h3 id={headingId} className="share-section__title">
        People
      </h3>
      <form className="share-people__form" onSubmit={add}>
        <input
          type="email"
          required
          placeholder="Email address"
          aria-label="Email address"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <select aria-label="Role for the new person" value={role} onChange={(event) => setRole(event.target.value as Role)}>
          <option value="edit">Can edit</option>
          <option value="view">Can view</option>
        </select>
        <button type="submit" className="button button--primary" aria-disabled={busy || undefined}>
          Add
        </button>
      </form>
      {problem && (
        <p className="dialog__hint" role="alert">
          {problem}
        </p>
      )}
      <ul className="share-people__list" aria-label="People with access">
        <li>
          <span className="share-people__email">{account.user?.email ?? access.ownerName}</span>
          <span>Owner</span>
        </li>
        {(access.members ?? []).map((member) => (
          <li key={member.email} data-email={member.email}>
            <span className="share-people__email">{member.email}</span>
            <select
              aria-label={`Role of ${member.email}`}
              value={member.role}
              onChange={(event) =>
                void change(() =>
                  accessCall(account, membersApiPath(docId), 'POST', { email: member.email, role: event.target.value }),
                )
              }
            >
              <option value="edit">Can edit</option>
              <option value="view">Can view</option>
            </select>
            <button
              type="button"
              className="button"
              aria-label={`Remove ${member.email}`}
              onClick={() => void change(() => accessCall(account, membersApiPath(docId, member.email), 'DELETE'))}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <label className="share-section__text" htmlFor={linkId}>
        Who else the link opens it for
      </label>{' '}
      <select
        id={linkId}
        value={access.link}
        onChange={(event) =>
          void change(() => accessCall(account, linkAccessApiPath(docId), 'PUT', { link: event.target.value }))
        }
      >
        {LINK_CHOICES.map(([value, label]) => (
          <option
            key={value}
            value={value}
            disabled={value === 'anyone' && !account.allowPublicLinks && access.link !== 'anyone'}
          >
            {label}
          </option>
        ))}
      </select>
    </section>
  )
}
