/**
 * The paths the server serves and the browser asks for, spelled once for both.
 *
 *   /sync/<docId>                                   WebSocket: edit (y-websocket room = docId)
 *   /sync/view/<viewId>                             WebSocket: view only
 *   POST /api/documents/<docId>/view-link           the document's view link, created once
 *   POST /api/documents/<docId>/view-link/reset     a new one; the old stops working
 *   /d/<docId>, /v/<viewId>                         the editor's and the viewer's pages
 */

/** Path prefix of the WebSocket endpoint. */
export const SYNC_PATH_PREFIX = '/sync/'
/** The one two-segment sync path: `/sync/view/<viewId>`. */
export const VIEW_SYNC_SEGMENT = 'view'

export const API_PATH_PREFIX = '/api/'
/** Matches a view-link API path (raw, before URL normalisation): [, encoded docId, '/reset'?]. */
export const VIEW_LINK_API_PATH = /^\/api\/documents\/([^/]+)\/view-link(\/reset)?$/

export function viewLinkApiPath(docId: string, { reset = false } = {}): string {
  return `${API_PATH_PREFIX}documents/${encodeURIComponent(docId)}/view-link${reset ? '/reset' : ''}`
}

export function viewPagePath(viewId: string): string {
  return `/v/${viewId}`
}
