import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LogThrottle } from '../../server/ops/log-throttle.ts'
import { AddressConnectionCounter, TokenBucket, isOriginAllowed } from '../../server/transport/limits.ts'

describe('TokenBucket', () => {
  it('allows a burst, then asks to wait exactly as long as the debt takes to repay', () => {
    const bucket = new TokenBucket(10, 20, 0)
    for (let i = 0; i < 20; i++) assert.equal(bucket.take(1, 0), 0)
    assert.equal(bucket.take(1, 0), 100) // one token short at 10/s: 100 ms
    assert.equal(bucket.take(1, 200), 0) // 2 tokens refilled, 1 debt + 1 taken
  })

  it('never stores more than the burst', () => {
    const bucket = new TokenBucket(10, 5, 0)
    assert.equal(bucket.take(5, 1_000_000), 0)
    assert.ok(bucket.take(1, 1_000_000) > 0)
  })
})

describe('AddressConnectionCounter', () => {
  it('limits each address separately within a minute and forgets after it', () => {
    const counter = new AddressConnectionCounter(2, 0)
    assert.equal(counter.tryAdd('a', 0), true)
    assert.equal(counter.tryAdd('a', 1000), true)
    assert.equal(counter.tryAdd('a', 2000), false)
    assert.equal(counter.tryAdd('b', 2000), true)
    assert.equal(counter.tryAdd('a', 40_000), false, 'still counted in the previous half-window')
    assert.equal(counter.tryAdd('a', 61_000), true)
  })

  it('does not limit when the limit is 0', () => {
    const counter = new AddressConnectionCounter(0, 0)
    for (let i = 0; i < 1000; i++) assert.equal(counter.tryAdd('a', i), true)
  })
})

describe('isOriginAllowed', () => {
  it('allows the same host, listed origins, and clients without an Origin', () => {
    assert.equal(isOriginAllowed('http://localhost:3000', 'localhost:3000', []), true)
    assert.equal(isOriginAllowed(undefined, 'localhost:3000', []), true)
    assert.equal(isOriginAllowed('https://app.example', 'sync.example', ['https://app.example']), true)
    assert.equal(isOriginAllowed('https://evil.example', 'sync.example', ['*']), true)
  })

  it('refuses other sites, other ports and garbage', () => {
    assert.equal(isOriginAllowed('https://evil.example', 'localhost:3000', []), false)
    assert.equal(isOriginAllowed('http://localhost:4000', 'localhost:3000', []), false)
    assert.equal(isOriginAllowed('null', 'localhost:3000', []), false)
    assert.equal(isOriginAllowed('http://localhost:3000', undefined, []), false)
  })
})

describe('LogThrottle', () => {
  it('lets one line per key through per interval and counts the rest', () => {
    const throttle = new LogThrottle(1000)
    assert.equal(throttle.shouldLog('k', 0), 0)
    assert.equal(throttle.shouldLog('k', 10), null)
    assert.equal(throttle.shouldLog('k', 20), null)
    assert.equal(throttle.shouldLog('other', 20), 0)
    assert.equal(throttle.shouldLog('k', 1500), 2)
  })
})

describe('AddressConnectionCounter.refund', () => {
  it('gives back a place, from the current half-window first, and never goes below zero', () => {
    const counter = new AddressConnectionCounter(2, 0)
    assert.equal(counter.tryAdd('a', 0), true)
    assert.equal(counter.tryAdd('a', 31_000), true) // one in each half-window
    assert.equal(counter.tryAdd('a', 31_000), false)
    counter.refund('a')
    assert.equal(counter.tryAdd('a', 31_000), true)
    counter.refund('a')
    counter.refund('a')
    counter.refund('a')
    counter.refund('b')
    assert.equal(counter.tryAdd('a', 31_000), true)
    assert.equal(counter.tryAdd('a', 31_000), true)
    assert.equal(counter.tryAdd('a', 31_000), false)
  })
})
