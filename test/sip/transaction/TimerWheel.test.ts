import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import * as TimerWheel from "../../../src/sip/transaction/TimerWheel.ts"
import type { TimerName } from "../../../src/sip/transaction/Timers.ts"
import { backoffUncapped, backoffUpToT2, timerValues } from "../../../src/sip/transaction/Timers.ts"

describe("timer values (RFC 3261 Table 4, RFC 6026)", () => {
  const settings = { t1: Duration.millis(500), t2: Duration.seconds(4), t4: Duration.seconds(5) }

  it("over an unreliable transport", () => {
    expect(timerValues(settings, false)).toEqual({
      t1: 500,
      t2: 4000,
      t4: 5000,
      reliable: false,
      a: 500,
      b: 32_000,
      d: 32_000,
      e: 500,
      f: 32_000,
      g: 500,
      h: 32_000,
      i: 5000,
      j: 32_000,
      k: 5000,
      l: 32_000,
      m: 32_000,
      trying: 200
    })
  })

  it("over a reliable transport: no retransmission timers, D, I, J and K are zero", () => {
    expect(timerValues(settings, true)).toMatchObject({ a: undefined, e: undefined, g: undefined, d: 0, i: 0, j: 0, k: 0, b: 32_000, h: 32_000 })
  })

  it("Timer D stays at least 32 s when T1 is short", () => {
    expect(timerValues({ ...settings, t1: Duration.millis(50) }, false)).toMatchObject({ b: 3200, d: 32_000 })
  })

  it("backoffs: A doubles without cap (up to B), E and G stop at T2", () => {
    const values = timerValues(settings, false)
    const a = [500]
    const e = [500]
    for (let n = 0; n < 7; n++) {
      a.push(backoffUncapped(values, a[a.length - 1]!))
      e.push(backoffUpToT2(values, e[e.length - 1]!))
    }
    expect(a).toEqual([500, 1000, 2000, 4000, 8000, 16000, 32000, 32000])
    expect(e).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000, 4000])
  })
})

describe("timer wheel", () => {
  const recorder = Effect.gen(function*() {
    const fired: Array<[TimerName, number]> = []
    const clock = yield* Clock.Clock
    const target = {
      onTimer: (timer: TimerName) => {
        fired.push([timer, clock.currentTimeMillisUnsafe()])
        return undefined
      }
    }
    return { fired, target }
  })

  it.effect("fires every timer at its time, in order, whatever the durations; cancelled ones never", () =>
    Effect.gen(function*() {
      const wheel = yield* TimerWheel.make
      const { fired, target } = yield* recorder
      wheel.schedule(target, "B", 32_000)
      wheel.schedule(target, "A", 500)
      const cancelled = wheel.schedule(target, "E", 500)
      yield* TestClock.adjust("300 millis")
      wheel.schedule(target, "A", 500)
      wheel.schedule(target, "K", 5000)
      cancelled.cancel()
      cancelled.cancel()
      expect(wheel.pending()).toBe(4)
      yield* TestClock.adjust("1 minute")
      expect(fired).toEqual([["A", 500], ["A", 800], ["K", 5300], ["B", 32_000]])
      expect(wheel.pending()).toBe(0)
    }))

  it.effect("a timer started while another fires runs on the same wheel (chains of retransmissions)", () =>
    Effect.gen(function*() {
      const wheel = yield* TimerWheel.make
      const clock = yield* Clock.Clock
      const fired: Array<number> = []
      let interval = 500
      const target = {
        onTimer: () => {
          fired.push(clock.currentTimeMillisUnsafe())
          interval = Math.min(2 * interval, 4000)
          if (fired.length < 8) wheel.schedule(target, "E", interval)
          return undefined
        }
      }
      wheel.schedule(target, "E", interval)
      yield* TestClock.adjust("1 minute")
      expect(fired).toEqual([500, 1500, 3500, 7500, 11500, 15500, 19500, 23500])
    }))

  it.effect("never fires inside `schedule`, even after 0 ms: a state machine finishes its transition first", () =>
    Effect.gen(function*() {
      const wheel = yield* TimerWheel.make
      const { fired, target } = yield* recorder
      wheel.schedule(target, "K", 0)
      expect(fired).toEqual([])
      yield* Effect.yieldNow
      yield* TestClock.adjust(0)
      expect(fired).toEqual([["K", 0]])
      wheel.schedule(target, "J", 0)
      expect(fired).toHaveLength(1)
      yield* TestClock.adjust(0)
      expect(fired).toHaveLength(2)
    }))

  it.effect("an effect returned by a timer runs on its own", () =>
    Effect.gen(function*() {
      const wheel = yield* TimerWheel.make
      const log: Array<string> = []
      wheel.schedule({ onTimer: () => Effect.sync(() => void log.push("sent")).pipe(Effect.delay("1 second")) }, "G", 100)
      wheel.schedule({ onTimer: () => (log.push("other"), undefined) }, "H", 100)
      yield* TestClock.adjust("100 millis")
      expect(log).toEqual(["other"])
      yield* TestClock.adjust("1 second")
      expect(log).toEqual(["other", "sent"])
    }))

  it.effect("100 000 timers over a few durations cost a few fibers and all fire", () =>
    Effect.gen(function*() {
      const wheel = yield* TimerWheel.make
      let count = 0
      const target = {
        onTimer: () => {
          count++
          return undefined
        }
      }
      for (let n = 0; n < 100_000; n++) wheel.schedule(target, "J", [500, 5000, 32_000][n % 3]!)
      expect(wheel.pending()).toBe(100_000)
      yield* TestClock.adjust("33 seconds")
      expect(count).toBe(100_000)
      expect(wheel.pending()).toBe(0)
    }))
})
