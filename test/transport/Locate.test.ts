/**
 * Locating a SIP server (RFC 3263 §4.2): the RFC 2782 order of SRV records
 * as a plain function and with a seeded Random, and `locate` against a real
 * name server (dnsmasq on 127.0.0.1, the only server asked; its query log
 * shows what was asked): SRV targets at their ports with their addresses
 * from that server, A at the default port without SRV records, and no SRV query for an explicit port or an IP
 * literal. Nothing is sent anywhere.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Random, Result } from "effect"
import { NetAddress } from "effect/net"
import { uriDestination } from "../../src/sip/dialog/Dialog.ts"
import { parseUri } from "../../src/sip/Uri.ts"
import { locate, orderSrv, orderSrvRandom, srvName } from "../../src/transport/Locate.ts"
import type { Destination } from "../../src/transport/SipTransport.ts"
import { TransportMode } from "../../src/transport/TransportMode.ts"
import { dnsmasq } from "./dnsmasq.ts"

const srv = (name: string, priority: number, weight: number) => ({ name, priority, weight })
const names = (records: ReadonlyArray<{ readonly name: string }>) => records.map(({ name }) => name)

describe("RFC 2782 order", () => {
  it("lowest priority first, whatever the weights", () => {
    const records = [srv("backup", 20, 100), srv("main-a", 10, 0), srv("main-b", 10, 0), srv("last", 30, 5)]
    expect(names(orderSrv(records, [0.99, 0.99, 0.99, 0.99]))).toEqual(["main-a", "main-b", "backup", "last"])
  })

  it("within a priority, a draw picks the first record whose running weight sum reaches it", () => {
    const records = [srv("light", 1, 1), srv("heavy", 1, 3)]
    // total 4: the draw picks 0..4; 0 and 1 fall on "light" (sum 1), 2..4 on "heavy" (sum 4)
    expect(names(orderSrv(records, [0, 0]))).toEqual(["light", "heavy"])
    expect(names(orderSrv(records, [0.39, 0]))).toEqual(["light", "heavy"])
    expect(names(orderSrv(records, [0.4, 0]))).toEqual(["heavy", "light"])
    expect(names(orderSrv(records, [0.99, 0]))).toEqual(["heavy", "light"])
  })

  it("weight 0 goes first in the running sum: picked first only on a draw of 0; all-zero weights keep their order", () => {
    const records = [srv("weighted", 1, 10), srv("zero", 1, 0)]
    expect(names(orderSrv(records, [0, 0]))).toEqual(["zero", "weighted"])
    expect(names(orderSrv(records, [1 / 11, 0]))).toEqual(["weighted", "zero"])
    expect(names(orderSrv([srv("a", 1, 0), srv("b", 1, 0), srv("c", 1, 0)], [0.9, 0.9, 0.9]))).toEqual(["a", "b", "c"])
  })

  it.effect("with Effect's Random: the same seed gives the same order, and picks follow the weights", () =>
    Effect.gen(function*() {
      const records = [srv("zero", 1, 0), srv("one", 1, 10), srv("three", 1, 30), srv("backup", 2, 50)]
      const orders = yield* Effect.forEach(Array.from({ length: 2000 }), () => orderSrvRandom(records)).pipe(
        Random.withSeed("rfc-2782")
      )
      const again = yield* Effect.forEach(Array.from({ length: 2000 }), () => orderSrvRandom(records)).pipe(
        Random.withSeed("rfc-2782")
      )
      expect(again).toEqual(orders)
      const firsts = (name: string) => orders.filter((order) => order[0]?.name === name).length / orders.length
      // the draw picks 0..40: 0 is "zero" (1/41), 1..10 "one" (10/41), 11..40 "three" (30/41)
      expect(firsts("zero")).toBeLessThan(0.05)
      expect(firsts("one")).toBeGreaterThan(0.17)
      expect(firsts("one")).toBeLessThan(0.33)
      expect(firsts("three")).toBeGreaterThan(0.67)
      expect(orders.every((order) => order[3]?.name === "backup")).toBe(true)
    }))
})

describe("the SRV name and the destinations that are located", () => {
  it("_sip._udp, _sip._tcp, _sips._tcp by transport", () => {
    expect([TransportMode.UDP, TransportMode.TCP, TransportMode.TLS].map((mode) => srvName(mode, "example.com"))).toEqual([
      "_sip._udp.example.com",
      "_sip._tcp.example.com",
      "_sips._tcp.example.com"
    ])
  })

  it("a URI marks its destination for SRV only with a name, no port and no maddr", () => {
    const of = (uri: string) => uriDestination(Result.getOrThrow(parseUri(uri)))
    expect(of("sip:example.com")).toEqual({ host: "example.com", port: 5060, locate: true })
    expect(of("sips:alice@example.com")).toEqual({ host: "example.com", port: 5061, locate: true })
    expect(of("sip:example.com:5070")).toEqual({ host: "example.com", port: 5070 })
    expect(of("sip:example.com;maddr=192.0.2.1")).toEqual({ host: "192.0.2.1", port: 5060 })
    expect(of("sip:192.0.2.1")).toEqual({ host: "192.0.2.1", port: 5060 })
    expect(of("sip:[2001:db8::1]")).toEqual({ host: "2001:db8::1", port: 5060 })
  })
})

const located = (targets: ReadonlyArray<{ readonly address: NetAddress.IpAddress; readonly port: number }>) =>
  targets.map(({ address, port }) => `${NetAddress.formatIp(address)}:${port}`)

describe("locate, against dnsmasq", () => {
  it.live("SRV targets in priority order at their ports, each target's address looked up", () =>
    Effect.gen(function*() {
      const server = yield* dnsmasq({
        srv: [
          { name: "_sip._udp.pbx.test", target: "backup.pbx.test", port: 5080, priority: 20 },
          { name: "_sip._udp.pbx.test", target: "main.pbx.test", port: 5070, priority: 10 },
          { name: "_sip._tcp.pbx.test", target: "main.pbx.test", port: 5090 },
          { name: "_sips._tcp.pbx.test", target: "main.pbx.test", port: 5091 }
        ],
        hosts: { "main.pbx.test": "127.0.0.2", "backup.pbx.test": "127.0.0.3" }
      })
      const destination: Destination = { host: "pbx.test", port: 5060, locate: true }
      expect(located(yield* locate(server.dns, destination, TransportMode.UDP, "IPv4"))).toEqual([
        "127.0.0.2:5070",
        "127.0.0.3:5080"
      ])
      expect(located(yield* locate(server.dns, destination, TransportMode.TCP, "IPv4"))).toEqual(["127.0.0.2:5090"])
      expect(located(yield* locate(server.dns, { ...destination, port: 5061 }, TransportMode.TLS, "IPv4"))).toEqual([
        "127.0.0.2:5091"
      ])
      expect(server.queries()).toEqual([
        "SRV _sip._udp.pbx.test",
        "A main.pbx.test",
        "A backup.pbx.test",
        "SRV _sip._tcp.pbx.test",
        "A main.pbx.test",
        "SRV _sips._tcp.pbx.test",
        "A main.pbx.test"
      ])
      // the targets' addresses were asked of the SRV server (Dns.resolve), never of the system resolver
      expect(server.lookups()).toEqual([])
    }), 20_000)

  it.live("no SRV records: the host's A record at the default port", () =>
    Effect.gen(function*() {
      const server = yield* dnsmasq({ hosts: { "plain.pbx.test": "127.0.0.4" } })
      const targets = yield* locate(server.dns, { host: "plain.pbx.test", port: 5060, locate: true }, TransportMode.UDP, "IPv4")
      expect(located(targets)).toEqual(["127.0.0.4:5060"])
      expect(server.queries()).toEqual(["SRV _sip._udp.plain.pbx.test", "A plain.pbx.test"])
      // a host the destination names goes through Dns.lookup, as with an explicit port (hosts file included)
      expect(server.lookups()).toEqual(["plain.pbx.test"])
    }), 20_000)

  it.live("an explicit port or an IP literal: no SRV query", () =>
    Effect.gen(function*() {
      const server = yield* dnsmasq({
        srv: [{ name: "_sip._udp.pbx.test", target: "main.pbx.test", port: 5070 }],
        hosts: { "pbx.test": "127.0.0.5", "main.pbx.test": "127.0.0.2" }
      })
      expect(located(yield* locate(server.dns, { host: "pbx.test", port: 5066 }, TransportMode.UDP, "IPv4"))).toEqual([
        "127.0.0.5:5066"
      ])
      expect(
        located(yield* locate(server.dns, { host: "127.0.0.9", port: 5060, locate: true }, TransportMode.UDP, "IPv4"))
      ).toEqual(["127.0.0.9:5060"])
      expect(server.queries()).toEqual(["A pbx.test"])
    }), 20_000)

  it.live("SRV targets without an address are skipped; none with one is a ResolveFailed", () =>
    Effect.gen(function*() {
      const server = yield* dnsmasq({
        srv: [
          { name: "_sip._udp.pbx.test", target: "gone.pbx.test", port: 5070, priority: 1 },
          { name: "_sip._udp.pbx.test", target: "main.pbx.test", port: 5071, priority: 2 },
          { name: "_sip._udp.dead.test", target: "gone.pbx.test", port: 5070 }
        ],
        hosts: { "main.pbx.test": "127.0.0.2" }
      })
      const destination = (host: string): Destination => ({ host, port: 5060, locate: true })
      expect(located(yield* locate(server.dns, destination("pbx.test"), TransportMode.UDP, "IPv4"))).toEqual([
        "127.0.0.2:5071"
      ])
      const error = yield* Effect.flip(locate(server.dns, destination("dead.test"), TransportMode.UDP, "IPv4"))
      expect(error.reason).toBe("ResolveFailed")
    }), 20_000)
})
