import Link from 'next/link'
import type { SessionEnd } from '../lib/session-end'
import { ChorusMark } from '../ChorusMark'

/**
 * Where a viewer ends up when the link stops working. The document is taken away too: whoever
 * reset the link meant to stop sharing it, and a page that keeps showing text looks live.
 */
export function ViewLinkEnded({ end }: { end: SessionEnd }) {
  return (
    <main className="not-found">
      <ChorusMark size={40} />
      <h1>{end.heading}</h1>
      <p role="alert">{end.message}</p>
      <Link href="/" className="button button--primary">
        Go to your documents
      </Link>
    </main>
  )
}
