import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ObservableV2 } from 'lib0/observable'
import type { WebsocketProvider } from 'y-websocket'
import { SessionEndWatch, describeSessionEnd } from '../../components/lib/session-end.ts'
import { CloseCode, type Notice } from '../../lib/protocol.ts'

const tooLarge: Notice = {
  level: 'error',
  code: 'document-too-large',
  message: 'This change would make the document larger than the server allows (10 MB)',
}

// Root cause: only view-link closes were told apart; any other final close left a generic "Disconnected".
test("a refused change says the server's words, that it is not saved, and what to do", () => {
  const end = describeSessionEnd({ code: CloseCode.ChangeTooLarge, reason: 'change too large' }, tooLarge)
  assert.equal(end.kind, 'change-too-large')
  assert.equal(end.takesDocumentAway, false)
  assert.equal(end.noticeCode, 'document-too-large')
  assert.match(end.message, /^This change would make the document larger than the server allows \(10 MB\)\. /)
  assert.match(end.message, /reload the page/)
})

test('without a notice, the close code still says what happened', () => {
  const tooBig = describeSessionEnd({ code: CloseCode.ChangeTooLarge, reason: '' }, null)
  assert.equal(tooBig.kind, 'change-too-large')
  assert.equal(tooBig.noticeCode, null)
  assert.match(tooBig.message, /^The server refused a change too large for this document\./)
  // A frame past the server's largest message (ws closes with 1009, no reason): no better on retry.
  assert.equal(describeSessionEnd({ code: CloseCode.MessageTooBig, reason: '' }, null).kind, 'change-too-large')
  const damaged = describeSessionEnd({ code: CloseCode.DocumentUnavailable, reason: 'x' }, null)
  assert.equal(damaged.kind, 'document-unavailable')
  assert.match(damaged.message, /could not read this document/)
})

test('any other final close shows its reason, or its code when it has none', () => {
  const malformed = describeSessionEnd(
    { code: CloseCode.MalformedMessage, reason: 'text frames are not part of the protocol' },
    null,
  )
  assert.equal(malformed.kind, 'refused')
  assert.match(
    malformed.message,
    /^The server ended the connection: text frames are not part of the protocol\. .*Reload the page/,
  )
  assert.match(describeSessionEnd({ code: 4499, reason: '' }, null).message, /\(code 4499\)/)
})

test('a reset or unknown view link takes the document away', () => {
  assert.equal(describeSessionEnd({ code: CloseCode.ViewLinkRevoked, reason: '' }, null).kind, 'view-link-reset')
  assert.equal(describeSessionEnd({ code: CloseCode.ViewLinkNotFound, reason: '' }, null).takesDocumentAway, true)
})

test('the watch uses the error notice of the connection that closed, not an earlier one', () => {
  // biome-ignore lint/suspicious/noExplicitAny: stands in for the provider, whose events take anything
  const provider = new ObservableV2<Record<string, (...args: any[]) => void>>()
  const watch = new SessionEndWatch(provider as unknown as WebsocketProvider)
  watch.noticeReceived({ level: 'info', code: 'hello', message: 'Welcome' })
  watch.noticeReceived(tooLarge)
  provider.emit('status', [{ status: 'connecting' }])
  provider.emit('closed', [{ code: 4400, reason: 'bad frame' }])
  assert.equal(watch.ended.get()?.kind, 'refused')
  assert.match(watch.ended.get()!.message, /bad frame/)

  watch.noticeReceived(tooLarge)
  provider.emit('closed', [{ code: CloseCode.ChangeTooLarge, reason: '' }])
  assert.equal(watch.ended.get()?.noticeCode, 'document-too-large')
  watch.destroy()
})
