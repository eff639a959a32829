/**
 * The SIP transport service: what the transaction layer sends through and
 * receives from, whatever the mode (UDP, TCP, TLS). One instance is one bound
 * socket (a listening socket for TCP/TLS, plus the connections it accepts or
 * opens), owned by the scope of its layer; nothing is shared between
 * instances, so one process can run many phones.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option, Schema, type Stream, type SubscriptionRef } from "effect"
import type { SIPMessage } from "../sip/SIPMessage.ts"
import type { TransportSnapshot } from "./DebugDump.ts"
import type { TransportMode } from "./TransportMode.ts"

/**
 * An IP address (IPv6 without brackets) and a port.
 *
 * @category models
 * @since 0.1.0
 */
export interface Endpoint {
  readonly address: string
  readonly port: number
}

/**
 * Identifies one TCP/TLS connection of a transport (e.g. `tcp-3`).
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionId = string

/**
 * Where to send: a host (IP literal, bracketed or not, or a DNS name, which is
 * also the name a TLS certificate must carry) and port. With `connectionId`,
 * a stream transport uses that connection while it is open (RFC 3261 §18.2.2:
 * responses and in-dialog requests go back on the request's connection) and
 * otherwise connects to host and port.
 *
 * @category models
 * @since 0.1.0
 */
export interface Destination {
  readonly host: string
  readonly port: number
  readonly connectionId?: ConnectionId | undefined
  /**
   * The URI gave no port (and no `maddr`): a host that is a name is located by
   * DNS SRV first (RFC 3263 §4.2, see `Locate`); `port` is used only when
   * there are no SRV records.
   */
  readonly locate?: boolean | undefined
}

/**
 * Where `send` delivers: a destination, or only a connection (for a response,
 * which otherwise goes where its top Via says, RFC 3261 §18.2.2).
 *
 * @category models
 * @since 0.1.0
 */
export type SendTarget = Destination | { readonly connectionId: ConnectionId }

/**
 * A message received and parsed. A request's top Via already carries
 * `received`/`rport` (RFC 3261 §18.2.1, RFC 3581), so the response built from
 * it goes back to where the request really came from.
 *
 * @category models
 * @since 0.1.0
 */
export interface IncomingMessage {
  readonly message: SIPMessage
  readonly source: Endpoint
  /** The transport it arrived on (TCP for a TLS transport's fallback connections). */
  readonly transport: TransportMode
  /** The connection it arrived on (stream transports only). */
  readonly connectionId: ConnectionId | undefined
  /** `Clock` time, in milliseconds. */
  readonly receivedAt: number
}

/**
 * Where a message went.
 *
 * @category models
 * @since 0.1.0
 */
export interface SendReceipt {
  readonly destination: Endpoint
  readonly transport: TransportMode
  readonly connectionId: ConnectionId | undefined
}

/**
 * A transport operation that failed: the socket could not be bound (e.g. the
 * port is in use), a destination could not be resolved or reached, a TLS
 * handshake failed, a write failed, or a message has nowhere to go.
 *
 * @category errors
 * @since 0.1.0
 */
export class SipTransportError extends Schema.TaggedError<SipTransportError>()("SipTransportError", {
  reason: Schema.Literals([
    "AddressInUse",
    "BindFailed",
    "ResolveFailed",
    "ConnectFailed",
    "TlsHandshakeFailed",
    "TlsSetupFailed",
    "SendFailed",
    "NoDestination",
    "MessageTooLarge"
  ]),
  /** The address involved (bind address or destination), as host:port. */
  target: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.reason} (${this.target}): ${this.detail}`
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SipTransportShape {
  readonly mode: TransportMode
  /** The bound address and port (the real port when 0 was asked for). */
  readonly localAddress: Endpoint
  /**
   * Sends a message. A UDP request gets `;rport` in its top Via (RFC 3581);
   * a response without a destination goes where its top Via says (RFC 3261
   * §18.2.2, `received`/`rport` first). Bytes are sent as they are and need a
   * destination.
   */
  readonly send: (message: SIPMessage | Uint8Array, target?: SendTarget) => Effect.Effect<SendReceipt, SipTransportError>
  /**
   * Received messages, in arrival order, for one consumer (the transaction
   * layer). Messages wait, up to `incomingQueueCapacity`, until read.
   */
  readonly incoming: Stream.Stream<IncomingMessage>
  /** Our address as the last response's top Via `received`/`rport` showed it, once known. */
  readonly publicAddress: SubscriptionRef.SubscriptionRef<Option.Option<Endpoint>>
  /** Live state for debugging: connections, unread messages, counters. */
  readonly snapshot: Effect.Effect<TransportSnapshot>
  /** pyVoIP's `get_database_dump(pretty)`: the snapshot as JSON, or as a readable table. */
  readonly dump: (pretty?: boolean) => Effect.Effect<string>
}

/**
 * The transport service. Provide it with `Udp.layer`, `Tcp.layer` or
 * `Tls.layer`.
 *
 * @category services
 * @since 0.1.0
 */
export class SipTransport extends Context.Service<SipTransport, SipTransportShape>()("effect-voip/SipTransport") {}

/**
 * `host:port`, with IPv6 in brackets.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatEndpoint = (endpoint: { readonly address: string; readonly port: number }): string =>
  `${endpoint.address.includes(":") && !endpoint.address.startsWith("[") ? `[${endpoint.address}]` : endpoint.address}:${endpoint.port}`
