/**
 * pyVoIP's `VoIPPhone` as an Effect service: a SIP account with its calls.
 *
 * Its layer builds the RTP port range and pacer, then starts the phone:
 * the SIP client (transport, transaction layer, registration) is built in
 * a scope of its own and the phone waits for the first registration
 * (`REGISTERING` → `REGISTERED`; on failure the status is `FAILED` and the
 * layer fails, as pyVoIP's `start` raises). `stop` ends every call (BYE,
 * CANCEL, or 480 for a call still ringing), closes the client (which
 * deregisters and closes the transport) and gives every RTP port back;
 * `start` starts it again. Closing the layer's scope stops it.
 *
 * While it runs the phone
 * - hands each incoming call (RINGING, after 180) to the handler given to
 *   the layer, in a fiber of its own; when the handler returns, a call it
 *   left ringing is refused 486 (pyVoIP's default) and an answered one hung
 *   up. Without a handler every INVITE is answered 486 Busy Here, as
 *   pyVoIP's phone without `call_class`;
 * - answers OPTIONS with what it allows, accepts and supports; MESSAGE
 *   with 200 (the message goes to `messages`); requests with a Require it
 *   does not support 420; unknown methods 501, known ones it does not
 *   handle 405; requests for a dialog it does not have 481;
 * - takes an INVITE with Replaces (RFC 3891, the far end of an attended
 *   transfer) for an answered call of its own: the new call is answered at
 *   once, without the handler, and the old one reports it in a `Replaced`
 *   event and ends with BYE. A Replaces that names no dialog of the phone
 *   (an ended call's included), or one still ringing, is answered 481,
 *   `early-only` for an answered call 486, a malformed or repeated one 400;
 * - routes requests inside a dialog to their call.
 *
 * The SIP client is a service: `layerWithClient` takes any layer of it
 * (pyVoIP's `sip_class`), `layer` builds the standard one from the
 * parameters.
 *
 * @since 0.1.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import {
  Cause,
  Context,
  Effect,
  Exit,
  FiberSet,
  Layer,
  Option,
  PubSub,
  Result,
  Schema,
  Scope,
  Semaphore,
  Stream,
  SubscriptionRef
} from "effect"
import type { Dns } from "effect/net"
import { VoIPSettings } from "../Config.ts"
import { RTPPacer } from "../rtp/Pacer.ts"
import type { PayloadType } from "../rtp/PayloadType.ts"
import { type InvalidRangeError, type NoPortsAvailableError, RTPPorts } from "../rtp/Ports.ts"
import * as RTPClient from "../rtp/RTPClient.ts"
import type { AccountSettingsError } from "../sip/client/Account.ts"
import { parseHostPort } from "../sip/client/Account.ts"
import { PhoneStatus } from "../sip/client/PhoneStatus.ts"
import type { RegistrationError } from "../sip/client/Registration.ts"
import { SIPClient, type SIPClientShape, type StackOptions } from "../sip/client/SIPClient.ts"
import * as Dialog from "../sip/dialog/Dialog.ts"
import * as UaCore from "../sip/dialog/UaCore.ts"
import { parseReplaces } from "../sip/headers/Simple.ts"
import type { NameAddr } from "../sip/HeaderValues.ts"
import type * as SIPMessage from "../sip/SIPMessage.ts"
import { SIPStatus } from "../sip/SIPStatus.ts"
import type { ServerTransaction } from "../sip/transaction/ServerTransaction.ts"
import type { TransactionUserEvent } from "../sip/transaction/TransactionLayer.ts"
import type { NATError } from "../transport/Nat.ts"
import type { SipTransportError } from "../transport/SipTransport.ts"
import { CallError } from "./Errors.ts"
import { CallState } from "./CallState.ts"
import * as Messages from "./Messages.ts"
import { type CallEnvironment, type CallRuntime, makeIncoming, makeOutgoing, type VoIPCall } from "./VoIPCall.ts"
import { offerCodecs, type VoIPPhoneParameter } from "./VoIPPhoneParameter.ts"

/**
 * A MESSAGE someone sent us (RFC 3428).
 *
 * @category models
 * @since 0.1.0
 */
export interface ReceivedMessage {
  readonly from: NameAddr | undefined
  readonly to: NameAddr | undefined
  readonly text: string
  readonly contentType: string
  readonly request: SIPMessage.SIPMessage
}

/**
 * What runs each incoming call: pyVoIP's `call_class.ringing`.
 *
 * @category models
 * @since 0.1.0
 */
export type IncomingCallHandler<R = never> = (call: VoIPCall) => Effect.Effect<unknown, unknown, R>

/**
 * @category models
 * @since 0.1.0
 */
export interface PhoneOptions<R = never> {
  /** Runs for every incoming call, in its own fiber; without it, calls are refused 486. */
  readonly onIncomingCall?: IncomingCallHandler<R> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface VoIPPhoneShape {
  readonly parameters: VoIPPhoneParameter
  /** pyVoIP's `get_status()`. */
  readonly status: Effect.Effect<PhoneStatus>
  /** The current status, then every change. */
  readonly statusChanges: Stream.Stream<PhoneStatus>
  /** Starts a stopped phone (the layer starts it once); does nothing when it runs. */
  readonly start: Effect.Effect<void, PhoneStartError>
  /** Ends every call, deregisters, closes the transport; does nothing when stopped. */
  readonly stop: Effect.Effect<void>
  /**
   * Calls `number` (a user at the server, or a `sip:`/`sips:` URI) offering
   * `payloadTypes` (default PCMU and telephone-event); the call is DIALING.
   * `headers` go into the INVITE (`P-Asserted-Identity`, `X-...` for the
   * PBX's routing); those the stack writes itself fail with `CallError`.
   */
  readonly call: (
    number: string,
    payloadTypes?: NonEmptyReadonlyArray<PayloadType>,
    options?: CallOptions
  ) => Effect.Effect<VoIPCall, NoPortsAvailableError | CallError>
  /** Sends a MESSAGE; whether it was accepted (2xx). */
  readonly message: (number: string, body: string, contentType?: string) => Effect.Effect<boolean, CallError>
  /** MESSAGEs received from subscription on. */
  readonly messages: Stream.Stream<ReceivedMessage>
  /** The calls that have not ended. */
  readonly calls: Effect.Effect<ReadonlyArray<VoIPCall>>
  /** RTP port pairs held by calls right now. */
  readonly rtpPortsInUse: Effect.Effect<number>
  /** The SIP client while the phone runs (its transport tells the bound address). */
  readonly client: Effect.Effect<Option.Option<SIPClientShape>>
}

/**
 * Why the standard phone layer could not be built: account settings or a
 * transport that cannot be set up (a port in use), NAT settings, the RTP
 * port range, or a registration that failed for good.
 *
 * @category errors
 * @since 0.1.0
 */
export type PhoneLayerError = AccountSettingsError | SipTransportError | NATError | RegistrationError | InvalidRangeError

/**
 * `start` failed: the client layer failed (for the standard one: bad
 * account settings, a port in use, bad NAT settings) or the registration
 * failed for good. The phone is `FAILED`. (Building the layer fails with
 * the original error instead.)
 *
 * @category errors
 * @since 0.1.0
 */
export class PhoneStartError extends Schema.TaggedError<PhoneStartError>()("PhoneStartError", {
  reason: Schema.String,
  /** The error the client layer or the registration failed with. */
  error: Schema.Defect()
}) {
  override get message(): string {
    return `the phone did not start: ${this.reason}`
  }
}

/**
 * The phone service.
 *
 * @category services
 * @since 0.1.0
 */
export class VoIPPhone extends Context.Service<VoIPPhone, VoIPPhoneShape>()("effect-voip/VoIPPhone") {
  /**
   * The phone over the standard SIP client built from `parameters`
   * (transport, NAT, registration), started.
   */
  static readonly layer = <R = never>(
    parameters: VoIPPhoneParameter,
    options: PhoneOptions<R> = {}
  ): Layer.Layer<
    VoIPPhone,
    PhoneLayerError,
    R | VoIPSettings | Dns.Dns
  > => layerWithClient(parameters, SIPClient.layerStack(stackOptions(parameters)), options)

  /** The phone over `client`, a layer of the SIP client service (pyVoIP's `sip_class`), started. */
  static readonly layerWithClient = <EC, RC, R = never>(
    parameters: VoIPPhoneParameter,
    client: Layer.Layer<SIPClient, EC, RC>,
    options: PhoneOptions<R> = {}
  ): Layer.Layer<VoIPPhone, EC | RegistrationError | InvalidRangeError, R | RC | VoIPSettings> =>
    layerWithClient(parameters, client, options)
}

/**
 * The standard SIP client's settings from phone parameters.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stackOptions = (parameters: VoIPPhoneParameter): StackOptions => {
  const proxy = parameters.outboundProxy === undefined ? undefined : parseHostPort(parameters.outboundProxy)
  return {
    server: parameters.server,
    port: parameters.port,
    user: parameters.user,
    credentials: parameters.credentialsManager,
    outboundProxy: proxy !== undefined && Result.isSuccess(proxy) ? proxy.success : undefined,
    expires: parameters.registerExpires,
    register: parameters.register,
    transport: parameters.transportMode,
    bind: { host: parameters.bindIp, port: parameters.bindPort },
    tls: { certFile: parameters.certFile, keyFile: parameters.keyFile, keyPassword: parameters.keyPassword },
    nat: { network: parameters.bindNetwork, hostname: parameters.hostname, remoteHostname: parameters.remoteHostname }
  }
}

const layerWithClient = <EC, RC, R>(
  parameters: VoIPPhoneParameter,
  client: Layer.Layer<SIPClient, EC, RC>,
  options: PhoneOptions<R>
): Layer.Layer<VoIPPhone, EC | RegistrationError | InvalidRangeError, R | RC | VoIPSettings> =>
  Layer.effect(VoIPPhone, make(parameters, client, options)).pipe(
    Layer.provide(RTPClient.layer({ low: parameters.rtpPortLow, high: parameters.rtpPortHigh }))
  )

const logCause = (what: string) => (cause: Cause.Cause<unknown>) =>
  Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning(`${what} failed`, cause)

/**
 * What `call` can add to its INVITE.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallOptions {
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined
}

/** Headers an INVITE of ours gets from the stack: a caller's would contradict them. */
const STACK_HEADERS: ReadonlySet<string> = new Set([
  "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "max-forwards", "contact", "m", "route",
  "content-type", "c", "content-length", "l", "allow", "supported", "k", "require", "session-expires", "x", "min-se",
  "authorization", "proxy-authorization"
])

/** A phone that runs: its client, the scope everything of this run lives in, its calls. */
interface Running {
  readonly scope: Scope.Closeable
  readonly client: SIPClientShape
  readonly env: CallEnvironment
}

/**
 * Builds the phone in the current scope and starts it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <EC, RC, R>(
  parameters: VoIPPhoneParameter,
  clientLayer: Layer.Layer<SIPClient, EC, RC>,
  options: PhoneOptions<R> = {}
): Effect.Effect<VoIPPhoneShape, EC | RegistrationError, Scope.Scope | RC | R | RTPPorts | RTPPacer | VoIPSettings> =>
  Effect.gen(function*() {
    const phoneScope = yield* Scope.Scope
    const context = yield* Effect.context<RC | R>()
    const ports = yield* RTPPorts
    const pacer = yield* RTPPacer
    const settings = yield* VoIPSettings
    const socketFactory = yield* RTPClient.RTPSocketFactory
    const status = yield* SubscriptionRef.make<PhoneStatus>(PhoneStatus.INACTIVE)
    const received = yield* PubSub.unbounded<ReceivedMessage>()
    const lifecycle = yield* Semaphore.make(1)
    const handler = options.onIncomingCall
    let running: Running | undefined

    const openSession = (id: string | undefined) =>
      RTPClient.make({ address: parameters.bindIp, ...(id === undefined ? {} : { id }) }).pipe(
        Effect.provideService(RTPPorts, ports),
        Effect.provideService(RTPPacer, pacer),
        Effect.provideService(RTPClient.RTPSocketFactory, socketFactory),
        Effect.provideService(VoIPSettings, settings)
      )

    const respond = (transaction: ServerTransaction, built: Result.Result<SIPMessage.SIPMessage, unknown>) =>
      Result.isSuccess(built) ? Effect.ignore(transaction.respond(built.success)) : Effect.void

    /** An INVITE with Replaces: the new call takes the place of an answered one (see the module doc). */
    const onReplacingInvite = (env: CallEnvironment, transaction: ServerTransaction, values: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const request = transaction.request
        const refuse = (status: SIPStatus, reason?: string) =>
          respond(transaction, Messages.refuse(request, status, Dialog.newTag(), reason === undefined ? {} : { reason }))
        const parsed = values.length === 1 ? parseReplaces(values[0]!) : undefined
        if (parsed === undefined || Result.isFailure(parsed)) return yield* refuse(SIPStatus.BAD_REQUEST, "Bad Request (Replaces)")
        const { callId, earlyOnly, fromTag, toTag } = parsed.success
        const replaced = env.dialogs.get(Dialog.key(callId, toTag, fromTag))
        // an ended call has left the routing table, so it is no dialog of ours either
        if (replaced === undefined || (yield* replaced.call.state) !== CallState.ANSWERED) {
          return yield* refuse(SIPStatus.CALL_OR_TRANSACTION_DOES_NOT_EXIST)
        }
        if (earlyOnly) return yield* refuse(SIPStatus.BUSY_HERE)
        const created = yield* makeIncoming(env, transaction)
        if (Option.isNone(created)) return
        const call = created.value.call
        // answering waits for the ACK, which this fiber's caller (the loop of incoming requests) delivers
        yield* env.fork(Effect.gen(function*() {
          yield* call.answer
          if ((yield* call.state) === CallState.ANSWERED) yield* replaced.replacedBy(call)
        }))
      })

    const onIncomingInvite = (env: CallEnvironment, transaction: ServerTransaction) =>
      Effect.gen(function*() {
        const replaces = transaction.request.headers.getAll("Replaces")
        if (replaces.length > 0) return yield* onReplacingInvite(env, transaction, replaces)
        if (handler === undefined) {
          return yield* respond(transaction, Messages.refuse(transaction.request, SIPStatus.BUSY_HERE, Dialog.newTag()))
        }
        const created = yield* makeIncoming(env, transaction)
        if (Option.isNone(created)) return
        const runtime = created.value
        yield* env.fork(
          handler(runtime.call).pipe(
            Effect.catchCause(logCause(`the handler of call ${runtime.call.callId}`)),
            Effect.ensuring(runtime.release),
            Effect.provideContext(context)
          )
        )
      })

    const onMessage = (transaction: ServerTransaction) =>
      Effect.gen(function*() {
        const request = transaction.request
        yield* respond(transaction, Messages.refuse(request, SIPStatus.OK, Dialog.newTag()))
        const { contentType, text } = Messages.textBody(request)
        yield* PubSub.publish(received, { from: request.from, to: request.to, text, contentType, request })
      })

    const onRequest = (env: CallEnvironment, transaction: ServerTransaction): Effect.Effect<void> => {
      const request = transaction.request
      const unsupported = Messages.unsupportedRequirements(request)
      if (unsupported.length > 0) {
        return respond(
          transaction,
          Messages.refuse(request, SIPStatus.BAD_EXTENSION, Dialog.newTag(), { headers: [["Unsupported", unsupported.join(", ")]] })
        )
      }
      const dialogOf = (message: SIPMessage.SIPMessage) => {
        const key = Dialog.keyOfRequest(message)
        return key === undefined ? undefined : env.dialogs.get(key)
      }
      const screened = UaCore.screen(request, {
        allowed: Messages.ALLOWED_METHODS,
        hasDialog: (message) => dialogOf(message) !== undefined
      })
      if (Result.isFailure(screened)) return Effect.logDebug(`request refused unanswered: ${screened.failure.message}`)
      if (Option.isSome(screened.success)) return respond(transaction, Result.succeed(screened.success.value))
      switch (request.method) {
        case "OPTIONS":
          return respond(transaction, Messages.optionsAnswer(request, Dialog.newTag()))
        case "MESSAGE":
          return onMessage(transaction)
        case "INVITE":
          if (request.to?.tag === undefined) return onIncomingInvite(env, transaction)
      }
      const call = dialogOf(request)
      // BYE, INFO, REFER, NOTIFY without a To tag belong to no dialog of ours (§12.2.2)
      if (call === undefined) {
        return respond(transaction, Messages.refuse(request, SIPStatus.CALL_OR_TRANSACTION_DOES_NOT_EXIST, Dialog.newTag()))
      }
      return call.receive(transaction)
    }

    const onEvent = (env: CallEnvironment) => (event: TransactionUserEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "Request":
          return onRequest(env, event.transaction)
        case "Ack":
          return Effect.logDebug(`ACK outside any transaction ignored (Call-ID ${event.incoming.message.callId})`)
        case "StrayResponse":
          return Effect.logDebug(`2xx after its transaction ended ignored (Call-ID ${event.incoming.message.callId})`)
      }
    }

    /** Builds the client and everything a run needs in `scope`, and waits for the registration. */
    const run = (scope: Scope.Scope) =>
      Effect.gen(function*() {
        const client = Context.get(yield* Layer.buildWithScope(clientLayer, scope), SIPClient)
        yield* client.statusChanges.pipe(
          Stream.runForEach((next) => SubscriptionRef.set(status, next)),
          Effect.forkIn(scope, { startImmediately: true })
        )
        yield* client.registered
        // the copying fiber may not have run yet: `start` returns with the status it waited for
        yield* SubscriptionRef.set(status, yield* client.status)
        const fibers = yield* FiberSet.make().pipe(Scope.provide(scope))
        const env: CallEnvironment = {
          client,
          parameters,
          scope,
          openSession,
          fork: (effect) => Effect.asVoid(FiberSet.run(fibers, effect.pipe(Effect.catchCause(logCause("call signalling"))))),
          dialogs: new Map<string, CallRuntime>(),
          active: new Set<CallRuntime>()
        }
        yield* Scope.addFinalizer(
          scope,
          Effect.suspend(() => Effect.forEach([...env.active], (call) => call.shutdown, { concurrency: "unbounded", discard: true }))
        )
        yield* client.incoming.pipe(Stream.runForEach(onEvent(env)), Effect.forkIn(scope))
        // stopping closes `scope`, so it runs outside it
        yield* client.fatal.pipe(
          Effect.catchCause(() => Effect.asVoid(Effect.forkIn(stopWith(PhoneStatus.FAILED), phoneScope))),
          Effect.forkIn(scope)
        )
        return { scope: scope as Scope.Closeable, client, env } satisfies Running
      }).pipe(Effect.provideContext(context))

    const startTyped: Effect.Effect<void, EC | RegistrationError> = lifecycle.withPermits(1)(Effect.gen(function*() {
      if (running !== undefined) return
      yield* SubscriptionRef.set(status, PhoneStatus.REGISTERING)
      const scope = yield* Scope.fork(phoneScope, "sequential")
      const started = yield* Effect.exit(run(scope))
      if (Exit.isFailure(started)) {
        yield* Scope.close(scope, started)
        yield* SubscriptionRef.set(status, PhoneStatus.FAILED)
        return yield* started
      }
      running = started.value
    }))

    const stopWith = (final: PhoneStatus): Effect.Effect<void> =>
      lifecycle.withPermits(1)(Effect.gen(function*() {
        const current = running
        if (current === undefined) return
        running = undefined
        yield* SubscriptionRef.set(status, PhoneStatus.DEREGISTERING)
        yield* Scope.close(current.scope, Exit.void)
        yield* SubscriptionRef.set(status, final)
      }))

    const stop = stopWith(PhoneStatus.INACTIVE)

    const requireRunning = (action: string) =>
      Effect.suspend(() =>
        running === undefined
          ? Effect.fail(new CallError({ action, reason: "the phone is not running" }))
          : Effect.succeed(running)
      )

    const call = (number: string, payloadTypes?: NonEmptyReadonlyArray<PayloadType>, options: CallOptions = {}) =>
      Effect.gen(function*() {
        const headers = options.headers ?? []
        const owned = headers.find(([name]) => STACK_HEADERS.has(name.toLowerCase()))
        if (owned !== undefined) {
          return yield* new CallError({ action: "call", reason: `${owned[0]} is written by the stack, not by the caller` })
        }
        const { env } = yield* requireRunning("call")
        const runtime = yield* makeOutgoing(env, { target: number, codecs: payloadTypes ?? offerCodecs(parameters), headers })
        return runtime.call
      })

    const message = (number: string, body: string, contentType = "text/plain") =>
      Effect.gen(function*() {
        const { client } = yield* requireRunning("message")
        const request = yield* client.createRequest("MESSAGE", number, { body, contentType }).pipe(
          Effect.mapError((error) => new CallError({ action: "message", reason: error.message }))
        )
        const outcome = yield* Effect.result(client.sendAuthenticated(request))
        if (Result.isFailure(outcome)) {
          yield* Effect.logWarning(`MESSAGE to ${number} failed: ${outcome.failure.message}`)
          return false
        }
        return SIPStatus.isSuccess(outcome.success.response.status === 0 ? 0 : outcome.success.response.status.value)
      })

    const start = startTyped.pipe(
      Effect.mapError((error) =>
        new PhoneStartError({ reason: error instanceof Error ? error.message : String(error), error })
      )
    )

    yield* Effect.addFinalizer(() => stop)
    yield* startTyped

    return {
      parameters,
      status: SubscriptionRef.get(status),
      statusChanges: Stream.changes(SubscriptionRef.changes(status)),
      start,
      stop,
      call,
      message,
      messages: Stream.unwrap(Effect.map(PubSub.subscribe(received), Stream.fromSubscription)),
      calls: Effect.sync(() => running === undefined ? [] : Array.from(running.env.active, (runtime) => runtime.call)),
      rtpPortsInUse: ports.inUse,
      client: Effect.sync(() => Option.fromNullishOr(running?.client))
    } satisfies VoIPPhoneShape
  })
