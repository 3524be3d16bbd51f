/**
 * LOG_FORMAT=json on a real server process: every line a log shipper reads is one JSON object with
 * time, level and message, and the lines about a connection name its document and connection.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { startChorus } from '../support/chorus-process.ts'
import { connectClient, whenSynced } from '../support/sync-harness.ts'
import { waitFor } from '../support/wait-for.ts'

describe('LOG_FORMAT=json', () => {
  it('writes one JSON object per line, with document and connection where they apply', { timeout: 30_000 }, async () => {
    const chorus = await startChorus({ entry: 'standalone', env: { LOG_FORMAT: 'json', LOG_LEVEL: 'debug' } })
    try {
      const client = connectClient(chorus.wsUrl, 'json-log-doc')
      await whenSynced(client)
      client.doc.getText('t').insert(0, 'hello')
      await client.whenSaved()
      client.destroy()
      await waitFor(() => /connection closed/.test(chorus.output()), 'the close logged')
      assert.equal(await chorus.stop(), 0)
      // The ready line on stdout is for people and scripts waiting for it; everything else is JSON.
      const lines = chorus
        .output()
        .trimEnd()
        .split('\n')
        .filter((line) => !line.startsWith('Chorus listening on '))
      const entries = lines.map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>
        } catch {
          throw new Error(`not a JSON line: ${line}`)
        }
      })
      for (const entry of entries) {
        assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/)
        assert.ok(['debug', 'info', 'warn', 'error'].includes(String(entry.level)), JSON.stringify(entry))
        assert.equal(typeof entry.message, 'string')
      }
      const opened = entries.find((entry) => entry.message === 'connection opened')
      assert.equal(opened?.document, 'json-log-doc')
      assert.match(String(opened?.connection), /^c\d+$/)
      assert.ok(entries.some((entry) => entry.message === 'stopped; everything stored'))
    } finally {
      await chorus.cleanup()
    }
  })
})
