/**
 * The media side of a call: its RTP session once there is one, the DTMF
 * digits it received, and the audio calls of pyVoIP (`read_audio`,
 * `write_audio`, `get_dtmf`) next to the streams of the RTP layer.
 *
 * A call has no session until it offers (outgoing) or answers (incoming);
 * until then reads give silence, writes are dropped, and `play` waits for
 * the session. When the call ends everything stops at once: a playing
 * prompt is cut (barge-in by hangup), a blocking read returns silence, the
 * streams end.
 *
 * Digits are kept as pyVoIP keeps them: a buffer that `getDtmf(length)`
 * reads from the front, `""` when it is empty, everything for a negative
 * length. The `dtmf` stream sees each digit too, whether or not the buffer
 * is read.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Option, PubSub, type Scope, Stream, SubscriptionRef } from "effect"
import * as Linear8 from "../rtp/Linear8.ts"
import type { RTPStats } from "../rtp/Metrics.ts"
import type { DtmfSendError, RTPClient } from "../rtp/RTPClient.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface CallMedia {
  /** The session, once the call has one. */
  readonly session: Effect.Effect<Option.Option<RTPClient>>
  /**
   * Takes `session` (opened in `scope`) as the call's session and starts
   * collecting its digits; done once, before the session receives anything.
   */
  readonly attach: (session: RTPClient, scope: Scope.Scope) => Effect.Effect<void>
  /** A digit that arrived outside RTP (SIP INFO): buffered and streamed like an RFC 4733 one. */
  readonly receiveDigit: (digit: string) => Effect.Effect<void>
  /** Ends the streams and wakes whatever waits for a session; the session itself closes with its scope. */
  readonly close: Effect.Effect<void>
  /** pyVoIP's `get_dtmf(length = 1)`. */
  readonly getDtmf: (length?: number) => Effect.Effect<string>
  /** Digits as they arrive, from subscription until the call ends. */
  readonly dtmf: Stream.Stream<string>
  /** Completes with `true` as soon as a digit is waiting in the buffer (at once if one is). */
  readonly digitWaiting: Effect.Effect<true>
  /** pyVoIP's `read_audio(length = 160, blocking = true)`: 8-bit unsigned linear audio. */
  readonly readAudio: (length?: number, blocking?: boolean) => Effect.Effect<Uint8Array>
  /** pyVoIP's `write_audio(data)`: queues 8-bit unsigned linear audio. */
  readonly writeAudio: (linear8: Uint8Array) => Effect.Effect<void>
  /** Received audio, 20 ms frames of 8 kHz 16-bit samples, until the call ends. */
  readonly audio: Stream.Stream<Int16Array>
  /** Sends `audio`; completes when it has gone out or the call ended. */
  readonly play: <E, R>(audio: Stream.Stream<Int16Array, E, R>) => Effect.Effect<void, E, R>
  /** Drops queued outgoing audio. */
  readonly flush: Effect.Effect<void>
  readonly sendDtmf: (digits: string) => Effect.Effect<void, DtmfSendError>
  /** The session's counters; after the end, as they were when it closed (none if the call never had a session). */
  readonly stats: Effect.Effect<Option.Option<RTPStats>>
}

const silence = (length: number): Uint8Array => new Uint8Array(Math.max(0, length)).fill(Linear8.silence)

/**
 * The media of a call that ends when `ended` completes; `onDigit` hears
 * every received digit.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  ended: Effect.Effect<unknown>,
  onDigit: (digit: string) => Effect.Effect<void>
): Effect.Effect<CallMedia> =>
  Effect.gen(function*() {
    // Completes once the call has a session, or has ended without one.
    const ready = yield* Deferred.make<void>()
    const buffer = yield* SubscriptionRef.make("")
    // `undefined` marks the end of the call for every subscriber.
    const digits = yield* PubSub.unbounded<string | undefined>()
    // The session while the call lasts: none before it has one and after it ended.
    let current: Option.Option<RTPClient> = Option.none()
    // the session's counters as it closed: a call's stats outlive it
    let final: Option.Option<RTPStats> = Option.none()

    const withSession = <A, E, R>(
      onSession: (session: RTPClient) => Effect.Effect<A, E, R>,
      orElse: Effect.Effect<A>
    ): Effect.Effect<A, E, R> =>
      Effect.flatMap(Deferred.await(ready), () => Option.match(current, { onNone: () => orElse, onSome: onSession }))

    const untilEnded = <A, E, R>(effect: Effect.Effect<A, E, R>, onEnd: A): Effect.Effect<A, E, R> =>
      Effect.raceFirst(effect, Effect.as(ended, onEnd))

    const receiveDigit = (digit: string) =>
      SubscriptionRef.update(buffer, (held) => held + digit).pipe(
        Effect.andThen(PubSub.publish(digits, digit)),
        Effect.andThen(onDigit(digit))
      )

    const attach = (session: RTPClient, scope: Scope.Scope) =>
      Effect.gen(function*() {
        current = Option.some(session)
        yield* Stream.runForEach(session.dtmf, receiveDigit).pipe(Effect.forkIn(scope, { startImmediately: true }))
        yield* Deferred.succeed(ready, undefined)
      })

    const close = Effect.gen(function*() {
      if (Option.isSome(current)) final = Option.some(yield* current.value.stats)
      current = Option.none()
      yield* Deferred.succeed(ready, undefined)
      yield* PubSub.end(digits, undefined)
    })

    const getDtmf = (length = 1) =>
      SubscriptionRef.modify(buffer, (held) => {
        const taken = length < 0 ? held : held.slice(0, length)
        return [taken, held.slice(taken.length)]
      })

    const dtmf: Stream.Stream<string> = Stream.unwrap(Effect.map(PubSub.subscribe(digits), Stream.fromSubscription)).pipe(
      Stream.takeWhile((digit): digit is string => digit !== undefined)
    )

    const digitWaiting = SubscriptionRef.changes(buffer).pipe(
      Stream.filter((held) => held.length > 0),
      Stream.runHead,
      Effect.as(true as const)
    )

    /** `onSession` with the session of the moment the effect runs, else `orElse`. */
    const now = <A, E>(onSession: (session: RTPClient) => Effect.Effect<A, E>, orElse: Effect.Effect<A>) =>
      Effect.suspend(() => Option.match(current, { onNone: () => orElse, onSome: onSession }))

    const readAudio = (length = 160, blocking = true) =>
      now((session) => untilEnded(session.read(length, blocking), silence(length)), Effect.sync(() => silence(length)))

    const writeAudio = (linear8: Uint8Array) => now((session) => session.write(linear8), Effect.void)

    const audio: Stream.Stream<Int16Array> = Stream.unwrap(
      withSession((session) => Effect.succeed(session.audio), Effect.succeed(Stream.empty))
    )

    const play = <E, R>(stream: Stream.Stream<Int16Array, E, R>) =>
      untilEnded(withSession((session) => session.play(stream), Effect.void), undefined)

    return {
      session: Effect.sync(() => current),
      attach,
      receiveDigit,
      close,
      getDtmf,
      dtmf,
      digitWaiting,
      readAudio,
      writeAudio,
      audio,
      play,
      flush: now((session) => session.flush, Effect.void),
      sendDtmf: (text: string) => now((session) => session.sendDtmf(text), Effect.void),
      stats: now((session) => Effect.map(session.stats, Option.some), Effect.sync(() => final))
    } satisfies CallMedia
  })
