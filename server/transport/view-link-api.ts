/**
 * The server's HTTP API, beside the Next app on the same port:
 *
 *   POST /api/documents/<docId>/view-link        → { viewId }   the read-only link (created once)
 *   POST /api/documents/<docId>/view-link/reset  → { viewId }   a new one; the old stops working
 *
 * Knowing the edit id is the permission, as in Etherpad. Requests from other sites' pages are
 * refused by the same origin rule as WebSockets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodePathSegment, isValidDocumentName } from '../../lib/doc-id.ts'
import { API_PATH_PREFIX, VIEW_LINK_API_PATH } from '../../lib/routes.ts'
import type { ServerConfig } from '../config.ts'
import { isOriginAllowed } from './limits.ts'
import type { Logger } from '../ops/logger.ts'
import type { ViewLinks } from '../document/view-links.ts'
import type { AccessApi } from '../access/access-api.ts'
import { HttpError, sendJson } from './json-http.ts'

export function isApiPath(url: string | undefined): boolean {
  return url?.startsWith(API_PATH_PREFIX) === true
}

export async function handleApiRequest(
  request: IncomingMessage,
  response: ServerResponse,
  viewLinks: ViewLinks,
  options: Pick<ServerConfig, 'allowedOrigins'>,
  logger: Logger,
  /** With sign-in on, only the document's editors may (see AccessApi.authorizeViewLinkRequest). */
  access: AccessApi | null = null,
): Promise<void> {
  // The raw path: URL parsing would fold dot segments and lose which slashes were encoded.
  const match = VIEW_LINK_API_PATH.exec((request.url ?? '/').split('?', 1)[0])
  if (!match) return sendJson(response, 404, { error: 'not found' })
  if (request.method !== 'POST') {
    response.setHeader('allow', 'POST')
    return sendJson(response, 405, { error: 'use POST' })
  }
  if (!isOriginAllowed(request.headers.origin, request.headers.host, options.allowedOrigins)) {
    return sendJson(response, 403, { error: 'origin not allowed' })
  }
  const docId = decodePathSegment(match[1])
  if (!isValidDocumentName(docId)) return sendJson(response, 400, { error: 'invalid document name' })
  try {
    await access?.authorizeViewLinkRequest(request, docId)
  } catch (error) {
    if (error instanceof HttpError) return sendJson(response, error.status, { error: error.message })
    logger.error('view link request failed', { doc: docId, error })
    return sendJson(response, 500, { error: 'something went wrong; try again' })
  }
  try {
    const viewId = match[2] ? await viewLinks.reset(docId) : await viewLinks.getOrCreate(docId)
    if (match[2]) logger.info('view link reset', { doc: docId })
    sendJson(response, 200, { viewId })
  } catch (error) {
    logger.error('view link request failed', { doc: docId, error })
    sendJson(response, 500, { error: 'could not store the view link; try again' })
  }
}
