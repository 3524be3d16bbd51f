/**
 * Sign-in and sharing over HTTP (paths in lib/routes.ts). Every state-changing call needs the
 * session's CSRF token in the x-chorus-csrf header, besides the origin check all API calls get;
 * only the owner changes who has access, and each change reaches open sockets at once
 * (DocumentAccessRegistry → SyncEndpoint.reassess).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodePathSegment, isValidDocumentName } from '../../lib/doc-id.ts'
import { CloseCode } from '../../lib/protocol.ts'
import {
  CALLBACK_PATH,
  CSRF_HEADER,
  SESSION_API_PATH,
  SHARED_DOCUMENTS_API_PATH,
  SIGN_IN_PATH,
  SIGN_OUT_PATH,
} from '../../lib/routes.ts'
import type { AccessConfig } from '../config.ts'
import type { Logger } from '../ops/logger.ts'
import { HttpError, readBody, sendJson } from '../transport/json-http.ts'
import { isOriginAllowed } from '../transport/limits.ts'
import { AccessRefusal, type AccessControl, type Admission, TOKEN_PARAM } from './access-control.ts'
import type { DocumentAccessRegistry } from './document-access.ts'
import type { OidcSignIn } from './oidc.ts'
import { LINK_ACCESS_VALUES, type LinkAccess, normalizeEmail, type Role } from './permissions.ts'
import type { Session, Sessions } from './sessions.ts'

const DOCUMENT_PATH = /^\/api\/documents\/([^/]+)\/(access|members|link-access)(?:\/([^/]+))?$/
/** Enough for an email and a role; anything larger is not ours. */
const MAX_BODY_BYTES = 4096
/** RFC 5321's limit, and a shape that rules out what is plainly not an address. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/

export interface AccessApiParts {
  config: AccessConfig
  allowedOrigins: string[]
  control: AccessControl
  sessions: Sessions | null
  oidc: OidcSignIn | null
  registry: DocumentAccessRegistry | null
  logger: Logger
}

export class AccessApi {
  constructor(private readonly parts: AccessApiParts) {}

  /** True for the paths this API answers; the rest go to the view-link API and the app. */
  handles(url: string | undefined): boolean {
    const path = (url ?? '').split('?', 1)[0]
    if (path === SESSION_API_PATH) return true
    if (!this.parts.sessions) return false
    return (
      path === SIGN_IN_PATH ||
      path === CALLBACK_PATH ||
      path === SIGN_OUT_PATH ||
      path === SHARED_DOCUMENTS_API_PATH ||
      DOCUMENT_PATH.test(path)
    )
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      await this.route(request, response)
    } catch (error) {
      if (error instanceof HttpError) return sendJson(response, error.status, { error: error.message })
      this.parts.logger.error('access request failed', { url: request.url, error })
      if (!response.headersSent) sendJson(response, 500, { error: 'something went wrong; try again' })
    }
  }

  /**
   * With sign-in on, the view-link API is for the document's editors: a session with the edit role
   * and the CSRF token. Resolves when allowed, throws an HttpError otherwise.
   */
  async authorizeViewLinkRequest(request: IncomingMessage, docId: string): Promise<void> {
    const { sessions, registry, control } = this.parts
    if (!sessions || !registry) return
    const session = await this.requireSession(request)
    this.requireCsrf(request, session)
    const access = await registry.get(docId)
    if (!access) throw new HttpError(404, 'no such document')
    try {
      if (control.decide(access, session, false) !== 'edit') throw new HttpError(403, 'only editors can share a view link')
    } catch (error) {
      if (error instanceof AccessRefusal) throw new HttpError(403, error.message)
      throw error
    }
  }

  /**
   * The document HTTP APIs (version history) under the socket's rule: with a token setting or
   * sign-in configured, the caller's token (`Authorization: Bearer`, or the `token` parameter) or
   * session must open the document, and a write needs the edit role, and with a session its CSRF
   * token. Resolves when allowed (always, with nothing configured), throws an HttpError otherwise.
   */
  async authorizeDocumentRequest(
    request: IncomingMessage,
    docId: string,
    { viaViewLink, write }: { viaViewLink: boolean; write: boolean },
  ): Promise<void> {
    const { control, sessions } = this.parts
    if (!control.enabled) return
    const url = new URL(request.url ?? '/', 'http://localhost')
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
    const token = bearer ?? url.searchParams.get(TOKEN_PARAM)
    let admission: Admission
    try {
      admission = await control.admit({ docId, viaViewLink, token, cookieHeader: request.headers.cookie })
    } catch (error) {
      if (!(error instanceof AccessRefusal)) throw error
      throw new HttpError(error.closeCode === CloseCode.Forbidden ? 403 : 401, error.message)
    }
    if (!write) return
    if (admission.role !== 'edit') throw new HttpError(403, 'only editors can change the history')
    // A signed-in caller proves the request is its page's; an anonymous editor on a public link has
    // no session to forge, and the origin check (the history API's) is what holds for it.
    if (admission.via === 'session' && admission.person !== null) {
      const session = sessions ? await sessions.read(request.headers.cookie) : null
      if (!session) throw new HttpError(401, 'sign in first')
      this.requireCsrf(request, session)
    }
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { sessions, oidc, registry } = this.parts
    const url = new URL(request.url ?? '/', 'http://localhost')
    const path = url.pathname
    if (path === SESSION_API_PATH) {
      const session = sessions ? await sessions.read(request.headers.cookie) : null
      return sendJson(response, 200, {
        signInEnabled: sessions !== null,
        allowPublicLinks: this.parts.config.allowPublicLinks,
        user: session ? { name: session.name, email: session.email } : null,
        csrf: session && sessions ? sessions.csrfToken(session) : null,
      })
    }
    if (!sessions || !oidc || !registry) throw new HttpError(404, 'not found')
    if (path === SIGN_IN_PATH) {
      const returnTo = localPath(url.searchParams.get('return'))
      const { url: target, flow } = await oidc.start(returnTo).catch((error: unknown) => {
        this.parts.logger.error('the identity provider cannot be reached', { error })
        throw new HttpError(502, 'the identity provider cannot be reached; try again later')
      })
      response.writeHead(302, {
        location: target.href,
        'set-cookie': await sessions.flowCookie(flow),
        'cache-control': 'no-store',
      })
      return void response.end()
    }
    if (path === CALLBACK_PATH) {
      const flow = await sessions.readFlow(request.headers.cookie)
      if (!flow) throw new HttpError(400, 'this sign-in expired or was started elsewhere; sign in again')
      const callback = new URL(`${oidc.redirectUri}${url.search}`)
      let person: Awaited<ReturnType<OidcSignIn['finish']>>
      try {
        person = await oidc.finish(callback, flow)
      } catch (error) {
        this.parts.logger.warn('sign-in failed', { error: (error as Error).message })
        throw new HttpError(401, 'sign-in failed; try again')
      }
      const { cookie } = await sessions.issue(person)
      this.parts.logger.info('signed in', { sub: person.sub })
      response.writeHead(302, {
        location: flow.returnTo,
        'set-cookie': [cookie, sessions.clearFlow()],
        'cache-control': 'no-store',
      })
      return void response.end()
    }
    this.requireOrigin(request)
    if (path === SIGN_OUT_PATH) {
      requireMethod(request, 'POST')
      const session = await this.requireSession(request)
      this.requireCsrf(request, session)
      response.writeHead(204, { 'set-cookie': sessions.clear(), 'cache-control': 'no-store' })
      return void response.end()
    }
    const session = await this.requireSession(request)
    if (path === SHARED_DOCUMENTS_API_PATH) {
      requireMethod(request, 'GET')
      const documents = session.email ? await registry.sharedWith(normalizeEmail(session.email)) : []
      return sendJson(response, 200, { documents })
    }
    const match = DOCUMENT_PATH.exec(path)
    if (!match) throw new HttpError(404, 'not found')
    const docId = decodePathSegment(match[1])
    if (!isValidDocumentName(docId)) throw new HttpError(400, 'invalid document name')
    const [, , what, rest] = match
    if (what === 'access') {
      requireMethod(request, 'GET')
      const access = await registry.get(docId)
      if (!access) throw new HttpError(404, 'no such document')
      let role: Role
      try {
        role = this.parts.control.decide(access, session, false)
      } catch (error) {
        if (error instanceof AccessRefusal) throw new HttpError(403, error.message)
        throw error
      }
      const owner = access.owner.sub === session.sub
      return sendJson(response, 200, {
        role,
        owner,
        ownerName: access.owner.name,
        // Who else is in is the owner's business; the others see only their own role.
        ...(owner ? { members: access.members, link: access.link } : {}),
      })
    }
    // Everything below changes who has access.
    this.requireCsrf(request, session)
    const current = await registry.get(docId)
    if (!current) throw new HttpError(404, 'no such document')
    if (current.owner.sub !== session.sub) throw new HttpError(403, 'only the owner can change who has access')
    let changed: Awaited<ReturnType<DocumentAccessRegistry['update']>>
    if (what === 'members' && rest === undefined) {
      requireMethod(request, 'POST')
      const body = await readJson(request)
      const email = typeof body.email === 'string' ? normalizeEmail(body.email) : ''
      if (!EMAIL.test(email)) throw new HttpError(400, 'enter an email address')
      if (body.role !== 'edit' && body.role !== 'view') throw new HttpError(400, 'role must be edit or view')
      const role: Role = body.role
      changed = await registry.update(docId, (access) => ({
        ...access,
        members: [...access.members.filter((m) => m.email !== email), { email, role }],
      }))
      this.parts.logger.info('shared a document', { doc: docId, role })
    } else if (what === 'members') {
      requireMethod(request, 'DELETE')
      const email = normalizeEmail(decodePathSegment(rest) ?? '')
      changed = await registry.update(docId, (access) => ({
        ...access,
        members: access.members.filter((m) => m.email !== email),
      }))
      this.parts.logger.info('removed someone from a document', { doc: docId })
    } else if (what === 'link-access' && rest === undefined) {
      requireMethod(request, 'PUT')
      const body = await readJson(request)
      const link = body.link as LinkAccess
      if (!LINK_ACCESS_VALUES.includes(link)) throw new HttpError(400, `link must be one of ${LINK_ACCESS_VALUES.join(', ')}`)
      if (link === 'anyone' && !this.parts.config.allowPublicLinks) {
        throw new HttpError(403, 'this server does not allow documents open to anyone with the link (ALLOW_PUBLIC_LINKS=false)')
      }
      changed = await registry.update(docId, (access) => ({ ...access, link }))
      this.parts.logger.info('changed link access', { doc: docId, link })
    } else {
      throw new HttpError(404, 'not found')
    }
    if (!changed) throw new HttpError(404, 'no such document')
    sendJson(response, 200, {
      role: 'edit',
      owner: true,
      ownerName: changed.owner.name,
      members: changed.members,
      link: changed.link,
    })
  }

  private requireOrigin(request: IncomingMessage): void {
    if (!isOriginAllowed(request.headers.origin, request.headers.host, this.parts.allowedOrigins)) {
      throw new HttpError(403, 'origin not allowed')
    }
  }

  private async requireSession(request: IncomingMessage): Promise<Session> {
    const session = await this.parts.sessions?.read(request.headers.cookie)
    if (!session) throw new HttpError(401, 'sign in first')
    return session
  }

  private requireCsrf(request: IncomingMessage, session: Session): void {
    if (!this.parts.sessions?.checkCsrf(session, request.headers[CSRF_HEADER])) {
      throw new HttpError(403, 'missing or wrong CSRF token; reload the page and try again')
    }
  }
}

function requireMethod(request: IncomingMessage, method: string): void {
  if (request.method !== method) throw new HttpError(405, `use ${method}`)
}

/** Only a path on this site: an open redirect would lend Chorus's name to any page. */
function localPath(value: string | null): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.includes('\\')) return '/'
  return value
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(request, MAX_BODY_BYTES, 'request too large')
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {}
  throw new HttpError(400, 'send a JSON object')
}
