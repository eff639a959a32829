/**
 * SIP over TCP: a listening socket that accepts connections, plus the
 * connections we dial, all framed by Content-Length and reused by peer (see
 * `Connections`).
 *
 * @since 0.1.0
 */
import { NodeSocket, NodeSocketServer } from "@effect/platform-node"
import { Duration, Effect, Layer, Option, Result, type Scope } from "effect"
import { Dns, NetAddress } from "effect/net"
import { Socket, type SocketServer } from "effect/socket"
import * as Net from "node:net"
import { VoIPSettings } from "../Config.ts"
import * as Connections from "./Connections.ts"
import { makeCounters } from "./DebugDump.ts"
import { type Endpoint, formatEndpoint, SipTransport, SipTransportError } from "./SipTransport.ts"
import { TransportMode } from "./TransportMode.ts"
import type { BindOptions } from "./Udp.ts"

/**
 * An address as Node reports it, IPv4-mapped IPv6 shown as IPv4.
 *
 * @category models
 * @since 0.1.0
 */
export const endpointOf = (address: string | undefined, port: number | undefined): Endpoint => {
  const ip = NetAddress.ipFromString(address ?? "")
  return {
    address: Result.isSuccess(ip) ? NetAddress.formatIp(NetAddress.toCanonical(ip.success)) : (address ?? "?"),
    port: port ?? 0
  }
}

/**
 * The typed error behind a failed open: our own when the opener put one in
 * the socket error's cause, a timeout, or a refused/unreachable connection.
 *
 * @category errors
 * @since 0.1.0
 */
export const openError = (target: string) => (error: Socket.SocketError): SipTransportError => {
  const reason = error.reason
  if (reason._tag === "SocketOpenError" && reason.cause instanceof SipTransportError) return reason.cause
  const detail = reason._tag === "SocketOpenError" && reason.kind === "Timeout"
    ? "timed out"
    : "cause" in reason && reason.cause instanceof Error
    ? reason.cause.message
    : error.message
  return new SipTransportError({ reason: "ConnectFailed", target, detail })
}

/**
 * The error of a listening socket that could not be bound.
 *
 * @category errors
 * @since 0.1.0
 */
export const listenError = (target: string) => (error: SocketServer.SocketServerError): SipTransportError => {
  const cause = error.reason.cause
  const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
  return new SipTransportError({
    reason: code === "EADDRINUSE" ? "AddressInUse" : "BindFailed",
    target,
    detail: cause instanceof Error ? cause.message : error.message
  })
}

/**
 * Opens a Node socket as an Effect `Socket`. `connect` starts the connection
 * and calls `ready` once it can carry data, or `failed`; the socket is closed
 * gracefully with the connection's scope, or destroyed if opening is cut
 * short.
 *
 * @category constructors
 * @since 0.1.0
 */
export const openSocket = <S extends Net.Socket>(
  connect: (ready: () => void, failed: (error: SipTransportError | Error) => void) => S,
  timeout: Duration.Duration
): Effect.Effect<{ readonly socket: Socket.Socket; readonly connection: () => S | undefined }> => {
  let opened: S | undefined
  const open = Effect.acquireRelease(
    Effect.callback<S, Socket.SocketError>((resume) => {
      let settled = false
      const connection = connect(
        () => {
          settled = true
          resume(Effect.succeed(connection))
        },
        (cause) => {
          if (settled) return
          settled = true
          resume(Effect.fail(new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })))
        }
      )
      // keeps late errors (a reset while closing) from being unhandled
      connection.on("error", () => {})
      opened = connection
      return Effect.sync(() => connection.destroy())
    }),
    (connection) => Effect.sync(() => connection.destroySoon())
  )
  return Effect.map(
    NodeSocket.fromDuplex(open, { openTimeout: Duration.toMillis(timeout) }),
    (socket) => ({ socket, connection: () => opened })
  )
}

/**
 * Dials a TCP connection, within the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const dial = (
  destination: Connections.ResolvedDestination,
  timeout: Duration.Duration
): Effect.Effect<Connections.OpenedStream, SipTransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const target = formatEndpoint(destination)
    const { connection, socket } = yield* openSocket((ready, failed) => {
      const net = Net.createConnection({ host: destination.address, port: destination.port })
      net.once("connect", ready)
      net.once("error", failed)
      return net
    }, timeout)
    const reader = yield* Effect.mapError(socket.reader, openError(target))
    const writer = yield* socket.writer
    const net = connection()
    return {
      reader,
      writer,
      transport: TransportMode.TCP,
      local: endpointOf(net?.localAddress, net?.localPort),
      remote: { address: destination.address, port: destination.port }
    }
  })

/**
 * Opens an accepted connection: its reader and writer, and both ends'
 * addresses from the Node socket the server provides.
 *
 * @category constructors
 * @since 0.1.0
 */
export const accepted = (
  socket: Socket.Socket,
  transport: TransportMode
): Effect.Effect<Connections.OpenedStream, SipTransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const net = Option.getOrUndefined(yield* Effect.serviceOption(NodeSocket.NetSocket))
    const remote = endpointOf(net?.remoteAddress, net?.remotePort)
    const reader = yield* Effect.mapError(socket.reader, openError(formatEndpoint(remote)))
    const writer = yield* socket.writer
    return { reader, writer, transport, local: endpointOf(net?.localAddress, net?.localPort), remote }
  })

/**
 * Binds the listening socket and starts accepting; everything is released
 * with the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: BindOptions
): Effect.Effect<SipTransport["Service"], SipTransportError, Scope.Scope | VoIPSettings | Dns.Dns> =>
  Effect.gen(function*() {
    const settings = yield* VoIPSettings
    const dns = yield* Dns.Dns
    const bindTarget = formatEndpoint({ address: options.host, port: options.port ?? 0 })
    const server = yield* NodeSocketServer.make({ host: options.host, port: options.port ?? 0 }).pipe(
      Effect.mapError(listenError(bindTarget))
    )
    const address = server.address
    const local = address._tag === "UnixPathAddress"
      ? { address: options.host, port: 0 }
      : { address: NetAddress.formatIp(address.address), port: address.port }
    return yield* Connections.makeStreamTransport({
      mode: TransportMode.TCP,
      settings,
      counters: makeCounters(),
      dns,
      listener: {
        local,
        run: (handler) =>
          server.run((socket) => handler(accepted(socket, TransportMode.TCP))).pipe(
            Effect.catch((error) => Effect.logError(`SIP TCP listener on ${bindTarget} stopped: ${error.message}`))
          )
      },
      dial: (destination) => dial(destination, settings.connectTimeout)
    })
  })

/**
 * The TCP transport as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: BindOptions): Layer.Layer<SipTransport, SipTransportError, VoIPSettings | Dns.Dns> =>
  Layer.effect(SipTransport, make(options))
