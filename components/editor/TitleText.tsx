'use client'

import type * as Y from 'yjs'
import { useYText } from '../lib/use-y-text'

/** The shared title for someone who cannot change it: plain text, not an input that refuses keys. */
export function TitleText({ title }: { title: Y.Text }) {
  const value = useYText(title).trim()
  return (
    <h1 className="title-text" data-untitled={!value || undefined}>
      {value || 'Untitled'}
    </h1>
  )
}
