/**
 * Who may do what with a document once sign-in or tokens are configured. Pure: the sync endpoint
 * asks it when a socket connects, and again for every open socket when a document's access
 * changes (live revocation).
 *
 * The model with nothing configured is not here at all: the edit link is the key (Etherpad's
 * model), and the sync endpoint never asks.
 */

export type Role = 'edit' | 'view'

/**
 * Who may open a document besides its owner and the people added:
 *   people          only the people added
 *   signed-in-edit  anyone signed in who has the link, to edit
 *   signed-in-view  anyone signed in who has the link, to view
 *   anyone          anyone with the link (today's model; ALLOW_PUBLIC_LINKS=false forbids it)
 */
export type LinkAccess = 'people' | 'signed-in-edit' | 'signed-in-view' | 'anyone'
export const LINK_ACCESS_VALUES: readonly LinkAccess[] = ['people', 'signed-in-edit', 'signed-in-view', 'anyone']

export interface Member {
  /** Lower-cased: identity providers differ in how they spell the same address. */
  email: string
  role: Role
}

export interface DocumentAccess {
  /** The signed-in person who created the document; they always edit and manage access. */
  owner: { sub: string; email: string | null; name: string }
  members: Member[]
  link: LinkAccess
}

/** Someone signed in (OIDC session) or named by an app's token. */
export interface Person {
  sub: string
  email: string | null
  name: string
}

export type Decision = { role: Role } | { refused: 'sign-in' | 'no-access'; reason: string }

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

/**
 * What `person` (null: not signed in) may do in a document with `access`. `allowPublicLinks`
 * false makes an 'anyone' setting (stored before the operator forbade it) count as signed-in only.
 */
export function decide(access: DocumentAccess, person: Person | null, allowPublicLinks: boolean): Decision {
  if (person && person.sub === access.owner.sub) return { role: 'edit' }
  const email = person?.email ? normalizeEmail(person.email) : null
  const member = email ? access.members.find((m) => m.email === email) : undefined
  const byLink: Role | null =
    access.link === 'anyone'
      ? person || allowPublicLinks
        ? 'edit'
        : null
      : access.link === 'signed-in-edit' && person
        ? 'edit'
        : access.link === 'signed-in-view' && person
          ? 'view'
          : null
  const role = best(member?.role ?? null, byLink)
  if (role) return { role }
  if (!person) return { refused: 'sign-in', reason: 'sign in to open this document' }
  return { refused: 'no-access', reason: 'you have no access to this document; ask its owner to share it' }
}

function best(a: Role | null, b: Role | null): Role | null {
  if (a === 'edit' || b === 'edit') return 'edit'
  return a ?? b
}

/** The role a connection gets: a view link never writes, whatever its holder's role. */
export function capRole(role: Role, viaViewLink: boolean): Role {
  return viaViewLink ? 'view' : role
}
