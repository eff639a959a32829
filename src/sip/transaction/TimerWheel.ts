/**
 * Runs the transaction timers of one transaction layer on Effect's `Clock`
 * with one fiber per distinct duration, whatever the number of transactions.
 *
 * At 1000 calls per second some 60 000 transactions wait in Completed or
 * Accepted for 64·T1 each; a sleeping fiber per timer would cost tens of
 * megabytes and as many entries in the clock. Every timer of one duration is
 * due in the order it was started, so each duration keeps a FIFO of entries
 * and one fiber that sleeps until the oldest is due. Starting and cancelling
 * a timer are synchronous, so a state machine does both inside one state
 * transition; a cancelled entry is dropped when it reaches the head.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Fiber, Latch, type Scope } from "effect"
import type { Clock } from "effect/Clock"
import * as ClockModule from "effect/Clock"
import type { TimerName } from "./Timers.ts"

/**
 * What a timer calls when it fires: the state change happens synchronously;
 * an effect returned (sending retransmissions) runs in its own fiber so a slow
 * send never delays other timers.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimerTarget {
  readonly onTimer: (timer: TimerName) => Effect.Effect<void> | undefined
}

/**
 * A started timer; `cancel` makes sure it never fires.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimerHandle {
  readonly cancel: () => void
}

/**
 * @category models
 * @since 0.1.0
 */
export interface TimerWheel {
  /** Calls `target.onTimer(timer)` after `millis` (0 fires on the next turn of the wheel's fiber). */
  readonly schedule: (target: TimerTarget, timer: TimerName, millis: number) => TimerHandle
  /** Timers started and neither fired nor cancelled yet, for tests and the debug dump. */
  readonly pending: () => number
}

class Entry implements TimerHandle {
  readonly deadline: number
  readonly timer: TimerName
  target: TimerTarget | undefined
  private readonly owner: { live: number }

  constructor(deadline: number, timer: TimerName, target: TimerTarget, owner: { live: number }) {
    this.deadline = deadline
    this.timer = timer
    this.target = target
    this.owner = owner
  }

  cancel(): void {
    if (this.target === undefined) return
    this.target = undefined
    this.owner.live--
  }

  take(): TimerTarget | undefined {
    const target = this.target
    if (target !== undefined) this.cancel()
    return target
  }
}

interface Bucket {
  readonly millis: number
  entries: Array<Entry | undefined>
  head: number
  readonly wake: Latch.Latch
}

const COMPACT_AFTER = 1024

/**
 * A wheel whose fibers live in the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<TimerWheel, never, Scope.Scope> = Effect.gen(function*() {
  const clock: Clock = yield* ClockModule.Clock
  const scope = yield* Effect.scope
  const context = yield* Effect.context<never>()
  const runFork = Effect.runForkWith(Context.merge(context, Context.make(ClockModule.Clock, clock)))
  const buckets = new Map<number, Bucket>()
  const fibers: Array<Fiber.Fiber<never>> = []
  const counter = { live: 0 }
  let closed = false

  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      closed = true
      return Fiber.interruptAll(fibers)
    })
  )

  const fire = (entry: Entry): Effect.Effect<void> => {
    const target = entry.take()
    const effect = target?.onTimer(entry.timer)
    return effect === undefined ? Effect.void : Effect.asVoid(Effect.forkIn(effect, scope))
  }

  const run = (bucket: Bucket): Effect.Effect<never> =>
    Effect.gen(function*() {
      while (true) {
        const head = bucket.entries[bucket.head]
        if (head === undefined) {
          bucket.entries = []
          bucket.head = 0
          bucket.wake.closeUnsafe()
          yield* bucket.wake.await
          // `schedule` opens the latch synchronously, inside a state transition: fire on a later turn
          yield* Effect.yieldNow
          continue
        }
        const wait = head.deadline - clock.currentTimeMillisUnsafe()
        if (wait > 0 && head.target !== undefined) {
          yield* clock.sleep(Duration.millis(wait))
          continue
        }
        bucket.entries[bucket.head++] = undefined
        if (bucket.head >= COMPACT_AFTER && bucket.head * 2 >= bucket.entries.length) {
          bucket.entries = bucket.entries.slice(bucket.head)
          bucket.head = 0
        }
        yield* fire(head)
      }
    })

  const bucketFor = (millis: number): Bucket => {
    const existing = buckets.get(millis)
    if (existing !== undefined) return existing
    const bucket: Bucket = { millis, entries: [], head: 0, wake: Latch.makeUnsafe(false) }
    buckets.set(millis, bucket)
    fibers.push(runFork(run(bucket)))
    return bucket
  }

  const never: TimerHandle = { cancel: () => {} }

  const schedule = (target: TimerTarget, timer: TimerName, millis: number): TimerHandle => {
    // once the scope is closing no new fiber may start: it would outlive its scope
    if (closed) return never
    const bucket = bucketFor(Math.max(0, millis))
    const entry = new Entry(clock.currentTimeMillisUnsafe() + bucket.millis, timer, target, counter)
    counter.live++
    const wasEmpty = bucket.head >= bucket.entries.length
    bucket.entries.push(entry)
    if (wasEmpty) bucket.wake.openUnsafe()
    return entry
  }

  return { schedule, pending: () => counter.live }
})
