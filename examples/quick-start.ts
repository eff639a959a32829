/**
 * The README's quick start: a phone that registers, answers every call with a
 * menu that the caller can interrupt with a key (barge-in), reads one digit,
 * and says goodbye.
 *
 *   VOIP_SERVER=pbx.example.com VOIP_USER=alice VOIP_PASSWORD=secret node --conditions=source examples/quick-start.ts
 */
import { NodeDns, NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer } from "effect"
import { Audio, CredentialsManager, type VoIPCall, VoIPPhone, VoIPPhoneParameter, VoIPSettings } from "effect-voip"

const menu = (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.answer
    yield* call.playUntilDtmf(Audio.fromWavFile("menu.wav")) // stops at the first key
    const digit = yield* call.getDtmf(1)
    yield* Console.log(`caller pressed ${digit || "nothing"}`)
    yield* call.play(Audio.fromWavFile(digit === "1" ? "sales.wav" : "goodbye.wav"))
    yield* call.hangup
  })

const phone = Layer.unwrap(Effect.gen(function*() {
  const credentials = new CredentialsManager()
  credentials.add(yield* Config.String("VOIP_USER"), yield* Config.Redacted("VOIP_PASSWORD"))
  const parameters = yield* VoIPPhoneParameter.make({
    server: yield* Config.String("VOIP_SERVER"),
    user: yield* Config.String("VOIP_USER"),
    credentialsManager: credentials,
    bindIp: "0.0.0.0",
    bindPort: 5060
  })
  return VoIPPhone.layer(parameters, { onIncomingCall: menu })
}))

Layer.launch(phone).pipe(
  Effect.provide([VoIPSettings.layer, NodeDns.layer, NodeFileSystem.layer]),
  NodeRuntime.runMain
)
