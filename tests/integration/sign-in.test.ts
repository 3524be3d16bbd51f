/**
 * Sign-in with a real OpenID Connect provider (oidc-provider on a free port, driven through its
 * login form), the session cookie at the socket, sharing by email with roles, link settings,
 * live revocation and CSRF: all against a real server and stock y-websocket 3.1 clients.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { CloseCode, MessageType, decodeNoticePayload, type Notice } from '../../lib/protocol.ts'
import { accessApiPath, CSRF_HEADER, linkAccessApiPath, membersApiPath, viewLinkApiPath } from '../../lib/routes.ts'
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { signInWithFetch, startIdentityProvider, type IdentityProvider } from '../support/identity-provider.ts'
import { freePort } from '../support/ports.ts'
import { postgresMissing, startPostgres } from '../support/postgres.ts'
import { Sessions } from '../../server/access/sessions.ts'
import { TestScope, connectClient, makeTempDir, startTestServer, whenSynced, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const ADA = { email: 'ada@example.com', name: 'Ada Lovelace' }
const BOB = { email: 'bob@example.com', name: 'Bob Dylan' }
const EVE = { email: 'eve@example.com', name: 'Eve Online' }
/** Claims an address the provider never verified. */
const UNVERIFIED = { email: 'carol@example.com', name: 'Not Carol', emailVerified: false }

interface Account {
  cookie: string
  csrf: string
}

const scope = new TestScope()
let idp: IdentityProvider
let server: TestServer
const accounts: Record<string, Account> = {}

async function session(cookie: string) {
  return (await (await fetch(`${server.url}/api/session`, { headers: { cookie } })).json()) as {
    signInEnabled: boolean
    user: { name: string; email: string } | null
    csrf: string | null
  }
}

async function signIn(email: string): Promise<Account> {
  const { cookie } = await signInWithFetch(server.url, idp, email)
  const { csrf } = await session(cookie)
  assert.ok(csrf)
  return { cookie, csrf }
}

before(async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  idp = await startIdentityProvider({ redirectUri: `${publicUrl}/auth/callback`, users: [ADA, BOB, EVE, UNVERIFIED] })
  server = await scope.serverWith({
    port,
    access: {
      ...DEFAULT_CONFIG.access,
      oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
      publicUrl,
    },
  })
  accounts.ada = await signIn(ADA.email)
  accounts.bob = await signIn(BOB.email)
  accounts.eve = await signIn(EVE.email)
})
after(async () => {
  await scope.cleanup()
  await idp?.close()
})

/** A stock y-websocket 3.1 client sending a browser's cookie with its upgrade. */
function client(docId: string, account: Account | null, target = server) {
  const doc = new Y.Doc()
  const headers = account ? { cookie: account.cookie } : {}
  class CookieWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers })
    }
  }
  const provider = new WebsocketProvider(target.wsUrl, docId, doc, {
    WebSocketPolyfill: CookieWebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { chorus: '1' },
  })
  const closes: { code: number; reason: string }[] = []
  const notices: Notice[] = []
  provider.on('closed', (close) => closes.push(close))
  provider.messageHandlers[MessageType.Notice] = (_encoder, decoder) => {
    notices.push(decodeNoticePayload(decoder))
  }
  provider.messageHandlers[MessageType.SavedState] = () => {}
  const destroy = () => {
    provider.destroy()
    doc.destroy()
  }
  scope.defer(destroy)
  return { doc, provider, closes, notices, text: doc.getText('t'), destroy }
}

function api(
  path: string,
  account: Account | null,
  init: { method: string; body?: unknown; csrf?: string | null } = { method: 'GET' },
) {
  return fetch(`${server.url}${path}`, {
    method: init.method,
    headers: {
      ...(account ? { cookie: account.cookie } : {}),
      ...(init.csrf !== null && account ? { [CSRF_HEADER]: init.csrf ?? account.csrf } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  })
}

async function rawClose(docId: string, account: Account | null) {
  const { frames, closed } = await scope.rawSocket(`${server.wsUrl}/${docId}`, {
    headers: account ? { cookie: account.cookie } : {},
  })
  return { ...(await closed), frames: frames.length }
}

describe('sign-in with an OpenID Connect provider', () => {
  it('signs in through the provider and keeps a HttpOnly, SameSite=Lax session cookie', async () => {
    const response = await fetch(`${server.url}/auth/sign-in?return=/d/abc`, { redirect: 'manual' })
    assert.equal(response.status, 302)
    assert.ok(response.headers.get('location')?.startsWith(idp.issuer), 'to the provider')
    const location = new URL(response.headers.get('location')!)
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256')
    const { cookie, location: landed } = await signInWithFetch(server.url, idp, ADA.email, '/d/abc')
    assert.equal(landed, '/d/abc', 'back where sign-in started')
    const me = await session(cookie)
    assert.deepEqual(me.user, { name: ADA.name, email: ADA.email })
    const { setCookie } = await signInWithFetch(server.url, idp, ADA.email)
    const cookieLine = setCookie.find((line) => line.startsWith('chorus_session=')) ?? ''
    assert.match(cookieLine, /HttpOnly/)
    assert.match(cookieLine, /SameSite=Lax/)
    assert.doesNotMatch(cookieLine, /Secure/, 'plain http here; Secure behind TLS or an https PUBLIC_URL')
    assert.deepEqual((await session('')).user, null)
  })

  it('refuses an open redirect after sign-in', async () => {
    const { location } = await signInWithFetch(server.url, idp, ADA.email, '//evil.example/')
    assert.equal(location, '/')
  })
})

describe('access at the socket', () => {
  it('4401 without a session, 4403 signed in without access, before any document byte', async () => {
    const owner = client('doc-a', accounts.ada)
    await waitFor(() => owner.provider.synced, 'the owner (creator) connected')
    owner.text.insert(0, 'secret plans')
    const anonymous = await rawClose('doc-a', null)
    assert.deepEqual([anonymous.code, anonymous.frames], [CloseCode.NotAuthorized, 0])
    assert.match(anonymous.reason, /sign in/)
    const stranger = await rawClose('doc-a', accounts.eve)
    assert.deepEqual([stranger.code, stranger.frames], [CloseCode.Forbidden, 0])
    assert.match(stranger.reason, /no access/)
    const forged = await rawClose('doc-a', { cookie: 'chorus_session=eyJhbGciOiJIUzI1NiJ9.e30.x', csrf: '' })
    assert.equal(forged.code, CloseCode.NotAuthorized)
  })

  it('shares by email as viewer then editor, lowers and removes live; the owner keeps every word', async () => {
    const owner = client('doc-b', accounts.ada)
    await waitFor(() => owner.provider.synced, 'owner synced')
    owner.text.insert(0, 'Hello')
    assert.equal((await rawClose('doc-b', accounts.bob)).code, CloseCode.Forbidden)

    let answer = await api(membersApiPath('doc-b'), accounts.ada, {
      method: 'POST',
      body: { email: 'Bob@Example.com', role: 'view' },
    })
    assert.equal(answer.status, 200)
    assert.deepEqual(((await answer.json()) as { members: unknown }).members, [{ email: BOB.email, role: 'view' }])
    const bob = client('doc-b', accounts.bob)
    await waitFor(() => bob.text.toString() === 'Hello', 'bob reads')
    await waitFor(() => bob.notices.some((n) => n.code === 'access-view'), 'bob is told he may only view')
    bob.text.insert(0, 'IGNORED ')
    owner.text.insert(5, '!')
    await waitFor(() => bob.text.toString().endsWith('!'), 'a later edit reaches bob')
    assert.equal(owner.text.toString(), 'Hello!', "a viewer's write is dropped")
    bob.destroy()

    answer = await api(membersApiPath('doc-b'), accounts.ada, { method: 'POST', body: { email: BOB.email, role: 'edit' } })
    assert.equal(answer.status, 200)
    const editor = client('doc-b', accounts.bob)
    await waitFor(() => editor.provider.synced && editor.text.toString() === 'Hello!', 'bob edits')
    editor.text.insert(6, ' from Bob')
    await waitFor(() => owner.text.toString() === 'Hello! from Bob', "bob's edit reaches the owner")
    const shared = (await (await api('/api/documents/shared', accounts.bob)).json()) as { documents: string[] }
    assert.ok(shared.documents.includes('doc-b'), 'listed as shared with bob')

    // Lowered to view: the socket stays, its writes are dropped from now on, the page is told.
    await api(membersApiPath('doc-b'), accounts.ada, { method: 'POST', body: { email: BOB.email, role: 'view' } })
    await waitFor(() => editor.notices.some((n) => n.code === 'access-view' && n.level === 'warning'), 'told of the lower role')
    editor.text.insert(0, 'LATE ')
    owner.text.insert(0, '> ')
    await waitFor(() => editor.text.toString().includes('> '), 'still connected and reading')
    assert.equal(owner.text.toString(), '> Hello! from Bob')

    // Raised again, on the same socket: asked for what it wrote meanwhile, which arrives.
    const socket = editor.provider.ws
    await api(membersApiPath('doc-b'), accounts.ada, { method: 'POST', body: { email: BOB.email, role: 'edit' } })
    await waitFor(() => editor.notices.some((n) => n.code === 'access-edit'), 'told of the raise')
    await waitFor(() => owner.text.toString().includes('LATE'), 'the write held while viewing arrives')
    assert.equal(editor.provider.ws, socket, 'no reconnect')

    // Removed: closed with 4403 at once, with the reason; the owner's text is intact.
    answer = await api(membersApiPath('doc-b', BOB.email), accounts.ada, { method: 'DELETE' })
    assert.equal(answer.status, 200)
    await waitFor(() => editor.closes.length === 1, 'bob closed for good')
    assert.equal(editor.closes[0].code, CloseCode.Forbidden)
    assert.match(editor.closes[0].reason, /removed/)
    assert.ok(editor.notices.some((n) => n.code === 'access-removed'))
    assert.match(owner.text.toString(), /Hello! from Bob/)
    assert.equal((await rawClose('doc-b', accounts.bob)).code, CloseCode.Forbidden)
  })

  it('link settings: signed-in viewers, anyone with the link, and back to people only (live)', async () => {
    const owner = client('doc-c', accounts.ada)
    await waitFor(() => owner.provider.synced, 'owner synced')
    owner.text.insert(0, 'linked')
    let answer = await api(linkAccessApiPath('doc-c'), accounts.ada, { method: 'PUT', body: { link: 'signed-in-view' } })
    assert.equal(answer.status, 200)
    const eve = client('doc-c', accounts.eve)
    await waitFor(() => eve.text.toString() === 'linked', 'any signed-in person reads')
    assert.equal((await rawClose('doc-c', null)).code, CloseCode.NotAuthorized)

    answer = await api(linkAccessApiPath('doc-c'), accounts.ada, { method: 'PUT', body: { link: 'anyone' } })
    assert.equal(answer.status, 200)
    const anonymous = client('doc-c', null)
    await waitFor(() => anonymous.text.toString() === 'linked', 'anyone with the link')
    anonymous.text.insert(0, '+')
    await waitFor(() => owner.text.toString() === '+linked', 'and edits')

    await api(linkAccessApiPath('doc-c'), accounts.ada, { method: 'PUT', body: { link: 'people' } })
    await waitFor(() => anonymous.closes.length === 1 && eve.closes.length === 1, 'both closed at once')
    assert.equal(anonymous.closes[0].code, CloseCode.NotAuthorized)
    assert.equal(eve.closes[0].code, CloseCode.Forbidden)
    assert.equal(owner.text.toString(), '+linked')
  })

  it('does not match people by an email address their provider has not verified', async () => {
    const owner = client('doc-g', accounts.ada)
    await waitFor(() => owner.provider.synced, 'owner synced')
    await api(membersApiPath('doc-g'), accounts.ada, { method: 'POST', body: { email: UNVERIFIED.email, role: 'edit' } })
    const unverified = await signIn(UNVERIFIED.email)
    assert.deepEqual((await session(unverified.cookie)).user, { name: UNVERIFIED.name, email: null })
    assert.equal((await rawClose('doc-g', unverified)).code, CloseCode.Forbidden)
  })

  it('only the owner changes access', async () => {
    const owner = client('doc-d', accounts.ada)
    await waitFor(() => owner.provider.synced, 'owner synced')
    await api(membersApiPath('doc-d'), accounts.ada, { method: 'POST', body: { email: BOB.email, role: 'edit' } })
    const answer = await api(membersApiPath('doc-d'), accounts.bob, { method: 'POST', body: { email: EVE.email, role: 'edit' } })
    assert.equal(answer.status, 403)
    const access = (await (await api(accessApiPath('doc-d'), accounts.bob)).json()) as Record<string, unknown>
    assert.deepEqual([access.role, access.owner, access.members], ['edit', false, undefined])
  })
})

describe('the history API under sign-in', () => {
  // The history API came with its own routes: without this check anyone could read a private
  // document's versions, or restore one, by its id.
  it('reads need access, writes need the edit role and the CSRF token', async () => {
    // Opening it makes Ada its owner.
    const owner = client('doc-h', accounts.ada)
    await waitFor(() => owner.provider.synced, 'owner synced')
    await api(membersApiPath('doc-h'), accounts.ada, { method: 'POST', body: { email: BOB.email, role: 'view' } })
    const versions = '/api/documents/doc-h/versions'
    assert.equal((await api(versions, null)).status, 401, 'not signed in')
    assert.equal((await api(versions, accounts.eve)).status, 403, 'signed in without access')
    assert.equal((await api(versions, accounts.bob)).status, 200, 'a viewer browses')
    const name = { method: 'POST', body: { name: 'Draft' } }
    assert.equal((await api(versions, accounts.bob, name)).status, 403, 'a viewer cannot name a version')
    assert.equal((await api(versions, accounts.ada, { ...name, csrf: null })).status, 403, 'no CSRF token')
    const named = await api(versions, accounts.ada, name)
    assert.equal(named.status, 201, 'the owner names a version')
    const { id } = (await named.json()) as { id: string }
    const read = await api(`${versions}/${id}?format=text`, accounts.bob)
    assert.equal(read.status, 200, 'a viewer reads a version')
    assert.equal(((await read.json()) as { version: { id: string } }).version.id, id)
    assert.equal((await api(`${versions}/${id}?format=text`, accounts.eve)).status, 403)
    assert.equal((await api(`${versions}/${id}/restore`, accounts.bob, { method: 'POST', body: {} })).status, 403)
  })
})

describe('CSRF', () => {
  it('refuses every state-changing call without the session CSRF token', async () => {
    const owner = client('doc-e', accounts.ada)
    await waitFor(() => owner.provider.synced, 'owner synced')
    const calls: [string, string, unknown][] = [
      [membersApiPath('doc-e'), 'POST', { email: BOB.email, role: 'edit' }],
      [membersApiPath('doc-e', BOB.email), 'DELETE', undefined],
      [linkAccessApiPath('doc-e'), 'PUT', { link: 'anyone' }],
      [viewLinkApiPath('doc-e'), 'POST', undefined],
      ['/auth/sign-out', 'POST', undefined],
    ]
    for (const [path, method, body] of calls) {
      for (const csrf of [null, 'wrong', accounts.bob.csrf]) {
        const answer = await api(path, accounts.ada, { method, body, csrf })
        assert.equal(answer.status, 403, `${method} ${path} with ${csrf ?? 'no'} token`)
        assert.match(((await answer.json()) as { error: string }).error, /CSRF/)
      }
    }
    // Signing out with the token clears the cookie.
    const eve = await signIn(EVE.email)
    const signOut = await api('/auth/sign-out', eve, { method: 'POST' })
    assert.equal(signOut.status, 204)
    assert.match(signOut.headers.getSetCookie().join(), /chorus_session=; .*Max-Age=0/)
    // The same calls with the token work (the view link, here, for an editor).
    assert.equal((await api(viewLinkApiPath('doc-e'), accounts.ada, { method: 'POST' })).status, 200)
    assert.equal((await api(viewLinkApiPath('doc-e'), accounts.eve, { method: 'POST' })).status, 403)
    // Another site's page is refused by its Origin whatever it sends.
    const crossSite = await fetch(`${server.url}${linkAccessApiPath('doc-e')}`, {
      method: 'PUT',
      headers: { cookie: accounts.ada.cookie, [CSRF_HEADER]: accounts.ada.csrf, origin: 'https://evil.example' },
      body: JSON.stringify({ link: 'anyone' }),
    })
    assert.equal(crossSite.status, 403)
  })
})

describe('turning sign-in on for an existing server', () => {
  it("keeps old documents' links working and gives each an owner; new ones need sign-in", async () => {
    const temp = await makeTempDir()
    scope.defer(() => temp.remove())
    const before = await startTestServer(temp.dir)
    const writer = connectClient(before.wsUrl, 'old-doc')
    await whenSynced(writer)
    writer.doc.getText('t').insert(0, 'written before sign-in')
    await writer.whenSaved()
    writer.destroy()
    await before.close()

    const secret = 'a-session-secret-for-this-test-only-32chars'
    const after = await startTestServer(temp.dir, {
      access: {
        ...DEFAULT_CONFIG.access,
        // Never asked here: the session below is made with the server's own secret.
        oidc: { issuer: 'http://127.0.0.1:9/unused', clientId: 'chorus', clientSecret: 'unused' },
        publicUrl: 'http://127.0.0.1:9',
        sessionSecret: secret,
      },
    })
    scope.defer(() => after.close())
    const anonymous = client('old-doc', null, after)
    await waitFor(() => anonymous.text.toString() === 'written before sign-in', 'the old link still opens it')
    const { frames, closed } = await scope.rawSocket(`${after.wsUrl}/brand-new`)
    assert.deepEqual([(await closed).code, frames.length], [CloseCode.NotAuthorized, 0])

    const sessions = new Sessions(secret, false)
    const ada = await sessions.issue({ sub: 'idp#ada', email: ADA.email, name: ADA.name })
    const cookie = ada.cookie.split(';', 1)[0]
    const owner = client('old-doc', { cookie, csrf: sessions.csrfToken(ada.session) }, after)
    await waitFor(() => owner.provider.synced, 'the first signed-in person to open it')
    const answer = (await (await fetch(`${after.url}${accessApiPath('old-doc')}`, { headers: { cookie } })).json()) as {
      owner: boolean
      link: string
    }
    assert.deepEqual([answer.owner, answer.link], [true, 'anyone'], 'owns it; the link still opens it for anyone')
    anonymous.text.insert(0, '+')
    await waitFor(() => owner.text.toString() === '+written before sign-in', 'and the anonymous editor still edits')
  })
})

describe('ALLOW_PUBLIC_LINKS=false', () => {
  it('refuses the "anyone with the link" setting', async () => {
    const port = await freePort()
    const local = await startIdentityProvider({ redirectUri: `http://127.0.0.1:${port}/auth/callback`, users: [ADA] })
    scope.defer(() => local.close())
    const nobodyServer = await scope.serverWith({
      port,
      access: {
        ...DEFAULT_CONFIG.access,
        oidc: { issuer: local.issuer, clientId: local.clientId, clientSecret: local.clientSecret },
        publicUrl: `http://127.0.0.1:${port}`,
        allowPublicLinks: false,
      },
    })
    const { cookie } = await signInWithFetch(nobodyServer.url, local, ADA.email)
    const me = (await (await fetch(`${nobodyServer.url}/api/session`, { headers: { cookie } })).json()) as { csrf: string }
    const owner = client('doc-f', { cookie, csrf: me.csrf }, nobodyServer)
    await waitFor(() => owner.provider.synced, 'owner synced')
    const answer = await fetch(`${nobodyServer.url}${linkAccessApiPath('doc-f')}`, {
      method: 'PUT',
      headers: { cookie, [CSRF_HEADER]: me.csrf },
      body: JSON.stringify({ link: 'anyone' }),
    })
    assert.equal(answer.status, 403)
    assert.match(((await answer.json()) as { error: string }).error, /ALLOW_PUBLIC_LINKS/)
  })
})

describe('access kept in PostgreSQL', { skip: postgresMissing() ?? false }, () => {
  it('keeps owners, people and link settings across a restart', { timeout: 60_000 }, async () => {
    const postgres = await startPostgres()
    scope.defer(() => postgres.remove())
    const databaseUrl = await postgres.createDatabase()
    const secret = 'a-session-secret-for-this-test-only-32chars'
    const settings = {
      databaseUrl,
      access: {
        ...DEFAULT_CONFIG.access,
        oidc: { issuer: 'http://127.0.0.1:9/unused', clientId: 'chorus', clientSecret: 'unused' },
        publicUrl: 'http://127.0.0.1:9',
        sessionSecret: secret,
      },
    }
    const sessions = new Sessions(secret, false)
    const account = async (person: { email: string; name: string }) => {
      const { cookie, session: made } = await sessions.issue({ sub: `idp#${person.email}`, ...person })
      return { cookie: cookie.split(';', 1)[0], csrf: sessions.csrfToken(made) }
    }
    const [ada, bob, eve] = [await account(ADA), await account(BOB), await account(EVE)]
    const temp = await makeTempDir()
    scope.defer(() => temp.remove())
    let db = await startTestServer(temp.dir, settings)
    const owner = client('pg-doc', ada, db)
    await waitFor(() => owner.provider.synced, 'the owner created it')
    owner.text.insert(0, 'kept')
    const answer = await fetch(`${db.url}${membersApiPath('pg-doc')}`, {
      method: 'POST',
      headers: { cookie: ada.cookie, [CSRF_HEADER]: ada.csrf },
      body: JSON.stringify({ email: BOB.email, role: 'view' }),
    })
    assert.equal(answer.status, 200)
    owner.destroy()
    await db.close()

    db = await startTestServer(temp.dir, settings)
    scope.defer(() => db.close())
    const reader = client('pg-doc', bob, db)
    await waitFor(() => reader.text.toString() === 'kept', 'bob still reads after the restart')
    const { frames, closed } = await scope.rawSocket(`${db.wsUrl}/pg-doc`, { headers: { cookie: eve.cookie } })
    assert.deepEqual([(await closed).code, frames.length], [CloseCode.Forbidden, 0])
  })
})
