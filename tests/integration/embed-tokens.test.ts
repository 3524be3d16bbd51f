/**
 * Tokens for apps that embed Chorus (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY), proven at the socket
 * with stock y-websocket 3.1 clients: the token goes in the `token` URL parameter; a view token
 * never writes; a missing, expired, forged or other document's token is accepted then closed
 * with 4401 and a reason, before any byte of the document; an expiring token is renewed in place.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { CloseCode } from '../../lib/protocol.ts'
import { DEFAULT_CONFIG, type ServerConfig } from '../../server/config.ts'
import type { TokenKey } from '../../server/access/tokens.ts'
import { TestScope, type TestServer } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const scope = new TestScope()
afterEach(() => scope.cleanup())

const SECRET = 'an-embedding-apps-secret-of-32-characters-or-more'

function withTokens(jwt: TokenKey): Partial<ServerConfig> {
  return { access: { ...DEFAULT_CONFIG.access, jwt } }
}

interface Claims {
  sub?: string
  name?: string
  color?: string
  doc?: string
  role?: string
  /** Seconds from now. */
  expiresIn?: number
}

/** What an embedding app's backend does: sign a short-lived token for one user and one document. */
function mint(
  { sub = 'user-1', name = 'Ada', color, doc = 'doc', role = 'edit', expiresIn = 600 }: Claims,
  key: Uint8Array | CryptoKey | import('node:crypto').KeyObject = new TextEncoder().encode(SECRET),
  alg = 'HS256',
): Promise<string> {
  return new SignJWT({ name, doc, role, ...(color ? { color } : {}) })
    .setProtectedHeader({ alg })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(key)
}

/** A stock y-websocket 3.1 client, as an embedding app writes it. */
function stockClient(server: TestServer, docId: string, token: string | null) {
  const doc = new Y.Doc()
  let sockets = 0
  // Counts the sockets the client opens: one per connection attempt.
  class CountingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols)
      sockets++
    }
  }
  const provider = new WebsocketProvider(server.wsUrl, docId, doc, {
    WebSocketPolyfill: CountingWebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: token ? { token } : {},
  })
  const closes: { code: number; reason: string }[] = []
  provider.on('closed', (close) => closes.push(close))
  scope.defer(() => {
    provider.destroy()
    doc.destroy()
  })
  return { doc, provider, closes, text: doc.getText('t'), connects: () => sockets }
}

/** Opens a raw socket and reports how it was closed and whether any byte came first. */
async function refusal(url: string) {
  const { frames, closed } = await scope.rawSocket(url)
  const close = await closed
  return { ...close, frames: frames.length }
}

describe('tokens for embedding apps (AUTH_JWT_SECRET)', () => {
  it('lets an edit token write and a view token only read', async () => {
    const server = await scope.serverWith(withTokens({ kind: 'secret', secret: SECRET }))
    const editor = stockClient(server, 'doc', await mint({ sub: 'ed', role: 'edit' }))
    const viewer = stockClient(server, 'doc', await mint({ sub: 'vi', role: 'view' }))
    await waitFor(() => editor.provider.synced && viewer.provider.synced, 'both synced')
    editor.text.insert(0, 'from the editor')
    await waitFor(() => viewer.text.toString() === 'from the editor', 'the viewer sees the edit')
    viewer.text.insert(0, 'VIEWER WRITES ')
    // The editor writes after the viewer: once it arrives, the viewer's write would have too.
    editor.text.insert(editor.text.length, '.')
    await waitFor(() => viewer.text.toString().endsWith('.'), 'the later edit reaches the viewer')
    const served = server.documents.get('doc')
    assert.ok(served)
    await waitFor(() => server.documents.get('doc')!.connections.size === 2, 'two connections')
    assert.equal(editor.text.toString(), 'from the editor.')
    assert.equal(viewer.provider.wsconnected, true, 'the viewer stays connected; its writes are dropped')
  })

  it('closes with 4401 and a reason, before any document byte, without a token or with a bad one', async () => {
    const server = await scope.serverWith(withTokens({ kind: 'secret', secret: SECRET }))
    const forgedKey = new TextEncoder().encode('another-secret-that-is-also-32-characters-long')
    const cases: [string, string | null, RegExp][] = [
      ['no token', null, /token is required/],
      ['expired', await mint({ expiresIn: -60 }), /expired/],
      ['forged', await mint({}, forgedKey), /signature/],
      ['other document', await mint({ doc: 'other' }), /another document/],
      ['bad role', await mint({ role: 'admin' }), /role/],
      ['garbage', 'not-a-jwt', /malformed/],
    ]
    for (const [name, token, reason] of cases) {
      const url = `${server.wsUrl}/doc${token ? `?token=${encodeURIComponent(token)}` : ''}`
      const closed = await refusal(url)
      assert.equal(closed.code, CloseCode.NotAuthorized, name)
      assert.match(closed.reason, reason, name)
      assert.equal(closed.frames, 0, `${name}: nothing of the document was sent`)
    }
    assert.equal(server.documents.get('doc'), undefined, 'the document was never even opened')
  })

  it('stops a stock 3.1 client for good on a refused token (no retry storm)', async () => {
    const server = await scope.serverWith(withTokens({ kind: 'secret', secret: SECRET }))
    const refused = stockClient(server, 'doc', await mint({ expiresIn: -60 }))
    await waitFor(() => refused.closes.length === 1, 'the client reports the final close')
    assert.equal(refused.closes[0].code, CloseCode.NotAuthorized)
    assert.match(refused.closes[0].reason, /expired/)
    assert.equal(refused.provider.shouldConnect, false)
    assert.equal(refused.connects(), 1)
  })

  it("shows the token's name and colour in presence, whatever the client claims", async () => {
    const server = await scope.serverWith(withTokens({ kind: 'secret', secret: SECRET }))
    const ada = stockClient(server, 'doc', await mint({ sub: 'ada', name: 'Ada', color: '#123456' }))
    const other = stockClient(server, 'doc', await mint({ sub: 'other', name: 'Other' }))
    await waitFor(() => ada.provider.synced && other.provider.synced, 'both synced')
    ada.provider.awareness.setLocalStateField('user', { name: 'Mallory', color: '#ff0000' })
    const seen = () => other.provider.awareness.getStates().get(ada.doc.clientID) as { user?: { name: string; color: string } }
    await waitFor(() => seen()?.user !== undefined, "the other sees Ada's presence")
    assert.deepEqual(seen().user, { name: 'Ada', color: '#123456' })
  })

  it('accepts "*" for every document', async () => {
    const server = await scope.serverWith(withTokens({ kind: 'secret', secret: SECRET }))
    const client = stockClient(server, 'any-doc', await mint({ doc: '*' }))
    await waitFor(() => client.provider.synced, 'synced with a wildcard token')
  })

  it('renews an expiring token without losing edits or a reconnect storm', async () => {
    const server = await scope.serverWith(withTokens({ kind: 'secret', secret: SECRET }))
    const expiresIn = 1
    const writer = stockClient(server, 'doc', await mint({ sub: 'writer', expiresIn }))
    const reader = stockClient(server, 'doc', await mint({ sub: 'reader' }))
    await waitFor(() => writer.provider.synced && reader.provider.synced, 'both synced')
    const expiredAt = Date.now() + expiresIn * 1000 + 5_500 // past the 5 s clock tolerance
    writer.text.insert(0, 'a')
    await waitFor(() => reader.text.toString() === 'a', 'edit before expiry')
    // An open connection outlives its token, as with Hocuspocus: edits go on.
    await waitFor(() => Date.now() > expiredAt, 'the token expired', 15_000)
    writer.text.insert(1, 'b')
    await waitFor(() => reader.text.toString() === 'ab', 'edit after expiry on the open connection')

    // The app renews the parameter before the connection drops (a deploy): one reconnect, accepted.
    writer.provider.params.token = await mint({ sub: 'writer' })
    const before = writer.connects()
    const dropWriter = () => {
      for (const connection of server.documents.get('doc')!.connections) {
        if ((connection as { person?: { sub: string } }).person?.sub === 'writer') connection.close(1012, 'server restarting')
      }
    }
    dropWriter()
    await waitFor(() => writer.connects() > before && writer.provider.synced, 'reconnected with the renewed token')
    writer.text.insert(2, 'c')
    await waitFor(() => reader.text.toString() === 'abc', 'edit after renewal')
    assert.equal(writer.connects(), before + 1, 'one reconnect')
    assert.equal(writer.closes.length, 0)

    // Had the app not renewed it, the reconnect is refused once with a final 4401, and what was
    // typed meanwhile waits in the client until a renewed token connects it.
    writer.provider.params.token = await mint({ sub: 'writer', expiresIn: -60 })
    dropWriter()
    await waitFor(() => writer.closes.length === 1, 'refused with the expired token')
    assert.equal(writer.closes[0].code, CloseCode.NotAuthorized)
    writer.text.insert(3, 'd')
    writer.provider.params.token = await mint({ sub: 'writer' })
    writer.provider.connect()
    await waitFor(() => reader.text.toString() === 'abcd', 'the edit typed while refused arrives after renewal')
  })
})

describe('tokens signed with a key pair (AUTH_JWT_PUBLIC_KEY)', () => {
  for (const [alg, type] of [
    ['EdDSA', 'ed25519'],
    ['RS256', 'rsa'],
  ] as const) {
    it(`verifies ${alg} tokens and refuses HS256 ones made with the public key`, async () => {
      const { publicKey, privateKey } =
        type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      const server = await scope.serverWith(withTokens({ kind: 'public-key', pem }))
      const client = stockClient(server, 'doc', await mint({}, privateKey, alg))
      await waitFor(() => client.provider.synced, `synced with an ${alg} token`)
      // The classic confusion attack: the public key used as an HMAC secret.
      const confused = await mint({}, new TextEncoder().encode(pem))
      const closed = await refusal(`${server.wsUrl}/doc?token=${confused}`)
      assert.equal(closed.code, CloseCode.NotAuthorized)
      assert.match(closed.reason, /algorithm/)
    })
  }
})
