/**
 * What the phone examples share: the `VOIP_*` settings, the phone built from
 * them with its status printed one line per change (`status REGISTERED`),
 * the audio to play (a WAV file or a tone), and the process around it:
 * SIGINT or SIGTERM ends the calls, deregisters and exits 0; an error is
 * printed on one line and exits 1.
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
import { NodeDns, NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Context, Deferred, Effect, Exit, Layer, Option, Runtime, Stream } from "effect"
import type { FileSystem } from "effect"
import {
  Account,
  Audio,
  CallState,
  CredentialsManager,
  formatEndReason,
  type IncomingCallHandler,
  PhoneStatus,
  TransportMode,
  Uri,
  type VoIPCall,
  VoIPPhone,
  VoIPPhoneParameter,
  VoIPSettings,
  Wav
} from "effect-voip"
import * as fs from "node:fs"

const transports = { udp: TransportMode.UDP, tcp: TransportMode.TCP, tls: TransportMode.TLS } as const

export const environment = Config.all({
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

export type Environment = Config.Success<typeof environment>

const parametersFrom = (env: Environment) =>
  Effect.gen(function*() {
    const bind = yield* Effect.fromResult(Account.parseHostPort(env.bind))
    const server = Option.isSome(env.server) ? yield* Effect.fromResult(Account.parseHostPort(env.server.value)) : undefined
    const credentials = new CredentialsManager()
    if (Option.isSome(env.password)) credentials.add(Option.getOrElse(env.authUser, () => env.user), env.password.value)
    return yield* VoIPPhoneParameter.make({
      ...(server === undefined ? {} : { server: server.host }),
      ...(server?.port === undefined ? {} : { port: server.port }),
      user: env.user,
      credentialsManager: credentials,
      bindIp: bind.host,
      bindPort: bind.port ?? 5060,
      transportMode: transports[env.transport],
      registerExpires: env.expires,
      register: !env.noRegister
    })
  })

/** `seconds` of a sine at `frequency` Hz, 8 kHz. */
export const tone = (frequency: number, seconds: number): Int16Array => Audio.tone(frequency, seconds * 1000)

/** The samples of the WAV file at `path`, or one second of 440 Hz without one. */
export const audioOf = (path: Option.Option<string>) =>
  Option.isSome(path)
    ? Effect.map(Wav.decode(new Uint8Array(fs.readFileSync(path.value))), (wav) => wav.samples)
    : Effect.succeed(tone(440, 1))

/** Who a call is with, as a URI. */
export const peerOf = (call: VoIPCall): string => call.remote === undefined ? "unknown" : Uri.formatUri(call.remote.uri)

/** Prints `incoming <from>`, answers and prints `answered` once the call is up. */
export const answerAndPrint = (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* Console.log(`incoming ${peerOf(call)}`)
    yield* call.answer
    if ((yield* call.state) === CallState.ANSWERED) yield* Console.log("answered")
  })

/** Waits for the end of the call and prints `ended <reason>`. */
export const printEnd = (call: VoIPCall) =>
  Effect.flatMap(call.ended, (reason) => Console.log(`ended ${formatEndReason(reason)}`))

const finished = (status: PhoneStatus) => status === PhoneStatus.INACTIVE || status === PhoneStatus.FAILED

/** What an example runs with the phone up; servers run `Effect.never`. */
export type PhoneProgram<E> = (phone: VoIPPhone["Service"], env: Environment) => Effect.Effect<unknown, E, FileSystem.FileSystem>

/**
 * Runs an example as a process: builds the phone from the environment with
 * `onIncomingCall`, prints its status changes, runs `program`, and stops
 * the phone when `program` ends or the process is told to stop.
 */
export const runPhoneExample = <EH extends { readonly message: string }, EP extends { readonly message: string }>(options: {
  readonly name: string
  readonly onIncomingCall?: (env: Environment) => Effect.Effect<IncomingCallHandler<FileSystem.FileSystem>, EH>
  readonly program?: PhoneProgram<EP>
}) => {
  const main = Effect.gen(function*() {
    const env = yield* environment
    const parameters = yield* parametersFrom(env)
    const onIncomingCall = options.onIncomingCall === undefined ? undefined : yield* options.onIncomingCall(env)

    // Runs last, after the phone's layer has stopped: lets the last status lines out.
    const printed = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() => Effect.timeoutOption(Deferred.await(printed), "2 seconds"))

    const phone = Context.get(yield* Layer.build(VoIPPhone.layer(parameters, { onIncomingCall })), VoIPPhone)
    // the program's lines come after `status REGISTERED`
    const shown = yield* Deferred.make<void>()
    yield* phone.statusChanges.pipe(
      Stream.takeUntil(finished),
      Stream.runForEach((status) => Console.log(`status ${status}`).pipe(Effect.andThen(Deferred.succeed(shown, undefined)))),
      Effect.ensuring(Deferred.succeed(printed, undefined)),
      Effect.forkDetach
    )
    yield* Deferred.await(shown)
    return yield* options.program === undefined ? Effect.never : options.program(phone, env)
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(VoIPSettings.layer, NodeDns.layer, NodeFileSystem.layer)),
    Effect.tapError((error) => Console.error(`${options.name} failed: ${error.message.replace(/\s*\n\s*/g, " ")}`))
  )

  NodeRuntime.runMain(main, {
    disableErrorReporting: true,
    // SIGINT/SIGTERM interrupt the program: after the phone stopped, that is a clean exit
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  })
}
