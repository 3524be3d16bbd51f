/**
 * A real OpenID Connect provider for tests: the `oidc-provider` package on a free loopback port,
 * with one confidential client for Chorus and a plain login form (email and password) for a few
 * accounts, so that tests and browsers go through the real authorization code flow.
 *
 *   const idp = await startIdentityProvider({ redirectUri, users: [{ email, name }] })
 *   env: OIDC_ISSUER=idp.issuer OIDC_CLIENT_ID=idp.clientId OIDC_CLIENT_SECRET=idp.clientSecret
 *   await idp.close()
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

export interface TestUser {
  email: string
  name: string
  /** Default true; false for an address the provider never checked. */
  emailVerified?: boolean
}

export interface IdentityProvider {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** The password every account signs in with. */
  readonly password: string
  close(): Promise<void>
}

const PASSWORD = 'correct horse battery staple'

export async function startIdentityProvider({
  redirectUri,
  users,
}: {
  redirectUri: string
  users: TestUser[]
}): Promise<IdentityProvider> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const byId = new Map(users.map((user) => [`id-${user.email}`, user]))
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'chorus',
        client_secret: 'chorus-test-client-secret',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, id) {
      const user = byId.get(id)
      if (!user) return undefined
      return {
        accountId: id,
        claims: () => ({ sub: id, email: user.email, email_verified: user.emailVerified ?? true, name: user.name }),
      }
    },
    // Our own login form below stands in for the package's development screens.
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['chorus-test-idp-cookie-key'] },
    // Set, so that the package does not print a notice for each default it falls back on.
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
  })
  const handleProvider = provider.callback()
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (!request.url?.startsWith('/interaction/')) return void handleProvider(request, response)
    void interaction(provider, byId, request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' })
      response.end(String(error))
    })
  })
  return {
    issuer,
    clientId: 'chorus',
    clientSecret: 'chorus-test-client-secret',
    password: PASSWORD,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** GET: the login form. POST: check the password, then log in and consent in one step. */
async function interaction(
  provider: Provider,
  users: Map<string, TestUser>,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(request, response)
  if (request.method !== 'POST') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end(`<!doctype html><title>Test identity provider</title>
<form method="post"><h1>Test identity provider</h1>
<label>Email <input name="email" type="email" autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>`)
    return
  }
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const form = new URLSearchParams(Buffer.concat(chunks).toString())
  const accountId = `id-${form.get('email')}`
  if (!users.has(accountId) || form.get('password') !== PASSWORD) {
    response.writeHead(401, { 'content-type': 'text/plain' })
    response.end('wrong email or password')
    return
  }
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id as string })
  grant.addOIDCScope('openid email profile')
  const grantId = await grant.save()
  await provider.interactionFinished(request, response, { login: { accountId }, consent: { grantId } })
}

/**
 * Goes through the sign-in flow as a browser would, with fetch and a cookie jar per origin:
 * Chorus's /auth/sign-in, the provider's login form, back to Chorus's callback. Returns
 * Chorus's cookies (the session), its Set-Cookie lines, and where the flow ended.
 */
export async function signInWithFetch(
  chorusUrl: string,
  idp: IdentityProvider,
  email: string,
  returnTo = '/',
): Promise<{ cookie: string; location: string; setCookie: string[] }> {
  const jars = new Map<string, Map<string, string>>()
  const setCookie: string[] = []
  const cookieFor = (url: URL) => [...(jars.get(url.host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ')
  const keep = (url: URL, response: Response) => {
    const jar = jars.get(url.host) ?? new Map<string, string>()
    jars.set(url.host, jar)
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const index = pair.indexOf('=')
      const value = pair.slice(index + 1)
      if (/max-age=0/i.test(line) || value === '') jar.delete(pair.slice(0, index))
      else jar.set(pair.slice(0, index), value)
    }
  }
  let url = new URL(`/auth/sign-in?return=${encodeURIComponent(returnTo)}`, chorusUrl)
  let body: string | undefined
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: cookieFor(url), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    })
    keep(url, response)
    if (url.origin === new URL(chorusUrl).origin) setCookie.push(...response.headers.getSetCookie())
    body = undefined
    const location = response.headers.get('location')
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url)
      if (next.origin === new URL(chorusUrl).origin && !next.pathname.startsWith('/auth/')) {
        return { cookie: cookieFor(new URL(chorusUrl)), location: next.pathname + next.search, setCookie }
      }
      url = next
      continue
    }
    const text = await response.text()
    if (response.status === 200 && text.includes('<form method="post">')) {
      body = new URLSearchParams({ email, password: idp.password }).toString()
      continue
    }
    throw new Error(`sign-in stopped at ${url.href}: ${response.status} ${text.slice(0, 200)}`)
  }
  throw new Error('sign-in went round in circles')
}
