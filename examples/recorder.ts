/**
 * A call recorder: answers every call and records what the caller says to
 * the WAV file `VOIP_RECORD` (8 kHz mono 16-bit; each call overwrites it)
 * until the caller hangs up. Prints one line per event: `status REGISTERED`,
 * `incoming <from>`, `answered`, `ended <reason>`, then
 * `recorded <seconds> s to <file>`.
 *
 *   VOIP_NO_REGISTER=1 VOIP_USER=lab VOIP_BIND=127.0.0.1:5070 VOIP_RECORD=/tmp/caller.wav \
 *     node --conditions=source examples/recorder.ts
 *
 * Environment: the `VOIP_*` variables of examples/common.ts, and
 *   VOIP_RECORD   the WAV file to write (required)
 */
import { Config, Console, Effect, Fiber } from "effect"
import { Audio, type VoIPCall } from "effect-voip"
import { answerAndPrint, printEnd, runPhoneExample } from "./common.ts"

const record = (file: string) => (call: VoIPCall) =>
  Effect.gen(function*() {
    // subscribed before the answer, so the first frame is kept; the stream ends with the call
    const recording = yield* Effect.forkChild(Audio.recordWav(file, call.audio))
    yield* answerAndPrint(call)
    yield* printEnd(call)
    const samples = yield* Fiber.join(recording)
    yield* Console.log(`recorded ${(samples / 8000).toFixed(2)} s to ${file}`)
  })

runPhoneExample({
  name: "recorder",
  onIncomingCall: () => Effect.gen(function*() {
    return record(yield* Config.String("VOIP_RECORD"))
  })
})
