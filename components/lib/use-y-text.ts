import { useEffect, useState } from 'react'
import type * as Y from 'yjs'

/** The current string of a Y.Text, re-rendering on every change from anyone. */
export function useYText(text: Y.Text): string {
  const [value, setValue] = useState(() => text.toString())
  useEffect(() => {
    const onChange = () => setValue(text.toString())
    onChange()
    text.observe(onChange)
    return () => text.unobserve(onChange)
  }, [text])
  return value
}
