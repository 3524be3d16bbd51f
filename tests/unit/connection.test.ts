import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRequire } from 'node:module'
import { SharedMessage } from '../../server/document/shared-message.ts'
import { Connection, type SocketLike, wireFrame } from '../../server/transport/connection.ts'
import { silentLogger } from '../../server/ops/logger.ts'

interface FrameParser {
  on(event: 'message', listener: (payload: Buffer, isBinary: boolean) => void): void
  on(event: 'error', listener: (error: Error) => void): void
  write(chunk: Buffer): void
}
// ws exports its frame parser, though its type definitions leave it out.
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: { isServer: boolean; binaryType: string; maxPayload: number }) => FrameParser
}

/** What ws itself makes of a frame, as a client reading from a server would. */
function readWithWs(wire: Buffer): { payload: Buffer; isBinary: boolean }[] {
  const messages: { payload: Buffer; isBinary: boolean }[] = []
  const receiver = new Receiver({ isServer: false, binaryType: 'nodebuffer', maxPayload: 0 })
  receiver.on('message', (payload, isBinary) => messages.push({ payload, isBinary }))
  receiver.on('error', (error) => assert.fail(`ws refused the frame: ${error.message}`))
  receiver.write(wire)
  return messages
}

describe('wireFrame', () => {
  it('frames payloads of every length encoding as ws reads them', () => {
    // 7-bit, 16-bit and 64-bit lengths, at and across their boundaries.
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]) {
      const payload = Uint8Array.from({ length }, (_, i) => (i * 7) % 256)
      const messages = readWithWs(wireFrame(new SharedMessage(payload)))
      assert.equal(messages.length, 1, `length ${length}`)
      assert.equal(messages[0].isBinary, true)
      assert.deepEqual(new Uint8Array(messages[0].payload), payload, `length ${length}`)
    }
  })

  it('is framed once, however many connections it goes to', () => {
    const message = new SharedMessage(Uint8Array.of(1, 2, 3))
    assert.equal(wireFrame(message), wireFrame(message))
  })
})

describe('Connection.sendShared', () => {
  it('sends the plain payload through a socket that is not a ws WebSocket', () => {
    const sent: Uint8Array[] = []
    const socket: SocketLike = {
      readyState: 1,
      bufferedAmount: 0,
      send: (data) => sent.push(data),
      close: () => {},
      terminate: () => {},
      ping: () => {},
      pause: () => {},
      resume: () => {},
    }
    const info = { docId: 'd', readOnly: false, viewId: null, wantsExtensions: false, remoteAddress: '127.0.0.1' }
    const limits = { rateLimitMessagesPerSecond: 0, rateLimitBytesPerSecond: 0, rateLimitGraceMs: 0, maxBufferedBytes: 1 << 20 }
    const connection = new Connection(socket, info, limits, silentLogger)
    const payload = Uint8Array.of(0, 2, 1, 0)
    connection.sendShared(new SharedMessage(payload))
    assert.deepEqual(sent, [payload])
  })
})
