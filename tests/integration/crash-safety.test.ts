/**
 * A `kill -9` of the server process loses nothing that was confirmed as saved: the confirmation
 * is only sent after LevelDB's synced write has completed.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { startChorus } from '../support/chorus-process.ts'
import { connectClient, whenSynced, type TestClient } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'
import { clockOf } from '../../lib/state-vector.ts'

describe('crash safety', () => {
  it('keeps every confirmed update through kill -9 while edits are still in flight', async () => {
    const chorus = await startChorus({ entry: 'standalone' })
    const clients: TestClient[] = []
    const connect = () => {
      const client = connectClient(chorus.wsUrl, 'crash-test')
      clients.push(client)
      return client
    }
    try {
      let expected = ''
      for (let round = 0; round < 3; round++) {
        const writer = connect()
        await whenSynced(writer)
        const text = writer.doc.getText('t')
        assert.equal(text.toString(), expected, `round ${round} starts from what survived`)
        // Type continuously until a confirmation covers a good amount of it.
        let typed = 0
        const type = () => text.insert(text.length, `${round}.${typed++};`)
        const typing = setInterval(() => {
          for (let i = 0; i < 5; i++) type()
        }, 1)
        await waitFor(
          () => (writer.savedStateVector?.get(writer.doc.clientID) ?? 0) > 200,
          'a confirmation after some typing',
          20_000,
        )
        clearInterval(typing)
        const confirmedClock = writer.savedStateVector!.get(writer.doc.clientID)!
        // One more edit goes out now, so the crash always has an unconfirmed update in flight.
        type()
        const typedText = text.toString()
        assert.ok(clockOf(writer.doc, writer.doc.clientID) > confirmedClock, 'an unconfirmed edit is in flight')
        await chorus.kill9()
        writer.destroy()

        await chorus.restart()
        const reader = connect()
        await whenSynced(reader, 20_000)
        const recovered = reader.doc.getText('t').toString()
        const recoveredClock = clockOf(reader.doc, writer.doc.clientID)
        reader.destroy()
        assert.ok(
          recoveredClock >= confirmedClock,
          `round ${round}: recovered clock ${recoveredClock} >= confirmed ${confirmedClock}`,
        )
        // What survived is exactly a prefix of what was typed (nothing reordered or corrupted).
        assert.ok(typedText.startsWith(recovered), `round ${round}: recovered text is a prefix of the typed text`)
        expected = recovered
      }
    } finally {
      for (const client of clients) client.destroy()
      await chorus.cleanup()
    }
  })
})
