/**
 * Two answered calls joined through the phone: what one caller says the
 * other hears, and the digits one presses are sent on to the other (RFC
 * 4733), while the bot stays in the middle and can still listen to, record
 * or interrupt either side (every `audio` and `dtmf` stream of the calls
 * keeps working). When one call ends the bridge hangs up the other, unless
 * told to keep it.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import { CallState } from "./CallState.ts"
import { InvalidStateError } from "./Errors.ts"
import type { VoIPCall } from "./VoIPCall.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface BridgeOptions {
  /** Hang up the other call when one ends (default `true`). */
  readonly hangupBoth?: boolean | undefined
  /** Send the digits each side presses on to the other (default `true`). */
  readonly forwardDtmf?: boolean | undefined
}

/** `from`'s audio (and digits) to `to`, until either call ends. */
const oneWay = (from: VoIPCall, to: VoIPCall, forwardDtmf: boolean) =>
  Effect.all([
    to.play(from.audio),
    forwardDtmf ? Stream.runForEach(from.dtmf, (digit) => Effect.ignore(to.sendDtmf(digit))) : Effect.void
  ], { concurrency: "unbounded", discard: true })

/**
 * Joins `a` and `b` until one of them ends; gives which ended first. With
 * `hangupBoth` (the default) the other is then hung up. Both must be
 * ANSWERED, else it fails with `InvalidStateError`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const bridge = (a: VoIPCall, b: VoIPCall, options: BridgeOptions = {}): Effect.Effect<VoIPCall, InvalidStateError> => {
  const forwardDtmf = options.forwardDtmf ?? true
  const firstEnded = Effect.raceFirst(Effect.as(a.ended, a), Effect.as(b.ended, b))
  return Effect.gen(function*() {
    for (const call of [a, b]) {
      const state = yield* call.state
      if (state !== CallState.ANSWERED) return yield* new InvalidStateError({ action: "bridge", state, allowed: [CallState.ANSWERED] })
    }
    const ended = yield* Effect.raceFirst(
      firstEnded,
      Effect.andThen(Effect.all([oneWay(a, b, forwardDtmf), oneWay(b, a, forwardDtmf)], { concurrency: "unbounded" }), firstEnded)
    )
    const other = ended === a ? b : a
    if (options.hangupBoth ?? true) {
      if ((yield* other.state) === CallState.ANSWERED) yield* Effect.ignore(other.hangup)
    }
    return ended
  })
}
