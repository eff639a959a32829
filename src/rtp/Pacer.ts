/**
 * One clock for every RTP sender of a process: a single fiber keeps the
 * sessions in deadline order, sleeps on `Clock` until the earliest deadline
 * and runs every task that is due, one after the other.
 *
 * A timer per session costs a timer, a fiber wake-up and a scheduler hop for
 * each packet; at a thousand sessions sending 50 packets per second that is
 * most of a core (measured in bench/README.md). Here a wake-up serves every
 * session whose deadline has come, so the number of timers follows the
 * number of distinct deadlines, at most one per millisecond, whatever the
 * number of sessions. With nothing scheduled the fiber waits without a timer.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Latch, Layer, type Scope } from "effect"

/**
 * Something run on deadlines: a session's send and playout slot.
 *
 * @category models
 * @since 0.1.0
 */
export interface PacedTask {
  /** When it wants to run next, in `Clock` monotonic milliseconds; read when it is scheduled. */
  readonly deadline: number
  /**
   * Runs the slot due at `now`; the effect it returns (a send), if any, is
   * run before the next task. Returns whether to stay scheduled, at the new
   * `deadline`.
   */
  readonly run: (now: number) => PacedRun
}

/**
 * What a task's run gives back.
 *
 * @category models
 * @since 0.1.0
 */
export interface PacedRun {
  readonly effect: Effect.Effect<void> | undefined
  readonly again: boolean
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Pacer {
  /** (Re)schedules `task` at its `deadline`, replacing an earlier schedule of it. */
  readonly schedule: (task: PacedTask) => void
  /** Removes `task` from the schedule. */
  readonly cancel: (task: PacedTask) => void
  /** The `Clock`'s monotonic time in milliseconds, the time base of deadlines. */
  readonly now: () => number
}

// Tasks run back to back before the event loop gets a turn.
const yieldEvery = 32

interface Entry {
  readonly deadline: number
  readonly task: PacedTask
  readonly version: number
}

/** A binary min-heap on deadline; cancelled entries are dropped when they reach the top. */
class DeadlineHeap {
  private readonly entries: Array<Entry> = []

  get size(): number {
    return this.entries.length
  }

  peek(): Entry | undefined {
    return this.entries[0]
  }

  push(entry: Entry): void {
    const entries = this.entries
    let at = entries.length
    entries.push(entry)
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (entries[parent]!.deadline <= entry.deadline) break
      entries[at] = entries[parent]!
      at = parent
    }
    entries[at] = entry
  }

  pop(): Entry | undefined {
    const entries = this.entries
    const top = entries[0]
    const last = entries.pop()
    if (top === undefined || last === undefined || entries.length === 0) return top
    let at = 0
    while (true) {
      const left = 2 * at + 1
      if (left >= entries.length) break
      const right = left + 1
      const child = right < entries.length && entries[right]!.deadline < entries[left]!.deadline ? right : left
      if (entries[child]!.deadline >= last.deadline) break
      entries[at] = entries[child]!
      at = child
    }
    entries[at] = last
    return top
  }
}

/**
 * A pacer whose fiber runs until the current scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<Pacer, never, Scope.Scope> = Effect.gen(function*() {
  const clock = yield* Clock.Clock
  const now = () => Number(clock.monotonicTimeNanosUnsafe()) / 1e6
  const heap = new DeadlineHeap()
  const versions = new WeakMap<PacedTask, number>()
  const wake = Latch.makeUnsafe(false)
  let sleepingUntil = Number.POSITIVE_INFINITY

  const schedule = (task: PacedTask) => {
    const version = (versions.get(task) ?? 0) + 1
    versions.set(task, version)
    heap.push({ deadline: task.deadline, task, version })
    if (task.deadline < sleepingUntil) wake.openUnsafe()
  }
  const cancel = (task: PacedTask) => {
    versions.set(task, (versions.get(task) ?? 0) + 1)
  }
  const current = (entry: Entry) => versions.get(entry.task) === entry.version

  yield* Effect.forkScoped(Effect.gen(function*() {
    let runs = 0
    while (true) {
      let next = heap.peek()
      while (next !== undefined && !current(next)) {
        heap.pop()
        next = heap.peek()
      }
      const wait = next === undefined ? Number.POSITIVE_INFINITY : next.deadline - now()
      if (wait > 0) {
        sleepingUntil = next === undefined ? Number.POSITIVE_INFINITY : next.deadline
        wake.closeUnsafe()
        yield* next === undefined ? wake.await : Effect.raceFirst(clock.sleep(Duration.millis(wait)), wake.await)
        sleepingUntil = Number.POSITIVE_INFINITY
        continue
      }
      heap.pop()
      const { again, effect } = next!.task.run(now())
      if (effect !== undefined) yield* effect
      if (again && current(next!)) heap.push({ deadline: next!.task.deadline, task: next!.task, version: next!.version })
      // Sends complete on process.nextTick, so a long run of due tasks would never return to the
      // event loop: received packets, timers and other fibers would wait behind it.
      if (++runs % yieldEvery === 0) yield* Effect.yieldNow
    }
  }))

  return { schedule, cancel, now }
})

/**
 * The pacer as a service, shared by every session of a phone (or process).
 *
 * @category services
 * @since 0.1.0
 */
export class RTPPacer extends Context.Service<RTPPacer, Pacer>()("effect-voip/rtp/RTPPacer") {
  static readonly layer: Layer.Layer<RTPPacer> = Layer.effect(RTPPacer, make)
}
