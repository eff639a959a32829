/**
 * The RTP socket of a session, built for the packet rate: a send is a plain
 * call made from the pacer's loop, and every received datagram goes to a
 * plain callback at once, with no effect, fiber or queue per packet.
 *
 * The default socket is `node:dgram` itself. Through `effect/socket`'s
 * `DatagramSocket` a packet costs an effect for each write and a fiber
 * wake-up for each read; at a thousand sessions (50 000 packets per second
 * each way) that was about a third of a core on top of Node's own cost
 * (bench/README.md). An injected `DatagramSocket` (tests' in-memory
 * networks) still works through {@link fromDatagramSocket}: its writes are
 * effects, which the pacer runs in order.
 *
 * The socket is not `connect`ed to the peer, although a connected UDP
 * socket sends more cheaply: the kernel would then drop other senders'
 * packets unseen, and the session counts those (`foreignPackets`) and may
 * latch onto one of them.
 *
 * @since 0.1.0
 */
import * as Dgram from "node:dgram"
import * as Dns from "node:dns"
import * as Net from "node:net"
import { Effect, type Scope } from "effect"
import { NetAddress } from "effect/net"
import { DatagramSocket } from "effect/socket"

/**
 * Where a socket binds.
 *
 * @category models
 * @since 0.1.0
 */
export interface SocketBinding {
  readonly address: string
  readonly port: number
}

/**
 * Who is told about received datagrams and failed sends; called
 * synchronously, so it must not throw.
 *
 * @category models
 * @since 0.1.0
 */
export interface RtpReceiver {
  /** A datagram from `host` (as Node formats it, e.g. `127.0.0.1`) and `port`; `payload` may be kept. */
  readonly onPacket: (payload: Uint8Array, host: string, port: number) => void
  readonly onSendError: () => void
}

/**
 * An open RTP socket; it closes with the scope it was opened in.
 *
 * @category models
 * @since 0.1.0
 */
export interface RtpSocket {
  /** The bound address. */
  readonly address: NetAddress.InetAddress
  /**
   * Sends `payload` to `destination` (whose host, formatted with
   * `NetAddress.formatHost`, is `host`): at once, giving `undefined`, or
   * by the effect it gives, which the caller runs before its next send.
   * Failures go to the receiver's `onSendError`. `payload` must stay
   * untouched while {@link busy}.
   */
  readonly send: (
    payload: Uint8Array,
    host: string,
    destination: NetAddress.InetAddress
  ) => Effect.Effect<void> | undefined
  /**
   * Whether a send made still holds its payload: the kernel could not take
   * it at once and it waits in Node's queue.
   */
  readonly busy: () => boolean
}

const openError = (error: unknown): DatagramSocket.DatagramSocketError => {
  const code = typeof error === "object" && error !== null ? (error as NodeJS.ErrnoException).code : undefined
  return new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketOpenError({
      kind: code === "EADDRINUSE"
        ? "AddressInUse"
        : code === "EADDRNOTAVAIL"
        ? "AddressNotAvailable"
        : code === "EACCES" || code === "EPERM"
        ? "PermissionDenied"
        : "Unknown",
      cause: error
    })
  })
}

// Destinations are IP literals: answering at once skips the `dns.lookup` and `process.nextTick` of every send.
const immediateLookup = (
  hostname: string,
  family: unknown,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void
) => callback(null, hostname, family === 6 ? 6 : 4)

const closeQuietly = (socket: Dgram.Socket) => {
  try {
    socket.close()
  } catch {
    // already closed
  }
}

// A host name to bind to is looked up once, here: the socket's own lookup answers IP literals only.
const bindAddress = (address: string) =>
  Net.isIP(address) !== 0
    ? Effect.succeed(address)
    : Effect.callback<string, DatagramSocket.DatagramSocketError>((resume) =>
      Dns.lookup(address, (error, resolved) => resume(error ? Effect.fail(openError(error)) : Effect.succeed(resolved)))
    )

const bindNode = (binding: SocketBinding, receiver: RtpReceiver) =>
  Effect.flatMap(bindAddress(binding.address), (address) => bindLiteral(address, binding.port, receiver))

const bindLiteral = (address: string, port: number, receiver: RtpReceiver) =>
  Effect.callback<Dgram.Socket, DatagramSocket.DatagramSocketError>((resume) => {
    let socket: Dgram.Socket
    try {
      socket = Dgram.createSocket({ type: Net.isIPv6(address) ? "udp6" : "udp4", lookup: immediateLookup as any })
    } catch (error) {
      resume(Effect.fail(openError(error)))
      return
    }
    let bound = false
    socket.on("message", (payload, info) => receiver.onPacket(payload, info.address, info.port))
    // Node throws without an 'error' listener. Once bound, errors have no send left to fail (ICMP reports).
    socket.on("error", (error) => {
      if (bound) return receiver.onSendError()
      closeQuietly(socket)
      resume(Effect.fail(openError(error)))
    })
    try {
      socket.bind({ address, port }, () => {
        bound = true
        resume(Effect.succeed(socket))
      })
    } catch (error) {
      closeQuietly(socket)
      resume(Effect.fail(openError(error)))
      return
    }
    return Effect.sync(() => closeQuietly(socket))
  })

/**
 * A `node:dgram` socket bound to `binding`, closed when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const openNode = (
  binding: SocketBinding,
  receiver: RtpReceiver
): Effect.Effect<RtpSocket, DatagramSocket.DatagramSocketError, Scope.Scope> =>
  Effect.acquireRelease(bindNode(binding, receiver), (socket) => Effect.sync(() => closeQuietly(socket))).pipe(
    Effect.flatMap((socket) =>
      Effect.try({
        try: () => {
          const local = socket.address()
          // A link-local IPv6 bind with a named zone cannot be parsed without the interface table: it fails.
          return { socket, address: NetAddress.inetAddressFromNativeUnsafe(local.address, local.port) }
        },
        catch: openError
      })
    ),
    Effect.map(({ address, socket }): RtpSocket => {
      let inFlight = 0
      // One callback for every send: a send that completes at once still reports on `process.nextTick`.
      const sent = (error: Error | null) => {
        inFlight--
        if (error !== null) receiver.onSendError()
      }
      return {
        address,
        send: (payload, host, destination) => {
          inFlight++
          try {
            socket.send(payload, destination.port, host, sent)
          } catch {
            inFlight--
            receiver.onSendError()
          }
          return undefined
        },
        // Completed sends report on the next tick, so this is true only for a send the kernel could not take at once.
        busy: () => inFlight > 0
      }
    })
  )

/**
 * An RTP socket over an `effect/socket` `DatagramSocket`: a fiber reads it
 * until the scope closes, and sends are its writer's effects.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromDatagramSocket = (
  socket: DatagramSocket.DatagramSocket,
  receiver: RtpReceiver
): Effect.Effect<RtpSocket, DatagramSocket.DatagramSocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* Effect.forkScoped(Effect.gen(function*() {
      while (true) {
        for (const datagram of yield* reader.pull) {
          receiver.onPacket(datagram.payload, NetAddress.formatHost(datagram.address), datagram.address.port)
        }
      }
    }).pipe(Effect.ignore))
    const failed = Effect.sync(() => receiver.onSendError())
    return {
      address: reader.address,
      // The caller runs each send's effect to its end before the next.
      busy: () => false,
      send: (payload, _host, destination) =>
        writer.write({ payload, address: destination }).pipe(Effect.catch(() => failed))
    }
  })
