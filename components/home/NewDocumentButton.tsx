'use client'

import { useRouter } from 'next/navigation'
import { newDocId } from '../../lib/doc-id'

/** Documents need no server round trip to exist: a fresh random id is a fresh document. */
export function NewDocumentButton() {
  const router = useRouter()
  return (
    <button type="button" className="button button--primary button--large" onClick={() => router.push(`/d/${newDocId()}`)}>
      New document
    </button>
  )
}
