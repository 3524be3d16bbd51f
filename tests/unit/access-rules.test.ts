/**
 * The pure rules of sign-in and access: who gets which role from a document's owner, people and
 * link setting; the settings' parsing; what a page says when the server refuses it.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { CloseCode } from '../../lib/protocol.ts'
import { decide, type DocumentAccess, type LinkAccess, type Person } from '../../server/access/permissions.ts'
import { ConfigError, loadConfig } from '../../server/config.ts'
import { describeSessionEnd } from '../../components/lib/session-end.ts'
import { Sessions } from '../../server/access/sessions.ts'

const owner: Person = { sub: 'idp#ada', email: 'ada@example.com', name: 'Ada' }
const bob: Person = { sub: 'idp#bob', email: 'Bob@Example.com', name: 'Bob' }
const eve: Person = { sub: 'idp#eve', email: 'eve@example.com', name: 'Eve' }

function access(link: LinkAccess, members: DocumentAccess['members'] = []): DocumentAccess {
  return { owner, members, link }
}

const roleOf = (doc: DocumentAccess, person: Person | null, allowPublic = true) => {
  const decision = decide(doc, person, allowPublic)
  return 'role' in decision ? decision.role : decision.refused
}

describe('decide', () => {
  it('the owner always edits; people added get their role, matched by email whatever its case', () => {
    const doc = access('people', [{ email: 'bob@example.com', role: 'view' }])
    assert.equal(roleOf(doc, owner), 'edit')
    assert.equal(roleOf(doc, bob), 'view')
    assert.equal(roleOf(doc, eve), 'no-access')
    assert.equal(roleOf(doc, null), 'sign-in')
  })

  it('link settings open the document to signed-in people or to anyone', () => {
    assert.equal(roleOf(access('signed-in-view'), eve), 'view')
    assert.equal(roleOf(access('signed-in-view'), null), 'sign-in')
    assert.equal(roleOf(access('signed-in-edit'), eve), 'edit')
    assert.equal(roleOf(access('anyone'), null), 'edit')
    // The better of the two: added to edit on a signed-in-view link still edits.
    assert.equal(roleOf(access('signed-in-view', [{ email: 'bob@example.com', role: 'edit' }]), bob), 'edit')
  })

  it('ALLOW_PUBLIC_LINKS=false keeps out whoever is not signed in, even on an older "anyone" setting', () => {
    assert.equal(roleOf(access('anyone'), null, false), 'sign-in')
    assert.equal(roleOf(access('anyone'), eve, false), 'edit')
  })
})

describe('access settings', () => {
  it('are off by default', () => {
    const { access } = loadConfig({})
    assert.deepEqual(access, {
      jwt: undefined,
      oidc: undefined,
      publicUrl: undefined,
      allowPublicLinks: true,
      sessionSecret: undefined,
    })
  })

  it('refuse half a sign-in setup, short secrets, both token settings and keys that cannot verify', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ OIDC_ISSUER: 'https://id.example.com' }, /OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, PUBLIC_URL/],
      [{ AUTH_JWT_SECRET: 'short' }, /at least 32/],
      [{ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWT_PUBLIC_KEY: 'y' }, /not both/],
      [{ AUTH_JWT_PUBLIC_KEY: '/nonexistent/key.pem' }, /not a PEM key, nor a readable file/],
      [{ ALLOW_PUBLIC_LINKS: 'maybe' }, /true or false/],
      [{ PUBLIC_URL: 'chorus.example.com' }, /http\(s\) address/],
    ]
    for (const [env, message] of cases)
      assert.throws(
        () => loadConfig(env),
        (error) => error instanceof ConfigError && message.test(error.message),
      )
    const { publicKey } = generateKeyPairSync('x25519')
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    assert.throws(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: pem }), /Ed25519 or RSA/)
  })

  it('read a whole sign-in setup and a PEM written on one line', () => {
    const { publicKey } = generateKeyPairSync('ed25519')
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString().replaceAll('\n', '\\n')
    const { access } = loadConfig({
      OIDC_ISSUER: 'https://id.example.com/realms/team',
      OIDC_CLIENT_ID: 'chorus',
      OIDC_CLIENT_SECRET: 's3cret',
      PUBLIC_URL: 'https://chorus.example.com/',
      ALLOW_PUBLIC_LINKS: 'false',
      AUTH_JWT_PUBLIC_KEY: pem,
    })
    assert.equal(access.publicUrl, 'https://chorus.example.com')
    assert.equal(access.allowPublicLinks, false)
    assert.equal(access.jwt?.kind, 'public-key')
  })
})

describe('what the page says when access ends', () => {
  it('asks to sign in on 4401, and says access was removed on 4403 with the notice', () => {
    const signIn = describeSessionEnd({ code: CloseCode.NotAuthorized, reason: 'sign in to open this document' }, null)
    assert.equal(signIn.kind, 'sign-in-needed')
    assert.equal(signIn.takesDocumentAway, true)
    const expired = describeSessionEnd({ code: CloseCode.NotAuthorized, reason: 'token expired; get a new one' }, null)
    assert.match(expired.message, /^Token expired/)
    const removed = describeSessionEnd(
      { code: CloseCode.Forbidden, reason: 'your access to this document was removed' },
      { level: 'error', code: 'access-removed', message: 'The owner removed your access to this document.' },
    )
    assert.deepEqual([removed.kind, removed.heading, removed.takesDocumentAway], ['no-access', 'Your access was removed', true])
  })
})

describe('sessions', () => {
  it('are Secure cookies behind TLS, read back only with the same secret, each with its own CSRF token', async () => {
    const secure = new Sessions('a-session-secret-of-at-least-32-chars', true)
    const { cookie, session } = await secure.issue(owner)
    assert.match(cookie, /^chorus_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800; Secure$/)
    const header = cookie.split(';', 1)[0]
    assert.deepEqual(await secure.read(`other=1; ${header}`), session)
    assert.equal(await new Sessions('another-secret-of-at-least-32-chars!', true).read(header), null)
    const second = await secure.issue(owner)
    assert.notEqual(secure.csrfToken(session), secure.csrfToken(second.session))
    assert.equal(secure.checkCsrf(session, secure.csrfToken(session)), true)
    assert.equal(secure.checkCsrf(session, secure.csrfToken(second.session)), false)
    assert.equal(secure.checkCsrf(session, undefined), false)
  })
})
