/**
 * Registers one SIP account and stays registered until SIGINT or SIGTERM,
 * then deregisters and exits 0. Prints every status change on its own line
 * (`status REGISTERING`, `status REGISTERED`, ...); when the registration
 * fails for good, prints the error and exits 1.
 *
 *   VOIP_SERVER=127.0.0.1:15070 VOIP_USER=alice VOIP_PASSWORD=alicepw \
 *     node --conditions=source examples/register.ts
 *
 * Environment:
 *   VOIP_SERVER     registrar host[:port] (required)
 *   VOIP_USER       user of the address-of-record (required)
 *   VOIP_AUTH_USER  username to authenticate as (default: VOIP_USER)
 *   VOIP_PASSWORD   password (default: none, anonymous)
 *   VOIP_TRANSPORT  udp | tcp | tls (default udp)
 *   VOIP_BIND       local ip[:port] (default 0.0.0.0, any port)
 *   VOIP_EXPIRES    seconds asked for (default 300)
 * and the library's settings, e.g. VOIP_REGISTER_FAILURE_THRESHOLD,
 * VOIP_SIP_T1, VOIP_DEBUG (see src/Config.ts).
 */
import { NodeDns, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Context, Deferred, Effect, Exit, Layer, Option, Runtime, Stream } from "effect"
import { Account, PhoneStatus, SIPClient, TransportMode, VoIPSettings } from "effect-voip"

const transports = { udp: TransportMode.UDP, tcp: TransportMode.TCP, tls: TransportMode.TLS } as const

const environment = Config.all({
  server: Config.String("VOIP_SERVER"),
  user: Config.String("VOIP_USER"),
  authUser: Config.option(Config.String("VOIP_AUTH_USER")),
  password: Config.option(Config.Redacted("VOIP_PASSWORD")),
  transport: Config.Literals(["udp", "tcp", "tls"], "VOIP_TRANSPORT").pipe(Config.withDefault("udp" as const)),
  bind: Config.String("VOIP_BIND").pipe(Config.withDefault("0.0.0.0")),
  expires: Config.Int("VOIP_EXPIRES").pipe(Config.withDefault(300))
})

const finished = (status: PhoneStatus) => status === PhoneStatus.INACTIVE || status === PhoneStatus.FAILED

const main = Effect.gen(function*() {
  const env = yield* environment
  const server = yield* Effect.fromResult(Account.parseHostPort(env.server))
  const bind = yield* Effect.fromResult(Account.parseHostPort(env.bind))
  const transport = transports[env.transport]
  const client = SIPClient.layerStack({
    server: server.host,
    port: server.port,
    user: env.user,
    authUser: Option.getOrUndefined(env.authUser),
    password: Option.getOrUndefined(env.password),
    expires: env.expires,
    transport,
    bind
  })

  // Runs last, after the client's layer has deregistered: lets the last status lines out.
  const printed = yield* Deferred.make<void>()
  yield* Effect.addFinalizer(() => Effect.timeoutOption(Deferred.await(printed), "2 seconds"))

  const context = yield* Layer.build(client).pipe(Effect.tapError(() => Deferred.succeed(printed, undefined)))
  const sip = Context.get(context, SIPClient)
  yield* sip.statusChanges.pipe(
    Stream.takeUntil(finished),
    Stream.runForEach((status) => Console.log(`status ${status}`)),
    Effect.ensuring(Deferred.succeed(printed, undefined)),
    Effect.forkDetach
  )
  return yield* sip.fatal
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(VoIPSettings.layer, NodeDns.layer)),
  Effect.tapError((error) => Console.error(`registration failed: ${error.message.replace(/\s*\n\s*/g, " ")}`))
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // SIGINT/SIGTERM interrupt the program: after deregistering, that is a clean exit
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
})
