import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { fromString, isReliable, SocketKind, TransportMode } from "../../src/transport/TransportMode.ts"

describe("TransportMode", () => {
  it("has pyVoIP's value, socket type and TLS mode for each transport, and its default port", () => {
    expect(TransportMode.UDP).toEqual({ value: "UDP", socketType: SocketKind.DATAGRAM, tlsMode: null, defaultPort: 5060 })
    expect(TransportMode.TCP).toEqual({ value: "TCP", socketType: SocketKind.STREAM, tlsMode: null, defaultPort: 5060 })
    expect(TransportMode.TLS).toEqual({ value: "TLS", socketType: SocketKind.STREAM, tlsMode: "TLS", defaultPort: 5061 })
    expect([TransportMode.UDP, TransportMode.TCP, TransportMode.TLS].map(isReliable)).toEqual([false, true, true])
  })

  it("is found from a Via token or setting in any case", () => {
    expect(fromString("udp")).toEqual(Option.some(TransportMode.UDP))
    expect(fromString("Tls")).toEqual(Option.some(TransportMode.TLS))
    expect(fromString("SCTP")).toEqual(Option.none())
  })
})
