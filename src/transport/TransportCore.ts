/**
 * What every transport does with a message once it has its bytes, whatever
 * the socket: parse it, stamp `received`/`rport` on a request's top Via
 * (RFC 3261 §18.2.1, RFC 3581), learn our public address from a response,
 * queue it for the upper layer, and count, log and (when the request can be
 * answered) refuse what is broken (logging at most ten refusals per ten
 * seconds: a flood of bad input is counted, not written out line by line).
 * On the way out: add `;rport`, serialize,
 * check the size and work out where a response goes (§18.2.2).
 *
 * @since 0.1.0
 */
import { Clock, Effect, Option, Queue, Random, Result, Stream, SubscriptionRef } from "effect"
import { type Dns, NetAddress } from "effect/net"
import type { Settings } from "../Config.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import { statelessReply } from "./BadRequest.ts"
import { type ConnectionSnapshot, render, type TransportCounters, type TransportSnapshot } from "./DebugDump.ts"
import {
  type ConnectionId,
  type Destination,
  type Endpoint,
  formatEndpoint,
  type IncomingMessage,
  type SendReceipt,
  type SendTarget,
  SipTransportError
} from "./SipTransport.ts"
import { SocketKind, type TransportMode } from "./TransportMode.ts"
import { learnedAddress, responseDestination, stampReceived, withRport } from "./ViaRouting.ts"

/**
 * Where received bytes came from, and how to answer the sender directly.
 *
 * @category models
 * @since 0.1.0
 */
export interface Arrival {
  readonly source: Endpoint
  readonly transport: TransportMode
  readonly connectionId: ConnectionId | undefined
  /** Sends bytes straight back (same socket or connection). */
  readonly answer: (bytes: Uint8Array) => Effect.Effect<void, SipTransportError>
}

/**
 * A message ready to go: its bytes and where.
 *
 * @category models
 * @since 0.1.0
 */
export interface Outgoing {
  readonly bytes: Uint8Array
  readonly destination: Destination | undefined
  readonly connectionId: ConnectionId | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface TransportCore {
  readonly mode: TransportMode
  readonly local: Endpoint
  readonly settings: Settings
  readonly counters: TransportCounters
  readonly queue: Queue.Queue<IncomingMessage>
  readonly publicAddress: SubscriptionRef.SubscriptionRef<Option.Option<Endpoint>>
  /** Handles one datagram or one framed message. */
  readonly receive: (bytes: Uint8Array, arrival: Arrival) => Effect.Effect<void>
  /** Answers a request that cannot be taken (400 or 513) when its header block allows it. */
  readonly refuse: (header: Uint8Array, status: 400 | 513, reason: string, arrival: Arrival) => Effect.Effect<void>
  /** Serializes and routes a message for `send`. */
  readonly prepare: (message: SIPMessage.SIPMessage | Uint8Array, target: SendTarget | undefined) => Result.Result<Outgoing, SipTransportError>
  /** Counts a message that went out (and logs it when `debug` is on). */
  readonly recordSent: (bytes: Uint8Array, receipt: SendReceipt) => Effect.Effect<SendReceipt>
  readonly incoming: Stream.Stream<IncomingMessage>
  /** The snapshot, given the open connections and what the socket itself dropped. */
  readonly snapshot: (
    connections: Effect.Effect<ReadonlyArray<ConnectionSnapshot>>,
    droppedBySocket?: () => number
  ) => Effect.Effect<TransportSnapshot>
}

/**
 * How many refused messages a transport logs per {@link REFUSAL_WINDOW_MS};
 * beyond that they are only counted, and one line says how many went unlogged.
 *
 * @category constants
 * @since 0.1.0
 */
export const REFUSALS_LOGGED_PER_WINDOW = 10

/**
 * The window of {@link REFUSALS_LOGGED_PER_WINDOW}, in milliseconds.
 *
 * @category constants
 * @since 0.1.0
 */
export const REFUSAL_WINDOW_MS = 10_000

/**
 * Creates the shared state of one transport instance. The queue lives as long
 * as the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: {
  readonly mode: TransportMode
  readonly local: Endpoint
  readonly settings: Settings
  readonly counters: TransportCounters
}) {
  const { counters, local, mode, settings } = options
  const queue = yield* Effect.acquireRelease(
    Queue.bounded<IncomingMessage>(settings.incomingQueueCapacity),
    (queue) => Queue.shutdown(queue)
  )
  const publicAddress = yield* SubscriptionRef.make<Option.Option<Endpoint>>(Option.none())
  const parseMode = mode.socketType === SocketKind.DATAGRAM ? "datagram" : "stream"
  const warnAgent = formatEndpoint(local)

  // A flood of bad input must not become a flood of log lines: see REFUSALS_LOGGED_PER_WINDOW.
  let windowStart = Number.NEGATIVE_INFINITY
  let loggedInWindow = 0
  let unlogged = 0

  const logRefusal = (what: string, reason: string, arrival: Arrival) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      let summary: Effect.Effect<void> = Effect.void
      if (now - windowStart >= REFUSAL_WINDOW_MS) {
        if (unlogged > 0) {
          summary = Effect.logWarning(
            `SIP transport refused ${unlogged} more messages in ${Math.round((now - windowStart) / 1000)} s without logging them (the snapshot counts every one)`
          )
        }
        windowStart = now
        loggedInWindow = 0
        unlogged = 0
      }
      if (loggedInWindow >= REFUSALS_LOGGED_PER_WINDOW) {
        unlogged++
        return summary
      }
      loggedInWindow++
      return Effect.andThen(
        summary,
        Effect.logWarning(`SIP transport refused ${what}: ${reason}`).pipe(
          Effect.annotateLogs({
            transport: arrival.transport.value,
            source: formatEndpoint(arrival.source),
            ...(arrival.connectionId === undefined ? {} : { connection: arrival.connectionId })
          })
        )
      )
    })

  const refuse = (header: Uint8Array, status: 400 | 513, reason: string, arrival: Arrival): Effect.Effect<void> =>
    Effect.gen(function*() {
      const toTag = ((yield* Random.nextInt) >>> 0).toString(16)
      const reply = statelessReply(header, { status, reason, warnAgent, toTag })
      if (Option.isNone(reply)) return
      const sent = yield* Effect.result(arrival.answer(reply.value))
      if (Result.isSuccess(sent)) counters.badRequestsSent++
    })

  // per message: no generator, only the effects needed
  const deliver = (message: SIPMessage.SIPMessage, arrival: Arrival): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (receivedAt) => {
      const incoming: IncomingMessage = {
        message,
        source: arrival.source,
        transport: arrival.transport,
        connectionId: arrival.connectionId,
        receivedAt
      }
      const enqueue = enqueueFor(arrival, incoming)
      return settings.debug
        ? Effect.andThen(Effect.logInfo(`SIP received from ${formatEndpoint(arrival.source)}\n${message.summary()}`), enqueue)
        : enqueue
    })

  // A datagram is never waited for: the kernel would drop the next ones
  // anyway. A stream waits, which slows its sender down instead of losing a
  // request that will not be retransmitted.
  const enqueueFor = (arrival: Arrival, incoming: IncomingMessage): Effect.Effect<void> => {
    if (arrival.transport.socketType === SocketKind.STREAM) {
      return Effect.map(Queue.offer(queue, incoming), (accepted) => {
        if (accepted) counters.received++
      })
    }
    if (Queue.offerUnsafe(queue, incoming)) {
      counters.received++
      return Effect.void
    }
    counters.dropped++
    return logRefusal("a message", "incoming queue is full", arrival)
  }

  const receive = (bytes: Uint8Array, arrival: Arrival): Effect.Effect<void> => {
    if (bytes.length > settings.maxMessageBytes) {
      counters.oversized++
      return logRefusal("a message", `${bytes.length} bytes exceed ${settings.maxMessageBytes}`, arrival).pipe(
        Effect.andThen(refuse(bytes, 513, `message larger than ${settings.maxMessageBytes} bytes`, arrival))
      )
    }
    const parsed = SIPMessage.parseResult(bytes, { transport: parseMode })
    if (Result.isFailure(parsed)) {
      counters.parseErrors++
      return logRefusal("a message", parsed.failure.message, arrival).pipe(
        Effect.andThen(refuse(bytes, 400, parsed.failure.reason, arrival))
      )
    }
    const message = parsed.success
    if (message.type === SIPMessage.SIPMessageType.REQUEST) return deliver(stampReceived(message, arrival.source), arrival)
    const learned = learnedAddress(message)
    if (learned === undefined) return deliver(message, arrival)
    // subscribers hear of a change only
    return SubscriptionRef.updateSome(publicAddress, (current) =>
      Option.isSome(current) && current.value.address === learned.address && current.value.port === learned.port
        ? Option.none()
        : Option.some(Option.some(learned))).pipe(Effect.andThen(deliver(message, arrival)))
  }

  const prepare = (
    message: SIPMessage.SIPMessage | Uint8Array,
    target: SendTarget | undefined
  ): Result.Result<Outgoing, SipTransportError> => {
    const noDestination = (detail: string) =>
      Result.fail(new SipTransportError({ reason: "NoDestination", target: "-", detail }))
    const connectionId = target?.connectionId
    const explicit = target !== undefined && "host" in target ? target : undefined
    let bytes: Uint8Array
    let destination: Destination | undefined = explicit
    if (message instanceof Uint8Array) {
      if (explicit === undefined && connectionId === undefined) return noDestination("raw bytes need a destination")
      bytes = message
    } else if (message.type === SIPMessage.SIPMessageType.REQUEST) {
      if (explicit === undefined && connectionId === undefined) return noDestination("a request needs a destination")
      bytes = SIPMessage.serialize(mode.socketType === SocketKind.DATAGRAM ? withRport(message) : message)
    } else {
      if (destination === undefined) {
        const fromVia = responseDestination(message)
        if (fromVia === undefined && connectionId === undefined) return noDestination("the response has no usable Via")
        destination = fromVia
      }
      bytes = SIPMessage.serialize(message)
    }
    if (bytes.length > settings.maxMessageBytes) {
      return Result.fail(
        new SipTransportError({
          reason: "MessageTooLarge",
          target: destination === undefined ? String(connectionId) : formatEndpoint({ address: destination.host, port: destination.port }),
          detail: `${bytes.length} bytes exceed ${settings.maxMessageBytes}`
        })
      )
    }
    return Result.succeed({ bytes, destination, connectionId })
  }

  const recordSent = (bytes: Uint8Array, receipt: SendReceipt): Effect.Effect<SendReceipt> =>
    Effect.suspend(() => {
      counters.sent++
      if (!settings.debug) return Effect.succeed(receipt)
      const text = new TextDecoder().decode(bytes)
      return Effect.as(Effect.logInfo(`SIP sent to ${formatEndpoint(receipt.destination)}\n${text}`), receipt)
    })

  const snapshot = (
    connections: Effect.Effect<ReadonlyArray<ConnectionSnapshot>>,
    droppedBySocket: () => number = () => 0
  ): Effect.Effect<TransportSnapshot> =>
    Effect.gen(function*() {
      const learned = yield* SubscriptionRef.get(publicAddress)
      return {
        mode: mode.value,
        local: formatEndpoint(local),
        publicAddress: Option.match(learned, { onNone: () => null, onSome: formatEndpoint }),
        takenAt: yield* Clock.currentTimeMillis,
        unread: Queue.sizeUnsafe(queue),
        connections: yield* connections,
        counters: { ...counters, dropped: counters.dropped + droppedBySocket() }
      }
    })

  const core: TransportCore = {
    mode,
    local,
    settings,
    counters,
    queue,
    publicAddress,
    receive,
    refuse,
    prepare,
    recordSent,
    incoming: Stream.fromQueue(queue),
    snapshot
  }
  return core
})

/**
 * The address to send to for `host`: an IP literal as it is (IPv6 with or
 * without brackets), a name looked up with `dns`, in `family` when the socket
 * can only reach one.
 *
 * @category routing
 * @since 0.1.0
 */
export const resolveHost = (
  dns: Dns.Dns["Service"],
  host: string,
  port: number,
  family: NetAddress.IpFamily | undefined
): Effect.Effect<NetAddress.IpAddress, SipTransportError> => {
  const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const ip = NetAddress.ipFromString(literal)
  if (Result.isSuccess(ip)) return Effect.succeed(NetAddress.toCanonical(ip.success))
  return dns.lookup(host, { family }).pipe(
    Effect.map((addresses) => NetAddress.toCanonical(addresses[0])),
    Effect.mapError((error) =>
      new SipTransportError({ reason: "ResolveFailed", target: formatEndpoint({ address: host, port }), detail: error.message })
    )
  )
}

/**
 * The `dump` of a transport: its snapshot rendered (see `DebugDump.render`).
 *
 * @category formatting
 * @since 0.1.0
 */
export const dumpWith = (snapshot: Effect.Effect<TransportSnapshot>) => (pretty = false): Effect.Effect<string> =>
  Effect.map(snapshot, (taken) => render(taken, pretty))
