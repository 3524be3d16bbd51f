import Link from 'next/link'
import type { ViewLinkEnd } from '../lib/view-link-watch'
import { ChorusMark } from '../ChorusMark'

const MESSAGES: Record<ViewLinkEnd, { heading: string; text: string }> = {
  reset: {
    heading: 'View link reset',
    text: 'This view link was reset by an editor. Ask for the new link.',
  },
  dead: {
    heading: 'Link not working',
    text: 'This view link does not work any more. An editor may have reset it: ask for the new link.',
  },
}

/**
 * Where a viewer ends up when the link stops working. The document is taken away too: whoever
 * reset the link meant to stop sharing it, and a page that keeps showing text looks live.
 */
export function ViewLinkEnded({ reason }: { reason: ViewLinkEnd }) {
  const { heading, text } = MESSAGES[reason]
  return (
    <main className="not-found">
      <ChorusMark size={40} />
      <h1>{heading}</h1>
      <p role="alert">{text}</p>
      <Link href="/" className="button button--primary">
        Go to your documents
      </Link>
    </main>
  )
}
