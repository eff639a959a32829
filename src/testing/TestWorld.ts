/**
 * Everything a test of a phone bot needs in one Layer: an in-memory SIP
 * network, an in-memory RTP network (sessions' sockets come from it), the
 * settings, and a DNS; with `pbx`, a registrar and proxy at a fixed address
 * that serves a domain, and which every phone of the world registers with.
 * No sockets, every timer on `Clock`: under `it.effect` a whole call, a
 * 30-second prompt included, runs in virtual time.
 *
 * `phone` puts a real `VoIPPhone` (the bot under test) on the network at an
 * address of its own; `Party` (the scripted callers) builds on it. `run`
 * drives `TestClock` while a script runs, so a script can wait for calls,
 * listen and send digits as a person would.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Party, Recording, TestWorld } from "effect-voip/testing"
 *
 * it.effect("the bot greets", () => Effect.gen(function*() {
 *   const bot = yield* TestWorld.phone({ user: "bot" }, { onIncomingCall: greet })
 *   const alice = yield* Party.make("alice")
 *   const heard = yield* TestWorld.run(Effect.gen(function*() {
 *     const call = yield* alice.call(TestWorld.uriOf(bot))
 *     yield* call.answered
 *     return yield* call.listen("3 seconds")
 *   }))
 *   expect(Recording.tones(heard).map((tone) => Math.round(tone.frequency))).toEqual([440])
 * }).pipe(Effect.provide(TestWorld.layer())))
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Fiber, Layer, Schema, Scope } from "effect"
import { Dns } from "effect/net"
import type { TestClock } from "effect/testing"
import { type Settings, VoIPSettings } from "../Config.ts"
import { CredentialsManager } from "../Credentials.ts"
import type { AccountSettingsError } from "../sip/client/Account.ts"
import { SIPClient, type StackOptions } from "../sip/client/SIPClient.ts"
import * as TransactionLayer from "../sip/transaction/TransactionLayer.ts"
import { NAT, type NATError } from "../transport/Nat.ts"
import { type Endpoint, formatEndpoint, SipTransport, type SipTransportError } from "../transport/SipTransport.ts"
import type { InvalidParameterError } from "../voip/Errors.ts"
import { type PhoneLayerError, type PhoneOptions, stackOptions, VoIPPhone, type VoIPPhoneShape } from "../voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../voip/VoIPPhoneParameter.ts"
import * as MemoryRtp from "./MemoryRtp.ts"
import * as MemoryTransport from "./MemoryTransport.ts"
import * as Registrar from "./Registrar.ts"

/**
 * The PBX of a world: a registrar and proxy serving `domain` at `address`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pbx {
  readonly domain: string
  readonly address: Endpoint
  readonly registrar: Registrar.RegistrarShape
  /** The users it knows, user to password (none: anyone may register). */
  readonly users: Readonly<Record<string, string>> | undefined
}

/**
 * Where a world's PBX listens.
 *
 * @category constants
 * @since 0.1.0
 */
export const PBX_ADDRESS: Endpoint = { address: "10.0.0.254", port: 5060 }

/**
 * @category models
 * @since 0.1.0
 */
export interface TestWorldShape {
  readonly sip: MemoryTransport.MemoryNetworkShape
  readonly rtp: MemoryRtp.MemoryRtpShape
  /** The PBX, when the world has one. */
  readonly pbx: Pbx | undefined
  /** A fresh address for the next phone: 10.1.0.1, 10.1.0.2, ... */
  readonly allocateAddress: Effect.Effect<string>
  /** The world's own scope: phones live in scopes forked from it, so they stop before the PBX and networks do. */
  readonly scope: Scope.Scope
}

/**
 * The world service: its networks and addresses.
 *
 * @category services
 * @since 0.1.0
 */
export class TestWorld extends Context.Service<TestWorld, TestWorldShape>()("effect-voip/testing/TestWorld") {}

/**
 * @category models
 * @since 0.1.0
 */
export interface WorldOptions {
  /** Settings over the defaults (timers, debug, ...). */
  readonly settings?: Partial<Settings> | undefined
  /** Extra names the DNS answers, name to addresses. */
  readonly hosts?: Readonly<Record<string, ReadonlyArray<string>>> | undefined
  /**
   * A PBX at {@link PBX_ADDRESS} (the DNS resolves its domain there): every
   * phone of the world registers with it, and a call to a user goes
   * through it. Its users' phones get their passwords from `users`.
   */
  readonly pbx?: Partial<Registrar.RegistrarOptions> | undefined
}

/**
 * What a world provides.
 *
 * @category models
 * @since 0.1.0
 */
export type Services = TestWorld | MemoryTransport.MemoryNetwork | MemoryRtp.MemoryRtpNetwork | VoIPSettings | Dns.Dns

const firstAddress = [10, 1, 0, 1] as const

const addressAt = (index: number): string => {
  const host = firstAddress[3] + index
  return `${firstAddress[0]}.${firstAddress[1]}.${firstAddress[2] + Math.floor(host / 254)}.${(host % 254) || 254}`
}

/**
 * A world: the SIP and RTP networks, settings, a DNS, and with
 * `options.pbx` a PBX (domain `pbx.test` unless given).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: WorldOptions = {}): Layer.Layer<Services> => {
  const registrarOptions: Registrar.RegistrarOptions | undefined = options.pbx === undefined
    ? undefined
    : { domain: "pbx.test", ...options.pbx }
  const hosts: Record<string, ReadonlyArray<string>> = { ...options.hosts }
  if (registrarOptions !== undefined) hosts[registrarOptions.domain] = [PBX_ADDRESS.address]
  const world = Layer.effect(
    TestWorld,
    Effect.gen(function*() {
      let allocated = 0
      const pbx: Pbx | undefined = registrarOptions === undefined ? undefined : {
        domain: registrarOptions.domain,
        address: PBX_ADDRESS,
        users: registrarOptions.users,
        registrar: yield* Registrar.make(registrarOptions).pipe(
          Effect.provideServiceEffect(SipTransport, MemoryTransport.make(PBX_ADDRESS)),
          // a fresh network has nothing bound at the PBX's address yet
          Effect.orDie
        )
      }
      return TestWorld.of({
        scope: yield* Effect.scope,
        sip: yield* MemoryTransport.MemoryNetwork,
        rtp: yield* MemoryRtp.MemoryRtpNetwork,
        pbx,
        allocateAddress: Effect.sync(() => addressAt(allocated++))
      })
    })
  )
  return world.pipe(
    Layer.provideMerge(Layer.mergeAll(
      MemoryTransport.MemoryNetwork.layer,
      MemoryRtp.layer,
      VoIPSettings.layerWith(options.settings ?? {}),
      Dns.layerStatic({ hosts }).pipe(Layer.orDie)
    ))
  )
}

/**
 * The standard SIP client stack (`SIPClient.layerStack`) with its transport
 * on the world's SIP network instead of a socket.
 *
 * @category layers
 * @since 0.1.0
 */
export const clientLayer = (
  options: StackOptions
): Layer.Layer<
  SIPClient | TransactionLayer.TransactionLayer | NAT | SipTransport,
  AccountSettingsError | SipTransportError | NATError,
  MemoryTransport.MemoryNetwork | VoIPSettings | Dns.Dns
> => {
  const host = options.bind?.host ?? "0.0.0.0"
  const transport = MemoryTransport.layer({ address: host, port: options.bind?.port, mode: options.transport })
  const nat = NAT.layerFromTransport({
    bindIp: host,
    network: options.nat?.network ?? (host.includes(":") ? "::/0" : "0.0.0.0/0"),
    hostname: options.nat?.hostname,
    remoteHostname: options.nat?.remoteHostname
  })
  return SIPClient.layer(options).pipe(
    Layer.provideMerge(Layer.merge(TransactionLayer.layer, nat).pipe(Layer.provideMerge(transport)))
  )
}

/**
 * A phone's parameters: `user` at least. The address defaults to a fresh
 * one of the world, the port to 5060; with a PBX the phone registers with
 * it (`server` is its domain, the PBX its outbound proxy, the password its
 * user's), without one it does not register.
 *
 * @category models
 * @since 0.1.0
 */
export type PhoneInput = Partial<VoIPPhoneParameter.VoIPPhoneParameterInput> & { readonly user: string }

/**
 * Why a phone did not come up.
 *
 * @category models
 * @since 0.1.0
 */
export type PhoneError = InvalidParameterError | PhoneLayerError

/**
 * A started `VoIPPhone` on the world's networks, stopped when the scope
 * closes: the bot under test, or the phone under a party.
 *
 * @category constructors
 * @since 0.1.0
 */
export const phone = <R = never>(
  input: PhoneInput,
  options: PhoneOptions<R> = {}
): Effect.Effect<VoIPPhoneShape, PhoneError, Scope.Scope | Services | R> =>
  Effect.gen(function*() {
    const world = yield* TestWorld
    const password = world.pbx?.users?.[input.user]
    const parameters = yield* VoIPPhoneParameter.make({
      bindPort: 5060,
      // the memory transport sends to addresses, not names: the PBX is the outbound proxy for its domain
      ...(world.pbx === undefined ? { register: false } : {
        server: world.pbx.domain,
        port: world.pbx.address.port,
        outboundProxy: formatEndpoint(world.pbx.address)
      }),
      ...(password === undefined ? {} : { credentialsManager: credentialsFor(input.user, password) }),
      ...input,
      bindIp: input.bindIp ?? (yield* world.allocateAddress)
    })
    const client = clientLayer(stackOptions(parameters))
    // Stopped when the caller's scope closes, or before the world's PBX and networks if they go first
    // (a test's scope usually outlives the layer it provides): the goodbyes still reach them.
    const scope = yield* Scope.fork(world.scope, "sequential")
    yield* Effect.addFinalizer((exit) => Scope.close(scope, exit))
    const context = yield* Layer.buildWithScope(VoIPPhone.layerWithClient(parameters, client, options), scope)
    return Context.get(context, VoIPPhone)
  })

const credentialsFor = (user: string, password: string): CredentialsManager => {
  const credentials = new CredentialsManager()
  credentials.add(user, password)
  return credentials
}

/**
 * The URI that reaches `phone` directly: `sip:user@address:port`.
 *
 * @category accessors
 * @since 0.1.0
 */
export const uriOf = (phone: VoIPPhoneShape): string => {
  const { bindIp, bindPort, user } = phone.parameters
  return `sip:${user}@${bindIp.includes(":") ? `[${bindIp}]` : bindIp}:${bindPort}`
}

/**
 * `run` gave up: the script had not finished when the clock reached its limit.
 *
 * @category errors
 * @since 0.1.0
 */
export class ScriptTimeoutError extends Schema.TaggedError<ScriptTimeoutError>()("ScriptTimeoutError", {
  limitMillis: Schema.Number
}) {
  override get message(): string {
    return `the script did not finish within ${this.limitMillis} ms of virtual time`
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Virtual time after which the script is interrupted; default 10 minutes. */
  readonly limit?: Duration.Input | undefined
  /** How far the clock moves between looks at the script; default 20 ms (one packet). */
  readonly step?: Duration.Input | undefined
}

/**
 * Runs `script` while moving `TestClock` forward in small steps, and stops
 * moving it as soon as the script is done: the script waits, listens and
 * sleeps in virtual time, and the clock ends within a step of where it
 * finished. Fails with {@link ScriptTimeoutError} (the script interrupted)
 * when it is still running at `limit`. Needs `TestClock` (`it.effect`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const run = <A, E, R>(
  script: Effect.Effect<A, E, R>,
  options: RunOptions = {}
): Effect.Effect<A, E | ScriptTimeoutError, R> =>
  Effect.gen(function*() {
    const limit = Duration.toMillis(Duration.fromInputUnsafe(options.limit ?? "10 minutes"))
    const step = Duration.fromInputUnsafe(options.step ?? "20 millis")
    const clock = yield* Clock.Clock
    if (!("adjust" in clock)) return yield* Effect.die(new Error("TestWorld.run moves TestClock: run it under it.effect"))
    const testClock = clock as TestClock.TestClock
    const start = testClock.currentTimeMillisUnsafe()
    const fiber = yield* Effect.forkChild(script, { startImmediately: true })
    while (fiber.pollUnsafe() === undefined) {
      if (testClock.currentTimeMillisUnsafe() - start >= limit) {
        yield* Fiber.interrupt(fiber)
        return yield* new ScriptTimeoutError({ limitMillis: limit })
      }
      yield* testClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })
