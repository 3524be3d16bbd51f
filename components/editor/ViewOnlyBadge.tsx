/** Says, where the Share button would be, why nothing here can be changed. */
export function ViewOnlyBadge() {
  return (
    <span className="badge" title="You opened a view link: you can read along, but not edit.">
      <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
        <path
          d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
          strokeLinejoin="round"
        />
        <circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" strokeWidth="2" />
      </svg>
      View only
    </span>
  )
}
