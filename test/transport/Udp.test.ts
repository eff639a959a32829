import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { REFUSALS_LOGGED_PER_WINDOW } from "../../src/transport/TransportCore.ts"
import * as Udp from "../../src/transport/Udp.ts"
import { captureLogs, collect, decode, encode, environment, ok, options } from "./helpers.ts"

const pair = (host: string) =>
  Effect.gen(function*() {
    const alice = yield* Udp.make({ host })
    const bob = yield* Udp.make({ host })
    return { alice, bob, aliceInbox: yield* collect(alice), bobInbox: yield* collect(bob) }
  })

describe("UDP transport", () => {
  for (const host of ["127.0.0.1", "::1"]) {
    it.live(`round trip on ${host}: rport asked, received/rport stamped, response routed by Via, public address learned`, () =>
      Effect.gen(function*() {
        const { alice, aliceInbox, bob, bobInbox } = yield* pair(host)
        const request = options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress })
        const receipt = yield* alice.send(request, { host: bob.localAddress.address, port: bob.localAddress.port })
        expect(receipt).toEqual({ destination: bob.localAddress, transport: alice.mode, connectionId: undefined })

        const arrived = yield* bobInbox.next
        expect(arrived.source).toEqual(alice.localAddress)
        expect(arrived.transport.value).toBe("UDP")
        expect(arrived.message.via[0]).toMatchObject({ received: host, rport: alice.localAddress.port })

        const answer = yield* bob.send(ok(arrived.message))
        expect(answer.destination).toEqual(alice.localAddress)
        const response = yield* aliceInbox.next
        expect(response.message.status).toMatchObject({ value: 200 })
        expect(yield* SubscriptionRef.get(alice.publicAddress)).toEqual(Option.some(alice.localAddress))
      }).pipe(Effect.provide(environment())))
  }

  it.live("answers to the packet's source when the Via names another host (the client is behind a NAT)", () =>
    Effect.gen(function*() {
      const { alice, aliceInbox, bob, bobInbox } = yield* pair("127.0.0.1")
      const natted = { address: "192.0.2.10", port: 5999 }
      yield* alice.send(options({ transport: "UDP", sentBy: natted, to: bob.localAddress }), {
        host: "127.0.0.1",
        port: bob.localAddress.port
      })
      const arrived = yield* bobInbox.next
      expect(arrived.message.via[0]).toMatchObject({
        host: "192.0.2.10",
        port: 5999,
        received: "127.0.0.1",
        rport: alice.localAddress.port
      })
      yield* bob.send(ok(arrived.message))
      yield* aliceInbox.next
      // the server saw us at our real socket, not at the address we claimed
      expect(yield* SubscriptionRef.get(alice.publicAddress)).toEqual(Option.some(alice.localAddress))
    }).pipe(Effect.provide(environment())))

  it.live("keeps the Via untouched when the request came from its sent-by without rport", () =>
    Effect.gen(function*() {
      const { alice, bob, bobInbox } = yield* pair("127.0.0.1")
      const request = options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress })
      yield* alice.send(SIPMessage.serialize(request), { host: "127.0.0.1", port: bob.localAddress.port })
      const arrived = yield* bobInbox.next
      expect(arrived.message.via[0]).toMatchObject({ received: undefined, rport: undefined })
    }).pipe(Effect.provide(environment())))

  it.live("refuses broken datagrams, logs and counts them, answers 400 where it can, and keeps serving", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { alice, aliceInbox, bob, bobInbox } = yield* pair("127.0.0.1")
      const to = { host: "127.0.0.1", port: bob.localAddress.port }
      // not SIP at all: counted, not answered
      yield* alice.send(encode("hello there\r\n\r\n"), to)
      // truncated: Content-Length promises more than the datagram has (RFC 3261 §18.3)
      const full = decode(SIPMessage.serialize(options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress, body: "0123456789" })))
      yield* alice.send(encode(full.slice(0, -4)), to)
      const refusal = yield* aliceInbox.next
      expect(refusal.message.status).toMatchObject({ value: 400 })
      expect(refusal.message.headers.get("Warning")).toContain("399")
      expect(refusal.message.callId).toMatch(/@test$/)
      // a broken response is never answered; a good request still goes through
      yield* alice.send(encode("SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n"), to)
      const request = options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress })
      yield* alice.send(request, to)
      expect((yield* bobInbox.next).message.callId).toBe(request.callId)
      const snapshot = yield* bob.snapshot
      expect(snapshot.counters).toMatchObject({ parseErrors: 3, badRequestsSent: 1, received: 1 })
      expect(yield* aliceInbox.pending).toBe(0)
      const warnings = logs.lines.filter((line) => line.level === "WARN")
      expect(warnings).toHaveLength(3)
      expect(warnings[1]).toMatchObject({
        message: expect.stringContaining("Content-Length 10 exceeds"),
        annotations: { transport: "UDP", source: `127.0.0.1:${alice.localAddress.port}` }
      })
    }).pipe(Effect.provide(environment()), Effect.provide(logs.layer))
  })

  it.effect("a flood of broken datagrams: ten warnings per 10 s window, then one line with how many went unlogged", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { alice, bob, bobInbox } = yield* pair("127.0.0.1")
      const to = { host: "127.0.0.1", port: bob.localAddress.port }
      const burst = (count: number) => Effect.forEach(Array.from({ length: count }, (_, i) => encode(`junk ${i}\r\n\r\n`)), (bytes) => alice.send(bytes, to))
      // a good request after each burst: once it arrives, the junk before it was handled
      const marker = Effect.gen(function*() {
        const request = options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress })
        yield* alice.send(request, to)
        expect((yield* bobInbox.next).message.callId).toBe(request.callId)
      })
      yield* burst(30)
      yield* marker
      const warnings = () => logs.lines.filter((line) => line.level === "WARN").map((line) => String(line.message))
      expect(warnings()).toHaveLength(REFUSALS_LOGGED_PER_WINDOW)
      yield* TestClock.adjust("10 seconds")
      yield* burst(1)
      yield* marker
      expect(warnings().slice(REFUSALS_LOGGED_PER_WINDOW)).toEqual([
        "SIP transport refused 20 more messages in 10 s without logging them (the snapshot counts every one)",
        expect.stringContaining("SIP transport refused a message")
      ])
      expect((yield* bob.snapshot).counters).toMatchObject({ parseErrors: 31 })
    }).pipe(Effect.provide(environment()), Effect.provide(logs.layer))
  })

  it.live("on a dual-stack socket (::) serves IPv4 peers, seen and answered as plain IPv4", () =>
    Effect.gen(function*() {
      const bob = yield* Udp.make({ host: "::" })
      const bobInbox = yield* collect(bob)
      const alice = yield* Udp.make({ host: "127.0.0.1" })
      const aliceInbox = yield* collect(alice)
      yield* alice.send(options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress }), {
        host: "127.0.0.1",
        port: bob.localAddress.port
      })
      const arrived = yield* bobInbox.next
      expect(arrived.source).toEqual(alice.localAddress)
      yield* bob.send(ok(arrived.message))
      expect((yield* aliceInbox.next).message.status).toMatchObject({ value: 200 })
      // and it sends to IPv4 destinations too
      const sent = yield* bob.send(options({ transport: "UDP", sentBy: bob.localAddress, to: alice.localAddress }), {
        host: "127.0.0.1",
        port: alice.localAddress.port
      })
      expect(sent.destination).toEqual(alice.localAddress)
      expect((yield* aliceInbox.next).message.method).toBe("OPTIONS")
    }).pipe(Effect.provide(environment())))

  it.live("answers 513 to a request over the size limit", () =>
    Effect.gen(function*() {
      const alice = yield* Udp.make({ host: "127.0.0.1" })
      const aliceInbox = yield* collect(alice)
      const bob = yield* Udp.make({ host: "127.0.0.1" }).pipe(Effect.provide(environment({ maxMessageBytes: 1000 })))
      const big = options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress, body: "x".repeat(2000) })
      yield* alice.send(big, { host: "127.0.0.1", port: bob.localAddress.port })
      expect((yield* aliceInbox.next).message.status).toMatchObject({ value: 513 })
      expect((yield* bob.snapshot).counters).toMatchObject({ oversized: 1, badRequestsSent: 1 })
    }).pipe(Effect.provide(environment())))

  it.live("fails with AddressInUse when the port is taken", () =>
    Effect.gen(function*() {
      const first = yield* Udp.make({ host: "127.0.0.1" })
      const error = yield* Effect.flip(Udp.make({ host: "127.0.0.1", port: first.localAddress.port }))
      expect(error).toMatchObject({ _tag: "SipTransportError", reason: "AddressInUse" })
      expect(error.message).toContain(`127.0.0.1:${first.localAddress.port}`)
    }).pipe(Effect.provide(environment())))

  it.live("cannot send a request without a destination", () =>
    Effect.gen(function*() {
      const alice = yield* Udp.make({ host: "127.0.0.1" })
      const request = options({ transport: "UDP", sentBy: alice.localAddress, to: alice.localAddress })
      const error = yield* Effect.flip(alice.send(request))
      expect(error.reason).toBe("NoDestination")
    }).pipe(Effect.provide(environment())))

  it.live("dumps its state as JSON or as a table", () =>
    Effect.gen(function*() {
      const { alice, bob, bobInbox } = yield* pair("127.0.0.1")
      yield* alice.send(options({ transport: "UDP", sentBy: alice.localAddress, to: bob.localAddress }), {
        host: "localhost",
        port: bob.localAddress.port
      })
      yield* bobInbox.next
      const json = JSON.parse(yield* alice.dump())
      expect(json).toMatchObject({ mode: "UDP", local: `127.0.0.1:${alice.localAddress.port}`, unread: 0 })
      expect(json.counters.sent).toBe(1)
      const table = yield* alice.dump(true)
      expect(table).toContain(`SIP transport UDP on 127.0.0.1:${alice.localAddress.port}`)
      expect(table).toMatch(/sent\s+1/)
    }).pipe(Effect.provide(environment())))
})
