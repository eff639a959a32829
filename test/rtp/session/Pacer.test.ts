/**
 * The shared pacer under `TestClock`: tasks run at their exact deadlines in
 * deadline order, a task scheduled earlier than the pacer's current sleep
 * wakes it, cancelled tasks stop, and an idle pacer does nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Pacer from "../../../src/rtp/Pacer.ts"

/** A task that runs every `interval` ms from `start` and notes when. */
const periodic = (pacer: Pacer.Pacer, name: string, start: number, interval: number, log: Array<string>) => {
  const task = {
    deadline: start,
    run: (now: number) => {
      log.push(`${name}@${now}`)
      task.deadline += interval
      return { effect: Effect.sync(() => log.push(`${name} sent`)), again: true }
    }
  }
  pacer.schedule(task)
  return task
}

describe("Pacer", () => {
  it.effect("runs each task at its deadlines, earliest first, its effect before the next task", () =>
    Effect.gen(function*() {
      const pacer = yield* Pacer.make
      const log: Array<string> = []
      periodic(pacer, "a", 0, 20, log)
      periodic(pacer, "b", 5, 30, log)
      yield* TestClock.adjust("70 millis")
      expect(log).toEqual([
        "a@0", "a sent", "b@5", "b sent", "a@20", "a sent", "b@35", "b sent", "a@40", "a sent",
        "a@60", "a sent", "b@65", "b sent"
      ])
    }))

  it.effect("a task due earlier than the current sleep wakes the pacer; a cancelled one stops", () =>
    Effect.gen(function*() {
      const pacer = yield* Pacer.make
      const log: Array<string> = []
      const slow = periodic(pacer, "slow", 0, 1000, log)
      yield* TestClock.adjust("100 millis")
      periodic(pacer, "fast", 100, 50, log)
      yield* TestClock.adjust("150 millis")
      pacer.cancel(slow)
      yield* TestClock.adjust("2 seconds")
      expect(log.filter((entry) => entry.startsWith("slow@"))).toEqual(["slow@0"])
      expect(log.filter((entry) => entry.startsWith("fast@")).slice(0, 4)).toEqual(["fast@100", "fast@150", "fast@200", "fast@250"])
    }))

  it.effect("with nothing scheduled it waits without a timer, and starts at once when a task comes", () =>
    Effect.gen(function*() {
      const pacer = yield* Pacer.make
      const log: Array<string> = []
      yield* TestClock.adjust("1 hour")
      expect(log).toEqual([])
      const once = { deadline: pacer.now(), run: (now: number) => (log.push(`once@${now}`), { effect: undefined, again: false }) }
      pacer.schedule(once)
      yield* TestClock.adjust("1 second")
      expect(log).toEqual([`once@${3_600_000}`])
    }))

  it.effect("poll runs the tasks due now from outside the fiber; a task's effect still runs before any later task", () =>
    Effect.gen(function*() {
      // a clock whose sleeps never end: only `poll` (or a new earlier task) gets the tasks run
      let millis = 0
      const stopped: Clock.Clock = {
        currentTimeMillisUnsafe: () => millis,
        currentTimeMillis: Effect.sync(() => millis),
        currentTimeNanosUnsafe: () => BigInt(millis) * 1_000_000n,
        currentTimeNanos: Effect.sync(() => BigInt(millis) * 1_000_000n),
        monotonicTimeNanosUnsafe: () => BigInt(millis) * 1_000_000n,
        monotonicTimeNanos: Effect.sync(() => BigInt(millis) * 1_000_000n),
        sleep: () => Effect.never
      }
      const pacer = yield* Pacer.make.pipe(Effect.provideService(Clock.Clock, stopped))
      const log: Array<string> = []
      const quiet = { deadline: 0, run: (now: number) => (log.push(`quiet@${now}`), quiet.deadline += 20, { effect: undefined, again: true }) }
      pacer.schedule(quiet)
      yield* Effect.yieldNow
      expect(log).toEqual(["quiet@0"])

      millis = 20
      yield* Effect.yieldNow
      expect(log).toEqual(["quiet@0"])
      pacer.poll()
      expect(log).toEqual(["quiet@0", "quiet@20"])

      periodic(pacer, "loud", 30, 20, log)
      millis = 40
      pacer.poll()
      pacer.poll()
      yield* Effect.yieldNow
      // the loud task's send runs before the quiet task, due as well, gets its turn
      expect(log.slice(2)).toEqual(["loud@40", "loud sent", "quiet@40"])
    }))
})
