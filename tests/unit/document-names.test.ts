import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { documentNameProblem, encodeDocumentName, isValidDocId, newDocId } from '../../lib/doc-id.ts'
import { parseSyncPath } from '../../server/transport/sync-endpoint.ts'

describe('document names', () => {
  it('takes what a URL path segment can carry, up to 255 bytes percent-encoded', () => {
    for (const name of ['notes.md', 'team:42', 'Über', '文档', 'a b', 'a/b', '%', 'view', 'x'.repeat(255)]) {
      assert.equal(documentNameProblem(name), null, name)
    }
    assert.match(documentNameProblem('')!, /empty/)
    assert.match(documentNameProblem('.')!, /"\."/)
    assert.match(documentNameProblem('..')!, /"\."/)
    assert.match(documentNameProblem('a\nb')!, /control/)
    assert.match(documentNameProblem('x'.repeat(256))!, /255 bytes/)
    assert.match(documentNameProblem('é'.repeat(43))!, /255 bytes/, '43 × %C3%A9 is 258 bytes')
    assert.match(documentNameProblem('\ud800')!, /Unicode/)
  })

  it('encodes names one-to-one into keys that never hold a slash', () => {
    const names = ['a', 'a/log', 'a%2Flog', 'a/snapshot', 'doc/x/log/0']
    const keys = names.map((name) => encodeDocumentName(name)!)
    assert.equal(new Set(keys).size, names.length)
    for (const key of keys) assert.ok(!key.includes('/'), key)
    const id = newDocId()
    assert.ok(isValidDocId(id))
    assert.equal(encodeDocumentName(id), id, 'generated ids are their own keys, as before')
  })

  it('routes /sync/<name> and /sync/view/<viewId>, and nothing else with a slash', () => {
    assert.deepEqual(parseSyncPath('/sync/notes.md?chorus=1'), { kind: 'edit', docId: 'notes.md' })
    assert.deepEqual(parseSyncPath('/sync/a%2Fb'), { kind: 'edit', docId: 'a/b' })
    assert.deepEqual(parseSyncPath('/sync/%C3%9Cber'), { kind: 'edit', docId: 'Über' })
    assert.deepEqual(parseSyncPath('/sync/view'), { kind: 'edit', docId: 'view' })
    assert.deepEqual(parseSyncPath('/sync/view/abcdefghijklmnopqrstuv'), { kind: 'view', viewId: 'abcdefghijklmnopqrstuv' })
    assert.deepEqual(parseSyncPath('/sync/view/no.such'), { kind: 'view', viewId: '' })
    assert.equal(parseSyncPath('/sync/a/b')?.kind, 'invalid')
    assert.equal(parseSyncPath('/sync/..')?.kind, 'invalid')
    assert.equal(parseSyncPath('/sync/%2e%2E')?.kind, 'invalid')
    assert.equal(parseSyncPath('/sync/')?.kind, 'invalid')
    assert.equal(parseSyncPath('/elsewhere'), null)
  })
})
