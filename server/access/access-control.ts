/**
 * Decides, before the first byte of a document is sent, what a socket may do: by an app's token
 * (the `token` URL parameter), by the session cookie, or, with nothing configured, by the link
 * alone as before. A refusal names its close code: 4401 (not signed in, or the token does not
 * open this document) or 4403 (signed in, without access).
 */
import { CloseCode } from '../../lib/protocol.ts'
import type { AccessConfig } from '../config.ts'
import type { DocumentAccessRegistry } from './document-access.ts'
import { capRole, decide, type DocumentAccess, type Person, type Role } from './permissions.ts'
import type { Sessions } from './sessions.ts'
import { TokenRefusal } from './token-keys.ts'
import type { TokenVerifier } from './tokens.ts'

export const TOKEN_PARAM = 'token'

export interface Admission {
  role: Role
  /** Who it is, when known (signed in, or named by a token). */
  person: Person | null
  /**
   * How the right was proven: 'link' (nothing configured: the link is the key), 'token' (an app's
   * token, which this server cannot revoke), 'session' (signed in, or not signed in on a public
   * link; looked at again whenever the document's access changes).
   */
  via: 'link' | 'token' | 'session'
  /** A token's colour for presence. */
  color: string | null
}

export class AccessRefusal extends Error {
  override name = 'AccessRefusal'
  constructor(
    readonly closeCode: number,
    reason: string,
  ) {
    super(reason)
  }
}

export interface AdmitRequest {
  docId: string
  viaViewLink: boolean
  token: string | null
  cookieHeader: string | undefined
}

export class AccessControl {
  constructor(
    private readonly config: AccessConfig,
    private readonly tokens: TokenVerifier | null,
    private readonly sessions: Sessions | null,
    private readonly documents: DocumentAccessRegistry | null,
  ) {}

  /** Whether anything but the link decides (a token setting or sign-in is configured). */
  get enabled(): boolean {
    return this.tokens !== null || this.sessions !== null
  }

  async admit({ docId, viaViewLink, token, cookieHeader }: AdmitRequest): Promise<Admission> {
    if (!this.enabled) return { role: viaViewLink ? 'view' : 'edit', person: null, via: 'link', color: null }
    if (this.tokens && token) {
      try {
        const claims = await this.tokens.verify(token, docId)
        return {
          role: capRole(claims.role, viaViewLink),
          person: { sub: claims.sub, email: null, name: claims.name },
          via: 'token',
          color: claims.color,
        }
      } catch (error) {
        if (error instanceof TokenRefusal) throw new AccessRefusal(CloseCode.NotAuthorized, error.message)
        throw error
      }
    }
    if (!this.sessions || !this.documents) {
      throw new AccessRefusal(CloseCode.NotAuthorized, 'a token is required: pass it as the token URL parameter')
    }
    const session = await this.sessions.read(cookieHeader)
    const person: Person | null = session ? { sub: session.sub, email: session.email, name: session.name } : null
    // A signed-in person opening a document nobody owns is creating it (the app's "New document").
    const access = person && !viaViewLink ? await this.documents.getOrClaim(docId, person) : await this.documents.get(docId)
    if (!access) {
      if (this.config.allowPublicLinks && (await this.documents.isUnclaimedOld(docId))) {
        return { role: capRole('edit', viaViewLink), person, via: 'session', color: null }
      }
      throw new AccessRefusal(CloseCode.NotAuthorized, 'sign in to open this document')
    }
    const role = this.decide(access, person, viaViewLink)
    return { role, person, via: 'session', color: null }
  }

  /** The role `person` now has, or throws the refusal (used again on every change of access). */
  decide(access: DocumentAccess, person: Person | null, viaViewLink: boolean): Role {
    const decision = decide(access, person, this.config.allowPublicLinks)
    if ('refused' in decision) {
      throw new AccessRefusal(decision.refused === 'sign-in' ? CloseCode.NotAuthorized : CloseCode.Forbidden, decision.reason)
    }
    return capRole(decision.role, viaViewLink)
  }
}
