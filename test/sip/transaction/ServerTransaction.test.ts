import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import * as MemoryTransport from "../../../src/testing/MemoryTransport.ts"
import { MemoryNetwork } from "../../../src/testing/MemoryTransport.ts"
import { SipTransport } from "../../../src/transport/SipTransport.ts"
import { TransportMode } from "../../../src/transport/TransportMode.ts"
import {
  ackForSuccess,
  ALICE,
  BOB,
  cumulative,
  destination,
  isResponse,
  layerNode,
  nextTransaction,
  rawNode,
  reply,
  request,
  sendTimes,
  sentFrom,
  settle,
  terminatesAfter,
  world
} from "./helpers.ts"

const via = (branch: string, transport = "UDP") => `SIP/2.0/${transport} ${ALICE.address}:${ALICE.port};branch=${branch}`

/** A server node (transaction layer) at BOB and a client (bare transport) at ALICE that sends by hand. */
const setup = (mode: TransportMode = TransportMode.UDP) =>
  Effect.gen(function*() {
    const tap = yield* (yield* MemoryNetwork).tap
    const bob = yield* layerNode(BOB, mode)
    const alice = yield* rawNode(ALICE, mode)
    const sendToBob = (message: SIPMessage.SIPMessage) =>
      Effect.andThen(alice.transport.send(message, destination(BOB)), settle)
    return { tap, bob, alice, sendToBob }
  })

describe("server transactions", () => {
  it.effect("INVITE: 100 Trying after 200 ms of TU silence; retransmissions are absorbed and re-answered with it", () =>
    Effect.gen(function*() {
      const { alice, bob, sendToBob, tap } = yield* setup()
      const invite = request("INVITE", { via: via("z9hG4bKinv1") })
      yield* sendToBob(invite)
      const transaction = yield* nextTransaction(bob.events)
      expect(transaction.state).toBe("Proceeding")
      yield* TestClock.adjust("100 millis")
      yield* sendToBob(invite)
      yield* TestClock.adjust("100 millis")
      yield* settle
      yield* TestClock.adjust("300 millis")
      yield* sendToBob(invite)
      expect(sendTimes(yield* tap.packets, BOB, isResponse(100))).toEqual([200, 500])
      const trying = yield* alice.received.next
      expect(trying.message.to?.tag).toBeUndefined()
      expect(yield* bob.events.size).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: no 100 Trying when the TU answers within 200 ms", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup()
      const invite = request("INVITE", { via: via("z9hG4bKinv2"), headers: [["Timestamp", "54"]] })
      yield* sendToBob(invite)
      const transaction = yield* nextTransaction(bob.events)
      yield* TestClock.adjust("150 millis")
      yield* transaction.respond(reply(transaction.request, 180))
      yield* TestClock.adjust("1 second")
      expect(sentFrom(yield* tap.packets, BOB).map((packet) => packet.message!.status)).toMatchObject([{ value: 180 }])
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: a non-2xx final is retransmitted by Timer G (0.5, 1, 2, 4, 4… s) until Timer H at 32 s tells the TU", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup()
      yield* sendToBob(request("INVITE", { via: via("z9hG4bKinv3") }))
      const transaction = yield* nextTransaction(bob.events)
      yield* transaction.respond(reply(transaction.request, 486))
      const terminated = yield* Effect.forkChild(Effect.flip(transaction.terminated))
      yield* TestClock.adjust("31999 millis")
      expect(transaction.state).toBe("Completed")
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(terminated)).toMatchObject({ _tag: "TransactionTimeoutError", timer: "H", afterMillis: 32_000 })
      yield* TestClock.adjust("1 minute")
      expect(sendTimes(yield* tap.packets, BOB, isResponse(486))).toEqual(
        cumulative(0, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000])
      )
      expect(yield* bob.layer.stats).toEqual({ clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 })
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: the ACK stops Timer G; Confirmed absorbs ACKs and INVITEs for T4 (Timer I)", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup()
      const invite = request("INVITE", { via: via("z9hG4bKinv4") })
      yield* sendToBob(invite)
      const transaction = yield* nextTransaction(bob.events)
      const busy = reply(transaction.request, 486, "busy")
      yield* transaction.respond(busy)
      yield* TestClock.adjust("2 seconds")
      const ack = Result.getOrThrow(SIPMessage.request({
        method: "ACK",
        uri: invite.requestUriText,
        headers: [
          ["Via", via("z9hG4bKinv4")],
          ["From", invite.headers.get("From")!],
          ["To", busy.headers.get("To")!],
          ["Call-ID", invite.callId!],
          ["CSeq", `${invite.cseq!.seq} ACK`]
        ]
      }))
      yield* sendToBob(ack)
      expect(transaction.state).toBe("Confirmed")
      yield* sendToBob(ack)
      yield* sendToBob(invite)
      yield* terminatesAfter(transaction, "Confirmed", 5_000)
      yield* transaction.terminated
      expect(sendTimes(yield* tap.packets, BOB, isResponse(486))).toEqual([0, 500, 1500])
      expect(yield* bob.events.size).toBe(0)
      expect((yield* bob.layer.stats).serverTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: a 2xx moves to Accepted, which absorbs INVITE retransmissions and passes up the ACK; Timer L = 32 s", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup()
      const invite = request("INVITE", { via: via("z9hG4bKinv5") })
      yield* sendToBob(invite)
      const transaction = yield* nextTransaction(bob.events)
      const ok = reply(transaction.request, 200, "callee")
      yield* transaction.respond(ok)
      expect(transaction.state).toBe("Accepted")
      expect((yield* bob.layer.stats).awaitedAcks).toBe(1)
      yield* sendToBob(invite)
      // the UA core retransmits the 2xx; the transaction passes it on
      yield* TestClock.adjust("500 millis")
      yield* transaction.respond(ok)
      yield* sendToBob(ackForSuccess(invite, ok))
      const ack = yield* transaction.ack
      expect(ack.method).toBe("ACK")
      expect(sendTimes(yield* tap.packets, BOB, isResponse(200))).toEqual([0, 500])
      yield* TestClock.adjust("31499 millis")
      expect(transaction.state).toBe("Accepted")
      yield* TestClock.adjust("1 millis")
      expect(transaction.state).toBe("Terminated")
      expect(yield* bob.layer.stats).toMatchObject({ serverTransactions: 0, awaitedAcks: 0 })
      // after L, an ACK belongs to nobody: the TU sees it
      yield* sendToBob(ackForSuccess(invite, ok))
      expect(yield* bob.events.next).toMatchObject({ _tag: "Ack" })
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: Accepted without an ACK ends at Timer L and `ack` fails", () =>
    Effect.gen(function*() {
      const { bob, sendToBob } = yield* setup()
      yield* sendToBob(request("INVITE", { via: via("z9hG4bKinv6") }))
      const transaction = yield* nextTransaction(bob.events)
      yield* transaction.respond(reply(transaction.request, 200))
      const ack = yield* Effect.forkChild(Effect.flip(transaction.ack))
      yield* TestClock.adjust("32 seconds")
      expect(yield* Fiber.join(ack)).toMatchObject({ _tag: "TransactionTimeoutError", timer: "L" })
    }).pipe(Effect.provide(world())))

  it.effect("non-INVITE: Trying absorbs, Proceeding re-sends the provisional, Completed the final, Timer J = 32 s", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup()
      const register = request("REGISTER", { via: via("z9hG4bKreg1") })
      yield* sendToBob(register)
      yield* sendToBob(register)
      const transaction = yield* nextTransaction(bob.events)
      expect(transaction.state).toBe("Trying")
      expect(sentFrom(yield* tap.packets, BOB)).toHaveLength(0)
      yield* transaction.respond(reply(transaction.request, 100))
      yield* sendToBob(register)
      yield* transaction.respond(reply(transaction.request, 200))
      yield* sendToBob(register)
      expect(sentFrom(yield* tap.packets, BOB).map((packet) => packet.message!.status)).toMatchObject([
        { value: 100 },
        { value: 100 },
        { value: 200 },
        { value: 200 }
      ])
      const late = yield* Effect.flip(transaction.respond(reply(transaction.request, 500)))
      expect(late).toMatchObject({ _tag: "TransactionStateError", state: "Completed", status: 500 })
      expect(yield* bob.events.size).toBe(0)
      yield* terminatesAfter(transaction, "Completed", 32_000)
      expect((yield* bob.layer.stats).serverTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("over a reliable transport: no Timer G, I and J are zero", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup(TransportMode.TCP)
      const invite = request("INVITE", { via: via("z9hG4bKtcp1", "TCP") })
      yield* sendToBob(invite)
      const inviteTransaction = yield* nextTransaction(bob.events)
      const busy = reply(inviteTransaction.request, 486)
      yield* inviteTransaction.respond(busy)
      yield* sendToBob(request("OPTIONS", { via: via("z9hG4bKtcp2", "TCP") }))
      const options = yield* nextTransaction(bob.events)
      yield* options.respond(reply(options.request, 200))
      yield* settle
      expect(options.state).toBe("Terminated")
      yield* TestClock.adjust("10 seconds")
      expect(sendTimes(yield* tap.packets, BOB, isResponse(486))).toEqual([0])
      yield* sendToBob(ackForFailure(invite, busy))
      yield* settle
      expect(inviteTransaction.state).toBe("Terminated")
      expect((yield* bob.layer.stats).serverTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("CANCEL: the layer answers 200 with the INVITE's To tag and signals the INVITE; unmatched CANCEL gets 481", () =>
    Effect.gen(function*() {
      const { alice, bob, sendToBob } = yield* setup()
      const invite = request("INVITE", { via: via("z9hG4bKinv7") })
      yield* sendToBob(invite)
      const transaction = yield* nextTransaction(bob.events)
      const cancelled = yield* Effect.forkChild(transaction.cancelled)
      yield* transaction.respond(reply(transaction.request, 180, "ringing-tag"))
      yield* alice.received.next
      const cancel = cancelFor(invite)
      yield* sendToBob(cancel)
      const answer = (yield* alice.received.next).message
      expect(answer.status).toMatchObject({ value: 200 })
      expect(answer.cseq).toEqual({ seq: invite.cseq!.seq, method: "CANCEL" })
      expect(answer.to?.tag).toBe("ringing-tag")
      expect((yield* Fiber.join(cancelled)).method).toBe("CANCEL")
      yield* transaction.respond(reply(transaction.request, 487, "ringing-tag"))
      expect((yield* alice.received.next).message.status).toMatchObject({ value: 487 })
      // a retransmitted CANCEL is answered again by its own transaction
      yield* sendToBob(cancel)
      expect((yield* alice.received.next).message.status).toMatchObject({ value: 200 })
      // a CANCEL for nothing
      yield* sendToBob(cancelFor(request("INVITE", { via: via("z9hG4bKnothing") })))
      expect((yield* alice.received.next).message.status).toMatchObject({ value: 481 })
      expect(yield* bob.events.size).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("matching (§17.2.3): the same branch from another sent-by is another transaction", () =>
    Effect.gen(function*() {
      const { bob, sendToBob } = yield* setup()
      yield* sendToBob(request("OPTIONS", { via: via("z9hG4bKsame") }))
      yield* sendToBob(request("OPTIONS", { via: "SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKsame" }))
      // same branch and sent-by, another method: another transaction too
      yield* sendToBob(request("INFO", { via: via("z9hG4bKsame") }))
      const first = yield* nextTransaction(bob.events)
      const second = yield* nextTransaction(bob.events)
      const third = yield* nextTransaction(bob.events)
      expect([first.method, second.method, third.method]).toEqual(["OPTIONS", "OPTIONS", "INFO"])
      expect((yield* bob.layer.stats).serverTransactions).toBe(3)
    }).pipe(Effect.provide(world())))

  it.effect("matching without the magic cookie (RFC 2543): retransmissions and the ACK of a non-2xx find the INVITE", () =>
    Effect.gen(function*() {
      const { bob, sendToBob, tap } = yield* setup()
      const invite = request("INVITE", { via: via("old-style-1") })
      yield* sendToBob(invite)
      const transaction = yield* nextTransaction(bob.events)
      const busy = reply(transaction.request, 486, "our-tag")
      yield* transaction.respond(busy)
      yield* sendToBob(invite)
      expect(sendTimes(yield* tap.packets, BOB, isResponse(486))).toEqual([0, 0])
      // an ACK with another To tag is not ours
      const wrongTag = Result.getOrThrow(SIPMessage.withHeader(ackForFailure(invite, busy), "To", `${invite.headers.get("To")};tag=other`))
      yield* sendToBob(wrongTag)
      expect(transaction.state).toBe("Completed")
      expect(yield* bob.events.next).toMatchObject({ _tag: "Ack" })
      yield* sendToBob(ackForFailure(invite, busy))
      expect(transaction.state).toBe("Confirmed")
      // an old-style request with a different Request-URI is a new transaction
      const other = Result.getOrThrow(SIPMessage.withHeader(request("OPTIONS", { via: via("old-style-2") }), "CSeq", "1 OPTIONS"))
      yield* sendToBob(other)
      yield* sendToBob(other)
      yield* nextTransaction(bob.events)
      expect(yield* bob.events.size).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("a 2xx that matches no client transaction reaches the TU; other stray responses are dropped", () =>
    Effect.gen(function*() {
      const { alice, bob } = yield* setup()
      const invite = request("INVITE", { via: "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKgone" })
      yield* alice.transport.send(reply(invite, 200), destination(BOB))
      yield* alice.transport.send(reply(invite, 486), destination(BOB))
      yield* alice.transport.send(reply(request("OPTIONS", { via: "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKgone" }), 200), destination(BOB))
      yield* settle
      const stray = yield* bob.events.next
      expect(stray._tag === "StrayResponse" && stray.incoming.message.status).toMatchObject({ value: 200 })
      expect(yield* bob.events.size).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("every method other than INVITE, ACK and CANCEL runs the non-INVITE machines end to end", () =>
    Effect.gen(function*() {
      const bob = yield* layerNode(BOB)
      const alice = yield* layerNode(ALICE)
      const methods = ["BYE", "OPTIONS", "REGISTER", "MESSAGE", "REFER", "NOTIFY", "SUBSCRIBE", "INFO", "UPDATE", "PRACK"]
      for (const method of methods) {
        const transaction = yield* alice.layer.request(request(method), destination(BOB))
        const server = yield* nextTransaction(bob.events)
        expect([server.method, server.state]).toEqual([method, "Trying"])
        yield* server.respond(reply(server.request, method === "SUBSCRIBE" || method === "REFER" ? 202 : 200))
        expect((yield* transaction.final).cseq?.method).toBe(method)
        expect(transaction.state).toBe("Completed")
      }
      yield* TestClock.adjust("32 seconds")
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
      expect((yield* bob.layer.stats).serverTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("when the TU falls behind, new requests are answered 503", () =>
    Effect.gen(function*() {
      const tap = yield* (yield* MemoryNetwork).tap
      const { layer } = yield* layerNodeWithoutReader()
      const alice = yield* rawNode(ALICE)
      for (const branch of ["z9hG4bKq1", "z9hG4bKq2", "z9hG4bKq3"]) {
        yield* alice.transport.send(request("OPTIONS", { via: via(branch) }), destination(BOB))
        yield* settle
      }
      const refused = sentFrom(yield* tap.packets, BOB).map((packet) => packet.message!)
      expect(refused.map((message) => [message.via[0]?.branch, message.status])).toMatchObject([["z9hG4bKq3", { value: 503 }]])
      expect((yield* layer.stats).serverTransactions).toBe(3)
    }).pipe(Effect.provide(world({ incomingQueueCapacity: 2 }))))
})

const ackForFailure = (invite: SIPMessage.SIPMessage, response: SIPMessage.SIPMessage) =>
  Result.getOrThrow(SIPMessage.request({
    method: "ACK",
    uri: invite.requestUriText,
    headers: [
      ["Via", invite.headers.get("Via")!],
      ["From", invite.headers.get("From")!],
      ["To", response.headers.get("To")!],
      ["Call-ID", invite.callId!],
      ["CSeq", `${invite.cseq!.seq} ACK`]
    ]
  }))

const cancelFor = (invite: SIPMessage.SIPMessage) =>
  Result.getOrThrow(SIPMessage.request({
    method: "CANCEL",
    uri: invite.requestUriText,
    headers: [
      ["Via", invite.headers.get("Via")!],
      ["From", invite.headers.get("From")!],
      ["To", invite.headers.get("To")!],
      ["Call-ID", invite.callId!],
      ["CSeq", `${invite.cseq!.seq} CANCEL`]
    ]
  }))

/** A transaction layer whose TU never reads its events. */
const layerNodeWithoutReader = () =>
  Effect.gen(function*() {
    const transport = yield* MemoryTransport.make({ address: BOB.address, port: BOB.port })
    const layer = yield* TransactionLayer.make.pipe(Effect.provideService(SipTransport, transport))
    return { transport, layer }
  })
