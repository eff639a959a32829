/**
 * A phone that answers every call and plays a WAV file (or a 440 Hz tone)
 * until the caller hangs up. Prints one line per event: `status REGISTERED`,
 * `incoming <from>`, `answered`, `dtmf 1`, `ended <reason>`. SIGINT or
 * SIGTERM ends the calls, deregisters and exits 0; a phone that cannot
 * start prints the error and exits 1.
 *
 *   VOIP_SERVER=127.0.0.1:15080 VOIP_USER=bob VOIP_PASSWORD=bobpw node --conditions=source examples/phone.ts
 *   VOIP_NO_REGISTER=1 VOIP_USER=lab VOIP_BIND=127.0.0.1:5070 VOIP_PLAY=prompt.wav node --conditions=source examples/phone.ts
 *
 * Environment: the `VOIP_*` variables of examples/common.ts.
 */
import { Console, Effect, Stream } from "effect"
import { Audio, type VoIPCall } from "effect-voip"
import { answerAndPrint, audioOf, printEnd, runPhoneExample } from "./common.ts"

const answerWith = (audio: Int16Array) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.dtmf.pipe(Stream.runForEach((digit) => Console.log(`dtmf ${digit}`)), Effect.forkChild)
    yield* answerAndPrint(call)
    // play returns when the caller hangs up
    yield* call.play(Stream.forever(Audio.fromSamples(audio)))
    yield* printEnd(call)
  })

runPhoneExample({
  name: "phone",
  onIncomingCall: (env) => Effect.map(audioOf(env.play), answerWith)
})
