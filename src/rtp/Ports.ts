/**
 * RTP port allocation: even ports from a configured range, each with the odd
 * port above it for RTCP (RFC 3550 §11), held by a `Scope` and given back when
 * that scope closes, whether the session ended, failed or was interrupted.
 *
 * Ports are handed out round-robin, so a port just released is the last to
 * be reused: a late packet of an ended call does not reach the next call
 * that would otherwise get the same port. A port that another process holds
 * (the bind fails with "address in use") is skipped, and the next one tried.
 *
 * @since 0.1.0
 */
import { Context, Effect, Exit, Layer, Result, Schema, Scope } from "effect"

/**
 * The range cannot hold a single RTP/RTCP port pair, or leaves the
 * unprivileged ports 1024-65535.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidRangeError extends Schema.TaggedError<InvalidRangeError>()("InvalidRangeError", {
  low: Schema.Number,
  high: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid RTP port range ${this.low}-${this.high}: ${this.reason}`
  }
}

/**
 * Every port pair of the range is in use.
 *
 * @category errors
 * @since 0.1.0
 */
export class NoPortsAvailableError extends Schema.TaggedError<NoPortsAvailableError>()("NoPortsAvailableError", {
  low: Schema.Number,
  high: Schema.Number,
  inUse: Schema.Number
}) {
  override get message(): string {
    return `no free RTP port pair in ${this.low}-${this.high} (${this.inUse} in use)`
  }
}

/**
 * Inclusive port bounds, pyVoIP's `rtp_port_low` and `rtp_port_high`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PortRange {
  readonly low: number
  readonly high: number
}

/**
 * pyVoIP's defaults.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultRange: PortRange = { low: 10000, high: 20000 }

/**
 * Hands out RTP ports. Every port it gives is even, and port + 1 is in the
 * range too.
 *
 * @category models
 * @since 0.1.0
 */
export interface PortAllocator {
  readonly range: PortRange
  /** How many port pairs the range holds. */
  readonly capacity: number
  /** A port held until the current scope closes. */
  readonly acquire: Effect.Effect<number, NoPortsAvailableError, Scope.Scope>
  /**
   * Runs `open` on one port after another until it succeeds, and holds that
   * port until the current scope closes; `open`'s resources live in the same
   * scope. A failure that `isInUse` recognises (the bind found the port
   * taken) moves on to the next port; any other failure gives the port back
   * and fails. Each port is tried at most once.
   */
  readonly acquireWith: <A, E, R>(
    open: (port: number) => Effect.Effect<A, E, R>,
    isInUse: (error: E) => boolean
  ) => Effect.Effect<A, E | NoPortsAvailableError, Scope.Scope | Exclude<R, Scope.Scope>>
  /** Port pairs held right now. */
  readonly inUse: Effect.Effect<number>
}

const firstEven = (port: number): number => port + (port & 1)

/**
 * Checks a range: integers within 1024-65535, `low` ≤ `high`, and room for
 * at least one even port with its odd neighbour.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validateRange = (range: PortRange): Result.Result<PortRange, InvalidRangeError> => {
  const { high, low } = range
  const invalid = (reason: string) => Result.fail(new InvalidRangeError({ low, high, reason }))
  if (!Number.isInteger(low) || !Number.isInteger(high)) return invalid("ports must be integers")
  if (low > high) return invalid("low is above high")
  if (low < 1024 || high > 65535) return invalid("ports must be within 1024-65535")
  if (firstEven(low) + 1 > high) return invalid("no even port with port + 1 (RTCP) inside the range")
  return Result.succeed(range)
}

/**
 * An allocator over `range`, failing with {@link InvalidRangeError} when the
 * range is unusable.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (range: PortRange = defaultRange): Effect.Effect<PortAllocator, InvalidRangeError> =>
  Effect.map(Effect.fromResult(validateRange(range)), (valid) => makeUnchecked(valid))

const makeUnchecked = (range: PortRange): PortAllocator => {
  const base = firstEven(range.low)
  const capacity = Math.floor((range.high - 1 - base) / 2) + 1
  const held = new Uint8Array(capacity)
  let heldCount = 0
  let cursor = 0

  const take = (exclude: ReadonlySet<number>): number | undefined => {
    for (let step = 0; step < capacity; step++) {
      const slot = (cursor + step) % capacity
      if (held[slot] === 0 && !exclude.has(slot)) {
        held[slot] = 1
        heldCount++
        cursor = (slot + 1) % capacity
        return slot
      }
    }
    return undefined
  }
  const release = (slot: number) =>
    Effect.sync(() => {
      held[slot] = 0
      heldCount--
    })
  const exhausted = () => new NoPortsAvailableError({ low: range.low, high: range.high, inUse: heldCount })

  const acquireWith = <A, E, R>(
    open: (port: number) => Effect.Effect<A, E, R>,
    isInUse: (error: E) => boolean
  ): Effect.Effect<A, E | NoPortsAvailableError, Scope.Scope | Exclude<R, Scope.Scope>> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const outer = yield* Scope.Scope
        const tried = new Set<number>()
        while (true) {
          const slot = take(tried)
          if (slot === undefined) return yield* Effect.fail(exhausted())
          tried.add(slot)
          // One child scope per attempt: a failed bind gives back its port at once.
          const attempt = yield* Scope.fork(outer, "sequential")
          yield* Scope.addFinalizer(attempt, release(slot))
          const exit = yield* restore(open(base + 2 * slot)).pipe(Scope.provide(attempt), Effect.exit)
          if (Exit.isSuccess(exit)) return exit.value
          yield* Scope.close(attempt, exit)
          const error = Exit.findErrorOption(exit)
          if (error._tag === "None" || !isInUse(error.value)) return yield* exit
        }
      })
    ) as Effect.Effect<A, E | NoPortsAvailableError, Scope.Scope | Exclude<R, Scope.Scope>>

  return {
    range,
    capacity,
    acquire: acquireWith((port) => Effect.succeed(port), () => false),
    acquireWith,
    inUse: Effect.sync(() => heldCount)
  }
}

/**
 * The allocator as a service, so every session of a phone draws from one
 * range.
 *
 * @category services
 * @since 0.1.0
 */
export class RTPPorts extends Context.Service<RTPPorts, PortAllocator>()("effect-voip/rtp/RTPPorts") {
  static readonly layer = (range: PortRange = defaultRange): Layer.Layer<RTPPorts, InvalidRangeError> =>
    Layer.effect(RTPPorts, make(range))
}
