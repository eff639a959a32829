/**
 * The transaction layer (RFC 3261 §17) as a service over one `SipTransport`:
 * one fiber reads the transport's incoming messages and hands each to its
 * transaction, or to the transaction user (TU) when it starts one or belongs
 * to none.
 *
 * - `request(message, destination)` starts a client transaction (adding a
 *   Via or a branch when the request lacks them) and returns its handle:
 *   `responses` (a `Stream`) and `final` (an `Effect`).
 * - `incoming` is the TU's `Stream` of events: each new request as a
 *   {@link ServerTransaction} to `respond` on, ACKs that match no
 *   transaction (for 2xx whose transaction ended) and 2xx responses that
 *   match no client transaction. A CANCEL never shows up here: the layer
 *   answers it (200, or 481 when it matches nothing) and completes the
 *   INVITE transaction's `cancelled`. If the TU falls behind by more than
 *   `incomingQueueCapacity` events, new requests get 503.
 * - `send(message, target)` sends outside any transaction: the UA core's ACK
 *   for a 2xx, its 2xx retransmissions.
 *
 * Every transaction is removed from the layer the moment it terminates, and
 * all of them run their timers on one shared `TimerWheel`. Nothing is global:
 * each layer instance owns its maps, so one process runs many of them.
 *
 * @since 0.1.0
 */
import { type Cause, Context, Effect, Layer, Option, Queue, Result, type Scope, Stream, SubscriptionRef } from "effect"
import * as ClockModule from "effect/Clock"
import { VoIPSettings } from "../../Config.ts"
import {
  type Destination,
  formatEndpoint,
  type IncomingMessage,
  type SendReceipt,
  type SendTarget,
  SipTransport,
  type SipTransportError
} from "../../transport/SipTransport.ts"
import { isReliable, type TransportMode } from "../../transport/TransportMode.ts"
import { responseDestination } from "../../transport/ViaRouting.ts"
import * as SIPMessage from "../SIPMessage.ts"
import { SIPStatus } from "../SIPStatus.ts"
import { type ClientTransaction, ClientTransactionMachine } from "./ClientTransaction.ts"
import type { Outgoing, TransportErrorSink } from "./Environment.ts"
import * as Key from "./Key.ts"
import { type ServerEnvironment, type ServerTransaction, ServerTransactionMachine } from "./ServerTransaction.ts"
import * as TimerWheel from "./TimerWheel.ts"
import { timerValues, type TimerValues } from "./Timers.ts"
import { TransactionRequestError } from "./TransactionError.ts"

/**
 * What the TU receives.
 *
 * @category models
 * @since 0.1.0
 */
export type TransactionUserEvent =
  /** A new request (never an ACK or a CANCEL): answer it through the transaction. */
  | { readonly _tag: "Request"; readonly transaction: ServerTransaction }
  /** An ACK that matches no transaction: the ACK of a 2xx whose INVITE transaction already ended. */
  | { readonly _tag: "Ack"; readonly incoming: IncomingMessage }
  /** A 2xx to INVITE that matches no client transaction (it arrived after Timer M). */
  | { readonly _tag: "StrayResponse"; readonly incoming: IncomingMessage }

/**
 * Live counts, for tests and the debug dump.
 *
 * @category models
 * @since 0.1.0
 */
export interface TransactionStats {
  readonly clientTransactions: number
  readonly serverTransactions: number
  /** INVITE server transactions in Accepted, waiting for the ACK of their 2xx. */
  readonly awaitedAcks: number
  /** Timers started and not yet fired or cancelled. */
  readonly pendingTimers: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface TransactionLayerShape {
  readonly transport: SipTransport["Service"]
  /** The timers of the transport's mode. */
  readonly timers: TimerValues
  /**
   * Starts a client transaction for `request`, sent to `destination`. A
   * request without Via gets one naming our address; a top Via without
   * branch gets a fresh `z9hG4bK` branch.
   */
  readonly request: (
    request: SIPMessage.SIPMessage,
    destination: Destination
  ) => Effect.Effect<ClientTransaction, TransactionRequestError>
  /**
   * The request as `request` and `send` would send it: with a Via naming our
   * address when it had none, and a fresh branch when its top Via had none.
   */
  readonly withVia: (request: SIPMessage.SIPMessage) => Effect.Effect<SIPMessage.SIPMessage, TransactionRequestError>
  /** Sends outside any transaction; a request gets a Via or a branch as in `request`. */
  readonly send: (
    message: SIPMessage.SIPMessage,
    target?: SendTarget
  ) => Effect.Effect<SendReceipt, SipTransportError | TransactionRequestError>
  /** The TU's events, for one consumer. */
  readonly incoming: Stream.Stream<TransactionUserEvent>
  readonly stats: Effect.Effect<TransactionStats>
}

/**
 * The transaction layer service.
 *
 * @category services
 * @since 0.1.0
 */
export class TransactionLayer extends Context.Service<TransactionLayer, TransactionLayerShape>()(
  "effect-voip/TransactionLayer"
) {}

const requestError = (request: SIPMessage.SIPMessage, reason: string) =>
  new TransactionRequestError({ method: request.method, reason })

/** Where the responses of a server transaction go: back on the request's connection, else by Via (§18.2.2). */
const responseTarget = (incoming: IncomingMessage): SendTarget | undefined => {
  const connectionId = incoming.connectionId
  if (connectionId === undefined) return undefined
  const byVia = responseDestination(incoming.message)
  return byVia === undefined ? { connectionId } : { ...byVia, connectionId }
}

/**
 * Builds the layer's state and starts its reader fiber in the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<TransactionLayerShape, never, Scope.Scope | SipTransport | VoIPSettings> = Effect.gen(function*() {
  const transport = yield* SipTransport
  const settings = yield* VoIPSettings
  const clock = yield* ClockModule.Clock
  const wheel = yield* TimerWheel.make
  const unreliableTimers = timerValues(settings, false)
  const reliableTimers = timerValues(settings, true)
  const timersFor = (mode: TransportMode): TimerValues => isReliable(mode) ? reliableTimers : unreliableTimers
  const timers = timersFor(transport.mode)

  const clients = new Map<string, ClientTransactionMachine>()
  const servers = new Map<string, ServerTransactionMachine>()
  /** Accepted INVITE server transactions by the Call-ID, CSeq number and tags of their 2xx. */
  const acceptedInvites = new Map<string, ServerTransactionMachine>()
  const events = yield* Effect.acquireRelease(
    Queue.dropping<TransactionUserEvent, Cause.Done>(settings.incomingQueueCapacity),
    (queue) => Queue.end(queue)
  )

  const sendOne = (owner: TransportErrorSink, outgoing: Outgoing): Effect.Effect<void, SipTransportError> =>
    transport.send(outgoing.message, outgoing.target).pipe(
      Effect.tapError((error) => Effect.sync(() => owner.onTransportError(error))),
      Effect.asVoid
    )

  const transmit = (owner: TransportErrorSink, outgoing: ReadonlyArray<Outgoing>): Effect.Effect<void, SipTransportError> =>
    outgoing.length === 1
      ? sendOne(owner, outgoing[0]!)
      : Effect.forEach(outgoing, (each) => sendOne(owner, each), { discard: true })

  const now = () => clock.currentTimeMillisUnsafe()

  const clientEnv = {
    timers,
    wheel,
    transmit,
    now,
    release: (transaction: ClientTransactionMachine) => {
      if (clients.get(transaction.key) === transaction) clients.delete(transaction.key)
    }
  }

  const serverEnv = (transactionTimers: TimerValues): ServerEnvironment => ({
    timers: transactionTimers,
    wheel,
    transmit,
    now,
    release: (transaction) => {
      if (servers.get(transaction.key) === transaction) servers.delete(transaction.key)
      for (const key of transaction.ackKeys ?? []) {
        if (acceptedInvites.get(key) === transaction) acceptedInvites.delete(key)
      }
    },
    expectAck: (transaction, response) => {
      const key = Key.dialogAckKey(response)
      if (key === undefined || acceptedInvites.get(key) === transaction) return
      acceptedInvites.set(key, transaction)
      ;(transaction.ackKeys ??= []).push(key)
    }
  })
  const serverEnvs = { reliable: serverEnv(reliableTimers), unreliable: serverEnv(unreliableTimers) }

  const ourVia = Effect.map(SubscriptionRef.get(transport.publicAddress), (learned) => {
    const sentBy = Option.getOrElse(learned, () => transport.localAddress)
    return `SIP/2.0/${transport.mode.value} ${formatEndpoint(sentBy)};branch=${Key.newBranch()}`
  })

  /** The request with a top Via that has a branch. */
  const withVia = (request: SIPMessage.SIPMessage): Effect.Effect<SIPMessage.SIPMessage, TransactionRequestError> => {
    const top = request.via[0]
    if (top?.branch !== undefined) return Effect.succeed(request)
    const edited = top === undefined
      ? Effect.map(ourVia, (via) => SIPMessage.prependHeader(request, "Via", via))
      : Effect.sync(() => SIPMessage.mapTopVia(request, (via) => ({ ...via, branch: Key.newBranch() })))
    return Effect.flatMap(edited, (result) =>
      Result.isSuccess(result)
        ? Effect.succeed(result.success)
        : Effect.fail(requestError(request, result.failure.message)))
  }

  const request = (message: SIPMessage.SIPMessage, destination: Destination) =>
    Effect.gen(function*() {
      if (message.type !== SIPMessage.SIPMessageType.REQUEST) return yield* requestError(message, "not a request")
      if (message.method === "ACK") return yield* requestError(message, "an ACK is sent with `send`, never as a transaction")
      if (message.cseq?.method !== message.method) return yield* requestError(message, "its CSeq must name the same method")
      const sent = yield* withVia(message)
      const branch = sent.via[0]!.branch!
      const key = Key.clientKey(branch, sent.method)
      if (clients.has(key)) return yield* requestError(message, `branch ${branch} is already in use`)
      const { machine, transaction } = yield* ClientTransactionMachine.make({ request: sent, branch, key, destination, env: clientEnv })
      clients.set(key, machine)
      yield* Effect.ignore(machine.start())
      return transaction
    })

  const send = (message: SIPMessage.SIPMessage, target?: SendTarget) =>
    message.type === SIPMessage.SIPMessageType.REQUEST
      ? Effect.flatMap(withVia(message), (sent) => transport.send(sent, target))
      : transport.send(message, target)

  /**
   * Answers a request outside the TU (CANCEL, overload) through its own
   * server transaction, with `toTag` (or a fresh one) when To has none.
   */
  const answer = (
    transaction: ServerTransactionMachine,
    request: SIPMessage.SIPMessage,
    status: number,
    toTag: string = Key.randomToken(10)
  ) => {
    const built = SIPMessage.response(request, status, { toTag })
    return Result.isSuccess(built) ? Effect.ignore(transaction.respond(built.success)) : Effect.void
  }

  const startServer = (incoming: IncomingMessage, key: string) => {
    const reliable = isReliable(incoming.transport)
    const started = ServerTransactionMachine.make({
      incoming,
      key,
      timers: reliable ? reliableTimers : unreliableTimers,
      target: responseTarget(incoming),
      env: reliable ? serverEnvs.reliable : serverEnvs.unreliable
    })
    servers.set(key, started.machine)
    started.machine.start()
    return started
  }

  const routeRequest = (incoming: IncomingMessage): Effect.Effect<void> => {
    const key = Key.serverKey(incoming.message)
    if (key === undefined) return Effect.logDebug("SIP request without Via dropped")
    const existing = servers.get(key)
    if (existing !== undefined) return existing.onRequest() ?? Effect.void
    const { machine, transaction } = startServer(incoming, key)
    if (Queue.offerUnsafe(events, { _tag: "Request", transaction })) return Effect.void
    return Effect.logWarning(`SIP ${incoming.message.method} refused with 503: the transaction user is not keeping up`).pipe(
      Effect.andThen(answer(machine, incoming.message, SIPStatus.SERVICE_UNAVAILABLE.value))
    )
  }

  const routeAck = (incoming: IncomingMessage): Effect.Effect<void> => {
    const ack = incoming.message
    const key = Key.serverKey(ack)
    let invite = key === undefined ? undefined : servers.get(key)
    if (invite === undefined) {
      const fallback = Key.rfc2543AckKey(ack)
      const candidate = fallback === undefined ? undefined : servers.get(fallback)
      if (candidate?.lastFinal?.to?.tag === ack.to?.tag) invite = candidate
    }
    if (invite === undefined) {
      const dialogKey = Key.dialogAckKey(ack)
      invite = dialogKey === undefined ? undefined : acceptedInvites.get(dialogKey)
    }
    if (invite !== undefined) invite.onAck(ack)
    else Queue.offerUnsafe(events, { _tag: "Ack", incoming })
    return Effect.void
  }

  const routeCancel = (incoming: IncomingMessage): Effect.Effect<void> => {
    const cancel = incoming.message
    const key = Key.serverKey(cancel)
    if (key === undefined) return Effect.void
    const existing = servers.get(key)
    if (existing !== undefined) return existing.onRequest() ?? Effect.void
    const { machine } = startServer(incoming, key)
    const inviteKey = Key.serverKey(cancel, "INVITE")
    const invite = inviteKey === undefined ? undefined : servers.get(inviteKey)
    if (invite === undefined) return answer(machine, cancel, SIPStatus.CALL_OR_TRANSACTION_DOES_NOT_EXIST.value)
    // the CANCEL is answered before the TU hears of it, so its 487 goes out after our 200
    return Effect.andThen(
      answer(machine, cancel, SIPStatus.OK.value, invite.responseTag()),
      Effect.sync(() => invite.onCancel(cancel))
    )
  }

  const routeResponse = (incoming: IncomingMessage): Effect.Effect<void> => {
    const response = incoming.message
    const key = Key.responseKey(response)
    const transaction = key === undefined ? undefined : clients.get(key)
    if (transaction !== undefined) return transaction.onResponse(response) ?? Effect.void
    if (response.method === "INVITE" && SIPStatus.isSuccess(response.status === 0 ? 0 : response.status.value)) {
      Queue.offerUnsafe(events, { _tag: "StrayResponse", incoming })
    }
    return Effect.void
  }

  const route = (incoming: IncomingMessage): Effect.Effect<void> => {
    const message = incoming.message
    if (message.type === SIPMessage.SIPMessageType.RESPONSE) return routeResponse(incoming)
    switch (message.method) {
      case "ACK":
        return routeAck(incoming)
      case "CANCEL":
        return routeCancel(incoming)
      default:
        return routeRequest(incoming)
    }
  }

  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const transaction of [...clients.values(), ...servers.values()]) transaction.shutdown()
    })
  )
  // a bug in routing one message must not stop the layer from reading the next ones
  const routeSafely = (incoming: IncomingMessage): Effect.Effect<void> =>
    Effect.catchDefect(route(incoming), (defect) =>
      Effect.logError(`SIP ${incoming.message.heading} could not be routed`, defect))
  yield* transport.incoming.pipe(Stream.runForEach(routeSafely), Effect.forkScoped)

  return TransactionLayer.of({
    transport,
    timers,
    request,
    withVia,
    send,
    incoming: Stream.fromQueue(events),
    stats: Effect.sync(() => ({
      clientTransactions: clients.size,
      serverTransactions: servers.size,
      awaitedAcks: acceptedInvites.size,
      pendingTimers: wheel.pending()
    }))
  })
})

/**
 * The transaction layer over the `SipTransport` and `VoIPSettings` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<TransactionLayer, never, SipTransport | VoIPSettings> = Layer.effect(TransactionLayer, make)
