'use client'

import { signInPath } from '../../lib/routes'
import { signOut, useAccount } from '../lib/account'

/** "Sign in", or who I am and "Sign out"; nothing on a server without sign-in. */
export function AccountBar({ returnTo = '/' }: { returnTo?: string }) {
  const account = useAccount()
  if (!account?.signInEnabled) return null
  if (!account.user) {
    return (
      <a className="button" href={signInPath(returnTo)}>
        Sign in
      </a>
    )
  }
  return (
    <div className="account" data-testid="account">
      <span className="account__name" title={account.user.email ?? undefined}>
        {account.user.name}
      </span>
      <button type="button" className="button" onClick={() => void signOut(account)}>
        Sign out
      </button>
    </div>
  )
}
