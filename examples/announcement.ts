/**
 * An announcement board: answers every call, plays a WAV file (or one
 * second of a 440 Hz tone) once and hangs up. Prints one line per event:
 * `status REGISTERED`, `incoming <from>`, `answered`, `ended <reason>`
 * (`remote-hangup` when the caller left before the end). SIGINT or SIGTERM
 * deregisters and exits 0.
 *
 *   VOIP_NO_REGISTER=1 VOIP_USER=lab VOIP_BIND=127.0.0.1:5070 VOIP_PLAY=news.wav \
 *     node --conditions=source examples/announcement.ts
 *
 * Environment: the `VOIP_*` variables of examples/common.ts.
 */
import { Effect } from "effect"
import { Audio, type VoIPCall } from "effect-voip"
import { answerAndPrint, audioOf, printEnd, runPhoneExample } from "./common.ts"

const announce = (audio: Int16Array) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* answerAndPrint(call)
    // play returns early when the caller hangs up
    yield* call.play(Audio.fromSamples(audio))
    // the caller may have hung up first: then there is nothing to end
    yield* call.hangup.pipe(Effect.catchTag("InvalidStateError", () => Effect.void))
    yield* printEnd(call)
  })

runPhoneExample({
  name: "announcement",
  onIncomingCall: (env) => Effect.map(audioOf(env.play), announce)
})
