'use client'

import type { NoticeCenter } from '../lib/notice-center'
import { useStore } from '../lib/use-store'

/** Messages the server sends about this document, e.g. a refused write. */
export function NoticeBanner({ notices }: { notices: NoticeCenter }) {
  const list = useStore(notices.notices)
  if (list.length === 0) return null
  return (
    <div className="notices">
      {list.map((notice) => (
        <div
          key={notice.code}
          className={`notice notice--${notice.level}`}
          role={notice.level === 'error' ? 'alert' : 'status'}
          data-code={notice.code}
        >
          <span className="notice__message">{notice.message}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => notices.dismiss(notice.code)}>
            <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
              <path d="M6 6l12 12M18 6L6 18" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
            </svg>
          </button>
        </div>
      ))}
    </div>
  )
}
