import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { parseSyncPath } from '../../server/transport/sync-endpoint.ts'
import { closeCodeLabel, messageKind, REFUSAL_CODES, refusalCode } from '../../server/transport/traffic.ts'
import {
  encodeAwarenessFrame,
  encodeNotice,
  encodeSavedState,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
} from '../../lib/protocol.ts'

describe('refusal codes', () => {
  // Root cause this guards against: the reason label is matched on the refusal's wording, so a
  // new or reworded refusal would silently count as 'other'.
  it('name every refusal the sync endpoint makes, with its status', () => {
    const source = readFileSync(new URL('../../server/transport/sync-endpoint.ts', import.meta.url), 'utf8')
    const refusals = [...source.matchAll(/new Refusal\((\d+), '([^']+)'/g)].map(([, status, reason]) => ({
      status: Number(status),
      reason,
    }))
    assert.ok(refusals.length >= 7, 'found the refusals in the source')
    for (const { status, reason } of refusals) {
      const code = refusalCode(reason)
      assert.notEqual(code, 'other', `"${reason}" has a code`)
      assert.equal(REFUSAL_CODES.find((entry) => entry.code === code)?.status, status, `"${reason}" is refused with ${status}`)
    }
    // The one refusal whose reason is not a literal: an invalid document name.
    for (const path of ['/sync/a/b', '/sync/%ff', '/sync/']) {
      const route = parseSyncPath(path)
      assert.equal(route?.kind, 'invalid', path)
      if (route?.kind === 'invalid') assert.equal(refusalCode(route.reason), 'invalid-name', route.reason)
    }
  })

  it('keeps close codes bounded', () => {
    assert.equal(closeCodeLabel(1012), '1012')
    assert.equal(closeCodeLabel(4404), '4404')
    assert.equal(closeCodeLabel(3999), 'other')
    assert.equal(closeCodeLabel(4777), 'other')
  })

  it('tells message kinds apart from their first bytes', () => {
    assert.equal(messageKind(encodeSyncStep1(new Uint8Array([0]))), 'sync-step1')
    assert.equal(messageKind(encodeSyncStep2(new Uint8Array([0, 0]))), 'sync-step2')
    assert.equal(messageKind(encodeSyncUpdate(new Uint8Array([0, 0]))), 'sync-update')
    assert.equal(messageKind(encodeAwarenessFrame(new Uint8Array([0]))), 'awareness')
    assert.equal(messageKind(encodeSavedState(new Uint8Array([0]))), 'saved-state')
    assert.equal(messageKind(encodeNotice({ level: 'info', code: 'x', message: '' })), 'notice')
    assert.equal(messageKind(new Uint8Array([9])), 'other')
  })
})
