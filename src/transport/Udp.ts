/**
 * SIP over UDP: one bound datagram socket per transport (per phone). Every
 * datagram is one message; requests we send ask for `rport`, responses go
 * where the request's top Via says (see `ViaRouting`), and broken requests are
 * answered from the socket they came in on.
 *
 * @since 0.1.0
 */
import { NodeDatagramSocket } from "@effect/platform-node"
import { Effect, Layer, type Scope } from "effect"
import { Dns, NetAddress } from "effect/net"
import type { DatagramSocket } from "effect/socket"
import { VoIPSettings } from "../Config.ts"
import { makeCounters } from "./DebugDump.ts"
import * as Locate from "./Locate.ts"
import type * as SIPMessage from "../sip/SIPMessage.ts"
import { type Endpoint, formatEndpoint, type SendTarget, SipTransport, SipTransportError } from "./SipTransport.ts"
import * as TransportCore from "./TransportCore.ts"
import { TransportMode } from "./TransportMode.ts"

/**
 * Where to bind: an IP address (`0.0.0.0`, `::` for both families,
 * `127.0.0.1`, `::1`, ...) and a port (0 or none for an ephemeral one).
 *
 * @category models
 * @since 0.1.0
 */
export interface BindOptions {
  readonly host: string
  readonly port?: number | undefined
}

const bindError = (target: string) => (error: DatagramSocket.DatagramSocketError) =>
  new SipTransportError({
    reason: error.reason._tag === "DatagramSocketOpenError" && error.reason.kind === "AddressInUse"
      ? "AddressInUse"
      : "BindFailed",
    target,
    detail: error.message
  })

/**
 * Binds the socket and starts receiving; everything is released with the
 * scope.
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
    const socket = yield* NodeDatagramSocket.make({
      bind: { address: options.host, port: options.port ?? 0 },
      // room for bursts from many calls between two reads
      kernelReceiveBufferSize: 1 << 20
    })
    const reader = yield* socket.reader.pipe(Effect.mapError(bindError(bindTarget)))
    const writer = yield* socket.writer
    const boundIp = reader.address.address
    const family = NetAddress.familyOf(boundIp)
    const dualStack = family === "IPv6" && NetAddress.isUnspecified(boundIp)
    const local: Endpoint = { address: NetAddress.formatIp(boundIp), port: reader.address.port }
    const core = yield* TransportCore.make({ mode: TransportMode.UDP, local, settings, counters: makeCounters() })
    // one answer per destination for a while: a transaction's retransmissions go where it went first
    const locator = yield* Locate.makeLocator({ dns, mode: TransportMode.UDP, family: dualStack ? undefined : family })

    const write = (payload: Uint8Array, address: NetAddress.InetAddress, target: string) =>
      writer.write({ payload, address }).pipe(
        Effect.mapError((error) => new SipTransportError({ reason: "SendFailed", target, detail: error.message }))
      )

    // A socket bound to "::" reaches IPv4 peers through their IPv4-mapped address.
    const inetFor = (ip: NetAddress.IpAddress, port: number): NetAddress.InetAddress =>
      NetAddress.inetAddressUnsafe(
        dualStack && NetAddress.isIpv4Address(ip) ? NetAddress.toIpv4Mapped(ip) : ip,
        port
      )

    const receiveOne = (datagram: DatagramSocket.Datagram) => {
      const source: Endpoint = {
        address: NetAddress.formatIp(NetAddress.toCanonical(datagram.address.address)),
        port: datagram.address.port
      }
      const target = formatEndpoint(source)
      return core.receive(datagram.payload, {
        source,
        transport: TransportMode.UDP,
        connectionId: undefined,
        answer: (bytes) => write(bytes, datagram.address, target)
      })
    }

    yield* reader.pull.pipe(
      Effect.flatMap((datagrams) => Effect.forEach(datagrams, receiveOne, { discard: true })),
      // ICMP errors from earlier sends surface as read errors; the socket stays usable
      Effect.catch((error) =>
        error.reason._tag === "DatagramSocketClosedError"
          ? Effect.interrupt
          : Effect.logWarning(`SIP UDP receive failed: ${error.message}`)
      ),
      Effect.forever,
      Effect.forkScoped
    )

    const send = (message: SIPMessage.SIPMessage | Uint8Array, target?: SendTarget) =>
      Effect.gen(function*() {
        const outgoing = yield* Effect.fromResult(core.prepare(message, target))
        const destination = outgoing.destination
        if (destination === undefined) {
          return yield* new SipTransportError({
            reason: "NoDestination",
            target: String(outgoing.connectionId),
            detail: "UDP has no connections: the message needs a host and port"
          })
        }
        const [located] = yield* locator.locate(destination)
        const address: Endpoint = { address: NetAddress.formatIp(located.address), port: located.port }
        yield* write(outgoing.bytes, inetFor(located.address, located.port), formatEndpoint(address))
        return yield* core.recordSent(outgoing.bytes, {
          destination: address,
          transport: TransportMode.UDP,
          connectionId: undefined
        })
      })

    const snapshot = core.snapshot(Effect.succeed([]), reader.dropped)
    return SipTransport.of({
      mode: TransportMode.UDP,
      localAddress: local,
      send,
      incoming: core.incoming,
      publicAddress: core.publicAddress,
      snapshot,
      dump: TransportCore.dumpWith(snapshot)
    })
  })

/**
 * The UDP transport as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: BindOptions): Layer.Layer<SipTransport, SipTransportError, VoIPSettings | Dns.Dns> =>
  Layer.effect(SipTransport, make(options))
