/**
 * What a document tells Chorus pages (Notice messages) when it cannot do what they expect, in
 * sentences people read.
 */
import type { Notice } from '../../lib/protocol.ts'

/** Told to editors while storage fails; the same code with an empty message withdraws it. */
export const STORAGE_FAILING_NOTICE = {
  level: 'error',
  code: 'storage-failing',
  message: 'The server cannot save right now; your changes are kept in this browser.',
} as const

export const DOCUMENT_UNAVAILABLE_NOTICE = {
  level: 'error',
  code: 'document-unavailable',
  message:
    "This document's stored data is damaged and cannot be opened. Nothing was changed; the server's administrator can repair it (npm run repair).",
} as const

/** A change was refused at the size cap: alone too large, or too large for what the document holds. */
export function documentTooLargeNotice(updateBytes: number, maxDocumentBytes: number): Notice {
  const alone = updateBytes > maxDocumentBytes
  return {
    level: 'error',
    code: 'document-too-large',
    message: alone
      ? `This change (${formatBytes(updateBytes)}) is larger than a document may be (${formatBytes(maxDocumentBytes)}). It was not saved or shared.`
      : `This document has reached its size limit (${formatBytes(maxDocumentBytes)}). Your latest changes were not saved or shared; reading still works.`,
  }
}

/** "64 MiB", "1.3 MiB", "100 KiB": for sentences people read. */
export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024)
  return mib >= 1 ? `${Math.round(mib * 10) / 10} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`
}
