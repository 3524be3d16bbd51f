import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { NoticeCenter } from '../../components/lib/notice-center.ts'

describe('NoticeCenter', () => {
  it('keeps one notice per code, newest last', () => {
    const center = new NoticeCenter()
    center.add({ level: 'error', code: 'a', message: 'first' })
    center.add({ level: 'info', code: 'b', message: 'other' })
    center.add({ level: 'error', code: 'a', message: 'again' })
    assert.deepEqual(
      center.notices.get().map((n) => n.message),
      ['other', 'again'],
    )
  })

  it('withdraws the notice of a code when one arrives with an empty message', () => {
    const center = new NoticeCenter()
    center.add({ level: 'error', code: 'storage-failing', message: 'The server cannot save right now' })
    center.add({ level: 'info', code: 'other', message: 'stays' })
    center.add({ level: 'error', code: 'storage-failing', message: '' })
    assert.deepEqual(center.notices.get(), [{ level: 'info', code: 'other', message: 'stays' }])
  })

  it('ignores a withdrawal of a code it does not show', () => {
    const center = new NoticeCenter()
    let changes = 0
    center.notices.subscribe(() => changes++)
    center.add({ level: 'error', code: 'storage-failing', message: '' })
    assert.deepEqual(center.notices.get(), [])
    assert.equal(changes, 0)
  })
})
