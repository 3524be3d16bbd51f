import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  forwardedForValues,
  parseTrustProxy,
  resolveClientAddress,
  TRUST_NOBODY,
  TrustProxyError,
  type TrustProxy,
} from '../../server/transport/client-address.ts'

const xff = (value: string | string[]) => ({ 'x-forwarded-for': value })
const fwd = (value: string | string[]) => ({ forwarded: value })
const ranges = (spec: string): TrustProxy => parseTrustProxy(spec)

describe('parseTrustProxy', () => {
  it('is off by default and for off/false/0', () => {
    for (const value of [undefined, '', '  ', 'off', 'false', 'FALSE', '0'])
      assert.deepEqual(parseTrustProxy(value), TRUST_NOBODY)
  })

  it('reads a hop count', () => {
    assert.deepEqual(parseTrustProxy('2'), { kind: 'hops', hops: 2, header: 'x-forwarded-for' })
    assert.deepEqual(parseTrustProxy(' 1 ', 'forwarded'), { kind: 'hops', hops: 1, header: 'forwarded' })
  })

  it('reads addresses, IPv4 and IPv6 CIDRs and the named ranges', () => {
    const trust = parseTrustProxy('10.0.0.0/8, ::1,192.168.1.7, fd00::/8, loopback')
    assert.equal(trust.kind, 'ranges')
    assert.equal(trust.kind === 'ranges' && trust.ranges.length, 6)
  })

  it('refuses "true" (anyone could choose their address) and anything that is not an address, naming it', () => {
    assert.throws(
      () => parseTrustProxy('true'),
      (error: Error) => error instanceof TrustProxyError && /number of proxies/.test(error.message),
    )
    assert.throws(() => parseTrustProxy('10.0.0.0/8,proxy.internal'), /"proxy.internal" is neither an IP address/)
    assert.throws(() => parseTrustProxy('10.0.0.0/33'), /"10.0.0.0\/33"/)
    assert.throws(() => parseTrustProxy('::1/129'), /"::1\/129"/)
    assert.throws(() => parseTrustProxy(','), /names no address/)
    assert.throws(() => parseTrustProxy('-1'), /neither an IP address/)
  })
})

describe('resolveClientAddress', () => {
  it('uses the socket address when trusting nobody, whatever the headers say', () => {
    assert.equal(resolveClientAddress('203.0.113.9', xff('1.2.3.4'), TRUST_NOBODY), '203.0.113.9')
    assert.equal(resolveClientAddress('203.0.113.9', fwd('for=1.2.3.4'), TRUST_NOBODY), '203.0.113.9')
  })

  it('takes the client from a trusted proxy', () => {
    assert.equal(resolveClientAddress('10.0.0.5', xff('198.51.100.7'), ranges('10.0.0.0/8')), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', xff('198.51.100.7'), parseTrustProxy('1')), '198.51.100.7')
  })

  it('ignores the header from a peer it does not trust (a client connecting directly cannot spoof)', () => {
    assert.equal(resolveClientAddress('203.0.113.9', xff('10.0.0.1'), ranges('10.0.0.0/8')), '203.0.113.9')
    assert.equal(resolveClientAddress('203.0.113.9', xff('1.2.3.4, 10.0.0.5'), ranges('10.0.0.0/8')), '203.0.113.9')
  })

  it('stops at the first untrusted hop, so entries a client put in front are never used', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6, 10.0.0.9"; the proxy appended the peer it saw.
    const header = xff('6.6.6.6, 10.0.0.9, 198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', header, ranges('10.0.0.0/8')), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', header, parseTrustProxy('1')), '198.51.100.7')
    // Two proxies in a row, both trusted: walk through both.
    assert.equal(resolveClientAddress('10.0.0.5', xff('6.6.6.6, 198.51.100.7, 10.0.0.6'), ranges('10.0.0.0/8')), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', xff('6.6.6.6, 198.51.100.7, 10.0.0.6'), parseTrustProxy('2')), '198.51.100.7')
  })

  it('with a hop count larger than the chain, takes the leftmost entry', () => {
    assert.equal(resolveClientAddress('10.0.0.5', xff('198.51.100.7'), parseTrustProxy('3')), '198.51.100.7')
  })

  it('reads repeated headers in order (Node joins them, or gives an array)', () => {
    // HAProxy's `option forwardfor` adds a header line of its own after the client's.
    assert.equal(resolveClientAddress('10.0.0.5', xff('6.6.6.6, 198.51.100.7'), ranges('10.0.0.5')), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', xff(['6.6.6.6', '198.51.100.7']), ranges('10.0.0.5')), '198.51.100.7')
    assert.equal(
      resolveClientAddress('10.0.0.5', fwd(['for=6.6.6.6', 'for=198.51.100.7']), parseTrustProxy('1', 'forwarded')),
      '198.51.100.7',
    )
  })

  it('treats IPv4-mapped IPv6 as the IPv4 address, for the peer, the ranges and the result', () => {
    assert.equal(resolveClientAddress('::ffff:10.0.0.5', xff('::ffff:198.51.100.7'), ranges('10.0.0.0/8')), '198.51.100.7')
    assert.equal(resolveClientAddress('::ffff:127.0.0.1', xff('198.51.100.7'), ranges('loopback')), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', xff('198.51.100.7'), ranges('::ffff:10.0.0.0/104')), '198.51.100.7')
    assert.equal(resolveClientAddress('::ffff:203.0.113.9', {}, TRUST_NOBODY), '203.0.113.9')
  })

  it('matches IPv6 proxies and writes IPv6 clients in one form', () => {
    assert.equal(resolveClientAddress('::1', xff('2001:DB8:0:0::17'), ranges('::1')), '2001:db8::17')
    assert.equal(resolveClientAddress('fd00::1:2', xff('[2001:db8::17]:4711'), ranges('fd00::/8')), '2001:db8::17')
    assert.equal(resolveClientAddress('2001:db8::99', xff('2001:db8::17'), ranges('fd00::/8')), '2001:db8::99')
  })

  it('strips a port from IPv4 entries', () => {
    assert.equal(resolveClientAddress('10.0.0.5', xff('198.51.100.7:51234'), ranges('10.0.0.0/8')), '198.51.100.7')
  })

  it('falls back to the reporting proxy for unknown, empty or malformed entries, never returning them', () => {
    const trust = ranges('10.0.0.0/8')
    for (const bad of ['unknown', '', 'not-an-ip', '1.2.3', '0x7f.1', '1.2.3.4.5', '<script>', '1.2.3.4 5.6.7.8', '[::1']) {
      assert.equal(resolveClientAddress('10.0.0.5', xff(bad), trust), '10.0.0.5', `entry "${bad}"`)
    }
    // A malformed entry further left cannot be reached, and one in between stops the walk there.
    assert.equal(resolveClientAddress('10.0.0.5', xff('garbage, 198.51.100.7'), trust), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', xff('198.51.100.7, garbage, 10.0.0.6'), trust), '10.0.0.6')
  })

  it('keeps an unparseable socket address as it is (and trusts nothing of it)', () => {
    assert.equal(resolveClientAddress(undefined, xff('1.2.3.4'), parseTrustProxy('1')), 'unknown')
  })

  it('reads Forwarded (RFC 7239): quoted IPv6 with a port, other parameters, case', () => {
    const trust = parseTrustProxy('10.0.0.0/8', 'forwarded')
    assert.equal(resolveClientAddress('10.0.0.5', fwd('for="[2001:db8:cafe::17]:4711"'), trust), '2001:db8:cafe::17')
    assert.equal(resolveClientAddress('10.0.0.5', fwd('For=198.51.100.7;proto=https;by=10.0.0.5'), trust), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', fwd('for="198.51.100.7:47011"'), trust), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', fwd('for=6.6.6.6, for=198.51.100.7;proto=https'), trust), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', fwd('for=198.51.100.7, for=10.0.0.6'), trust), '198.51.100.7')
  })

  it('falls back safely for obfuscated, unknown and malformed Forwarded elements', () => {
    const trust = parseTrustProxy('10.0.0.0/8', 'forwarded')
    for (const bad of [
      'for=_hidden',
      'for=unknown',
      'proto=https',
      'for=1.2.3.4;for=5.6.7.8',
      'for="1.2.3.4',
      'for',
      'garbage',
      'for=1.2.3.4 x',
    ]) {
      assert.equal(resolveClientAddress('10.0.0.5', fwd(bad), trust), '10.0.0.5', `element "${bad}"`)
    }
  })

  it('believes only the header the proxies are said to write', () => {
    // The proxy appends X-Forwarded-For; a Forwarded header can only have come from the client.
    const headers = { ...xff('198.51.100.7'), ...fwd('for=6.6.6.6') }
    assert.equal(resolveClientAddress('10.0.0.5', headers, ranges('10.0.0.0/8')), '198.51.100.7')
    assert.equal(resolveClientAddress('10.0.0.5', xff('6.6.6.6'), parseTrustProxy('10.0.0.0/8', 'forwarded')), '10.0.0.5')
  })
})

describe('forwardedForValues', () => {
  it('splits elements on commas outside quotes only', () => {
    assert.deepEqual(forwardedForValues('for="a,b";proto=http, for=c'), ['a,b', 'c'])
    assert.deepEqual(forwardedForValues('for="x\\"y"'), ['x"y'])
    assert.deepEqual(forwardedForValues('proto=https, for=1.2.3.4'), ['', '1.2.3.4'])
  })
})
