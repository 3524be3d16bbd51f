/** The Chorus logo: three overlapping circles, one per voice. Same drawing as app/icon.svg. */
export function ChorusMark({ size = 28 }: { size?: number }) {
  return (
    <svg viewBox="0 0 32 32" width={size} height={size} aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill="#1f2937" />
      <circle cx="11" cy="13" r="5" fill="#f59e0b" />
      <circle cx="21" cy="13" r="5" fill="#0ea5e9" fillOpacity="0.9" />
      <circle cx="16" cy="21" r="5" fill="#ec4899" fillOpacity="0.85" />
    </svg>
  )
}
