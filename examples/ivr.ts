/**
 * An IVR menu: answers every call and plays the menu prompt (a WAV file,
 * or one second of a 440 Hz tone), then answers each key with a tone of
 * its own (`1` 300 Hz, `2` 400 Hz, ... `0` 1200 Hz, `*` 1300 Hz) and hangs
 * up on `#`. Without `VOIP_IVR_BARGE_IN` the prompt always plays to its
 * end and the keys pressed meanwhile are read after it (pyVoIP's IVR);
 * with `VOIP_IVR_BARGE_IN=1` the first key stops the prompt (barge-in,
 * printed as `barge-in`). Prints one line per event: `status REGISTERED`,
 * `incoming <from>`, `answered`, `dtmf 1`, `ended <reason>`.
 *
 *   VOIP_NO_REGISTER=1 VOIP_USER=lab VOIP_BIND=127.0.0.1:5070 VOIP_PLAY=menu.wav VOIP_IVR_BARGE_IN=1 \
 *     node --conditions=source examples/ivr.ts
 *
 * Environment: the `VOIP_*` variables of examples/common.ts, and
 *   VOIP_IVR_BARGE_IN  1: a key interrupts the prompt (default 0)
 */
import { Config, Console, Effect, Option } from "effect"
import { Audio, CallState, type VoIPCall } from "effect-voip"
import { answerAndPrint, audioOf, printEnd, runPhoneExample, tone } from "./common.ts"

const KEYS = "1234567890*"

/** Each key's answer: 200 ms of a tone 100 Hz above the previous key's. */
const answerTone = (key: string) => tone(300 + 100 * KEYS.indexOf(key), 0.2)

/** The next key pressed, or none when the call ended first (pyVoIP's polling of `get_dtmf`). */
const nextKey = (call: VoIPCall): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function*() {
    while (true) {
      const key = yield* call.getDtmf()
      if (key !== "") return Option.some(key)
      if ((yield* call.state) === CallState.ENDED) return Option.none()
      yield* Effect.sleep("20 millis")
    }
  })

/**
 * The menu as an incoming-call handler: plays `prompt` (cut short by the
 * first key when `bargeIn`), answers each key, hangs up on `#`. Exported
 * so the demo and the testing-kit example test run the very same bot.
 */
export const menu = (prompt: Int16Array, bargeIn: boolean) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* answerAndPrint(call)
    if (bargeIn) {
      if (yield* call.playUntilDtmf(Audio.fromSamples(prompt))) yield* Console.log("barge-in")
    } else {
      yield* call.play(Audio.fromSamples(prompt))
    }
    while (true) {
      const key = yield* nextKey(call)
      if (Option.isNone(key)) break
      yield* Console.log(`dtmf ${key.value}`)
      if (key.value === "#") {
        yield* call.hangup.pipe(Effect.catchTag("InvalidStateError", () => Effect.void))
        break
      }
      if (KEYS.includes(key.value)) yield* call.play(Audio.fromSamples(answerTone(key.value)))
    }
    yield* printEnd(call)
  })

if (import.meta.main) {
  runPhoneExample({
    name: "ivr",
    onIncomingCall: (env) =>
      Effect.gen(function*() {
        const bargeIn = yield* Config.Boolean("VOIP_IVR_BARGE_IN").pipe(Config.withDefault(false))
        return menu(yield* audioOf(env.play), bargeIn)
      })
  })
}
