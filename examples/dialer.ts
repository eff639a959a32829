/**
 * An outbound dialer: calls `VOIP_CALL_TO`, plays a message (a WAV file,
 * or one second of a 440 Hz tone) once the call is answered, hangs up,
 * deregisters and exits 0; a call that is not answered exits 1. Prints one
 * line per event: `status REGISTERED`, `dialing <to>`, `ringing`,
 * `answered`, `ended <reason>`.
 *
 *   VOIP_SERVER=127.0.0.1:15080 VOIP_USER=alice VOIP_PASSWORD=alicepw VOIP_CALL_TO=bob VOIP_PLAY=msg.wav \
 *     node --conditions=source examples/dialer.ts
 *
 * Environment: the `VOIP_*` variables of examples/common.ts, and
 *   VOIP_CALL_TO   number (a user at VOIP_SERVER) or sip: URI to call (required)
 */
import { Config, Console, Effect, Option, Schema, Stream } from "effect"
import { Audio, CallState, formatEndReason } from "effect-voip"
import { audioOf, printEnd, runPhoneExample } from "./common.ts"

class NotAnsweredError extends Schema.TaggedError<NotAnsweredError>()("NotAnsweredError", {
  target: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.target} did not answer: ${this.reason}`
  }
}

runPhoneExample({
  name: "dialer",
  program: (phone, env) =>
    Effect.gen(function*() {
      const target = yield* Config.String("VOIP_CALL_TO")
      const message = yield* audioOf(env.play)
      yield* Console.log(`dialing ${target}`)
      const call = yield* phone.call(target)
      const answered = yield* call.events.pipe(
        Stream.tap((event) => event._tag === "Provisional" && event.status === 180 ? Console.log("ringing") : Effect.void),
        Stream.filter((event) => event._tag === "State" && (event.state === CallState.ANSWERED || event.state === CallState.ENDED)),
        Stream.runHead,
        Effect.map(Option.exists((event) => event._tag === "State" && event.state === CallState.ANSWERED))
      )
      if (!answered) {
        return yield* new NotAnsweredError({ target, reason: formatEndReason(yield* call.ended) })
      }
      yield* Console.log("answered")
      // play returns early when the callee hangs up
      yield* call.play(Audio.fromSamples(message))
      yield* call.hangup.pipe(Effect.catchTag("InvalidStateError", () => Effect.void))
      yield* printEnd(call)
    })
})
