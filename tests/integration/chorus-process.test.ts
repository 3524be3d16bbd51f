/**
 * The test helper that runs real servers: it must find the port, survive restarts on the same
 * port and data, and leave no process or temp dir behind.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { startChorus } from '../support/chorus-process.ts'

/** True while any process of the group still exists (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).ok
  } catch {
    return false
  }
}

describe('startChorus (standalone)', () => {
  it('starts on a free port, stops, restarts on the same port and data dir, and cleans up', async () => {
    const chorus = await startChorus({ entry: 'standalone' })
    try {
      assert.ok(chorus.port > 0)
      assert.equal(chorus.wsUrl, `ws://127.0.0.1:${chorus.port}/sync`)
      assert.ok(existsSync(chorus.dataDir))
      assert.ok(await healthy(chorus.url), 'serves /healthz once ready')

      const firstPid = chorus.pid
      assert.equal(await chorus.stop(), 0, 'a SIGTERM stop exits cleanly')
      assert.equal(groupAlive(firstPid), false, 'the whole process group is gone')
      assert.equal(await healthy(chorus.url), false)

      const { port, dataDir } = chorus
      await chorus.restart()
      assert.deepEqual([chorus.port, chorus.dataDir], [port, dataDir])
      assert.notEqual(chorus.pid, firstPid)
      assert.ok(await healthy(chorus.url))

      const secondPid = chorus.pid
      await chorus.kill9()
      assert.equal(chorus.running, false)
      assert.equal(groupAlive(secondPid), false)
      await chorus.restart()
      assert.ok(await healthy(chorus.url), 'comes back after a crash')
      assert.match(chorus.output(), /restarting on port/)
    } finally {
      await chorus.cleanup()
    }
    assert.equal(chorus.running, false)
    assert.equal(existsSync(chorus.dataDir), false, 'the temporary data dir is deleted')
    await chorus.cleanup() // idempotent
  })

  it('keeps a data dir it was given', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chorus-given-'))
    try {
      const chorus = await startChorus({ entry: 'standalone', dataDir })
      assert.equal(chorus.dataDir, dataDir)
      await chorus.cleanup()
      assert.ok(existsSync(dataDir))
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('fails fast with the server output when the server cannot start', async () => {
    const first = await startChorus({ entry: 'standalone' })
    try {
      await assert.rejects(startChorus({ entry: 'standalone', port: first.port }), (error: Error) => {
        assert.match(error.message, /exited with code \d+ before it was ready/)
        assert.match(error.message, /is already in use/, 'the message carries what the server printed')
        return true
      })
      await assert.rejects(startChorus({ entry: 'standalone', env: { PORT: 'nope' } }), /PORT must be an integer/)
    } finally {
      await first.cleanup()
    }
  })
})
