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
