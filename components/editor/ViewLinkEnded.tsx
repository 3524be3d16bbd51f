import Link from 'next/link'
import { signInPath } from '../../lib/routes'
import type { SessionEnd } from '../lib/session-end'
import { ChorusMark } from '../ChorusMark'

/**
 * Where a viewer ends up when the link stops working, and anyone whose access ended or who must
 * sign in first. The document is taken away too: whoever
 * reset the link meant to stop sharing it, and a page that keeps showing text looks live.
 */
export function ViewLinkEnded({ end }: { end: SessionEnd }) {
  return (
    <main className="not-found">
      <ChorusMark size={40} />
      <h1>{end.heading}</h1>
      <p role="alert" data-close-code={end.closeCode}>
        {end.message}
      </p>
      {end.kind === 'sign-in-needed' && (
        <a className="button button--primary" href={signInPath(window.location.pathname)}>
          Sign in
        </a>
      )}
      <Link href="/" className={end.kind === 'sign-in-needed' ? 'button' : 'button button--primary'}>
        Go to your documents
      </Link>
    </main>
  )
}
