/**
 * The paths the server serves and the browser asks for, spelled once for both.
 *
 *   /sync/<docId>                                   WebSocket: edit (y-websocket room = docId)
 *   /sync/view/<viewId>                             WebSocket: view only
 *   POST /api/documents/<docId>/view-link           the document's view link, created once
 *   POST /api/documents/<docId>/view-link/reset     a new one; the old stops working
 *   GET  /api/documents/<docId>/versions            history, newest first (?before=&limit=)
 *   POST /api/documents/<docId>/versions            names the current state ({ name })
 *   GET  /api/documents/<docId>/versions/<id>       a version (?format=json|html|text&compare=)
 *   POST /api/documents/<docId>/versions/<id>/restore
 *   GET  /api/documents/<docId>/catch-up?since=<id> what changed since a version
 *   GET  /api/view/<viewId>/versions[/<id>], /catch-up   the same reads for viewers
 *   /d/<docId>, /v/<viewId>                         the editor's and the viewer's pages
 */

/** Path prefix of the WebSocket endpoint. */
export const SYNC_PATH_PREFIX = '/sync/'
/** The one two-segment sync path: `/sync/view/<viewId>`. */
export const VIEW_SYNC_SEGMENT = 'view'

export const API_PATH_PREFIX = '/api/'
/** Matches a view-link API path (raw, before URL normalisation): [, encoded docId, '/reset'?]. */
export const VIEW_LINK_API_PATH = /^\/api\/documents\/([^/]+)\/view-link(\/reset)?$/

/**
 * Matches a history API path (raw): [, 'documents'|'view', encoded doc or view id, rest]; rest is
 * '' | '/versions' | '/versions/<id>' | '/versions/<id>/restore' | '/catch-up'.
 */
export const HISTORY_API_PATH = /^\/api\/(documents|view)\/([^/]+)(\/versions(?:\/[^/]+(?:\/restore)?)?|\/catch-up)$/

/** The history API's base for an editor (docId) or a viewer (viewId). */
export function historyApiBase(access: { docId: string } | { viewId: string }): string {
  return 'docId' in access
    ? `${API_PATH_PREFIX}documents/${encodeURIComponent(access.docId)}`
    : `${API_PATH_PREFIX}view/${encodeURIComponent(access.viewId)}`
}

export function viewLinkApiPath(docId: string, { reset = false } = {}): string {
  return `${API_PATH_PREFIX}documents/${encodeURIComponent(docId)}/view-link${reset ? '/reset' : ''}`
}

export function viewPagePath(viewId: string): string {
  return `/v/${viewId}`
}

// --- Sign-in and access (server/access/access-api.ts) ---
//   GET  /auth/sign-in?return=<path>          to the identity provider, then back to <path>
//   GET  /auth/callback                       where the provider sends the browser back
//   POST /auth/sign-out                       (CSRF header)
//   GET  /api/session                         { signInEnabled, user, csrf }
//   GET  /api/documents/shared                { documents: [{ docId, role }] } shared with me
//   GET  /api/documents/<docId>/access        my role; for the owner, the people and link setting
//   POST /api/documents/<docId>/members       { email, role } adds or changes someone (owner, CSRF)
//   DELETE /api/documents/<docId>/members/<email>   removes them (owner, CSRF)
//   PUT  /api/documents/<docId>/link-access   { link } (owner, CSRF)

export const SIGN_IN_PATH = '/auth/sign-in'
export const CALLBACK_PATH = '/auth/callback'
export const SIGN_OUT_PATH = '/auth/sign-out'
export const SESSION_API_PATH = '/api/session'
export const SHARED_DOCUMENTS_API_PATH = '/api/documents/shared'
/** The header every state-changing call carries the session's CSRF token in. */
export const CSRF_HEADER = 'x-chorus-csrf'

export function signInPath(returnTo: string): string {
  return `${SIGN_IN_PATH}?return=${encodeURIComponent(returnTo)}`
}

export function accessApiPath(docId: string): string {
  return `${API_PATH_PREFIX}documents/${encodeURIComponent(docId)}/access`
}

export function membersApiPath(docId: string, email?: string): string {
  return `${API_PATH_PREFIX}documents/${encodeURIComponent(docId)}/members${email ? `/${encodeURIComponent(email)}` : ''}`
}

export function linkAccessApiPath(docId: string): string {
  return `${API_PATH_PREFIX}documents/${encodeURIComponent(docId)}/link-access`
}
