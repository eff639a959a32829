/**
 * An in-memory SIP network and the `SipTransport` that plugs into it: no
 * sockets, every delay on Effect's `Clock`, so a test drives a whole call
 * flow in virtual time with `TestClock`.
 *
 * A {@link MemoryNetwork} connects transports by address and port. Each
 * datagram sent on it goes through a {@link LinkPolicy} that drops it or
 * delivers it after a delay (random delays reorder packets); stream-mode
 * transports (TCP, TLS) are reliable links that deliver every message at
 * once and in order. A transport does what a real one does with the bytes
 * (parsing, `received`/`rport`, `;rport` on requests, 400 for broken
 * requests) since it shares `TransportCore` with the UDP and TCP transports.
 * A {@link Tap} records every packet with its fate, for tests that assert
 * exact retransmission schedules.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Random, Result, type Scope } from "effect"
import { VoIPSettings } from "../Config.ts"
import { makeCounters } from "../transport/DebugDump.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import {
  type Endpoint,
  formatEndpoint,
  type SendReceipt,
  type SendTarget,
  SipTransport,
  SipTransportError
} from "../transport/SipTransport.ts"
import * as TransportCore from "../transport/TransportCore.ts"
import { isReliable, TransportMode } from "../transport/TransportMode.ts"

/**
 * One message put on the network.
 *
 * @category models
 * @since 0.1.0
 */
export interface Packet {
  /** Position in the network's send order, from 0. */
  readonly index: number
  readonly from: Endpoint
  readonly to: Endpoint
  readonly mode: TransportMode
  readonly bytes: Uint8Array
  /** `Clock` time of the send, in milliseconds. */
  readonly sentAt: number
}

/**
 * What happens to a packet: delivered after `delayMillis`, or lost.
 *
 * @category models
 * @since 0.1.0
 */
export type Fate =
  | { readonly _tag: "Deliver"; readonly delayMillis: number }
  | { readonly _tag: "Drop" }

/**
 * Decides the fate of each datagram. An effect, so it can draw from
 * `Random` (seed it with `Random.withSeed` for a repeatable run).
 *
 * @category models
 * @since 0.1.0
 */
export type LinkPolicy = (packet: Packet) => Effect.Effect<Fate>

const deliverAfter = (delayMillis: number): Fate => ({ _tag: "Deliver", delayMillis })
const drop: Fate = { _tag: "Drop" }
const deliverNow = Effect.succeed(deliverAfter(0))

/**
 * Ready-made link policies.
 *
 * @category constructors
 * @since 0.1.0
 */
export const LinkPolicy = {
  /** Every packet arrives at once. */
  perfect: ((): Effect.Effect<Fate> => deliverNow) as LinkPolicy,
  /** Every packet arrives after `millis`. */
  latency: (millis: number): LinkPolicy => {
    const fate = Effect.succeed(deliverAfter(millis))
    return () => fate
  },
  /**
   * Each packet is lost with probability `loss`, else delivered after
   * `delayMillis` plus a uniform random `jitterMillis` (which reorders).
   */
  lossy: (options: { readonly loss: number; readonly delayMillis?: number; readonly jitterMillis?: number }): LinkPolicy => {
    const delay = options.delayMillis ?? 0
    const jitter = options.jitterMillis ?? 0
    return () =>
      Effect.gen(function*() {
        if ((yield* Random.next) < options.loss) return drop
        return deliverAfter(jitter > 0 ? delay + (yield* Random.nextBetween(0, jitter)) : delay)
      })
  },
  /**
   * Drops the first `count` packets that `matches` accepts (all packets by
   * default) and delivers everything else with `then`. Each call makes a
   * policy with its own count.
   */
  dropFirst: (count: number, matches: (packet: Packet) => boolean = () => true, then?: LinkPolicy): LinkPolicy => {
    let dropped = 0
    const next = then ?? LinkPolicy.perfect
    return (packet) => {
      if (dropped < count && matches(packet)) {
        dropped++
        return Effect.succeed(drop)
      }
      return next(packet)
    }
  }
}

/**
 * A packet with what became of it.
 *
 * @category models
 * @since 0.1.0
 */
export interface TappedPacket extends Packet {
  readonly fate: Fate
  /** The message, when the bytes parse. */
  readonly message: SIPMessage.SIPMessage | undefined
}

/**
 * A recording of the packets sent while it is open.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tap {
  readonly packets: Effect.Effect<ReadonlyArray<TappedPacket>>
  /** Forgets what was recorded so far. */
  readonly clear: Effect.Effect<void>
}

/**
 * A transport as the network sees it: its mode and where received bytes go.
 *
 * @category models
 * @since 0.1.0
 */
export interface NetworkNode {
  readonly mode: TransportMode
  readonly receive: (bytes: Uint8Array, arrival: TransportCore.Arrival) => Effect.Effect<void>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface MemoryNetworkShape {
  /** Replaces the policy applied to every datagram from now on. */
  readonly setPolicy: (policy: LinkPolicy) => Effect.Effect<void>
  /** Records every packet until the scope closes. */
  readonly tap: Effect.Effect<Tap, never, Scope.Scope>
  /** Puts bytes on the network; used by the transports. */
  readonly transmit: (from: Endpoint, to: Endpoint, mode: TransportMode, bytes: Uint8Array) => Effect.Effect<void, SipTransportError>
  /** Reserves `endpoint` (port 0: the next free port) until the scope closes; nothing arrives before `attach`. */
  readonly bind: (endpoint: Endpoint) => Effect.Effect<Endpoint, SipTransportError, Scope.Scope>
  /** Starts delivering what is sent to a bound endpoint. */
  readonly attach: (endpoint: Endpoint, node: NetworkNode) => Effect.Effect<void>
}

const keyOf = (endpoint: Endpoint): string => formatEndpoint(endpoint)
const wildcardOf = (address: string): string => address.includes(":") ? "::" : "0.0.0.0"
const FIRST_EPHEMERAL_PORT = 49152

/**
 * The network service; every transport of one test shares one instance.
 *
 * @category services
 * @since 0.1.0
 */
export class MemoryNetwork extends Context.Service<MemoryNetwork, MemoryNetworkShape>()("effect-voip/testing/MemoryNetwork") {
  /** A network with a perfect link; delayed deliveries run in the current scope. */
  static readonly make: Effect.Effect<MemoryNetworkShape, never, Scope.Scope> = Effect.gen(function*() {
    const scope = yield* Effect.scope
    const nodes = new Map<string, NetworkNode | undefined>()
    const taps = new Set<Array<TappedPacket>>()
    let policy: LinkPolicy = LinkPolicy.perfect
    let sent = 0
    let nextPort = FIRST_EPHEMERAL_PORT

    const deliver = (packet: Packet): Effect.Effect<void, SipTransportError> => {
      // a node bound to the wildcard address receives on every address, as a socket bound to 0.0.0.0 does
      const node = nodes.get(keyOf(packet.to)) ?? nodes.get(keyOf({ address: wildcardOf(packet.to.address), port: packet.to.port }))
      if (node === undefined) {
        // a datagram to nowhere is lost silently; a connection is refused
        return isReliable(packet.mode)
          ? Effect.fail(new SipTransportError({ reason: "ConnectFailed", target: keyOf(packet.to), detail: "no transport listens there" }))
          : Effect.void
      }
      return node.receive(packet.bytes, {
        source: packet.from,
        transport: node.mode,
        connectionId: undefined,
        answer: (bytes) => transmit(packet.to, packet.from, node.mode, bytes)
      })
    }

    const record = (packet: Packet, fate: Fate): void => {
      if (taps.size === 0) return
      const parsed = SIPMessage.parseResult(packet.bytes)
      const tapped: TappedPacket = { ...packet, fate, message: Result.isSuccess(parsed) ? parsed.success : undefined }
      for (const tap of taps) tap.push(tapped)
    }

    const transmit = (from: Endpoint, to: Endpoint, mode: TransportMode, bytes: Uint8Array): Effect.Effect<void, SipTransportError> =>
      Effect.gen(function*() {
        const packet: Packet = { index: sent++, from, to, mode, bytes, sentAt: yield* Clock.currentTimeMillis }
        const fate = isReliable(mode) ? deliverAfter(0) : yield* policy(packet)
        record(packet, fate)
        if (fate._tag === "Drop") return
        if (fate.delayMillis <= 0) return yield* deliver(packet)
        yield* deliver(packet).pipe(Effect.ignore, Effect.delay(fate.delayMillis), Effect.forkIn(scope))
      })

    const bind = (endpoint: Endpoint) =>
      Effect.gen(function*() {
        let port = endpoint.port
        if (port === 0) {
          while (nodes.has(keyOf({ address: endpoint.address, port: nextPort }))) nextPort++
          port = nextPort++
        }
        const bound = { address: endpoint.address, port }
        const key = keyOf(bound)
        if (nodes.has(key)) {
          return yield* new SipTransportError({ reason: "AddressInUse", target: key, detail: "another memory transport is bound there" })
        }
        nodes.set(key, undefined)
        yield* Effect.addFinalizer(() => Effect.sync(() => nodes.delete(key)))
        return bound
      })

    const tap = Effect.acquireRelease(
      Effect.sync(() => {
        const packets: Array<TappedPacket> = []
        taps.add(packets)
        return packets
      }),
      (packets) => Effect.sync(() => taps.delete(packets))
    ).pipe(Effect.map((packets): Tap => ({
      packets: Effect.sync(() => packets.slice()),
      clear: Effect.sync(() => {
        packets.length = 0
      })
    })))

    return {
      setPolicy: (next) => Effect.sync(() => {
        policy = next
      }),
      tap,
      transmit,
      bind,
      attach: (endpoint, node) => Effect.sync(() => {
        nodes.set(keyOf(endpoint), node)
      })
    }
  })

  static readonly layer: Layer.Layer<MemoryNetwork> = Layer.effect(MemoryNetwork, MemoryNetwork.make)
}

/**
 * Where an in-memory transport binds: any address string (an IP literal
 * keeps Via routing realistic) and a port (0 or none: the next free one).
 *
 * @category models
 * @since 0.1.0
 */
export interface MemoryTransportOptions {
  readonly address: string
  readonly port?: number | undefined
  /** UDP by default; TCP and TLS make a reliable link. */
  readonly mode?: TransportMode | undefined
}

const stripBrackets = (host: string): string => host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

/**
 * A transport on the network in context, bound for as long as the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: MemoryTransportOptions
): Effect.Effect<SipTransport["Service"], SipTransportError, Scope.Scope | MemoryNetwork | VoIPSettings> =>
  Effect.gen(function*() {
    const network = yield* MemoryNetwork
    const settings = yield* VoIPSettings
    const mode = options.mode ?? TransportMode.UDP
    const requested: Endpoint = { address: stripBrackets(options.address), port: options.port ?? 0 }
    const local = yield* network.bind(requested)
    const core = yield* TransportCore.make({ mode, local, settings, counters: makeCounters() })
    yield* network.attach(local, { mode, receive: core.receive })

    const send = (message: SIPMessage.SIPMessage | Uint8Array, target?: SendTarget): Effect.Effect<SendReceipt, SipTransportError> =>
      Effect.gen(function*() {
        const outgoing = yield* Effect.fromResult(core.prepare(message, target))
        if (outgoing.destination === undefined) {
          return yield* new SipTransportError({
            reason: "NoDestination",
            target: String(outgoing.connectionId),
            detail: "memory transports have no connections: the message needs a host and port"
          })
        }
        const destination: Endpoint = { address: stripBrackets(outgoing.destination.host), port: outgoing.destination.port }
        yield* network.transmit(local, destination, mode, outgoing.bytes)
        return yield* core.recordSent(outgoing.bytes, { destination, transport: mode, connectionId: undefined })
      })

    const snapshot = core.snapshot(Effect.succeed([]))
    return SipTransport.of({
      mode,
      localAddress: local,
      send,
      incoming: core.incoming,
      publicAddress: core.publicAddress,
      snapshot,
      dump: TransportCore.dumpWith(snapshot)
    })
  })

/**
 * {@link make} as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: MemoryTransportOptions
): Layer.Layer<SipTransport, SipTransportError, MemoryNetwork | VoIPSettings> => Layer.effect(SipTransport, make(options))
