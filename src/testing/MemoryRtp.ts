/**
 * An in-memory RTP network: the datagram sockets RTP sessions open, with no
 * kernel below them. Provide its `RTPSocketFactory` and every session of a
 * test (a phone's calls, a bare `RTPClient`) sends through it; the pacer,
 * the jitter buffer and RTCP then run on `TestClock` like everything else.
 *
 * It is a {@link MemoryNetwork} of its own, so media gets the same
 * {@link LinkPolicy} (loss, delay, reordering) and {@link Tap} as SIP, set
 * apart from the signalling: lose 10% of the audio without losing a single
 * INVITE. Sockets bind on an address and port (the wildcard address
 * receives on every address, as a socket bound to `0.0.0.0` does), and
 * every datagram a socket writes is kept in `sent`.
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LinkPolicy, MemoryRtp } from "effect-voip/testing"
 *
 * const test = Effect.gen(function*() {
 *   const rtp = yield* MemoryRtp.MemoryRtpNetwork
 *   yield* rtp.setPolicy(LinkPolicy.lossy({ loss: 0.1, jitterMillis: 30 }))
 *   // ... place a call; its audio loses one packet in ten, reordered
 *   const audio = rtp.sent.filter((datagram) => datagram.to.port === 10000)
 * }).pipe(Effect.provide(MemoryRtp.layer))
 * ```
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Queue, Result, type Scope } from "effect"
import { NetAddress } from "effect/net"
import { DatagramSocket } from "effect/socket"
import * as RTPClient from "../rtp/RTPClient.ts"
import type { Endpoint } from "../transport/SipTransport.ts"
import { TransportMode } from "../transport/TransportMode.ts"
import { type LinkPolicy, MemoryNetwork, type Tap } from "./MemoryTransport.ts"

/**
 * A datagram a socket wrote, whatever became of it on the link.
 *
 * @category models
 * @since 0.1.0
 */
export interface SentDatagram {
  /** `Clock` time of the write, in milliseconds. */
  readonly at: number
  /** The writing socket's address and port. */
  readonly from: Endpoint
  readonly to: Endpoint
  readonly payload: Uint8Array
}

/**
 * @category models
 * @since 0.1.0
 */
export interface MemoryRtpShape {
  /** Opens sockets on this network: the value to give `RTPClient.RTPSocketFactory`. */
  readonly factory: (binding: RTPClient.SocketBinding) => Effect.Effect<DatagramSocket.DatagramSocket>
  /** Replaces the policy applied to every datagram from now on (perfect at first). */
  readonly setPolicy: (policy: LinkPolicy) => Effect.Effect<void>
  /** Records every datagram with its fate until the scope closes. */
  readonly tap: Effect.Effect<Tap, never, Scope.Scope>
  /** Every datagram a socket wrote, in order; it grows as sockets write. */
  readonly sent: ReadonlyArray<SentDatagram>
  /** Puts `payload` on the link towards `to` as if `from` had sent it (not kept in `sent`). */
  readonly inject: (to: Endpoint, payload: Uint8Array, from: Endpoint) => Effect.Effect<void>
}

const openError = (kind: "AddressInUse" | "AddressNotAvailable", cause: unknown) =>
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketOpenError({ kind, cause }) })

const writeError = (message: string) =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketWriteError({ kind: "Unknown", cause: new Error(message) })
  })

const endpointOf = (address: NetAddress.InetAddress): Endpoint => ({
  address: NetAddress.formatIp(address.address),
  port: address.port
})

const encoder = new TextEncoder()

/**
 * The RTP network service; the sessions of one test share one instance.
 *
 * @category services
 * @since 0.1.0
 */
export class MemoryRtpNetwork extends Context.Service<MemoryRtpNetwork, MemoryRtpShape>()("effect-voip/testing/MemoryRtpNetwork") {
  /** A network with a perfect link; delayed deliveries run in the current scope. */
  static readonly make: Effect.Effect<MemoryRtpShape, never, Scope.Scope> = Effect.gen(function*() {
    const network = yield* MemoryNetwork.make
    const sent: Array<SentDatagram> = []
    // Receivers see the same InetAddress value for every datagram of a source.
    const sources = new Map<string, NetAddress.InetAddress | undefined>()
    const sourceOf = (endpoint: Endpoint): NetAddress.InetAddress | undefined => {
      const key = `${endpoint.address}/${endpoint.port}`
      if (sources.has(key)) return sources.get(key)
      const ip = NetAddress.ipFromString(endpoint.address)
      const address = Result.isSuccess(ip) ? Result.getOrUndefined(NetAddress.inetAddress(ip.success, endpoint.port)) : undefined
      sources.set(key, address)
      return address
    }

    const factory = (binding: RTPClient.SocketBinding): Effect.Effect<DatagramSocket.DatagramSocket> =>
      Effect.sync(() => {
        let local: Endpoint = { address: binding.address, port: binding.port }
        const reader = Effect.gen(function*() {
          const bound = yield* network.bind(local).pipe(Effect.mapError((error) => openError("AddressInUse", error)))
          const self = sourceOf(bound)
          if (self === undefined) return yield* openError("AddressNotAvailable", new Error(`${bound.address} is not an IP address`))
          local = bound
          const inbox = yield* Queue.unbounded<DatagramSocket.Datagram>()
          yield* network.attach(bound, {
            mode: TransportMode.UDP,
            receive: (payload, arrival) =>
              Effect.sync(() => {
                const address = sourceOf(arrival.source)
                if (address !== undefined) Queue.offerUnsafe(inbox, { payload, address })
              })
          })
          return {
            pull: Queue.takeAll(inbox),
            address: self,
            dropped: () => 0,
            joinMulticast: () => Effect.void
          } satisfies DatagramSocket.Reader
        })

        const write = (datagram: DatagramSocket.OutgoingDatagram): Effect.Effect<void, DatagramSocket.DatagramSocketError> => {
          const target = datagram.address === undefined ? undefined : "payload" in datagram.address ? datagram.address.address : datagram.address
          if (target === undefined) return Effect.fail(writeError("the datagram has no destination"))
          const payload = typeof datagram.payload === "string" ? encoder.encode(datagram.payload) : datagram.payload.slice()
          const to = endpointOf(target)
          return Effect.flatMap(Clock.currentTimeMillis, (at) => {
            sent.push({ at, from: local, to, payload })
            return network.transmit(local, to, TransportMode.UDP, payload).pipe(
              Effect.mapError((error) => writeError(error.message))
            )
          })
        }

        return DatagramSocket.make({
          reader,
          writer: Effect.succeed({
            write,
            writeAll: (datagrams) => Effect.forEach(datagrams, write, { discard: true })
          })
        })
      })

    return {
      factory,
      setPolicy: network.setPolicy,
      tap: network.tap,
      sent,
      inject: (to, payload, from) => Effect.ignore(network.transmit(from, to, TransportMode.UDP, payload))
    }
  })

  static readonly layer: Layer.Layer<MemoryRtpNetwork> = Layer.effect(MemoryRtpNetwork, MemoryRtpNetwork.make)
}

/**
 * The network and its socket factory as `RTPClient.RTPSocketFactory`, so
 * sessions and phones built under it open their sockets here.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<MemoryRtpNetwork> = Layer.effectContext(
  Effect.map(MemoryRtpNetwork.make, (network) =>
    Context.make(MemoryRtpNetwork, network).pipe(Context.add(RTPClient.RTPSocketFactory, network.factory)))
)
