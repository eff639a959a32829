/**
 * What `voip call` and `voip answer` do with a call: record it from the
 * start, and once it is answered play a WAV file (once or looped) or echo
 * the peer, send DTMF, hold and resume, transfer and hang up, each after its
 * delay counted from the answer, until the call ends.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Fiber, Option, Stream } from "effect"
import * as Audio from "../rtp/Audio.ts"
import * as Wav from "../rtp/Wav.ts"
import { CallState } from "../voip/CallState.ts"
import type { VoIPCall } from "../voip/VoIPCall.ts"
import { type CliFailure, ExitCode, fail } from "./ExitCode.ts"
import type { ControlFlags, MediaFlags } from "./Flags.ts"
import type { Session, Tracked } from "./Session.ts"
import { messageOf } from "./Session.ts"

/**
 * The samples of `--play`, read and checked before the phone starts.
 *
 * @category constructors
 * @since 0.1.0
 */
export const loadPlay = (media: MediaFlags): Effect.Effect<Option.Option<Int16Array>, CliFailure, FileSystem.FileSystem> =>
  Option.match(media.play, {
    onNone: () => Effect.succeedNone,
    onSome: (file) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const bytes = yield* fs.readFile(file)
        return Option.some((yield* Wav.decode(bytes)).samples)
      }).pipe(Effect.mapError((error) => fail(ExitCode.USAGE, `--play ${file}: ${messageOf(error)}`)))
  })

/**
 * Waits until the call is answered (`true`) or has ended (`false`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const answered = (call: VoIPCall): Effect.Effect<boolean> =>
  call.states.pipe(
    Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
    Stream.runHead,
    Effect.map((state) => Option.contains(state, CallState.ANSWERED))
  )

/**
 * Starts recording the call to `--record` (before the answer, so the first
 * frame is kept); the effect it gives waits for the end of the recording
 * and reports it.
 *
 * @category combinators
 * @since 0.1.0
 */
export const startRecording = (session: Session, call: VoIPCall, media: MediaFlags) =>
  Effect.gen(function*() {
    if (Option.isNone(media.record)) return Effect.void
    const file = media.record.value
    const fiber = yield* Effect.forkChild(Audio.recordWav(file, call.audio))
    return Effect.gen(function*() {
      const samples = yield* Fiber.join(fiber).pipe(
        Effect.catch((error) => Effect.as(Effect.logWarning(`recording to ${file} failed: ${messageOf(error)}`), 0))
      )
      yield* session.out.emit({ event: "recorded", callId: call.callId, file, seconds: samples / 8000 })
    })
  })

/**
 * `effect` after `seconds`. Only the wait can be interrupted (by the end of
 * the call): an action that ends the call (hangup, blind transfer) races
 * with that end and must not be cut short while it ends the call.
 */
const after = (seconds: number, effect: Effect.Effect<void>) =>
  Effect.andThen(Effect.sleep(`${seconds * 1000} millis`), Effect.uninterruptible(effect))

const warnOnError = (what: string) => <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.asVoid, Effect.catch((error) => Effect.logWarning(`${what} failed: ${messageOf(error)}`)))

/**
 * Runs the media and control flags on an answered call until it ends.
 *
 * @category combinators
 * @since 0.1.0
 */
export const drive = (
  session: Session,
  tracked: Tracked,
  media: MediaFlags,
  control: ControlFlags,
  play: Option.Option<Int16Array>
): Effect.Effect<void> => {
  const call = tracked.call
  const actions: Array<Effect.Effect<void>> = []
  if (Option.isSome(play)) {
    const once = Audio.fromSamples(play.value)
    actions.push(call.play(media.loop ? Stream.forever(once) : once))
  }
  if (media.echo) actions.push(call.play(call.audio))
  if (Option.isSome(media.dtmf)) actions.push(after(media.dtmfDelay, warnOnError("--dtmf")(call.sendDtmf(media.dtmf.value))))
  if (Option.isSome(control.holdAfter)) actions.push(after(control.holdAfter.value, warnOnError("--hold-after")(call.hold)))
  if (Option.isSome(control.unholdAfter)) {
    actions.push(after(control.unholdAfter.value, warnOnError("--unhold-after")(call.unhold)))
  }
  if (Option.isSome(control.transfer)) {
    const to = control.transfer.value
    actions.push(after(
      control.transferAfter,
      call.transfer(undefined, to, true).pipe(
        Effect.catch((error) => Effect.as(Effect.logWarning(`--transfer failed: ${messageOf(error)}`), false)),
        Effect.flatMap((accepted) => session.out.emit({ event: "transfer", callId: call.callId, to, accepted })),
        tracked.reportsBeforeEnd
      )
    ))
  }
  if (Option.isSome(media.hangupAfter)) {
    // the peer may have hung up meanwhile
    actions.push(after(media.hangupAfter.value, Effect.ignore(call.hangup)))
  }
  return Effect.all(actions, { concurrency: "unbounded", discard: true }).pipe(
    Effect.andThen(Effect.never),
    Effect.raceFirst(Effect.asVoid(call.ended))
  )
}
