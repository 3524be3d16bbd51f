'use client'

import { MAX_NAME_LENGTH } from '../lib/identity'

/** My display name, as others see it on my caret and in their presence list. */
export function NameInput({ name, color, onChange }: { name: string; color: string; onChange: (name: string) => void }) {
  return (
    <label className="name-field" title="Your name, as others see it">
      <span className="name-field__swatch" style={{ backgroundColor: color }} aria-hidden="true" />
      <input
        className="name-field__input"
        type="text"
        aria-label="Your name"
        value={name}
        maxLength={MAX_NAME_LENGTH}
        autoComplete="nickname"
        spellCheck={false}
        onChange={(event) => onChange(event.target.value)}
      />
    </label>
  )
}
