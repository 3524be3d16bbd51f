import { isValidDocId } from '../../lib/doc-id'
import { CSRF_HEADER, viewLinkApiPath, viewPagePath } from '../../lib/routes'
import { loadAccount } from './account'

/**
 * The server's view-link API (server/transport/view-link-api.ts). Knowing the edit id is the permission, so only
 * an editor's page can call it. Resolves to the view id; rejects with a sentence to show.
 *
 *   POST /api/documents/<docId>/view-link         the document's view link, created once
 *   POST /api/documents/<docId>/view-link/reset   a new one; the old stops working
 */
export async function requestViewLink(docId: string, { reset = false } = {}): Promise<string> {
  let response: Response
  // With sign-in on, the server wants the session's CSRF token on every state-changing call.
  const { csrf } = await loadAccount()
  try {
    response = await fetch(viewLinkApiPath(docId, { reset }), {
      method: 'POST',
      cache: 'no-store',
      headers: csrf ? { [CSRF_HEADER]: csrf } : {},
    })
  } catch {
    throw new Error('The server could not be reached.')
  }
  const body = (await response.json().catch(() => null)) as { viewId?: unknown; error?: unknown } | null
  if (!response.ok) {
    const detail = typeof body?.error === 'string' ? ` (${body.error})` : ''
    throw new Error(`The server refused: ${response.status}${detail}.`)
  }
  if (!isValidDocId(body?.viewId)) throw new Error('The server sent an unexpected answer.')
  return body.viewId
}

/** The address a viewer opens; the view id is its only key. */
export function viewLinkUrl(origin: string, viewId: string): string {
  return `${origin}${viewPagePath(viewId)}`
}
