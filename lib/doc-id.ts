/**
 * Document names: what the app generates, and what the server accepts from any Yjs client.
 *
 * Documents the app creates get 128 random bits as 22 base64url characters, so a link cannot be
 * guessed (`newDocId`). Stock y-websocket apps name their rooms themselves (`notes.md`, `team:42`,
 * `Über`), so the server accepts any name a URL path segment can carry:
 *   - 1 to 255 bytes once percent-encoded (`encodeURIComponent`), which is also its storage key;
 *   - no control characters, and not `.` or `..` (URL parsers fold those away);
 *   - a `/` only percent-encoded (`%2F`): `/sync/view/<viewId>` is the one two-segment path, so
 *     any other path with more segments is refused rather than guessed at.
 * Storage keys use the percent-encoded name, which never contains `/` and is one-to-one, so two
 * names can never share or escape each other's keys. Generated ids encode to themselves.
 */
export const MAX_DOCUMENT_NAME_BYTES = 255

/** Generated ids (and view ids): 22 base64url characters, or hand-made names of that alphabet. */
export const DOC_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** True for ids of the app's own alphabet: what view ids and the app's own links use. */
export function isValidDocId(id: unknown): id is string {
  return typeof id === 'string' && DOC_ID_PATTERN.test(id)
}

// C0 controls and DEL: invisible in logs and links, and never part of an honest name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/

/** Why `name` cannot be a document name, or null when it can. */
export function documentNameProblem(name: string): string | null {
  if (name === '') return 'a document name cannot be empty'
  if (name === '.' || name === '..') return 'a document name cannot be "." or ".."'
  if (CONTROL_CHARACTER.test(name)) return 'a document name cannot contain control characters'
  const encoded = encodeDocumentName(name)
  if (encoded === null) return 'a document name must be valid Unicode'
  if (encoded.length > MAX_DOCUMENT_NAME_BYTES) {
    return `a document name can be at most ${MAX_DOCUMENT_NAME_BYTES} bytes percent-encoded`
  }
  return null
}

export function isValidDocumentName(name: unknown): name is string {
  return typeof name === 'string' && documentNameProblem(name) === null
}

/** The name as one URL path segment and storage key; null for a string with lone surrogates. */
export function encodeDocumentName(name: string): string | null {
  try {
    return encodeURIComponent(name)
  } catch {
    return null
  }
}

/** Decodes one percent-encoded path segment; null when its escapes are not valid UTF-8. */
export function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment)
  } catch {
    return null
  }
}

/** 16 random bytes, base64url without padding: 22 characters. */
export function newDocId(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
