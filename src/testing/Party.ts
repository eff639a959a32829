/**
 * Scripted remote parties: the people a phone bot talks to in a test. A
 * party is a real `VoIPPhone` on the world's network (every INVITE, ACK,
 * re-INVITE, REFER and BYE it sends is the library's own SIP), driven by
 * the test, and it keeps what happened to each of its calls: every event
 * with its time, every digit received, and a {@link Recording} of all the
 * audio it heard, for `Recording.tones` and friends.
 *
 * ```ts
 * const alice = yield* Party.make("alice")
 * const heard = yield* TestWorld.run(Effect.gen(function*() {
 *   const call = yield* alice.call(TestWorld.uriOf(bot))
 *   yield* call.answered
 *   yield* call.listen("2 seconds")        // the greeting
 *   yield* call.sendDtmf("1")
 *   yield* call.say(speech)                  // samples or a stream, 8 kHz
 *   yield* call.hold
 *   yield* call.hangup
 *   return yield* call.heard
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Deferred, type Duration, Effect, Queue, type Scope, Stream } from "effect"
import * as Audio from "../rtp/Audio.ts"
import type { NoPortsAvailableError } from "../rtp/Ports.ts"
import type { DtmfSendError } from "../rtp/RTPClient.ts"
import { CallState, type EndReason, formatEndReason } from "../voip/CallState.ts"
import { CallError, type InvalidStateError } from "../voip/Errors.ts"
import type { CallEvent, VoIPCall } from "../voip/VoIPCall.ts"
import type { VoIPPhoneShape } from "../voip/VoIPPhone.ts"
import * as Recording from "./Recording.ts"
import * as TestWorld from "./TestWorld.ts"

/**
 * A call event and the `Clock` time (milliseconds) it happened at.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimedEvent {
  readonly at: number
  readonly event: CallEvent
}

/**
 * One call of a party, with what it heard.
 *
 * @category models
 * @since 0.1.0
 */
export interface PartyCall {
  /** The phone's own call, for everything the script does not cover. */
  readonly call: VoIPCall
  readonly state: Effect.Effect<CallState>
  /** Waits until the call is ANSWERED; fails when it ends first (refused, cancelled, no answer). */
  readonly answered: Effect.Effect<void, CallError>
  /** RINGING (incoming): picks up; returns once ANSWERED. */
  readonly answer: Effect.Effect<void, InvalidStateError | NoPortsAvailableError | CallError>
  /** Presses keys: RFC 4733 events, each 100 ms with a 60 ms pause; returns once sent. */
  readonly sendDtmf: (digits: string) => Effect.Effect<void, InvalidStateError | DtmfSendError>
  /** Speaks: sends 8 kHz audio and returns once it has gone out. */
  readonly say: <E = never, R = never>(audio: Int16Array | Stream.Stream<Int16Array, E, R>) => Effect.Effect<void, E, R>
  /** Puts the other side on hold (re-INVITE, a=sendonly); returns once accepted. */
  readonly hold: Effect.Effect<void, InvalidStateError | CallError>
  readonly unhold: Effect.Effect<void, InvalidStateError | CallError>
  /**
   * REFERs the other side to `target` (a user at the PBX, or a `sip:` URI).
   * Blind (the default): `true` once the REFER is accepted, and the call
   * ends. Attended: waits for the outcome the transferee reports.
   */
  readonly transfer: (target: string, options?: { readonly blind?: boolean }) => Effect.Effect<boolean, InvalidStateError | CallError>
  readonly hangup: Effect.Effect<void, InvalidStateError>
  /** Everything heard so far (from the answer on). */
  readonly heard: Effect.Effect<Recording.Recording>
  /** Waits `duration` and gives what was heard meanwhile. */
  readonly listen: (duration: Duration.Input) => Effect.Effect<Recording.Recording>
  /** The DTMF digits received so far, in order. */
  readonly digits: Effect.Effect<string>
  /** What happened to the call so far, from the moment the party saw it. */
  readonly events: Effect.Effect<ReadonlyArray<TimedEvent>>
  /** Waits for the end of the call. */
  readonly ended: Effect.Effect<EndReason>
  /**
   * Waits until the other side transfers this party (REFER): the call the
   * party's phone then placed, blind transfer or not.
   */
  readonly transferred: Effect.Effect<PartyCall>
  /**
   * Waits until an INVITE with Replaces takes this call's place (the party
   * is the target of an attended transfer): the new call, already answered.
   */
  readonly replaced: Effect.Effect<PartyCall>
}

/**
 * A scripted person with a phone.
 *
 * @category models
 * @since 0.1.0
 */
export interface Party {
  readonly name: string
  readonly phone: VoIPPhoneShape
  /** Where the party answers: `sip:name@address:5060`. */
  readonly uri: string
  /** Calls `target` (a `sip:` URI, or a user at the PBX); the call is DIALING. */
  readonly call: (target: string) => Effect.Effect<PartyCall, NoPortsAvailableError | CallError>
  /** Waits for the next incoming call, which rings until the script answers it (or hangs up). */
  readonly waitForCall: Effect.Effect<PartyCall>
  /** Waits for the next incoming call and answers it. */
  readonly answerNext: Effect.Effect<PartyCall, InvalidStateError | NoPortsAvailableError | CallError>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface PartyOptions {
  /** Phone parameters over the party's defaults (its user is its name). */
  readonly parameters?: Omit<TestWorld.PhoneInput, "user"> | undefined
}

const isTarget = (target: string): boolean => /^sips?:/i.test(target)

/**
 * Starts recording `call`: events, digits and audio, kept until `scope` closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const track = (call: VoIPCall, scope: Scope.Scope): Effect.Effect<PartyCall> =>
  Effect.gen(function*() {
    const frames: Array<Recording.Frame> = []
    const events: Array<TimedEvent> = []
    const transferred = yield* Deferred.make<PartyCall>()
    const replaced = yield* Deferred.make<PartyCall>()
    const heard = Effect.sync((): Recording.Recording => ({ frames: frames.slice() }))
    const forkRecording = <A>(stream: Stream.Stream<A>, onItem: (item: A, at: number) => Effect.Effect<void>) =>
      stream.pipe(
        Stream.runForEach((item) => Effect.flatMap(Clock.currentTimeMillis, (at) => onItem(item, at))),
        Effect.forkIn(scope, { startImmediately: true })
      )

    yield* forkRecording(call.audio, (samples, at) => Effect.sync(() => void frames.push({ at, samples })))
    yield* forkRecording(call.events, (event, at) =>
      Effect.gen(function*() {
        events.push({ at, event })
        if (event._tag === "Transferred") yield* Deferred.succeed(transferred, yield* track(event.call, scope))
        if (event._tag === "Replaced") yield* Deferred.succeed(replaced, yield* track(event.call, scope))
      }))

    const answered = Effect.gen(function*() {
      const state = yield* call.states.pipe(
        Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
        Stream.runHead
      )
      if (state._tag === "Some" && state.value === CallState.ANSWERED) return
      const reason = yield* call.endReason
      return yield* new CallError({
        action: "answered",
        reason: `the call ended before it was answered (${reason._tag === "Some" ? formatEndReason(reason.value) : "unknown"})`
      })
    })

    return {
      call,
      state: call.state,
      answered,
      answer: call.answer,
      sendDtmf: call.sendDtmf,
      say: (audio) => call.play(audio instanceof Int16Array ? Audio.fromSamples(audio) : audio),
      hold: call.hold,
      unhold: call.unhold,
      transfer: (target, options) =>
        call.transfer(isTarget(target) ? undefined : target, isTarget(target) ? target : undefined, options?.blind ?? true),
      hangup: call.hangup,
      heard,
      listen: (duration) =>
        Effect.gen(function*() {
          const from = yield* Clock.currentTimeMillis
          yield* Effect.sleep(duration)
          return Recording.between(yield* heard, from)
        }),
      digits: Effect.sync(() => events.flatMap(({ event }) => event._tag === "Dtmf" ? [event.digit] : []).join("")),
      events: Effect.sync(() => events.slice()),
      ended: call.ended,
      transferred: Deferred.await(transferred),
      replaced: Deferred.await(replaced)
    } satisfies PartyCall
  })

/**
 * A party named `name` on the world's network, at an address of its own,
 * with its user `name` (registered at the PBX when the world has one).
 * Its calls ring until the script answers them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  name: string,
  options: PartyOptions = {}
): Effect.Effect<Party, TestWorld.PhoneError, Scope.Scope | TestWorld.Services> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const incoming = yield* Queue.unbounded<PartyCall>()
    const phone = yield* TestWorld.phone({ ...options.parameters, user: name }, {
      onIncomingCall: (call) =>
        Effect.gen(function*() {
          yield* Queue.offer(incoming, yield* track(call, scope))
          yield* call.ended
        })
    })
    const waitForCall = Queue.take(incoming)
    return {
      name,
      phone,
      uri: TestWorld.uriOf(phone),
      call: (target) => Effect.flatMap(phone.call(target), (call) => track(call, scope)),
      waitForCall,
      answerNext: Effect.flatMap(waitForCall, (call) => Effect.as(call.answer, call))
    } satisfies Party
  })
