import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SaveReminder, type ReminderTimers } from '../../components/lib/save-reminder.ts'
import { Store } from '../../components/lib/store.ts'

/** Timers driven by the test: `advance(ms)` runs what falls due, in order. */
class ManualTimers implements ReminderTimers {
  now = 0
  private next = 1
  private readonly due = new Map<number, { at: number; callback: () => void }>()
  set = (callback: () => void, ms: number) => {
    const id = this.next++
    this.due.set(id, { at: this.now + ms, callback })
    return id
  }
  clear = (handle: unknown) => void this.due.delete(handle as number)
  advance(ms: number): void {
    const end = this.now + ms
    for (;;) {
      const [id, timer] = [...this.due.entries()].sort(([, a], [, b]) => a.at - b.at)[0] ?? []
      if (id === undefined || timer!.at > end) break
      this.due.delete(id)
      this.now = timer!.at
      timer!.callback()
    }
    this.now = end
  }
}

function setup() {
  const timers = new ManualTimers()
  const pending = new Store(false)
  const connected = new Store(true)
  const asked: number[] = []
  const reminder = new SaveReminder(pending, connected, () => asked.push(timers.now), { afterMs: 10_000, timers })
  return { timers, pending, connected, asked, reminder }
}

describe('SaveReminder', () => {
  it('asks again after 10 s of "Saving…" while connected, then at doubling intervals', () => {
    const { timers, pending, asked } = setup()
    pending.set(true)
    timers.advance(9_999)
    assert.deepEqual(asked, [])
    timers.advance(1)
    assert.deepEqual(asked, [10_000])
    timers.advance(20_000)
    assert.deepEqual(asked, [10_000, 30_000])
    timers.advance(200_000)
    assert.deepEqual(asked, [10_000, 30_000, 70_000, 130_000, 190_000])
  })

  it('does not ask once saved, and starts over at 10 s for the next save', () => {
    const { timers, pending, asked } = setup()
    pending.set(true)
    timers.advance(15_000)
    pending.set(false)
    timers.advance(100_000)
    assert.equal(asked.length, 1)
    pending.set(true)
    timers.advance(10_000)
    assert.deepEqual(asked, [10_000, 125_000])
  })

  it('does not ask while disconnected (a reconnect asks anyway), and counts from the reconnect', () => {
    const { timers, pending, connected, asked } = setup()
    connected.set(false)
    pending.set(true)
    timers.advance(60_000)
    assert.deepEqual(asked, [])
    connected.set(true)
    timers.advance(10_000)
    assert.deepEqual(asked, [70_000])
  })

  it('stops asking when destroyed', () => {
    const { timers, pending, asked, reminder } = setup()
    pending.set(true)
    reminder.destroy()
    timers.advance(60_000)
    assert.deepEqual(asked, [])
  })
})
