/**
 * Call state handling: answers every call and plays a WAV file (or a
 * 440 Hz tone) until the caller hangs up, and with `VOIP_CALL_TO` also
 * calls that number and hangs up `VOIP_HOLD_MS` after the answer. For
 * every call it prints each state change and the reason it ended:
 * `state <Call-ID> RINGING`, `state <Call-ID> ANSWERED`,
 * `state <Call-ID> ENDED`, `ended <Call-ID> <reason>`, besides
 * `status REGISTERED` and `incoming <from>`.
 *
 *   VOIP_SERVER=127.0.0.1:15080 VOIP_USER=alice VOIP_PASSWORD=alicepw VOIP_CALL_TO=bob \
 *     node --conditions=source examples/call-state.ts
 *
 * Environment: the `VOIP_*` variables of examples/common.ts, and
 *   VOIP_CALL_TO   number or sip: URI to call once the phone is up (optional)
 *   VOIP_HOLD_MS   how long that call stays up once answered (default 2000)
 */
import { Config, Console, Duration, Effect, Fiber, Option, Stream } from "effect"
import { Audio, CallState, formatEndReason, type VoIPCall, type VoIPPhone } from "effect-voip"
import { audioOf, peerOf, runPhoneExample } from "./common.ts"

/** Prints every state of `call` (its current one first) and, at the end, why it ended. */
const watch = (call: VoIPCall) =>
  call.states.pipe(
    Stream.runForEach((state) => Console.log(`state ${call.callId} ${state}`)),
    Effect.andThen(call.ended),
    Effect.flatMap((reason) => Console.log(`ended ${call.callId} ${formatEndReason(reason)}`))
  )

const answerWith = (audio: Int16Array) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* Console.log(`incoming ${peerOf(call)}`)
    const watching = yield* Effect.forkChild(watch(call))
    yield* call.answer
    yield* call.play(Stream.forever(Audio.fromSamples(audio)))
    yield* Fiber.join(watching)
  })

const dial = (phone: VoIPPhone["Service"]) =>
  Effect.gen(function*() {
    const target = yield* Config.option(Config.String("VOIP_CALL_TO"))
    const hold = yield* Config.Int("VOIP_HOLD_MS").pipe(Config.withDefault(2000))
    if (Option.isSome(target)) {
      const call = yield* phone.call(target.value)
      const watching = yield* Effect.forkChild(watch(call))
      const state = yield* call.states.pipe(
        Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
        Stream.runHead
      )
      if (Option.contains(state, CallState.ANSWERED)) {
        yield* Effect.sleep(Duration.millis(hold))
        yield* call.hangup.pipe(Effect.catchTag("InvalidStateError", () => Effect.void))
      }
      yield* Fiber.join(watching)
    }
    return yield* Effect.never
  })

runPhoneExample({
  name: "call-state",
  onIncomingCall: (env) => Effect.map(audioOf(env.play), answerWith),
  program: dial
})
