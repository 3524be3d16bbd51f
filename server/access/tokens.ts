/**
 * Tokens that apps embedding Chorus mint for their own users (as Hocuspocus' onAuthenticate,
 * y-sweet's client tokens and Tiptap Cloud's JWTs offer). A JWT signed with AUTH_JWT_SECRET
 * (HS256) or the private key of AUTH_JWT_PUBLIC_KEY (EdDSA or RS256), carrying:
 *
 *   sub    the user's id (required)
 *   name   shown in presence (optional; sub otherwise)
 *   color  #rrggbb (optional)
 *   doc    the document id it opens, or '*' for every document
 *   role   'edit' or 'view'
 *   exp    required: a token without an expiry would be a password that cannot be changed
 *
 * A stock y-websocket client passes it as the `token` URL parameter. It is checked when the
 * socket connects, as Hocuspocus does: an open connection outlives its token, and the client
 * sends a renewed one (provider.params.token) the next time it connects.
 */
import { createSecretKey, type KeyObject } from 'node:crypto'
import { errors, jwtVerify } from 'jose'
import type { Role } from './permissions.ts'
import { publicKeyAndAlgorithm, type TokenKey, TokenRefusal } from './token-keys.ts'

export { type TokenKey, TokenRefusal } from './token-keys.ts'

export interface TokenClaims {
  sub: string
  name: string
  color: string | null
  doc: string
  role: Role
}

/** Leeway for clocks that disagree a little between the app that mints and this server. */
const CLOCK_TOLERANCE_SECONDS = 5

export class TokenVerifier {
  private readonly key: KeyObject
  private readonly algorithms: string[]

  constructor(key: TokenKey) {
    if (key.kind === 'secret') {
      this.key = createSecretKey(Buffer.from(key.secret))
      this.algorithms = ['HS256']
    } else {
      const { key: publicKey, algorithm } = publicKeyAndAlgorithm(key.pem)
      this.key = publicKey
      this.algorithms = [algorithm]
    }
  }

  /** The token's claims if it opens `docId`; throws TokenRefusal with a readable reason otherwise. */
  async verify(token: string, docId: string): Promise<TokenClaims> {
    let payload: Record<string, unknown>
    try {
      ;({ payload } = await jwtVerify(token, this.key, {
        algorithms: this.algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }))
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new TokenRefusal('token expired; get a new one')
      if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenRefusal('token signature invalid')
      if (error instanceof errors.JOSEAlgNotAllowed) throw new TokenRefusal('token algorithm not accepted')
      if (error instanceof errors.JWTClaimValidationFailed) throw new TokenRefusal(`token invalid: ${error.message}`)
      throw new TokenRefusal('token malformed')
    }
    const { sub, name, color, doc, role } = payload
    if (typeof sub !== 'string' || sub === '') throw new TokenRefusal('token invalid: no sub')
    if (role !== 'edit' && role !== 'view') throw new TokenRefusal('token invalid: role must be edit or view')
    if (typeof doc !== 'string' || doc === '') throw new TokenRefusal('token invalid: no doc')
    if (doc !== '*' && doc !== docId) throw new TokenRefusal('token is for another document')
    return {
      sub,
      name: typeof name === 'string' && name.trim() !== '' ? name.trim() : sub,
      color: typeof color === 'string' && /^#[0-9a-f]{6}$/i.test(color) ? color : null,
      doc,
      role,
    }
  }
}
