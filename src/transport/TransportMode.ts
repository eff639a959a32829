/**
 * The SIP transports we speak, as pyVoIP's `TransportMode`: each mode has its
 * Via token (`value`), the kind of socket it runs on (`socketType`) and
 * whether it is wrapped in TLS (`tlsMode`).
 *
 * @since 0.1.0
 */
import { Option } from "effect"

/**
 * Python's `socket.SOCK_DGRAM` / `SOCK_STREAM`.
 *
 * @category models
 * @since 0.1.0
 */
export const SocketKind = {
  DATAGRAM: "datagram",
  STREAM: "stream"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type SocketKind = (typeof SocketKind)[keyof typeof SocketKind]

/**
 * One transport: `value` is the token written in Via (`SIP/2.0/UDP`),
 * `tlsMode` is `"TLS"` when the stream is encrypted (pyVoIP's
 * `ssl.PROTOCOL_TLS`) and `null` otherwise, `defaultPort` is the port a URI or
 * Via without one means (RFC 3261 §19.1.2: 5060, or 5061 for TLS).
 *
 * @category models
 * @since 0.1.0
 */
export interface TransportModeInfo<Value extends string = string> {
  readonly value: Value
  readonly socketType: SocketKind
  readonly tlsMode: "TLS" | null
  readonly defaultPort: number
}

/**
 * @category constants
 * @since 0.1.0
 */
export const TransportMode = {
  UDP: { value: "UDP", socketType: SocketKind.DATAGRAM, tlsMode: null, defaultPort: 5060 },
  TCP: { value: "TCP", socketType: SocketKind.STREAM, tlsMode: null, defaultPort: 5060 },
  TLS: { value: "TLS", socketType: SocketKind.STREAM, tlsMode: "TLS", defaultPort: 5061 }
} as const satisfies Record<string, TransportModeInfo>

/**
 * @category models
 * @since 0.1.0
 */
export type TransportMode = (typeof TransportMode)[keyof typeof TransportMode]

/**
 * A reliable (stream) transport: no retransmissions, framing by
 * Content-Length, responses on the request's connection.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isReliable = (mode: TransportMode): boolean => mode.socketType === SocketKind.STREAM

/**
 * The mode named by a Via transport token or a setting, case-insensitively.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromString = (name: string): Option.Option<TransportMode> => {
  switch (name.toUpperCase()) {
    case "UDP":
      return Option.some(TransportMode.UDP)
    case "TCP":
      return Option.some(TransportMode.TCP)
    case "TLS":
      return Option.some(TransportMode.TLS)
    default:
      return Option.none()
  }
}
