/**
 * The phone for code that does not use Effect. `createPhone` builds the
 * `VoIPPhone` layer (with the settings and the Node DNS resolver) in a
 * `ManagedRuntime`, which starts it; each method runs one of the phone's
 * effects on that runtime and returns a `Promise`, each stream is an
 * `AsyncIterable`. A typed failure rejects with the library's error itself.
 *
 * Incoming calls go to the `onIncomingCall` option when it is given (when
 * the handler's promise settles, a call it left ringing is refused 486 and
 * an answered one hung up, as with the Effect API); otherwise they wait for
 * `incomingCalls()`, ringing until someone answers, denies or hangs them up,
 * or the caller gives up.
 *
 * `close()` disposes of the runtime: what runs on it is interrupted, the
 * phone stops (calls end, it deregisters, its sockets and RTP ports are
 * released), then the iterables of the phone end. From the moment it is
 * called every method but `close()` rejects with `CallError`.
 *
 * @since 0.1.0
 */
import { NodeDns } from "@effect/platform-node"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Context, Deferred, Effect, Exit, Layer, ManagedRuntime, Option, Queue, Stream } from "effect"
import { type Settings, VoIPSettings } from "../Config.ts"
import { CredentialsManager } from "../Credentials.ts"
import type { PayloadType } from "../rtp/PayloadType.ts"
import type { PhoneStatus } from "../sip/client/PhoneStatus.ts"
import type { Endpoint } from "../transport/SipTransport.ts"
import { CallError, type InvalidParameterError } from "../voip/Errors.ts"
import type { VoIPCall } from "../voip/VoIPCall.ts"
import {
  type CallOptions,
  type IncomingCallHandler,
  type PhoneLayerError,
  type ReceivedMessage,
  VoIPPhone,
  type VoIPPhoneShape
} from "../voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../voip/VoIPPhoneParameter.ts"
import { Call } from "./Call.ts"

/**
 * A username and password that answer every challenge.
 *
 * @category models
 * @since 0.1.0
 */
export interface PlainCredentials {
  readonly username: string
  readonly password: string
}

/**
 * What `createPhone` takes: the phone parameters (`VoIPPhoneParameter`
 * input: `user`, `server`, `port`, `bindIp`, `bindPort`, `transportMode`,
 * `rtpPortLow`, `rtpPortHigh`, `register`, ...), with `credentials` in
 * place of `credentialsManager`, and the library's settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface PhoneOptions extends Omit<VoIPPhoneParameter.VoIPPhoneParameterInput, "credentialsManager"> {
  /** Answers digest challenges; anonymous when absent. */
  readonly credentials?: PlainCredentials | CredentialsManager | undefined
  /** Overrides of the settings' defaults (`VOIP_*` variables are not read). */
  readonly settings?: Partial<Settings> | undefined
  /** Runs for every incoming call; without it, calls go to `incomingCalls()`. */
  readonly onIncomingCall?: ((call: Call) => unknown) | undefined
}

/**
 * Why `createPhone` rejected: parameters that do not validate, account
 * settings or a transport that cannot be set up (a port in use), NAT
 * settings, or a registration that failed for good.
 *
 * @category errors
 * @since 0.1.0
 */
export type CreatePhoneError = InvalidParameterError | PhoneLayerError

const credentialsManager = (credentials: PlainCredentials | CredentialsManager): CredentialsManager => {
  if (credentials instanceof CredentialsManager) return credentials
  const manager = new CredentialsManager()
  manager.add(credentials.username, credentials.password)
  return manager
}

/**
 * A running phone (or one stopped by `stop()`), made by `createPhone`.
 *
 * @category models
 * @since 0.1.0
 */
export class Phone {
  readonly #runtime: ManagedRuntime.ManagedRuntime<VoIPPhone, CreatePhoneError>
  readonly #phone: VoIPPhoneShape
  readonly #incoming: Queue.Queue<VoIPCall>
  readonly #closed: Deferred.Deferred<void>
  #closing: Promise<void> | undefined
  /** The validated parameters, defaults filled in. */
  readonly parameters: VoIPPhoneParameter.VoIPPhoneParameter

  /** Made by `createPhone`. */
  constructor(
    runtime: ManagedRuntime.ManagedRuntime<VoIPPhone, CreatePhoneError>,
    phone: VoIPPhoneShape,
    incoming: Queue.Queue<VoIPCall>
  ) {
    this.#runtime = runtime
    this.#phone = phone
    this.#incoming = incoming
    this.#closed = Deferred.makeUnsafe<void>()
    this.parameters = phone.parameters
  }

  #run<A, E>(action: string, effect: (phone: VoIPPhoneShape) => Effect.Effect<A, E>): Promise<A> {
    return this.#closing === undefined
      ? this.#runtime.runPromise(effect(this.#phone))
      : Promise.reject(new CallError({ action, reason: "the phone is closed" }))
  }

  /** `stream` until the phone closes, then `last` if given. */
  #iterate<A>(stream: Stream.Stream<A>, last?: Effect.Effect<A>): AsyncIterable<A> {
    const untilClosed = stream.pipe(Stream.interruptWhen(Deferred.await(this.#closed)))
    // closing drops what the iteration had not pulled yet: `last` reads the final value again
    return Stream.toAsyncIterable(last === undefined ? untilClosed : Stream.changes(Stream.concat(untilClosed, Stream.fromEffect(last))))
  }

  /** Starts the phone again after `stop()` (it is started when made). Rejects with `PhoneStartError`. */
  start(): Promise<void> {
    return this.#run("start", (phone) => phone.start)
  }

  /** Ends every call, deregisters, closes the transport; `start()` starts it again. */
  stop(): Promise<void> {
    return this.#run("stop", (phone) => phone.stop)
  }

  status(): Promise<PhoneStatus> {
    return this.#run("status", (phone) => phone.status)
  }

  /** The current status, then every change, until the phone closes: the last one is its final status. */
  statusChanges(): AsyncIterable<PhoneStatus> {
    return this.#iterate(this.#phone.statusChanges, this.#phone.status)
  }

  /**
   * Calls `number` (a user at the server, or a `sip:`/`sips:` URI) offering
   * `payloadTypes` (default: the `codecs` parameter, else PCMU and
   * telephone-event); the call is DIALING, its INVITE carrying the
   * `headers` of `options`. Rejects with `NoPortsAvailableError` or
   * `CallError`.
   */
  call(number: string, payloadTypes?: NonEmptyReadonlyArray<PayloadType>, options?: CallOptions): Promise<Call> {
    return this.#run("call", (phone) => Effect.map(phone.call(number, payloadTypes, options), (call) => new Call(call)))
  }

  /** Sends a MESSAGE (`text/plain` by default); whether it was accepted (2xx). */
  message(number: string, body: string, contentType?: string): Promise<boolean> {
    return this.#run("message", (phone) => phone.message(number, body, contentType))
  }

  /** MESSAGEs received from the start of the iteration until the phone closes. */
  messages(): AsyncIterable<ReceivedMessage> {
    return this.#iterate(this.#phone.messages)
  }

  /**
   * Incoming calls (RINGING) in order of arrival, kept until taken, until
   * the phone closes. Each call goes to one iteration. Empty when the
   * `onIncomingCall` option is given.
   */
  incomingCalls(): AsyncIterable<Call> {
    return this.#iterate(Stream.fromQueue(this.#incoming).pipe(Stream.map((call) => new Call(call))))
  }

  /** The calls that have not ended. */
  calls(): Promise<ReadonlyArray<Call>> {
    return this.#run("calls", (phone) => Effect.map(phone.calls, (calls) => calls.map((call) => new Call(call))))
  }

  /** RTP port pairs held by calls right now. */
  rtpPortsInUse(): Promise<number> {
    return this.#run("rtpPortsInUse", (phone) => phone.rtpPortsInUse)
  }

  /** The bound SIP address (the real port when `bindPort` was 0); `undefined` while stopped. */
  localAddress(): Promise<Endpoint | undefined> {
    return this.#run("localAddress", (phone) =>
      Effect.map(phone.client, (client) => Option.getOrUndefined(Option.map(client, (running) => running.transactions.transport.localAddress))))
  }

  /** Stops the phone and releases everything; later calls wait for the same end. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      // the iterables end after the phone stopped: `statusChanges()` shows DEREGISTERING and INACTIVE
      this.#closing = this.#runtime.dispose().finally(() => Deferred.doneUnsafe(this.#closed, Exit.void))
    }
    return this.#closing
  }

  /** `close()`, for `await using phone = await createPhone(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/**
 * Validates `options`, builds the phone and starts it: resolves once it is
 * registered (at once with `register: false`). Rejects with a
 * {@link CreatePhoneError}, having released whatever it had opened.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createPhone = (options: PhoneOptions): Promise<Phone> => {
  const { credentials, onIncomingCall, settings, ...input } = options
  const incoming = Effect.runSync(Queue.unbounded<VoIPCall>())
  const handler: IncomingCallHandler = onIncomingCall === undefined
    // the call stays with whoever takes it: the handler returns only when it has ended
    ? (call) => Effect.andThen(Queue.offer(incoming, call), call.ended)
    : (call) => Effect.tryPromise({ try: async () => onIncomingCall(new Call(call)), catch: (error) => error })
  const parameters = VoIPPhoneParameter.make(
    credentials === undefined ? input : { ...input, credentialsManager: credentialsManager(credentials) }
  )
  const layer = Layer.unwrap(Effect.map(parameters, (checked) => VoIPPhone.layer(checked, { onIncomingCall: handler }))).pipe(
    Layer.provide(Layer.merge(VoIPSettings.layerWith(settings), NodeDns.layer))
  )
  const runtime = ManagedRuntime.make(layer)
  return runtime.context().then(
    (context) => new Phone(runtime, Context.get(context, VoIPPhone), incoming),
    (error: unknown) => runtime.dispose().then(() => Promise.reject(error))
  )
}
