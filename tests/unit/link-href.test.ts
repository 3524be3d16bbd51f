import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openableHref, parseLinkInput } from '../../components/lib/link-href.ts'

const href = (input: string) => {
  const parsed = parseLinkInput(input)
  return parsed.kind === 'link' ? parsed.href : parsed.kind
}

// Root cause: links could not be added or edited at all; this is the address check the new link editor relies on.
test('web and email addresses are kept as typed; bare ones get https:// or mailto:', () => {
  assert.equal(href('https://example.com/a?b=c#d'), 'https://example.com/a?b=c#d')
  assert.equal(href('  http://example.com  '), 'http://example.com')
  assert.equal(href('example.com/path'), 'https://example.com/path')
  assert.equal(href('localhost:3000/x'), 'https://localhost:3000/x')
  assert.equal(href('//example.com'), 'https://example.com')
  assert.equal(href('ada@example.com'), 'mailto:ada@example.com')
  assert.equal(href('mailto:ada@example.com?subject=Hi'), 'mailto:ada@example.com?subject=Hi')
})

test('empty means remove the link', () => {
  assert.equal(href(''), 'remove')
  assert.equal(href('   '), 'remove')
})

test('other schemes and things that are not addresses are refused with a reason', () => {
  for (const input of [
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'data:text/html,x',
    'file:///etc/passwd',
    'ftp://example.com',
  ]) {
    const parsed = parseLinkInput(input)
    assert.equal(parsed.kind, 'invalid', input)
    assert.match((parsed as { message: string }).message, /Only web/)
  }
  assert.equal(href('not a link'), 'invalid')
  assert.equal(href('word'), 'invalid')
  assert.equal(href('https://'), 'invalid')
  assert.equal(href('mailto:nobody'), 'invalid')
})

test('only web and email links are opened', () => {
  assert.equal(openableHref('https://example.com'), 'https://example.com')
  assert.equal(openableHref('example.com'), 'https://example.com')
  assert.equal(openableHref('javascript:alert(1)'), null)
  assert.equal(openableHref(''), null)
  assert.equal(openableHref(undefined), null)
})
