/**
 * The TCP/TLS connections of one stream transport. Each connection, accepted
 * or dialled, runs in its own fiber: it frames the bytes it reads into
 * messages (see `Framer`), answers RFC 5626 keep-alive pings, closes itself
 * after `connectionIdleTimeout` without traffic (on `Clock`), and is closed
 * when a peer's stream cannot be framed. Connections are found again by id (a
 * response goes back on its request's connection, RFC 3261 §18.2.2) and by
 * remote address (a request to a peer we are already connected to reuses that
 * connection). Concurrent sends to a new peer share one dial.
 *
 * @since 0.1.0
 */
import { Array as Arr, Clock, Deferred, Duration, Effect, FiberSet, Result, type Scope } from "effect"
import { type Dns, NetAddress } from "effect/net"
import type { Socket } from "effect/socket"
import type { Settings } from "../Config.ts"
import type { ConnectionSnapshot, TransportCounters } from "./DebugDump.ts"
import { type FramingError, makeFramer, type StreamFramer } from "./Framer.ts"
import * as Locate from "./Locate.ts"
import {
  type ConnectionId,
  type Destination,
  type Endpoint,
  formatEndpoint,
  type SendReceipt,
  SipTransport,
  SipTransportError
} from "./SipTransport.ts"
import * as TransportCore from "./TransportCore.ts"
import type { Arrival, Outgoing } from "./TransportCore.ts"
import type { TransportMode } from "./TransportMode.ts"

/**
 * A connected byte stream, its reader and writer acquired in the
 * connection's scope.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenedStream {
  readonly reader: Socket.Reader
  readonly writer: Socket.Writer
  /** TCP, or TLS; TCP also for a TLS transport's fallback connection. */
  readonly transport: TransportMode
  readonly local: Endpoint
  readonly remote: Endpoint
}

/**
 * A destination with its host resolved: `address` to connect to, `host` as
 * the caller named it (the name a TLS certificate must carry).
 *
 * @category models
 * @since 0.1.0
 */
export interface ResolvedDestination {
  readonly host: string
  readonly address: string
  readonly port: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Connections {
  /** Serves an accepted connection until it ends. */
  readonly accept: (open: Effect.Effect<OpenedStream, SipTransportError, Scope.Scope>) => Effect.Effect<void>
  /** Sends on the target connection, or on one to the destination (reused or dialled). */
  readonly send: (outgoing: Outgoing) => Effect.Effect<SendReceipt, SipTransportError>
  readonly snapshot: Effect.Effect<ReadonlyArray<ConnectionSnapshot>>
}

interface LiveConnection {
  readonly id: ConnectionId
  readonly transport: TransportMode
  readonly direction: "inbound" | "outbound"
  readonly local: Endpoint
  readonly remote: Endpoint
  readonly openedAt: number
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, SipTransportError>
  readonly framer: StreamFramer
  lastActivity: number
  messagesReceived: number
  messagesSent: number
  bytesReceived: number
  bytesSent: number
}

const CRLF = new Uint8Array([13, 10])
const encoder = new TextEncoder()

/**
 * Creates the connection table of one transport. Connection fibers live in
 * the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: {
  readonly core: TransportCore.TransportCore
  /** Where a destination may be reached, best first (RFC 3263 §4.2). */
  readonly resolve: (destination: Destination) => Effect.Effect<Arr.NonEmptyReadonlyArray<ResolvedDestination>, SipTransportError>
  /** Told of a target that refused the connection, so that later sends try it last. */
  readonly unreachable: (target: ResolvedDestination) => Effect.Effect<void>
  readonly dial: (destination: ResolvedDestination) => Effect.Effect<OpenedStream, SipTransportError, Scope.Scope>
}) {
  const { core, dial, resolve, unreachable } = options
  const { counters, settings } = core
  const fibers = yield* FiberSet.make()
  const byId = new Map<ConnectionId, LiveConnection>()
  const byRemote = new Map<string, LiveConnection>()
  const dialling = new Map<string, Deferred.Deferred<LiveConnection, SipTransportError>>()
  let nextId = 0
  const idleMillis = Duration.toMillis(settings.connectionIdleTimeout)

  const remoteKey = (endpoint: Endpoint) => formatEndpoint(endpoint)

  const logConnection = (connection: LiveConnection, text: string) =>
    Effect.logWarning(`SIP ${connection.transport.value} connection ${connection.id} ${text}`).pipe(
      Effect.annotateLogs({ remote: formatEndpoint(connection.remote) })
    )

  const closeAfterFramingError = (connection: LiveConnection, error: FramingError, arrival: Arrival) =>
    Effect.gen(function*() {
      counters.framingErrors++
      if (error.reason === "MessageTooLarge") counters.oversized++
      yield* logConnection(connection, `closed: ${error.message}`)
      if (error.header !== undefined) {
        yield* core.refuse(error.header, error.reason === "MessageTooLarge" ? 513 : 400, error.detail, arrival)
      }
    })

  /** Reads until the peer closes, the stream breaks, or framing fails. */
  const readLoop = (opened: OpenedStream, connection: LiveConnection, arrival: Arrival) =>
    Effect.gen(function*() {
      const { framer } = connection
      while (true) {
        const chunks = yield* opened.reader.pull
        connection.lastActivity = yield* Clock.currentTimeMillis
        for (const chunk of chunks) {
          const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk
          connection.bytesReceived += bytes.length
          const output = framer.push(bytes)
          for (const frame of output.frames) {
            if (frame._tag === "Message") {
              connection.messagesReceived++
              yield* core.receive(frame.bytes, arrival)
            } else if (frame._tag === "Ping") {
              counters.keepAlivesAnswered++
              yield* Effect.ignore(connection.write(CRLF))
            }
          }
          if (output.error !== undefined) return yield* closeAfterFramingError(connection, output.error, arrival)
        }
      }
    }).pipe(
      Effect.catch((error) => {
        const closedByPeer = error.reason._tag === "SocketCloseError"
        if (closedByPeer && connection.framer.buffered() === 0) return Effect.void
        if (closedByPeer) {
          counters.truncated++
          return logConnection(connection, `closed by the peer in the middle of a message (${connection.framer.buffered()} bytes lost)`)
        }
        return logConnection(connection, `failed: ${error.message}`)
      })
    )

  const closeWhenIdle = (connection: LiveConnection): Effect.Effect<void> =>
    Effect.gen(function*() {
      while (true) {
        const idle = (yield* Clock.currentTimeMillis) - connection.lastActivity
        if (idle >= idleMillis) {
          counters.idleClosed++
          return yield* Effect.logDebug(`SIP connection ${connection.id} closed after ${idle} ms without traffic`)
        }
        yield* Effect.sleep(Duration.millis(idleMillis - idle))
      }
    })

  /**
   * Runs one connection in its own scope: registers it, announces it to
   * `ready`, then reads until it ends, is idle for too long, or its scope
   * closes.
   */
  const serve = (
    open: Effect.Effect<OpenedStream, SipTransportError, Scope.Scope>,
    direction: "inbound" | "outbound",
    ready: Deferred.Deferred<LiveConnection, SipTransportError> | undefined
  ): Effect.Effect<void> =>
    Effect.gen(function*() {
      const opened = yield* open
      const now = yield* Clock.currentTimeMillis
      const id = `${opened.transport.value.toLowerCase()}-${++nextId}`
      const target = formatEndpoint(opened.remote)
      // a socket's writer waits for the next connection once closed; ours must fail instead
      let closed = false
      const connection: LiveConnection = {
        id,
        transport: opened.transport,
        direction,
        local: opened.local,
        remote: opened.remote,
        openedAt: now,
        lastActivity: now,
        messagesReceived: 0,
        messagesSent: 0,
        bytesReceived: 0,
        bytesSent: 0,
        framer: makeFramer(settings),
        write: (bytes) =>
          Effect.suspend(() =>
            closed
              ? Effect.fail(new SipTransportError({ reason: "SendFailed", target, detail: `connection ${id} is closed` }))
              : Effect.mapError(
                opened.writer.write(bytes),
                (error) => new SipTransportError({ reason: "SendFailed", target, detail: error.message })
              )
          ).pipe(
            Effect.andThen(Clock.currentTimeMillis),
            Effect.map((sentAt) => {
              connection.lastActivity = sentAt
              connection.bytesSent += bytes.length
            })
          )
      }
      byId.set(id, connection)
      byRemote.set(remoteKey(opened.remote), connection)
      counters.connectionsOpened++
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          closed = true
          byId.delete(id)
          if (byRemote.get(remoteKey(opened.remote)) === connection) byRemote.delete(remoteKey(opened.remote))
          counters.connectionsClosed++
        })
      )
      if (ready !== undefined) yield* Deferred.succeed(ready, connection)
      const arrival: Arrival = {
        source: opened.remote,
        transport: opened.transport,
        connectionId: id,
        answer: (bytes) => connection.write(bytes)
      }
      const reading = readLoop(opened, connection, arrival)
      yield* Number.isFinite(idleMillis) ? Effect.raceFirst(reading, closeWhenIdle(connection)) : reading
    }).pipe(
      Effect.scoped,
      Effect.catch((error) => ready === undefined ? Effect.logWarning(error.message) : Deferred.fail(ready, error)),
      // a dial cut short by the transport closing must not leave senders waiting
      Effect.onInterrupt(() =>
        ready === undefined ? Effect.void : Deferred.fail(
          ready,
          new SipTransportError({ reason: "ConnectFailed", target: "-", detail: "the transport is closing" })
        )
      )
    )

  const accept = (open: Effect.Effect<OpenedStream, SipTransportError, Scope.Scope>) => serve(open, "inbound", undefined)

  /** An open connection to the destination, or a new one, to the next target when one refuses (RFC 3263 §4.3). */
  const connectionTo = (destination: Destination): Effect.Effect<LiveConnection, SipTransportError> =>
    Effect.flatMap(resolve(destination), ([first, ...rest]) =>
      rest.reduce(
        (attempt, next) => Effect.catchIf(attempt, refused, () => tryTarget(next)),
        tryTarget(first)
      ))

  const refused = (error: SipTransportError) => error.reason === "ConnectFailed"

  const tryTarget = (target: ResolvedDestination) =>
    Effect.tapError(connectionAt(target), (error) => refused(error) ? unreachable(target) : Effect.void)

  /** An open connection to the address, or a new one (one dial for concurrent senders). */
  const connectionAt = (resolved: ResolvedDestination): Effect.Effect<LiveConnection, SipTransportError> =>
    Effect.suspend(() => {
      const key = remoteKey(resolved)
      const open = byRemote.get(key)
      if (open !== undefined) return Effect.succeed(open)
      const pending = dialling.get(key)
      if (pending !== undefined) return Deferred.await(pending)
      const ready = Deferred.makeUnsafe<LiveConnection, SipTransportError>()
      dialling.set(key, ready)
      return FiberSet.run(fibers, serve(dial(resolved), "outbound", ready)).pipe(
        Effect.andThen(Deferred.await(ready)),
        Effect.ensuring(Effect.sync(() => dialling.delete(key)))
      )
    })

  const send = (outgoing: Outgoing): Effect.Effect<SendReceipt, SipTransportError> =>
    Effect.gen(function*() {
      const pinned = outgoing.connectionId === undefined ? undefined : byId.get(outgoing.connectionId)
      let connection: LiveConnection
      if (pinned !== undefined) connection = pinned
      else if (outgoing.destination !== undefined) connection = yield* connectionTo(outgoing.destination)
      else {
        return yield* new SipTransportError({
          reason: "NoDestination",
          target: String(outgoing.connectionId),
          detail: "the connection is closed and the message has no destination"
        })
      }
      yield* connection.write(outgoing.bytes)
      connection.messagesSent++
      return yield* core.recordSent(outgoing.bytes, {
        destination: connection.remote,
        transport: connection.transport,
        connectionId: connection.id
      })
    })

  const snapshot = Effect.map(Clock.currentTimeMillis, (now) =>
    Array.from(byId.values(), (connection): ConnectionSnapshot => ({
      id: connection.id,
      transport: connection.transport.value,
      direction: connection.direction,
      remote: formatEndpoint(connection.remote),
      local: formatEndpoint(connection.local),
      openedAt: connection.openedAt,
      idleMillis: now - connection.lastActivity,
      messagesReceived: connection.messagesReceived,
      messagesSent: connection.messagesSent,
      bytesReceived: connection.bytesReceived,
      bytesSent: connection.bytesSent,
      buffered: connection.framer.buffered()
    })))

  const connections: Connections = { accept, send, snapshot }
  return connections
})

/**
 * A listening socket: its bound address, and a loop that hands every
 * accepted connection, opened, to a handler.
 *
 * @category models
 * @since 0.1.0
 */
export interface Listener {
  readonly local: Endpoint
  readonly run: (
    handler: (open: Effect.Effect<OpenedStream, SipTransportError, Scope.Scope>) => Effect.Effect<void>
  ) => Effect.Effect<void>
}

/**
 * Assembles a stream transport (TCP or TLS) from its listener and dialler:
 * accepts connections for as long as the scope lasts, and sends on accepted
 * or dialled connections.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeStreamTransport = Effect.fnUntraced(function*(options: {
  readonly mode: TransportMode
  readonly settings: Settings
  readonly counters: TransportCounters
  readonly dns: Dns.Dns["Service"]
  readonly listener: Listener
  readonly dial: (destination: ResolvedDestination) => Effect.Effect<OpenedStream, SipTransportError, Scope.Scope>
}) {
  const { counters, dial, dns, listener, mode, settings } = options
  const core = yield* TransportCore.make({ mode, local: listener.local, settings, counters })
  // a socket on "::" reaches both families; otherwise look names up in the socket's family
  const bound = NetAddress.ipFromString(listener.local.address)
  const family = Result.isSuccess(bound) && !NetAddress.isUnspecified(bound.success)
    ? NetAddress.familyOf(bound.success)
    : undefined
  const locator = yield* Locate.makeLocator({ dns, mode, family })
  const connections = yield* make({
    core,
    dial,
    resolve: (destination) =>
      Effect.map(
        locator.locate(destination),
        Arr.map(({ address, port }) => ({ host: destination.host, address: NetAddress.formatIp(address), port }))
      ),
    unreachable: locator.unreachable
  })
  yield* Effect.forkScoped(listener.run(connections.accept))
  const snapshot = core.snapshot(connections.snapshot)
  return SipTransport.of({
    mode,
    localAddress: listener.local,
    send: (message, target) => Effect.flatMap(Effect.fromResult(core.prepare(message, target)), connections.send),
    incoming: core.incoming,
    publicAddress: core.publicAddress,
    snapshot,
    dump: TransportCore.dumpWith(snapshot)
  })
})
