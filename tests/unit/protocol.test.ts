import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import {
  MessageType,
  ProtocolError,
  decodeClientMessage,
  decodeNoticePayload,
  encodeAwarenessFrame,
  encodeNotice,
  encodeSavedState,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
} from '../../lib/protocol.ts'

describe('protocol encoding', () => {
  it('round-trips every client message type', () => {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'hi')
    const update = Y.encodeStateAsUpdate(doc)
    const sv = Y.encodeStateVector(doc)
    assert.deepEqual(decodeClientMessage(encodeSyncStep1(sv)), { type: 'sync-step1', stateVector: sv })
    assert.deepEqual(decodeClientMessage(encodeSyncStep2(update)), { type: 'sync-step2', update })
    assert.deepEqual(decodeClientMessage(encodeSyncUpdate(update)), { type: 'sync-update', update })
    assert.deepEqual(decodeClientMessage(encodeAwarenessFrame(Uint8Array.of(0))), { type: 'awareness', update: Uint8Array.of(0) })
    assert.deepEqual(decodeClientMessage(Uint8Array.of(MessageType.QueryAwareness)), { type: 'query-awareness' })
  })

  it('encodes the saved-state extension as type, then the state vector', () => {
    const sv = Y.encodeStateVector(new Y.Doc())
    const decoder = decoding.createDecoder(encodeSavedState(sv))
    assert.equal(decoding.readVarUint(decoder), MessageType.SavedState)
    assert.deepEqual(decoding.readVarUint8Array(decoder), sv)
    assert.equal(decoding.hasContent(decoder), false)
  })

  it('round-trips notices and rejects malformed ones', () => {
    const notice = { level: 'error' as const, code: 'document-too-large', message: 'This document is full.' }
    const decoder = decoding.createDecoder(encodeNotice(notice))
    assert.equal(decoding.readVarUint(decoder), MessageType.Notice)
    assert.deepEqual(decodeNoticePayload(decoder), notice)
    const bad = decoding.createDecoder(Uint8Array.of(2, 0x7b, 0x7d)) // "{}"
    assert.throws(() => decodeNoticePayload(bad), /malformed notice/)
  })
})

describe('protocol decoding of what other clients send', () => {
  it("passes over other servers' message types and unknown sync types, whatever follows them", () => {
    // Root cause of needless closes: unknown types were treated as malformed, where y-websocket's
    // server ignores them (Hocuspocus clients, for one, send type 102).
    assert.deepEqual(decodeClientMessage(Uint8Array.of(42)), { type: 'unknown', messageType: 42 })
    assert.deepEqual(decodeClientMessage(Uint8Array.of(102, 5, 1, 2, 3)), { type: 'unknown', messageType: 102 })
    assert.deepEqual(decodeClientMessage(Uint8Array.of(0, 9, 0)), { type: 'unknown', messageType: 0 })
  })
})

describe('protocol decoding of bad input', () => {
  const cases: [string, Uint8Array][] = [
    ['empty frame', new Uint8Array(0)],
    ['truncated varint', Uint8Array.of(0x80)],
    ['sync message without payload', Uint8Array.of(0, 2)],
    ['length past the end', Uint8Array.of(0, 2, 5, 1, 2)],
    ['trailing bytes', Uint8Array.of(0, 2, 1, 0, 99)],
    ['awareness length past the end', Uint8Array.of(1, 10)],
    ['huge varint', Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)],
  ]
  for (const [name, frame] of cases) {
    it(`rejects ${name} with a ProtocolError`, () => {
      assert.throws(() => decodeClientMessage(frame), ProtocolError)
    })
  }

  it('does not read past the frame into the rest of a pooled buffer', () => {
    // ws hands out Buffers that are slices of a larger allocation; a lying length must fail,
    // not return bytes that belong to someone else.
    const pool = new Uint8Array(64).fill(7)
    pool.set([0, 2, 20, 1, 2], 10)
    const frame = pool.subarray(10, 15)
    assert.throws(() => decodeClientMessage(frame), /exceeds/)
  })
})
