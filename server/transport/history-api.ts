/**
 * The version-history HTTP API (lib/routes.ts spells the paths; the README documents them):
 *
 *   GET  /api/documents/<docId>/versions?before=&limit=   → { versions, nextBefore }
 *   POST /api/documents/<docId>/versions                  { name, author?, stateVector? } → the new version (201)
 *   GET  /api/documents/<docId>/versions/<id>?format=json|html|text&compare=previous|<id>
 *   POST /api/documents/<docId>/versions                  { checkpoint: true, stateVector? } → { version } (an
 *                                                         automatic one, or null when nothing changed since the last)
 *   POST /api/documents/<docId>/versions/<id>/restore     { author? } → the version the restore made
 *   GET  /api/documents/<docId>/catch-up?since=<id>&me=<authorId>
 *   GET  /api/view/<viewId>/…                             the same reads for a view link; writes 403
 *
 * As with view links, knowing the edit id is the permission to write. `author` ({ id, name,
 * color }, the browser's awareness user) is for display only, never for access.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AccessApi } from '../access/access-api.ts'
import { decodePathSegment, isValidDocumentName } from '../../lib/doc-id.ts'
import { parseAuthor, type Author } from '../../lib/history.ts'
import { HISTORY_API_PATH } from '../../lib/routes.ts'
import type { ServerConfig } from '../config.ts'
import { DocumentBusyError, UnknownVersionError, type DocumentHistory, type VersionFormat } from '../document/history.ts'
import { DocumentTooLargeError } from '../document/update-check.ts'
import type { ViewLinks } from '../document/view-links.ts'
import type { Logger } from '../ops/logger.ts'
import { StorageError } from '../storage/document-store.ts'
import { HttpError, readBody, sendJson } from './json-http.ts'
import { isOriginAllowed } from './limits.ts'

const MAX_BODY_BYTES = 64 * 1024
const MAX_LIMIT = 1000
const DEFAULT_LIMIT = 100
/** How long a version asked for with a state vector (a browser's restore, a name) waits for it to arrive. */
const RESTORE_ARRIVAL_MS = 5000

export function isHistoryApiPath(url: string | undefined): boolean {
  return HISTORY_API_PATH.test((url ?? '/').split('?', 1)[0])
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(request, MAX_BODY_BYTES, `the body may be at most ${MAX_BODY_BYTES} bytes`)
  if (raw.byteLength === 0) return {}
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    throw new HttpError(400, 'the body is not JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object')
  return body as Record<string, unknown>
}

function authorIn(body: Record<string, unknown>): Author | null {
  if (body.author === undefined) return null
  const author = parseAuthor(body.author)
  if (!author) throw new HttpError(400, 'author must be { id, name, color }')
  return author
}

export async function handleHistoryRequest(
  request: IncomingMessage,
  response: ServerResponse,
  history: DocumentHistory,
  viewLinks: ViewLinks,
  options: Pick<ServerConfig, 'allowedOrigins'>,
  logger: Logger,
  /** With a token setting or sign-in, the socket's rule decides (AccessApi.authorizeDocumentRequest). */
  access: AccessApi | null = null,
): Promise<void> {
  const [rawPath, rawQuery = ''] = (request.url ?? '/').split('?', 2)
  const match = HISTORY_API_PATH.exec(rawPath)
  if (!match) return sendJson(response, 404, { error: 'not found' })
  const query = new URLSearchParams(rawQuery)
  const viewer = match[1] === 'view'
  const [, , versionId, restore] = /^\/(versions|catch-up)(?:\/([^/]+))?(\/restore)?$/.exec(match[3]) ?? []
  const isCatchUp = match[3] === '/catch-up'
  const writes = request.method === 'POST'
  try {
    if (request.method !== 'GET' && request.method !== 'POST') throw new HttpError(405, 'use GET or POST')
    if (!isOriginAllowed(request.headers.origin, request.headers.host, options.allowedOrigins)) {
      throw new HttpError(403, 'origin not allowed')
    }
    if (writes && (isCatchUp || (versionId !== undefined && !restore))) throw new HttpError(405, 'use GET')
    if (!writes && restore) throw new HttpError(405, 'use POST')
    if (writes && viewer) throw new HttpError(403, 'a view link can browse the history, but not name or restore versions')
    const id = decodePathSegment(match[2])
    const docId = viewer ? await viewLinks.resolve(id ?? '') : id
    if (docId === null || docId === undefined || !isValidDocumentName(docId)) {
      throw new HttpError(viewer ? 404 : 400, viewer ? 'unknown view link' : 'invalid document name')
    }
    await access?.authorizeDocumentRequest(request, docId, { viaViewLink: viewer, write: writes })
    const version = versionId === undefined ? undefined : decodePathSegment(versionId)
    if (isCatchUp) {
      const since = query.get('since')
      if (!since) throw new HttpError(400, 'since=<version id> is required')
      return sendJson(response, 200, await history.catchUp(docId, since, query.get('me')))
    }
    if (!writes && version === undefined) {
      const limit = query.has('limit') ? Number(query.get('limit')) : DEFAULT_LIMIT
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new HttpError(400, `limit must be 1 to ${MAX_LIMIT}`)
      const before = query.get('before')
      if (before !== null && !/^[1-9]\d{0,14}$/.test(before)) throw new HttpError(400, 'before must be a version id')
      return sendJson(response, 200, await history.listVersions(docId, before, limit))
    }
    if (!writes && version !== undefined) {
      const format = (query.get('format') ?? 'json') as VersionFormat
      if (!['json', 'html', 'text'].includes(format)) throw new HttpError(400, 'format must be json, html or text')
      const compare = query.get('compare')
      const read = await history.readVersion(docId, version ?? '', format, compare)
      return sendJson(response, 200, { ...read, format })
    }
    const body = await readJsonBody(request)
    const author = authorIn(body)
    if (restore) {
      const made = await history.restore(docId, version ?? '', author)
      logger.info('version restored', { doc: docId, version, as: made.id })
      return sendJson(response, 200, made)
    }
    if (body.restoredFrom !== undefined) {
      // A browser restored the version itself (one undo step for it) and asks for the record.
      if (typeof body.restoredFrom !== 'string' || typeof body.stateVector !== 'string') {
        throw new HttpError(400, 'restoredFrom and stateVector (base64) are required together')
      }
      const stateVector = new Uint8Array(Buffer.from(body.stateVector, 'base64'))
      return sendJson(
        response,
        201,
        await history.recordRestore(docId, body.restoredFrom, author, stateVector, RESTORE_ARRIVAL_MS),
      )
    }
    if (body.checkpoint === true) {
      // A browser about to restore: what it is leaving becomes an automatic version first.
      if (typeof body.stateVector === 'string') {
        await history.whenHolds(docId, new Uint8Array(Buffer.from(body.stateVector, 'base64')), RESTORE_ARRIVAL_MS)
      }
      const made = await history.createVersion(docId, { kind: 'auto' })
      return sendJson(response, made ? 201 : 200, { version: made })
    }
    const name = body.name
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
      throw new HttpError(400, 'name must be a non-empty string of at most 200 characters')
    }
    // With the caller's state vector, the version waits for (and so contains) what it just typed.
    if (body.stateVector !== undefined) {
      if (typeof body.stateVector !== 'string') throw new HttpError(400, 'stateVector must be base64')
      await history.whenHolds(docId, new Uint8Array(Buffer.from(body.stateVector, 'base64')), RESTORE_ARRIVAL_MS)
    }
    const made = await history.createVersion(docId, { kind: 'named', name: name.trim(), requester: author })
    return sendJson(response, 201, made)
  } catch (error) {
    if (error instanceof HttpError) {
      if (error.status === 405) response.setHeader('allow', restore ? 'POST' : 'GET, POST')
      return sendJson(response, error.status, { error: error.message })
    }
    if (error instanceof UnknownVersionError) return sendJson(response, 404, { error: 'unknown version' })
    if (error instanceof DocumentBusyError) return sendJson(response, 503, { error: error.message })
    if (error instanceof DocumentTooLargeError) return sendJson(response, 413, { error: error.message })
    if (error instanceof StorageError) {
      logger.warn('history request failed: storage', { error: error.message })
      return sendJson(response, 503, { error: 'storage is failing; try again' })
    }
    logger.error('history request failed', { url: rawPath, error })
    return sendJson(response, 500, { error: 'the request failed; try again' })
  }
}
