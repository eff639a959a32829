import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import * as Tcp from "../../src/transport/Tcp.ts"
import { collect, decode, encode, environment, eventually, ok, options, rawClient } from "./helpers.ts"

const pair = (host: string) =>
  Effect.gen(function*() {
    const alice = yield* Tcp.make({ host })
    const bob = yield* Tcp.make({ host })
    return { alice, bob, aliceInbox: yield* collect(alice), bobInbox: yield* collect(bob) }
  })

const request = (from: { address: string; port: number }, to: { address: string; port: number }, body?: string) =>
  options({ transport: "TCP", sentBy: from, to, ...(body === undefined ? {} : { body }) })

describe("TCP transport", () => {
  for (const host of ["127.0.0.1", "::1"]) {
    it.live(`round trip on ${host}: the response goes back on the request's connection`, () =>
      Effect.gen(function*() {
        const { alice, aliceInbox, bob, bobInbox } = yield* pair(host)
        const sent = yield* alice.send(request(alice.localAddress, bob.localAddress), {
          host: bob.localAddress.address,
          port: bob.localAddress.port
        })
        expect(sent.destination).toEqual(bob.localAddress)
        expect(sent.connectionId).toMatch(/^tcp-/)

        const arrived = yield* bobInbox.next
        expect(arrived.transport.value).toBe("TCP")
        expect(arrived.connectionId).toMatch(/^tcp-/)
        expect(arrived.source.address).toBe(host)
        expect(arrived.source.port).not.toBe(alice.localAddress.port)

        const answer = yield* bob.send(ok(arrived.message), { connectionId: arrived.connectionId! })
        expect(answer.connectionId).toBe(arrived.connectionId)
        const response = yield* aliceInbox.next
        expect(response.message.status).toMatchObject({ value: 200 })
        expect(response.connectionId).toBe(sent.connectionId)
        expect((yield* bob.snapshot).connections).toHaveLength(1)
      }).pipe(Effect.provide(environment())))
  }

  it.live("reuses one connection per peer, even for concurrent sends", () =>
    Effect.gen(function*() {
      const { alice, bob, bobInbox } = yield* pair("127.0.0.1")
      const to = { host: "127.0.0.1", port: bob.localAddress.port }
      const receipts = yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        () => alice.send(request(alice.localAddress, bob.localAddress), to),
        { concurrency: "unbounded" }
      )
      yield* alice.send(request(alice.localAddress, bob.localAddress), to)
      expect(new Set(receipts.map((receipt) => receipt.connectionId)).size).toBe(1)
      const arrivals = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => bobInbox.next)
      expect(new Set(arrivals.map((arrival) => arrival.connectionId)).size).toBe(1)
      const aliceSide = yield* alice.snapshot
      expect(aliceSide.connections).toMatchObject([{ direction: "outbound", messagesSent: 6, transport: "TCP" }])
      expect(aliceSide.counters).toMatchObject({ connectionsOpened: 1, sent: 6 })
    }).pipe(Effect.provide(environment())))

  it.live("lists its connections in the debug dump", () =>
    Effect.gen(function*() {
      const { alice, bob, bobInbox } = yield* pair("127.0.0.1")
      yield* alice.send(request(alice.localAddress, bob.localAddress), { host: "127.0.0.1", port: bob.localAddress.port })
      yield* bobInbox.next
      const table = yield* alice.dump(true)
      expect(table).toContain("connections: 1")
      expect(table).toMatch(new RegExp(`tcp-1\\s+TCP\\s+outbound\\s+127\\.0\\.0\\.1:${bob.localAddress.port}\\s+127\\.0\\.0\\.1:\\d+`))
      const json = JSON.parse(yield* bob.dump())
      expect(json.connections).toMatchObject([{ id: "tcp-1", direction: "inbound", messagesReceived: 1, buffered: 0 }])
    }).pipe(Effect.provide(environment())))

  it.live("without the connection, a response goes to the Via's sent-by on a new connection (RFC 3261 §18.2.2)", () =>
    Effect.gen(function*() {
      const { alice, aliceInbox, bob, bobInbox } = yield* pair("127.0.0.1")
      yield* alice.send(request(alice.localAddress, bob.localAddress), { host: "127.0.0.1", port: bob.localAddress.port })
      const arrived = yield* bobInbox.next
      const answer = yield* bob.send(ok(arrived.message))
      expect(answer.destination).toEqual(alice.localAddress)
      expect(answer.connectionId).not.toBe(arrived.connectionId)
      const response = yield* aliceInbox.next
      expect(response.message.status).toMatchObject({ value: 200 })
      expect((yield* alice.snapshot).connections.map((c) => c.direction).sort()).toEqual(["inbound", "outbound"])
    }).pipe(Effect.provide(environment())))

  it.live("frames messages written byte by byte and glued together, and answers keep-alive pings", () =>
    Effect.gen(function*() {
      const bob = yield* Tcp.make({ host: "127.0.0.1" })
      const inbox = yield* collect(bob)
      const client = yield* rawClient(bob.localAddress)
      const first = SIPMessage.serialize(request({ address: "127.0.0.1", port: 5999 }, bob.localAddress, "one"))
      for (const byte of first) yield* client.write(new Uint8Array([byte]))
      const second = decode(SIPMessage.serialize(request({ address: "127.0.0.1", port: 5999 }, bob.localAddress, "two")))
      const third = decode(SIPMessage.serialize(request({ address: "127.0.0.1", port: 5999 }, bob.localAddress)))
      yield* client.write(`${second}\r\n\r\n${third}`)
      expect(decode((yield* inbox.next).message.rawBody)).toBe("one")
      expect(decode((yield* inbox.next).message.rawBody)).toBe("two")
      expect((yield* inbox.next).message.rawBody.length).toBe(0)
      yield* client.waitForText("\r\n")
      expect(client.received()).toBe("\r\n")
      expect((yield* bob.snapshot).counters).toMatchObject({ received: 3, keepAlivesAnswered: 1 })
    }).pipe(Effect.provide(environment())))

  it.live("counts garbage, answers a broken request with 400 on its connection, and cuts off a peer that never ends its headers", () =>
    Effect.gen(function*() {
      const bob = yield* Tcp.make({ host: "127.0.0.1" })
      const inbox = yield* collect(bob)
      const innocent = yield* rawClient(bob.localAddress)
      const peer = yield* rawClient(bob.localAddress)
      yield* peer.write("garbage that is not SIP\r\n\r\n")
      // the Request-URI is broken, but Via, Call-ID and CSeq can be read back
      yield* peer.write("OPTIONS sip:bob@[::1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-x\r\n" +
        "Call-ID: broken@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
      yield* peer.waitForText("SIP/2.0 400 Bad Request")
      expect(peer.received()).toContain("Call-ID: broken@test")
      yield* peer.write(new Uint8Array(10 * 1024 * 1024).fill(65))
      yield* peer.waitForClose
      const snapshot = yield* eventually("the connection to be dropped", bob.snapshot, (s) => s.connections.length === 1)
      expect(snapshot.counters).toMatchObject({ parseErrors: 2, framingErrors: 1, badRequestsSent: 1 })
      // the other connection is unaffected
      yield* innocent.write(SIPMessage.serialize(request({ address: "127.0.0.1", port: 5999 }, bob.localAddress)))
      expect((yield* inbox.next).message.method).toBe("OPTIONS")
    }).pipe(Effect.provide(environment())))

  it.live("answers 513 to a message over the size limit before reading its body, then closes", () =>
    Effect.gen(function*() {
      const bob = yield* Tcp.make({ host: "127.0.0.1" }).pipe(Effect.provide(environment({ maxMessageBytes: 4096 })))
      const peer = yield* rawClient(bob.localAddress)
      yield* peer.write("INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-big\r\n" +
        "From: <sip:a@b>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: big@test\r\nCSeq: 1 INVITE\r\nContent-Length: 100000\r\n\r\n")
      yield* peer.waitForClose
      expect(peer.received()).toMatch(/^SIP\/2\.0 513 Message Too Large\r\n/)
      expect(peer.received()).toMatch(/To: <sip:bob@127\.0\.0\.1>;tag=\w+/)
      expect((yield* bob.snapshot).counters).toMatchObject({ oversized: 1, framingErrors: 1 })
    }).pipe(Effect.provide(environment())))

  it.live("counts a peer that disconnects in the middle of a message and forgets its connection", () =>
    Effect.gen(function*() {
      const bob = yield* Tcp.make({ host: "127.0.0.1" })
      const peer = yield* rawClient(bob.localAddress)
      const bytes = SIPMessage.serialize(request({ address: "127.0.0.1", port: 5999 }, bob.localAddress, "body"))
      yield* peer.write(bytes.subarray(0, bytes.length - 10))
      yield* eventually("the bytes to arrive", bob.snapshot, (s) => s.connections[0]?.buffered === bytes.length - 10)
      peer.socket.end()
      const snapshot = yield* eventually("the connection to close", bob.snapshot, (s) => s.connections.length === 0)
      expect(snapshot.counters).toMatchObject({ truncated: 1, received: 0, connectionsClosed: 1 })
    }).pipe(Effect.provide(environment())))

  it.effect("closes a connection after the idle timeout (TestClock)", () =>
    Effect.gen(function*() {
      const bob = yield* Tcp.make({ host: "127.0.0.1" })
      const inbox = yield* collect(bob)
      const peer = yield* rawClient(bob.localAddress)
      yield* peer.write(SIPMessage.serialize(request({ address: "127.0.0.1", port: 5999 }, bob.localAddress)))
      yield* inbox.next
      yield* TestClock.adjust("29 seconds")
      expect(peer.closed()).toBe(false)
      yield* peer.write("\r\n\r\n")
      yield* peer.waitForText("\r\n")
      // the ping was traffic: 29 s more do not close it, 31 s of silence do
      yield* TestClock.adjust("29 seconds")
      expect((yield* bob.snapshot).connections).toHaveLength(1)
      yield* TestClock.adjust("2 seconds")
      yield* peer.waitForClose
      const snapshot = yield* eventually("the connection to be forgotten", bob.snapshot, (s) => s.connections.length === 0)
      expect(snapshot.counters).toMatchObject({ idleClosed: 1 })
    }).pipe(Effect.provide(environment({ connectionIdleTimeout: Duration.seconds(30) }))))

  it.live("fails with AddressInUse when the port is taken, and cannot reach a closed port", () =>
    Effect.gen(function*() {
      const first = yield* Tcp.make({ host: "127.0.0.1" })
      const error = yield* Effect.flip(Tcp.make({ host: "127.0.0.1", port: first.localAddress.port }))
      expect(error).toMatchObject({ _tag: "SipTransportError", reason: "AddressInUse" })
      const closedPort = yield* Effect.scoped(Effect.map(Tcp.make({ host: "127.0.0.1" }), (t) => t.localAddress.port))
      const refused = yield* Effect.flip(first.send(encode("OPTIONS sip:x SIP/2.0\r\n\r\n"), { host: "127.0.0.1", port: closedPort }))
      expect(refused).toMatchObject({ reason: "ConnectFailed" })
      expect(refused.message).toContain("ECONNREFUSED")
    }).pipe(Effect.provide(environment())))
})
