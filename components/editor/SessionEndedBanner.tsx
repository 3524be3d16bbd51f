'use client'

import type { SessionEnd } from '../lib/session-end'

/**
 * Stays above the document once the server has closed for good: the page no longer saves, and
 * nothing else would say why. No dismiss button, since what it says stays true until a reload.
 */
export function SessionEndedBanner({ end }: { end: SessionEnd }) {
  return (
    <div className="session-ended" role="alert" data-kind={end.kind} data-close-code={end.closeCode}>
      <div className="session-ended__text">
        <strong className="session-ended__heading">{end.heading}</strong>
        <span className="session-ended__message">{end.message}</span>
      </div>
      <button type="button" className="button" onClick={() => window.location.reload()}>
        Reload page
      </button>
    </div>
  )
}
