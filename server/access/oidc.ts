/**
 * Sign-in with an OpenID Connect provider (Keycloak, Authentik, Google Workspace, Entra ID…):
 * the authorization code flow with PKCE, state and nonce, done by openid-client. The provider is
 * discovered on the first sign-in, not at start, so a provider that is down does not keep Chorus
 * from serving the documents whose link is public; a failed discovery is tried again next time.
 */
import * as client from 'openid-client'
import type { Person } from './permissions.ts'
import type { SignInFlow } from './sessions.ts'
import { CALLBACK_PATH } from '../../lib/routes.ts'

export class OidcSignIn {
  private configuration: Promise<client.Configuration> | null = null

  constructor(
    private readonly settings: { issuer: string; clientId: string; clientSecret: string },
    private readonly publicUrl: string,
  ) {}

  get redirectUri(): string {
    return `${this.publicUrl}${CALLBACK_PATH}`
  }

  /** Where to send the browser, and what to remember (in a cookie) until it comes back. */
  async start(returnTo: string): Promise<{ url: URL; flow: SignInFlow }> {
    const config = await this.discover()
    const verifier = client.randomPKCECodeVerifier()
    const flow: SignInFlow = { verifier, state: client.randomState(), nonce: client.randomNonce(), returnTo }
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    })
    return { url, flow }
  }

  /** The person the provider vouches for, from the callback's URL; throws if anything is off. */
  async finish(callbackUrl: URL, flow: SignInFlow): Promise<Person> {
    const config = await this.discover()
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    })
    const claims = tokens.claims()
    if (!claims) throw new Error('the provider sent no ID token')
    let { email, name, email_verified: emailVerified } = claims as { email?: unknown; name?: unknown; email_verified?: unknown }
    // Many providers put email and name only in the userinfo answer, not in the ID token.
    if (typeof email !== 'string' || typeof name !== 'string') {
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
      if (typeof email !== 'string') {
        email = info.email
        emailVerified = info.email_verified
      }
      name = typeof name === 'string' ? name : (info.name ?? info.preferred_username)
    }
    // Sharing is by email: an address the provider says it has not verified could be anyone's.
    const verified = emailVerified !== false
    return {
      sub: `${this.settings.issuer}#${claims.sub}`,
      email: typeof email === 'string' && verified ? email.toLowerCase() : null,
      name: typeof name === 'string' && name.trim() ? name.trim() : typeof email === 'string' ? email : claims.sub,
    }
  }

  private discover(): Promise<client.Configuration> {
    this.configuration ??= client
      .discovery(
        new URL(this.settings.issuer),
        this.settings.clientId,
        this.settings.clientSecret,
        undefined,
        // Plain http only for a provider on this machine's loopback (tests, a local Keycloak).
        isLoopbackHttp(this.settings.issuer) ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        this.configuration = null
        throw error
      })
    return this.configuration
  }
}

function isLoopbackHttp(issuer: string): boolean {
  const url = new URL(issuer)
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]')
}
