/**
 * Which local address the operating system would send from to reach a
 * host: what a phone bound to the wildcard address (`0.0.0.0`, `::`) must
 * put in its Contact and SDP instead of the wildcard, which no peer can
 * reach. A UDP socket `connect`ed to the host asks the routing table and
 * sends nothing.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as Dgram from "node:dgram"
import * as Net from "node:net"

/**
 * The local address toward `host` (an IP literal), none when there is no
 * route or the host is not an IP literal.
 *
 * @category routing
 * @since 0.1.0
 */
export const localAddressToward = (host: string): Effect.Effect<Option.Option<string>> => {
  const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const family = Net.isIP(literal)
  if (family === 0) return Effect.succeed(Option.none())
  return Effect.callback<Option.Option<string>>((resume) => {
    const socket = Dgram.createSocket(family === 6 ? "udp6" : "udp4")
    let open = true
    const close = () => {
      if (open) socket.close()
      open = false
    }
    const finish = (address: Option.Option<string>) => {
      close()
      resume(Effect.succeed(address))
    }
    socket.once("error", () => finish(Option.none()))
    // the port only completes the address: connecting a UDP socket sends no packet
    socket.connect(9, literal, () => finish(Option.some(socket.address().address)))
    return Effect.sync(close)
  })
}
