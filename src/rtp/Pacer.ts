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
 * The due tasks run in one synchronous loop, up to 64 before the event loop
 * gets a turn: a session on Node's socket sends with a plain call, so a
 * packet costs no effect and no fiber step. Only a task that gives an
 * effect (a session on an injected socket) has it run by the fiber, before
 * the next task.
 *
 * Sessions also `poll` the pacer from their receive callbacks. When the
 * event loop is busy, Node hands over the datagrams of every ready socket
 * in one go (after a garbage collection, a thousand sockets' worth), and a
 * send that came due meanwhile would wait for all of them; polled, it goes
 * out on time (at 1000 sessions the p99 send interval fell from 24–27 ms
 * to 21–22 ms, bench/README.md).
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
  /**
   * Runs the tasks that are due now, from outside the pacer's fiber: a
   * socket's receive callback calls it, so sends come due while a long
   * burst of received packets is handled still go out on time.
   */
  readonly poll: () => void
}

// Tasks run back to back before the event loop gets a turn (received packets, timers, other fibers).
const batchSize = 64

interface Entry {
  deadline: number
  readonly task: PacedTask
  cancelled: boolean
}

/** A binary min-heap on deadline; cancelled entries are dropped when they reach the top. */
class DeadlineHeap {
  private readonly entries: Array<Entry> = []

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

// What a batch of due tasks ended with, when no task gave an effect to run.
const nothingDue = 0
const batchFull = 1

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
  // Each scheduled task's live entry: (re)scheduling and cancelling mark the old one, so the loop
  // itself never looks a task up.
  const entries = new Map<PacedTask, Entry>()
  const wake = Latch.makeUnsafe(false)
  let sleepingUntil = Number.POSITIVE_INFINITY

  const cancel = (task: PacedTask) => {
    const entry = entries.get(task)
    if (entry === undefined) return
    entry.cancelled = true
    entries.delete(task)
  }
  const schedule = (task: PacedTask) => {
    cancel(task)
    const entry: Entry = { deadline: task.deadline, task, cancelled: false }
    entries.set(task, entry)
    heap.push(entry)
    if (task.deadline < sleepingUntil) wake.openUnsafe()
  }
  const earliest = (): Entry | undefined => {
    let next = heap.peek()
    while (next !== undefined && next.cancelled) {
      heap.pop()
      next = heap.peek()
    }
    return next
  }

  // Runs the tasks due at one reading of the clock, synchronously, until one gives an effect (which the
  // fiber runs before anything else), none is due any more, or the batch is full. An entry that stays
  // scheduled goes back into the heap at its task's new deadline, the same object for the task's life.
  const runDue = (): Effect.Effect<void> | typeof nothingDue | typeof batchFull => {
    const time = now()
    for (let runs = 0; runs < batchSize; runs++) {
      const entry = earliest()
      if (entry === undefined || entry.deadline > time) return nothingDue
      heap.pop()
      const { again, effect } = entry.task.run(time)
      if (!entry.cancelled) {
        if (again) {
          entry.deadline = entry.task.deadline
          heap.push(entry)
        } else {
          cancel(entry.task)
        }
      }
      if (effect !== undefined) return effect
    }
    return batchFull
  }

  // A task's effect not yet run: no other task runs before it, from the fiber or from `poll`.
  let pending: Effect.Effect<void> | undefined
  const poll = () => {
    if (pending !== undefined) return
    const entry = earliest()
    if (entry === undefined || entry.deadline > now()) return
    const ran = runDue()
    if (ran !== nothingDue && ran !== batchFull) {
      pending = ran
      wake.openUnsafe()
    }
  }

  yield* Effect.forkScoped(Effect.gen(function*() {
    while (true) {
      if (pending !== undefined) {
        yield* pending
        pending = undefined
        continue
      }
      const ran = runDue()
      if (ran === batchFull) {
        yield* Effect.yieldNow
        continue
      }
      if (ran !== nothingDue) {
        pending = ran
        continue
      }
      const next = earliest()
      const wait = next === undefined ? Number.POSITIVE_INFINITY : next.deadline - now()
      if (wait <= 0) continue
      sleepingUntil = next === undefined ? Number.POSITIVE_INFINITY : next.deadline
      wake.closeUnsafe()
      yield* next === undefined ? wake.await : Effect.raceFirst(clock.sleep(Duration.millis(wait)), wake.await)
      sleepingUntil = Number.POSITIVE_INFINITY
    }
  }))

  return { schedule, cancel, now, poll }
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
