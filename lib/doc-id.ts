/**
 * Document ids: what the app generates and what the server accepts.
 *
 * Generated ids carry 128 random bits as 22 base64url characters, so a link cannot be guessed.
 * The server also accepts shorter hand-made names (handy for tests and stock y-websocket clients)
 * but only from the URL-safe alphabet, so an id can never smuggle a path or key separator.
 */
export const DOC_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export function isValidDocId(id: unknown): id is string {
  return typeof id === 'string' && DOC_ID_PATTERN.test(id)
}

/** 16 random bytes, base64url without padding: 22 characters. */
export function newDocId(): string {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
