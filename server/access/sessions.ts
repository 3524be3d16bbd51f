/**
 * The signed-in session: a cookie holding a JWT signed by this server (HS256 with SESSION_SECRET),
 * so every instance behind a load balancer reads it without a shared session table. HttpOnly (page
 * scripts never see it), Secure behind TLS, SameSite=Lax (sent on top-level navigations to the
 * document, not on other sites' subrequests).
 *
 * CSRF: every state-changing API call must carry the session's CSRF token in a header, which a
 * page of another site cannot read nor set on a cross-site request without CORS. The token is an
 * HMAC of the session id, so nothing needs storing.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'
import type { Person } from './permissions.ts'

export const SESSION_COOKIE = 'chorus_session'
/** The sign-in flow's state (PKCE verifier, state, nonce, where to return), for its few minutes. */
export const FLOW_COOKIE = 'chorus_signin'
export { CSRF_HEADER } from '../../lib/routes.ts'
export const SESSION_SECONDS = 7 * 24 * 3600
const FLOW_SECONDS = 600

export interface Session extends Person {
  /** Random per sign-in; the CSRF token is derived from it. */
  sid: string
}

export interface SignInFlow {
  verifier: string
  state: string
  nonce: string
  returnTo: string
}

export class Sessions {
  private readonly key: Uint8Array

  constructor(
    secret: string | undefined,
    readonly secure: boolean,
  ) {
    // Without a configured secret, sessions last until the next start (said in the README).
    this.key = secret ? Buffer.from(secret) : randomBytes(32)
  }

  async issue(person: Person): Promise<{ cookie: string; session: Session }> {
    const session: Session = { ...person, sid: randomBytes(16).toString('base64url') }
    const jwt = await new SignJWT({ email: person.email, name: person.name, sid: session.sid })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(person.sub)
      .setIssuedAt()
      .setExpirationTime(`${SESSION_SECONDS}s`)
      .setAudience('chorus-session')
      .sign(this.key)
    return { cookie: this.cookie(SESSION_COOKIE, jwt, SESSION_SECONDS), session }
  }

  /** The session the request's cookies carry, or null (none, expired or forged). */
  async read(cookieHeader: string | undefined): Promise<Session | null> {
    const jwt = readCookie(cookieHeader, SESSION_COOKIE)
    if (!jwt) return null
    try {
      const { payload } = await jwtVerify(jwt, this.key, { algorithms: ['HS256'], audience: 'chorus-session' })
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null
      return {
        sub: payload.sub,
        sid: payload.sid,
        email: typeof payload.email === 'string' ? payload.email : null,
        name: typeof payload.name === 'string' ? payload.name : payload.sub,
      }
    } catch {
      return null
    }
  }

  clear(): string {
    return this.cookie(SESSION_COOKIE, '', 0)
  }

  csrfToken(session: Session): string {
    return createHmac('sha256', this.key).update(`csrf:${session.sid}`).digest('base64url')
  }

  checkCsrf(session: Session, header: string | string[] | undefined): boolean {
    if (typeof header !== 'string') return false
    const expected = Buffer.from(this.csrfToken(session))
    const given = Buffer.from(header)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  async flowCookie(flow: SignInFlow): Promise<string> {
    const jwt = await new SignJWT({ ...flow })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(`${FLOW_SECONDS}s`)
      .setAudience('chorus-signin')
      .sign(this.key)
    return this.cookie(FLOW_COOKIE, jwt, FLOW_SECONDS)
  }

  async readFlow(cookieHeader: string | undefined): Promise<SignInFlow | null> {
    const jwt = readCookie(cookieHeader, FLOW_COOKIE)
    if (!jwt) return null
    try {
      const { payload } = await jwtVerify(jwt, this.key, { algorithms: ['HS256'], audience: 'chorus-signin' })
      const { verifier, state, nonce, returnTo } = payload
      if (typeof verifier !== 'string' || typeof state !== 'string' || typeof nonce !== 'string') return null
      return { verifier, state, nonce, returnTo: typeof returnTo === 'string' ? returnTo : '/' }
    } catch {
      return null
    }
  }

  clearFlow(): string {
    return this.cookie(FLOW_COOKIE, '', 0)
  }

  private cookie(name: string, value: string, maxAge: number): string {
    return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${this.secure ? '; Secure' : ''}`
  }
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const index = part.indexOf('=')
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim()
  }
  return null
}
