import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GracefulStop, SAME_REQUEST_MS } from '../../server/ops/graceful-stop.ts'
import { createLogger } from '../../server/ops/logger.ts'
import { waitFor } from '../support/wait-for.ts'

/** A stand-in for the running server: records what was asked of it; close() waits for the test. */
function fakeServer() {
  const calls: string[] = []
  let finishClose: () => void = () => {}
  return {
    calls,
    finishClose: () => finishClose(),
    health: { markStopping: () => calls.push('markStopping') },
    close: () => {
      calls.push('close')
      return new Promise<void>((resolve) => (finishClose = resolve))
    },
  }
}

describe('GracefulStop', () => {
  it('marks stopping at once, closes only after the drain, and exits 0 once stored', async () => {
    const server = fakeServer()
    const exits: number[] = []
    const stop = new GracefulStop(server as never, 60, createLogger('silent'), (code) => exits.push(code))
    stop.request('SIGTERM')
    assert.deepEqual(server.calls, ['markStopping'])
    await waitFor(() => server.calls.includes('close'), 'closed after the drain')
    assert.deepEqual(exits, [])
    server.finishClose()
    await waitFor(() => exits.length > 0, 'exited')
    assert.deepEqual(exits, [0])
  })

  it('takes copies of one signal as one request; a later one ends the drain; none cuts the storing short', async () => {
    const server = fakeServer()
    const exits: number[] = []
    const lines: string[] = []
    const stop = new GracefulStop(
      server as never,
      60_000,
      createLogger('info', (line) => lines.push(line)),
      (code) => exits.push(code),
    )
    const first = performance.now()
    stop.request('SIGTERM')
    stop.request('SIGTERM') // the copy through the start script
    assert.deepEqual(server.calls, ['markStopping'])
    await waitFor(() => performance.now() - first > SAME_REQUEST_MS, 'past the same-request window')
    stop.request('SIGTERM')
    await waitFor(() => server.calls.includes('close'), 'the drain ended early')
    stop.request('SIGINT')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(exits, [], 'still storing')
    assert.ok(lines.some((line) => /already stopping/.test(line)))
    server.finishClose()
    await waitFor(() => exits.length > 0, 'exited')
    assert.deepEqual(exits, [0])
  })

  it('the start script dying ends the drain at once (nobody routes traffic to us any more)', async () => {
    const server = fakeServer()
    const stop = new GracefulStop(server as never, 60_000, createLogger('silent'), () => {})
    stop.request('SIGTERM')
    stop.request('start script exited', { drain: false })
    await waitFor(() => server.calls.includes('close'), 'closed without waiting out the drain')
    server.finishClose()
  })
})
