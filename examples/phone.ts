/**
 * A phone that answers every call and plays a WAV file (or a 440 Hz tone)
 * until the caller hangs up. Prints one line per event: `status REGISTERED`,
 * `incoming <from>`, `answered`, `dtmf 1`, `ended <reason>`. SIGINT or
 * SIGTERM ends the calls, deregisters and exits 0; a phone that cannot
 * start prints the error and exits 1.
 *
 *   VOIP_SERVER=127.0.0.1:15080 VOIP_USER=bob VOIP_PASSWORD=bobpw node examples/phone.ts
 *   VOIP_NO_REGISTER=1 VOIP_USER=lab VOIP_BIND=127.0.0.1:5070 VOIP_PLAY=prompt.wav node examples/phone.ts
 *
 * Environment:
 *   VOIP_SERVER       registrar host[:port] (required unless VOIP_NO_REGISTER=1)
 *   VOIP_USER         user of the address-of-record (required)
 *   VOIP_AUTH_USER    username to authenticate as (default: VOIP_USER)
 *   VOIP_PASSWORD     password (default: none, anonymous)
 *   VOIP_TRANSPORT    udp | tcp | tls (default udp)
 *   VOIP_BIND         local ip[:port] (default 0.0.0.0:5060)
 *   VOIP_EXPIRES      seconds asked for in REGISTER (default 300)
 *   VOIP_NO_REGISTER  1: no registrar, answer on VOIP_BIND (peer-to-peer)
 *   VOIP_PLAY         WAV file to play (any rate, mono or stereo); default a tone
 * and the library's settings, e.g. VOIP_SIP_T1, VOIP_DEBUG (see src/Config.ts).
 */
import { NodeDns, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Context, Deferred, Effect, Exit, Layer, Option, Runtime, Stream } from "effect"
import * as fs from "node:fs"
import { VoIPSettings } from "../src/Config.ts"
import { CredentialsManager } from "../src/Credentials.ts"
import * as Audio from "../src/rtp/Audio.ts"
import * as Wav from "../src/rtp/Wav.ts"
import { parseHostPort } from "../src/sip/client/Account.ts"
import { PhoneStatus } from "../src/sip/client/PhoneStatus.ts"
import { formatUri } from "../src/sip/Uri.ts"
import { fromString, TransportMode } from "../src/transport/TransportMode.ts"
import { CallState, formatEndReason } from "../src/voip/CallState.ts"
import type { VoIPCall } from "../src/voip/VoIPCall.ts"
import { VoIPPhone } from "../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../src/voip/VoIPPhoneParameter.ts"

const environment = Config.all({
  server: Config.option(Config.String("VOIP_SERVER")),
  user: Config.String("VOIP_USER"),
  authUser: Config.option(Config.String("VOIP_AUTH_USER")),
  password: Config.option(Config.Redacted("VOIP_PASSWORD")),
  transport: Config.Literals(["udp", "tcp", "tls"], "VOIP_TRANSPORT").pipe(Config.withDefault("udp" as const)),
  bind: Config.String("VOIP_BIND").pipe(Config.withDefault("0.0.0.0:5060")),
  expires: Config.Int("VOIP_EXPIRES").pipe(Config.withDefault(300)),
  noRegister: Config.Boolean("VOIP_NO_REGISTER").pipe(Config.withDefault(false)),
  play: Config.option(Config.String("VOIP_PLAY"))
})

const parametersFrom = (env: Config.Success<typeof environment>) =>
  Effect.gen(function*() {
    const bind = yield* Effect.fromResult(parseHostPort(env.bind))
    const server = Option.isSome(env.server) ? yield* Effect.fromResult(parseHostPort(env.server.value)) : undefined
    const credentials = new CredentialsManager()
    if (Option.isSome(env.password)) credentials.add(Option.getOrElse(env.authUser, () => env.user), env.password.value)
    return yield* VoIPPhoneParameter.make({
      ...(server === undefined ? {} : { server: server.host }),
      ...(server?.port === undefined ? {} : { port: server.port }),
      user: env.user,
      credentialsManager: credentials,
      bindIp: bind.host,
      bindPort: bind.port ?? 5060,
      transportMode: Option.getOrElse(fromString(env.transport), () => TransportMode.UDP),
      registerExpires: env.expires,
      register: !env.noRegister
    })
  })

/** One second of a 440 Hz tone at 8 kHz. */
const tone = (): Int16Array =>
  Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)))

const answerWith = (audio: Int16Array) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* Console.log(`incoming ${call.remote === undefined ? "unknown" : formatUri(call.remote.uri)}`)
    yield* call.dtmf.pipe(Stream.runForEach((digit) => Console.log(`dtmf ${digit}`)), Effect.forkChild)
    yield* call.answer
    if ((yield* call.state) === CallState.ANSWERED) yield* Console.log("answered")
    // play returns when the caller hangs up
    yield* call.play(Stream.forever(Audio.fromSamples(audio)))
    yield* Console.log(`ended ${formatEndReason(yield* call.ended)}`)
  })

const finished = (status: PhoneStatus) => status === PhoneStatus.INACTIVE || status === PhoneStatus.FAILED

const main = Effect.gen(function*() {
  const env = yield* environment
  const parameters = yield* parametersFrom(env)
  const audio = Option.isSome(env.play) ? (yield* Wav.decode(new Uint8Array(fs.readFileSync(env.play.value)))).samples : tone()

  // Runs last, after the phone's layer has stopped: lets the last status lines out.
  const printed = yield* Deferred.make<void>()
  yield* Effect.addFinalizer(() => Effect.timeoutOption(Deferred.await(printed), "2 seconds"))

  const phone = Context.get(yield* Layer.build(VoIPPhone.layer(parameters, { onIncomingCall: answerWith(audio) })), VoIPPhone)
  yield* phone.statusChanges.pipe(
    Stream.takeUntil(finished),
    Stream.runForEach((status) => Console.log(`status ${status}`)),
    Effect.ensuring(Deferred.succeed(printed, undefined)),
    Effect.forkDetach
  )
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(VoIPSettings.layer, NodeDns.layer)),
  Effect.tapError((error) => Console.error(`phone failed: ${error.message.replace(/\s*\n\s*/g, " ")}`))
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // SIGINT/SIGTERM interrupt the program: after the phone stopped, that is a clean exit
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
})
