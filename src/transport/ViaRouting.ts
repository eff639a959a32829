/**
 * Where SIP messages go according to their top Via: the `received`/`rport`
 * a server stamps on a request it receives (RFC 3261 §18.2.1, RFC 3581 §4),
 * the `;rport` a client asks for, the address a response is sent to (§18.2.2,
 * RFC 3581 §4), and the public address a response reveals to its client.
 *
 * @since 0.1.0
 */
import { Option, Result } from "effect"
import { NetAddress } from "effect/net"
import type { Via } from "../sip/HeaderValues.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import type { Destination, Endpoint } from "./SipTransport.ts"
import * as TransportMode from "./TransportMode.ts"

const canonicalIp = (host: string): string | undefined =>
  Option.getOrUndefined(
    Option.map(Result.getSuccess(NetAddress.ipFromString(host)), (ip) => NetAddress.formatIp(NetAddress.toCanonical(ip)))
  )

/** The port a Via without one means: 5061 for TLS, else 5060 (RFC 3261 §18.2.2, §19.1.2). */
const defaultPort = (via: Via): number =>
  Option.match(TransportMode.fromString(via.transport), {
    onNone: () => TransportMode.TransportMode.UDP.defaultPort,
    onSome: (mode) => mode.defaultPort
  })

const editTopVia = (message: SIPMessage.SIPMessage, edit: (via: Via) => Via): SIPMessage.SIPMessage =>
  Result.getOrElse(SIPMessage.mapTopVia(message, edit), () => message)

/**
 * The request as a server must pass it up: `received` on the top Via when
 * the packet came from another address than its sent-by (or when the client
 * asked for `rport`, RFC 3581 §4), and the source port in a bare `rport`.
 *
 * @category routing
 * @since 0.1.0
 */
export const stampReceived = (request: SIPMessage.SIPMessage, source: Endpoint): SIPMessage.SIPMessage => {
  const top = request.via[0]
  if (top === undefined) return request
  const wantsRport = top.rport === null
  // a host name never equals the packet's source address
  const needsReceived = wantsRport || canonicalIp(top.host) !== canonicalIp(source.address)
  if (!needsReceived) return request
  return editTopVia(request, (via) => ({
    ...via,
    received: source.address,
    rport: wantsRport ? source.port : via.rport
  }))
}

/**
 * The request with `;rport` in its top Via unless it has one (RFC 3581 §3),
 * so the response comes back through a NAT to the port we sent from.
 *
 * @category routing
 * @since 0.1.0
 */
export const withRport = (request: SIPMessage.SIPMessage): SIPMessage.SIPMessage => {
  const top = request.via[0]
  if (top === undefined || top.rport !== undefined) return request
  return editTopVia(request, (via) => ({ ...via, rport: null }))
}

/** RFC 3581 §4: `rport` redirects responses only over an unreliable transport. */
const isUnreliable = (via: Via): boolean =>
  Option.match(TransportMode.fromString(via.transport), {
    onNone: () => false,
    onSome: (mode) => !TransportMode.isReliable(mode)
  })

/**
 * Where a response goes when there is no connection to send it on (RFC 3261
 * §18.2.2): the `maddr`, else the `received` address, else the sent-by host;
 * at the sent-by port, or over UDP at the `rport` port (RFC 3581 §4).
 * Undefined when the response has no Via.
 *
 * @category routing
 * @since 0.1.0
 */
export const responseDestination = (response: SIPMessage.SIPMessage): Destination | undefined => {
  const top = response.via[0]
  if (top === undefined) return undefined
  const sentByPort = top.port ?? defaultPort(top)
  if (top.maddr !== undefined) return { host: top.maddr, port: sentByPort }
  const port = typeof top.rport === "number" && isUnreliable(top) ? top.rport : sentByPort
  return { host: top.received ?? top.host, port }
}

/**
 * Our own address as the server saw it, from the `received`/`rport` it put
 * in the top Via of its response over UDP; undefined when it added neither.
 * Over TCP/TLS the port would be the connection's, of no use in a Contact.
 *
 * @category routing
 * @since 0.1.0
 */
export const learnedAddress = (response: SIPMessage.SIPMessage): Endpoint | undefined => {
  const top = response.via[0]
  if (top === undefined || !isUnreliable(top)) return undefined
  if (top.received === undefined && typeof top.rport !== "number") return undefined
  const address = top.received ?? top.host
  return {
    address: canonicalIp(address) ?? address,
    port: typeof top.rport === "number" ? top.rport : top.port ?? defaultPort(top)
  }
}
