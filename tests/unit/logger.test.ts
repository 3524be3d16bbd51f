import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger } from '../../server/ops/logger.ts'

describe('logger, LOG_FORMAT=json', () => {
  it('writes one JSON object per line with time, level, message, document, connection and the fields', () => {
    const lines: string[] = []
    const log = createLogger('info', (line) => lines.push(line), {}, 'json')
      .child({ doc: 'd1' })
      .child({ conn: 'c7' })
    log.debug('not written')
    log.warn('socket error', { error: 'reset', bytes: 12, nested: { a: [1] }, skipped: undefined })
    assert.equal(lines.length, 1)
    assert.ok(!lines[0].includes('\n'))
    const entry = JSON.parse(lines[0])
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.deepEqual(
      { ...entry, time: undefined },
      {
        time: undefined,
        level: 'warn',
        message: 'socket error',
        document: 'd1',
        connection: 'c7',
        error: 'reset',
        bytes: 12,
        nested: { a: [1] },
      },
    )
  })

  it("keeps errors readable, never lets a field replace the line's own keys, and never throws", () => {
    const lines: string[] = []
    const log = createLogger('debug', (line) => lines.push(line), {}, 'json')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    log.error('failed', { error: new TypeError('boom'), message: 'a field', level: 3, big: 10n })
    log.info('cycle', { cyclic })
    const failed = JSON.parse(lines[0])
    assert.equal(failed.message, 'failed')
    assert.equal(failed.level, 'error')
    assert.equal(failed.message_, 'a field')
    assert.equal(failed.level_, 3)
    assert.equal(failed.big, '10')
    assert.equal(failed.error.type, 'TypeError')
    assert.equal(failed.error.message, 'boom')
    assert.match(failed.error.stack, /TypeError: boom/)
    assert.equal(JSON.parse(lines[1]).message, 'cycle')
  })

  it('stays pretty by default', () => {
    const lines: string[] = []
    createLogger('info', (line) => lines.push(line))
      .child({ doc: 'd1' })
      .info('ready', { port: 3000 })
    assert.match(lines[0], /^\S+Z INFO {2}ready doc=d1 port=3000$/)
  })
})
