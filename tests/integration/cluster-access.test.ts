/**
 * Live revocation across instances: the owner removes someone through one instance while they
 * edit through another; the other instance hears it through Redis, reads the shared access and
 * closes their socket with 4403 at once. The instances share a session secret, as a deployment
 * behind a load balancer must (SESSION_SECRET).
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { CloseCode } from '../../lib/protocol.ts'
import { CSRF_HEADER, membersApiPath } from '../../lib/routes.ts'
import { Sessions } from '../../server/access/sessions.ts'
import { DEFAULT_CONFIG } from '../../server/config.ts'
import { startInstance, type Instance } from '../support/cluster.ts'
import { REDIS_MISSING, redisAvailable, startRedis, type TestRedis } from '../support/redis.ts'
import { SharedDatabase } from '../support/shared-store.ts'
import { TestScope } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

const skip = redisAvailable() ? false : REDIS_MISSING
const SECRET = 'one-session-secret-for-every-instance-of-this-cluster'

describe('revocation across instances', { skip }, () => {
  let redis: TestRedis
  const scope = new TestScope()
  before(async () => {
    redis = await startRedis()
  })
  after(() => redis?.remove())
  afterEach(() => scope.cleanup())

  it('closes a removed person on another instance at once', async () => {
    const db = new SharedDatabase()
    // Sign-in on, with sessions made here: the provider is never asked (these people signed in before).
    const access = {
      ...DEFAULT_CONFIG.access,
      oidc: { issuer: 'http://127.0.0.1:9/never-asked', clientId: 'chorus', clientSecret: 'unused' },
      publicUrl: 'http://127.0.0.1:9',
      sessionSecret: SECRET,
    }
    const instances: Instance[] = []
    for (const name of ['a', 'b']) {
      const instance = await startInstance(db, redis.url, name, { access })
      scope.defer(() => instance.close())
      instances.push(instance)
    }
    const [a, b] = instances
    const sessions = new Sessions(SECRET, false)
    const ada = await sessions.issue({ sub: 'idp#ada', email: 'ada@example.com', name: 'Ada' })
    const bob = await sessions.issue({ sub: 'idp#bob', email: 'bob@example.com', name: 'Bob' })
    const cookieOf = (line: string) => line.split(';', 1)[0]

    const connect = (instance: Instance, cookie: string) => {
      const doc = new Y.Doc()
      class CookieWebSocket extends WebSocket {
        constructor(address: string | URL, protocols?: string | string[]) {
          super(address, protocols, { headers: { cookie } })
        }
      }
      const provider = new WebsocketProvider(instance.wsUrl, 'team-doc', doc, {
        WebSocketPolyfill: CookieWebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
      })
      const closes: number[] = []
      provider.on('closed', ({ code }) => closes.push(code))
      scope.defer(() => {
        provider.destroy()
        doc.destroy()
      })
      return { provider, closes, text: doc.getText('t') }
    }

    const owner = connect(a, cookieOf(ada.cookie))
    await waitFor(() => owner.provider.synced, 'the owner created the document on a')
    const share = (method: string, path: string, body?: unknown) =>
      fetch(`${a.server.url}${path}`, {
        method,
        headers: {
          cookie: cookieOf(ada.cookie),
          [CSRF_HEADER]: sessions.csrfToken(ada.session),
          'content-type': 'application/json',
        },
        body: body ? JSON.stringify(body) : undefined,
      })
    assert.equal((await share('POST', membersApiPath('team-doc'), { email: 'bob@example.com', role: 'edit' })).status, 200)
    const guest = connect(b, cookieOf(bob.cookie))
    await waitFor(() => guest.provider.synced, 'bob edits through b')
    guest.text.insert(0, 'from b')
    await waitFor(() => owner.text.toString() === 'from b', "bob's edit reaches the owner on a")

    assert.equal((await share('DELETE', membersApiPath('team-doc', 'bob@example.com'))).status, 200)
    await waitFor(() => guest.closes.length === 1, 'bob closed on b')
    assert.equal(guest.closes[0], CloseCode.Forbidden)
    assert.equal(owner.text.toString(), 'from b')
  })
})
