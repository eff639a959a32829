import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import { LinkPolicy, MemoryNetwork } from "../../src/testing/MemoryTransport.ts"
import * as MemoryTransport from "../../src/testing/MemoryTransport.ts"
import { SipTransport } from "../../src/transport/SipTransport.ts"
import { TransportMode } from "../../src/transport/TransportMode.ts"
import { ALICE, BOB, destination, rawNode, reply, request, settle, world } from "../sip/transaction/helpers.ts"

const encode = (text: string) => new TextEncoder().encode(text)

describe("in-memory SIP network", () => {
  it.effect("carries a request and its response like UDP: rport asked, received/rport stamped, response routed by Via", () =>
    Effect.gen(function*() {
      const alice = yield* rawNode(ALICE)
      const bob = yield* rawNode(BOB)
      const sent = request("OPTIONS", { via: "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKmem1" })
      const receipt = yield* alice.transport.send(sent, destination(BOB))
      expect(receipt).toEqual({ destination: BOB, transport: TransportMode.UDP, connectionId: undefined })
      const arrived = yield* bob.received.next
      expect(arrived.source).toEqual(ALICE)
      expect(arrived.message.via[0]).toMatchObject({ received: "10.0.0.1", rport: 5060 })
      yield* bob.transport.send(reply(arrived.message, 200))
      expect((yield* alice.received.next).message.status).toMatchObject({ value: 200 })
      expect((yield* alice.transport.snapshot).counters).toMatchObject({ sent: 1, received: 1 })
    }).pipe(Effect.provide(world())))

  it.effect("delays packets on the Clock and records each packet's fate", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork
      const tap = yield* network.tap
      yield* network.setPolicy(LinkPolicy.latency(40))
      const alice = yield* rawNode(ALICE)
      const bob = yield* rawNode(BOB)
      yield* alice.transport.send(request("MESSAGE"), destination(BOB))
      yield* TestClock.adjust("39 millis")
      expect(yield* bob.received.size).toBe(0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect((yield* bob.received.next).message.method).toBe("MESSAGE")
      const [packet] = yield* tap.packets
      expect(packet).toMatchObject({ index: 0, from: ALICE, to: BOB, sentAt: 0, fate: { _tag: "Deliver", delayMillis: 40 } })
      expect(packet?.message?.method).toBe("MESSAGE")
      yield* tap.clear
      expect(yield* tap.packets).toEqual([])
    }).pipe(Effect.provide(world())))

  it.effect("dropFirst loses the first matching packets only", () =>
    Effect.gen(function*() {
      const network = yield* MemoryNetwork
      const tap = yield* network.tap
      const isInvite = (packet: MemoryTransport.Packet) => new TextDecoder().decode(packet.bytes).startsWith("INVITE")
      yield* network.setPolicy(LinkPolicy.dropFirst(2, isInvite))
      const alice = yield* rawNode(ALICE)
      const bob = yield* rawNode(BOB)
      for (const method of ["INVITE", "OPTIONS", "INVITE", "INVITE"]) yield* alice.transport.send(request(method), destination(BOB))
      yield* settle
      const arrived = (yield* bob.received.all).map((incoming) => incoming.message.method)
      expect(arrived).toEqual(["OPTIONS", "INVITE"])
      expect((yield* tap.packets).map((packet) => packet.fate._tag)).toEqual(["Drop", "Deliver", "Drop", "Deliver"])
    }).pipe(Effect.provide(world())))

  it.effect("a lossy link with jitter drops and reorders, repeatably for a seed", () =>
    Effect.gen(function*() {
      const run = Effect.gen(function*() {
        const network = yield* MemoryNetwork
        yield* network.setPolicy(LinkPolicy.lossy({ loss: 0.3, delayMillis: 10, jitterMillis: 50 }))
        const alice = yield* rawNode(ALICE)
        const bob = yield* rawNode(BOB)
        for (let n = 0; n < 200; n++) {
          yield* alice.transport.send(request("MESSAGE", { headers: [["Subject", String(n)]] }), destination(BOB))
        }
        yield* TestClock.adjust("1 second")
        yield* settle
        return (yield* bob.received.all).map((incoming) => Number(incoming.message.headers.get("Subject")))
      }).pipe(Effect.scoped, Effect.provide(world()), Random.withSeed("lossy"))
      const first = yield* run
      expect(first.length).toBeGreaterThan(100)
      expect(first.length).toBeLessThan(180)
      expect(first).not.toEqual([...first].sort((a, b) => a - b))
      expect(yield* run).toEqual(first)
    }))

  it.effect("a datagram to nowhere is lost; a reliable link to nowhere fails to connect", () =>
    Effect.gen(function*() {
      const udp = yield* MemoryTransport.make({ address: "10.0.0.1" })
      expect((yield* udp.send(request("OPTIONS"), { host: "10.9.9.9", port: 5060 })).destination.address).toBe("10.9.9.9")
      const tcp = yield* MemoryTransport.make({ address: "10.0.0.1", mode: TransportMode.TCP })
      expect(yield* Effect.flip(tcp.send(request("OPTIONS"), { host: "10.9.9.9", port: 5060 }))).toMatchObject({
        _tag: "SipTransportError",
        reason: "ConnectFailed"
      })
      expect(yield* Effect.flip(udp.send(request("OPTIONS"), { connectionId: "tcp-1" }))).toMatchObject({ reason: "NoDestination" })
    }).pipe(Effect.provide(world())))

  it.effect("ports: 0 takes the next free one, a taken one is refused, a closed transport frees its port", () =>
    Effect.gen(function*() {
      const first = yield* MemoryTransport.make({ address: "10.0.0.1" })
      const second = yield* MemoryTransport.make({ address: "10.0.0.1", port: 0 })
      expect([first.localAddress.port, second.localAddress.port]).toEqual([49152, 49153])
      yield* MemoryTransport.make({ address: "10.0.0.1", port: 5060 })
      expect(yield* Effect.flip(MemoryTransport.make({ address: "10.0.0.1", port: 5060 }))).toMatchObject({ reason: "AddressInUse" })
      yield* Effect.scoped(MemoryTransport.make({ address: "[::1]", port: 5062 }))
      const again = yield* MemoryTransport.make({ address: "::1", port: 5062 })
      expect(again.localAddress).toEqual({ address: "::1", port: 5062 })
    }).pipe(Effect.provide(world())))

  it.effect("a broken request is answered 400 by the receiving transport, as on a socket", () =>
    Effect.gen(function*() {
      const alice = yield* rawNode(ALICE)
      yield* rawNode(BOB)
      const broken = "OPTIONS sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbad\r\n" +
        "From: <sip:alice@10.0.0.1>;tag=1\r\nTo: <sip:bob@10.0.0.2>\r\nCall-ID: broken@test\r\nCSeq: 1 OPTIONS\r\n" +
        "Content-Length: 50\r\n\r\nshort"
      yield* alice.transport.send(encode(broken), destination(BOB))
      yield* settle
      const refusal = (yield* alice.received.next).message
      expect(refusal.status).toMatchObject({ value: 400 })
      expect(refusal.callId).toBe("broken@test")
    }).pipe(Effect.provide(world())))

  it.effect("as a layer it provides SipTransport", () =>
    Effect.gen(function*() {
      const transport = yield* SipTransport
      expect(transport.localAddress).toEqual({ address: "10.0.0.7", port: 5080 })
      expect(transport.mode).toBe(TransportMode.UDP)
    }).pipe(
      Effect.provide(MemoryTransport.layer({ address: "10.0.0.7", port: 5080 })),
      Effect.provide(world())
    ))
})
