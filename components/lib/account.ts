import { useEffect, useState } from 'react'
import { accessApiPath, CSRF_HEADER, SESSION_API_PATH, SIGN_OUT_PATH } from '../../lib/routes'

/** Who I am on this server, when it has sign-in (GET /api/session). */
export interface Account {
  signInEnabled: boolean
  allowPublicLinks: boolean
  user: { name: string; email: string | null } | null
  /** Sent with every state-changing call (the server refuses them without it). */
  csrf: string | null
}

const NO_SIGN_IN: Account = { signInEnabled: false, allowPublicLinks: true, user: null, csrf: null }

let loading: Promise<Account> | null = null

/** Asked once per page load; a server without the API (an older one) means no sign-in. */
export function loadAccount(): Promise<Account> {
  loading ??= fetch(SESSION_API_PATH, { cache: 'no-store' })
    .then((response) => (response.ok ? (response.json() as Promise<Account>) : NO_SIGN_IN))
    .catch(() => NO_SIGN_IN)
  return loading
}

export function useAccount(): Account | null {
  const [account, setAccount] = useState<Account | null>(null)
  useEffect(() => {
    let live = true
    void loadAccount().then((loaded) => live && setAccount(loaded))
    return () => {
      live = false
    }
  }, [])
  return account
}

export async function signOut(account: Account): Promise<void> {
  await fetch(SIGN_OUT_PATH, { method: 'POST', headers: { [CSRF_HEADER]: account.csrf ?? '' } })
  window.location.assign('/')
}

/** A JSON call to the access API with the CSRF header; throws with the server's words on failure. */
export async function accessCall<T>(account: Account, path: string, method: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      [CSRF_HEADER]: account.csrf ?? '',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const answer = (await response.json().catch(() => ({}))) as { error?: string }
  if (!response.ok) throw new Error(answer.error ?? `the server answered ${response.status}`)
  return answer as T
}

/** How long a page waits to learn its role before it opens the document anyway (offline, say). */
const ROLE_TIMEOUT_MS = 3000

/**
 * My role in a document, asked before connecting, so that a page shared with me to view never
 * takes input (typed text nobody would ever get). Undefined when the server cannot say (offline,
 * no access): the server's answer on the socket decides then.
 */
export async function loadMyRole(docId: string): Promise<'edit' | 'view' | undefined> {
  try {
    const response = await fetch(accessApiPath(docId), { cache: 'no-store', signal: AbortSignal.timeout(ROLE_TIMEOUT_MS) })
    if (!response.ok) return undefined
    const { role } = (await response.json()) as { role?: unknown }
    return role === 'edit' || role === 'view' ? role : undefined
  } catch {
    return undefined
  }
}
