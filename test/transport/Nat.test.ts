import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, SubscriptionRef } from "effect"
import { Dns } from "effect/net"
import { AddressType, NAT, type NATOptions } from "../../src/transport/Nat.ts"
import * as Nat from "../../src/transport/Nat.ts"
import { SipTransport } from "../../src/transport/SipTransport.ts"
import * as Udp from "../../src/transport/Udp.ts"
import { collect, environment, eventually, ok, options } from "./helpers.ts"

// Names answered without asking any DNS server (tests never leave the machine).
const zone = Dns.layerStatic({
  hosts: {
    "example.org": ["93.184.215.14"],
    "google.com": ["142.250.74.46"],
    "pbx.lan": ["10.0.0.20"],
    "me.lan": ["10.0.0.4"],
    "v6.pbx.lan": ["fd00::20"],
    "dual.example.net": ["2001:db8::5", "203.0.113.9"]
  }
})

const nat = (options: NATOptions) => Nat.make(options).pipe(Effect.provide(zone))

// pyVoIP's own NAT table (tests/test_nat.py), then IPv6 and host names.
const getHostTable: ReadonlyArray<readonly [NATOptions, string, string]> = [
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/24", remoteHostname: "example.com" }, "8.8.8.8", "example.com"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/24", remoteHostname: "example.com" }, "example.org", "example.com"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/24", remoteHostname: "example.com" }, "10.0.1.1", "example.com"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/16", remoteHostname: "example.com" }, "10.1.0.1", "example.com"],
  [{ bindIp: "0.0.0.0", network: "10.0.0.0/24", hostname: "10.0.0.4", remoteHostname: "example.com" }, "8.8.8.8", "example.com"],
  [{ bindIp: "0.0.0.0", network: "10.0.0.0/24", hostname: "10.0.0.4", remoteHostname: "example.com" }, "10.0.1.1", "example.com"],
  [{ bindIp: "0.0.0.0", network: "10.0.0.0/16", hostname: "10.0.0.4", remoteHostname: "example.com" }, "10.1.0.1", "example.com"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/24" }, "10.0.0.10", "10.0.0.4"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/16" }, "10.0.1.1", "10.0.0.4"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/8" }, "10.1.1.1", "10.0.0.4"],
  [{ bindIp: "0.0.0.0", network: "10.0.0.0/24", hostname: "10.0.0.4" }, "10.0.0.10", "10.0.0.4"],
  [{ bindIp: "0.0.0.0", network: "10.0.0.0/16", hostname: "10.0.0.4" }, "10.0.1.1", "10.0.0.4"],
  [{ bindIp: "0.0.0.0", network: "10.0.0.0/8", hostname: "10.0.0.4" }, "10.1.1.10", "10.0.0.4"],
  // LAN peer by name, LAN peer behind an IPv4-mapped IPv6 address
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/24" }, "pbx.lan", "10.0.0.4"],
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/24" }, "::ffff:10.0.0.10", "10.0.0.4"],
  // IPv6 LAN and WAN, bracketed or not
  [{ bindIp: "fd00::4", network: "fd00::/64", remoteHostname: "sip.example.com" }, "fd00::10", "fd00::4"],
  [{ bindIp: "fd00::4", network: "fd00::/64", remoteHostname: "sip.example.com" }, "[fd00::10]", "fd00::4"],
  [{ bindIp: "fd00::4", network: "fd00::/64", remoteHostname: "sip.example.com" }, "v6.pbx.lan", "fd00::4"],
  [{ bindIp: "fd00::4", network: "fd00::/64", remoteHostname: "sip.example.com" }, "2001:db8::1", "sip.example.com"],
  [{ bindIp: "::", network: "fd00::/8", hostname: "phone.lan", remoteHostname: "sip.example.com" }, "fd12:3456::1", "phone.lan"],
  // families never match each other's networks
  [{ bindIp: "10.0.0.4", network: "10.0.0.0/8", remoteHostname: "sip.example.com" }, "fd00::1", "sip.example.com"],
  // a name with addresses of both families is local when any of them is
  [{ bindIp: "203.0.113.2", network: "203.0.113.0/24", remoteHostname: "sip.example.com" }, "dual.example.net", "203.0.113.2"]
]

describe("NAT", () => {
  it.effect("getHost picks hostname for the LAN and remote_hostname for the WAN", () =>
    Effect.gen(function*() {
      for (const [settings, host, expected] of getHostTable) {
        const rules = yield* nat(settings)
        expect([settings, host, yield* rules.getHost(host)]).toEqual([settings, host, expected])
      }
    }))

  it.effect("getHost fails with NATError for a WAN host without remote_hostname, or a name that does not resolve", () =>
    Effect.gen(function*() {
      const rules = yield* nat({ bindIp: "192.168.0.5", network: "192.168.0.0/24" })
      const noReturnPath = yield* Effect.flip(rules.getHost("google.com"))
      expect(noReturnPath).toMatchObject({ _tag: "NATError", reason: "NoRemoteHostname", host: "google.com" })
      expect(noReturnPath.message).toContain("No remote hostname specified")
      const unresolvable = yield* Effect.flip(rules.getHost("nonexistent.invalid"))
      expect(unresolvable).toMatchObject({ _tag: "NATError", reason: "UnresolvableHost" })
      expect(unresolvable.message).toBe("Unable to resolve hostname nonexistent.invalid")
    }))

  it.effect("checkHost tells us from them", () =>
    Effect.gen(function*() {
      const rules = yield* nat({ bindIp: "10.0.0.4", network: "10.0.0.0/24", hostname: "phone.lan", remoteHostname: "sip.example.com" })
      const table: ReadonlyArray<readonly [string, AddressType]> = [
        ["phone.lan", AddressType.LOCAL],
        ["sip.example.com", AddressType.LOCAL],
        ["10.0.0.4", AddressType.LOCAL],
        ["me.lan", AddressType.LOCAL],
        ["10.0.0.5", AddressType.REMOTE],
        ["pbx.lan", AddressType.REMOTE],
        ["nonexistent.invalid", AddressType.REMOTE]
      ]
      for (const [host, expected] of table) expect([host, yield* rules.checkHost(host)]).toEqual([host, expected])
      const v6 = yield* nat({ bindIp: "fd00::4", network: "fd00::/64" })
      expect(yield* v6.checkHost("[fd00::4]")).toBe(AddressType.LOCAL)
      expect(yield* v6.checkHost("fd00::5")).toBe(AddressType.REMOTE)
    }))

  it.effect("refuses settings that are not addresses or networks", () =>
    Effect.gen(function*() {
      for (
        const settings of [
          { bindIp: "10.0.0.300", network: "10.0.0.0/24" },
          { bindIp: "10.0.0.4", network: "10.0.0.4/24" },
          { bindIp: "10.0.0.4", network: "lan" }
        ]
      ) {
        expect(yield* Effect.flip(nat(settings))).toMatchObject({ _tag: "NATError", reason: "InvalidSettings" })
      }
      expect((yield* nat({ bindIp: "10.0.0.4", network: "10.0.0.7" })).network.prefixLength).toBe(32)
    }))

  it.effect("contactAddress prefers remote_hostname, then the address learned from responses", () =>
    Effect.gen(function*() {
      const learned = Option.some({ address: "203.0.113.5", port: 40000 })
      const behindNat = yield* Nat.make({ bindIp: "10.0.0.4", network: "10.0.0.0/24" }, Effect.succeed(learned)).pipe(
        Effect.provide(zone)
      )
      expect(yield* behindNat.contactAddress("10.0.0.20", 5060)).toEqual({ address: "10.0.0.4", port: 5060 })
      expect(yield* behindNat.contactAddress("example.org", 5060)).toEqual({ address: "203.0.113.5", port: 40000 })
      const configured = yield* nat({ bindIp: "10.0.0.4", network: "10.0.0.0/24", remoteHostname: "sip.example.com" })
      expect(yield* configured.contactAddress("example.org", 5060)).toEqual({ address: "sip.example.com", port: 5060 })
      const lost = yield* nat({ bindIp: "10.0.0.4", network: "10.0.0.0/24" })
      expect(yield* Effect.flip(lost.contactAddress("example.org", 5060))).toMatchObject({ reason: "NoRemoteHostname" })
    }))

  it.live("resolves with the system resolver, and follows the address its transport learned", () =>
    Effect.gen(function*() {
      const server = yield* Udp.make({ host: "127.0.0.1" })
      const serverInbox = yield* collect(server)
      const phoneLayer = NAT.layerFromTransport({ bindIp: "10.9.9.9", network: "10.9.9.0/24" }).pipe(
        Layer.provideMerge(Udp.layer({ host: "127.0.0.1" })),
        Layer.provide(environment())
      )
      yield* Effect.gen(function*() {
        const rules = yield* NAT
        const phone = yield* SipTransport
        // localhost comes from the hosts file, and is outside 10.9.9.0/24
        expect(yield* Effect.flip(rules.getHost("localhost"))).toMatchObject({ reason: "NoRemoteHostname" })
        expect(yield* Effect.flip(rules.contactAddress("localhost", 5060))).toMatchObject({ reason: "NoRemoteHostname" })
        const request = options({ transport: "UDP", sentBy: { address: "10.9.9.9", port: 5060 }, to: server.localAddress })
        yield* phone.send(request, { host: "127.0.0.1", port: server.localAddress.port })
        yield* server.send(ok((yield* serverInbox.next).message))
        // the response is what teaches the transport, and through it the NAT, our address
        yield* eventually("the public address to be learned", SubscriptionRef.get(phone.publicAddress), Option.isSome)
        expect(yield* rules.contactAddress("localhost", 5060)).toEqual(phone.localAddress)
      }).pipe(Effect.provide(phoneLayer))
    }).pipe(Effect.provide(environment())))
})
