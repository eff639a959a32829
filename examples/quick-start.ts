/**
 * The README's quick start: a phone that registers, answers every call with a
 * menu that the caller can interrupt with a key (barge-in), reads one digit,
 * and says goodbye. Prints `caller pressed <digit>`.
 *
 *   VOIP_SERVER=pbx.example.com VOIP_USER=alice VOIP_PASSWORD=secret node --conditions=source examples/quick-start.ts
 *
 * VOIP_PORT is the server's port (default 5060), VOIP_BIND_IP and VOIP_BIND_PORT
 * where we listen (default 0.0.0.0:5060).
 */
import { NodeDns, NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer } from "effect"
import { Audio, CredentialsManager, type VoIPCall, VoIPPhone, VoIPPhoneParameter, VoIPSettings } from "effect-voip"

const menu = (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.answer
    yield* call.playUntilDtmf(Audio.fromWavFile("menu.wav")) // the first key stops it
    const digit = yield* call.getDtmf(1)
    yield* Console.log(`caller pressed ${digit || "nothing"}`)
    yield* call.play(Audio.fromWavFile(digit === "1" ? "sales.wav" : "goodbye.wav"))
    yield* call.hangup
  })

const phone = Layer.unwrap(Effect.gen(function*() {
  const user = yield* Config.String("VOIP_USER")
  const credentialsManager = new CredentialsManager()
  credentialsManager.add(user, yield* Config.Redacted("VOIP_PASSWORD"))
  const [server, port, bindIp, bindPort] = yield* Config.all([
    Config.String("VOIP_SERVER"),
    Config.Port("VOIP_PORT").pipe(Config.withDefault(5060)),
    Config.String("VOIP_BIND_IP").pipe(Config.withDefault("0.0.0.0")),
    Config.Port("VOIP_BIND_PORT").pipe(Config.withDefault(5060))
  ])
  const parameters = yield* VoIPPhoneParameter.make({ server, port, user, credentialsManager, bindIp, bindPort })
  return VoIPPhone.layer(parameters, { onIncomingCall: menu }) // each call runs in its own fiber
}))

Layer.launch(phone).pipe(Effect.provide([VoIPSettings.layer, NodeDns.layer, NodeFileSystem.layer]), NodeRuntime.runMain)
