import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Result, Stream } from "effect"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import { TestClock } from "effect/testing"
import { TransportMode } from "../../../src/transport/TransportMode.ts"
import {
  ackForSuccess,
  ALICE,
  BOB,
  clientAndPeer,
  cumulative,
  destination,
  isRequest,
  layerNode,
  reply,
  request,
  sendTimes,
  sentFrom,
  settle,
  terminatesAfter,
  world
} from "./helpers.ts"

describe("client transactions", () => {
  it.effect("non-INVITE over UDP: Timer E at 0.5, 1, 2, 4, 4, 4… s, Timer F at 32 s, then nothing is left", () =>
    Effect.gen(function*() {
      const { tap, alice } = yield* clientAndPeer()
      const transaction = yield* alice.layer.request(request("OPTIONS"), destination(BOB))
      expect(transaction.request.via[0]?.branch).toMatch(/^z9hG4bK[0-9A-Za-z.-]{22}$/)
      const final = yield* Effect.forkChild(Effect.exit(transaction.final))

      yield* TestClock.adjust("31999 millis")
      expect(final.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.join(final)
      expect(Exit.isFailure(exit) && exit.cause.toString()).toContain("TransactionTimeoutError")
      const error = yield* Effect.flip(transaction.final)
      expect(error).toMatchObject({ _tag: "TransactionTimeoutError", timer: "F", method: "OPTIONS", afterMillis: 32_000 })

      yield* TestClock.adjust("1 minute")
      expect(sendTimes(yield* tap.packets, ALICE)).toEqual(cumulative(0, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]))
      expect(yield* alice.layer.stats).toEqual({ clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 })
    }).pipe(Effect.provide(world())))

  it.effect("INVITE over UDP: Timer A at 0.5, 1, 2, 4, 8, 16 s, Timer B at 32 s", () =>
    Effect.gen(function*() {
      const { tap, alice } = yield* clientAndPeer()
      const transaction = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const responses = yield* Effect.forkChild(Effect.exit(Stream.runCollect(transaction.responses)))
      yield* TestClock.adjust("31999 millis")
      expect(transaction.state).toBe("Calling")
      yield* TestClock.adjust("1 millis")
      expect(yield* Effect.flip(transaction.final)).toMatchObject({ timer: "B", afterMillis: 32_000 })
      expect(yield* Fiber.join(responses)).toMatchObject({ _tag: "Failure" })
      yield* TestClock.adjust("1 minute")
      expect(sendTimes(yield* tap.packets, ALICE)).toEqual(cumulative(0, [500, 1000, 2000, 4000, 8000, 16000]))
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("T1/T2 come from the settings", () =>
    Effect.gen(function*() {
      const { tap, alice } = yield* clientAndPeer()
      const transaction = yield* alice.layer.request(request("MESSAGE"), destination(BOB))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Effect.flip(transaction.final)).toMatchObject({ timer: "F", afterMillis: 6400 })
      expect(sendTimes(yield* tap.packets, ALICE)).toEqual(cumulative(0, [100, 200, 400, 800, 1000, 1000, 1000, 1000]))
    }).pipe(Effect.provide(world({ t1: Duration.millis(100), t2: Duration.seconds(1) }))))

  it.effect("non-INVITE: a provisional response moves to Proceeding, where E retransmits every T2", () =>
    Effect.gen(function*() {
      const { tap, alice, bob } = yield* clientAndPeer()
      const transaction = yield* alice.layer.request(request("REGISTER"), destination(BOB))
      const received = yield* bob.received.next
      yield* TestClock.adjust("200 millis")
      yield* bob.transport.send(reply(received.message, 100))
      yield* TestClock.adjust("10 seconds")
      expect(transaction.state).toBe("Proceeding")
      // E fired at 0.5 s in Proceeding: from then on every T2
      expect(sendTimes(yield* tap.packets, ALICE)).toEqual([0, 500, 4500, 8500])
      const first = yield* transaction.firstResponse
      expect(first.status).toMatchObject({ value: 100 })
      yield* bob.transport.send(reply(received.message, 200))
      expect(yield* transaction.final).toMatchObject({ status: { value: 200 } })
      expect(Array.from(yield* Stream.runCollect(transaction.responses)).map((r) => r.status)).toMatchObject([
        { value: 100 },
        { value: 200 }
      ])
    }).pipe(Effect.provide(world())))

  it.effect("non-INVITE: Completed absorbs response retransmissions for T4 (Timer K), then terminates", () =>
    Effect.gen(function*() {
      const { alice, bob } = yield* clientAndPeer()
      const transaction = yield* alice.layer.request(request("BYE"), destination(BOB))
      const received = yield* bob.received.next
      const ok = reply(received.message, 200)
      yield* bob.transport.send(ok)
      expect((yield* transaction.final).status).toMatchObject({ value: 200 })
      expect(transaction.state).toBe("Completed")
      yield* bob.transport.send(reply(received.message, 500))
      expect((yield* transaction.final).status).toMatchObject({ value: 200 })
      yield* TestClock.adjust("4999 millis")
      expect((yield* alice.layer.stats).clientTransactions).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(transaction.state).toBe("Terminated")
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: a non-2xx final is ACKed by the transaction (§17.1.1.3), again for each retransmission, Timer D = 32 s", () =>
    Effect.gen(function*() {
      const { tap, alice, bob } = yield* clientAndPeer()
      const invite = request("INVITE", { headers: [["Route", "<sip:proxy.example;lr>"]] })
      const transaction = yield* alice.layer.request(invite, destination(BOB))
      const received = (yield* bob.received.next).message
      yield* bob.transport.send(reply(received, 180))
      const busy = reply(received, 486, "busy-tag")
      yield* bob.transport.send(busy)
      expect((yield* transaction.final).status).toMatchObject({ value: 486 })
      yield* TestClock.adjust("1 second")
      yield* bob.transport.send(busy)
      yield* settle

      const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK"))
      expect(acks.map((packet) => packet.sentAt)).toEqual([0, 1000])
      const ack = acks[0]!.message!
      expect(ack.requestUriText).toBe(transaction.request.requestUriText)
      expect(ack.via).toHaveLength(1)
      expect(ack.via[0]?.branch).toBe(transaction.branch)
      expect(ack.to?.tag).toBe("busy-tag")
      expect(ack.from?.tag).toBe(invite.from?.tag)
      expect(ack.callId).toBe(invite.callId)
      expect(ack.cseq).toEqual({ seq: invite.cseq!.seq, method: "ACK" })
      expect(ack.headers.getAll("Route")).toEqual(["<sip:proxy.example;lr>"])
      // only 180 and the first 486 reach the TU
      expect(Array.from(yield* Stream.runCollect(transaction.responses)).map((r) => r.status)).toMatchObject([
        { value: 180 },
        { value: 486 }
      ])
      yield* terminatesAfter(transaction, "Completed", 31_000)
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("INVITE: every 2xx goes to the TU while Accepted (RFC 6026), the UA core's ACK is re-sent for each, Timer M = 32 s", () =>
    Effect.gen(function*() {
      const { tap, alice, bob } = yield* clientAndPeer()
      const transaction = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const received = (yield* bob.received.next).message
      const ok = reply(received, 200, "fork-1")
      yield* bob.transport.send(ok)
      yield* settle
      expect(transaction.state).toBe("Accepted")
      yield* transaction.acknowledge(ackForSuccess(transaction.request, ok), destination(BOB))
      yield* bob.transport.send(ok)
      yield* bob.transport.send(reply(received, 200, "fork-2"))
      yield* settle
      const statuses = Array.from(yield* Stream.runCollect(Stream.take(transaction.responses, 3)))
      expect(statuses.map((r) => r.to?.tag)).toEqual(["fork-1", "fork-1", "fork-2"])
      // sent once by the UA core, once more for the retransmitted 2xx; fork-2 is the UA core's to ACK
      const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK")).map((packet) => packet.message!)
      expect(acks.map((ack) => ack.to?.tag)).toEqual(["fork-1", "fork-1"])
      expect(acks[0]?.via[0]?.branch).not.toBe(transaction.branch)
      yield* terminatesAfter(transaction, "Accepted", 32_000)
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("over a reliable transport nothing is retransmitted, F still times out, K is zero", () =>
    Effect.gen(function*() {
      const { tap, alice, bob } = yield* clientAndPeer(TransportMode.TCP)
      const lost = yield* alice.layer.request(request("OPTIONS"), destination(BOB))
      const answered = yield* alice.layer.request(request("OPTIONS"), destination(BOB))
      yield* bob.received.next
      const second = yield* bob.received.next
      yield* bob.transport.send(reply(second.message, 200))
      expect((yield* answered.final).status).toMatchObject({ value: 200 })
      yield* TestClock.adjust("0 millis")
      expect(answered.state).toBe("Terminated")
      yield* TestClock.adjust("32 seconds")
      expect(yield* Effect.flip(lost.final)).toMatchObject({ timer: "F" })
      expect(sendTimes(yield* tap.packets, ALICE)).toEqual([0, 0])
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("a transport error ends the transaction with a typed error", () =>
    Effect.gen(function*() {
      const alice = yield* layerNode(ALICE, TransportMode.TCP)
      const transaction = yield* alice.layer.request(request("OPTIONS"), destination(BOB))
      expect(yield* Effect.flip(transaction.final)).toMatchObject({ _tag: "SipTransportError", reason: "ConnectFailed" })
      expect((yield* alice.layer.stats).clientTransactions).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("refuses an ACK, a request whose CSeq names another method, and a branch already in use", () =>
    Effect.gen(function*() {
      const alice = yield* layerNode(ALICE)
      expect(yield* Effect.flip(alice.layer.request(request("ACK"), destination(BOB)))).toMatchObject({
        _tag: "TransactionRequestError",
        method: "ACK"
      })
      const mismatched = Result.getOrThrow(SIPMessage.withHeader(request("OPTIONS"), "CSeq", "1 INFO"))
      expect(yield* Effect.flip(alice.layer.request(mismatched, destination(BOB)))).toMatchObject({
        reason: "its CSeq must name the same method"
      })
      const via = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKsame"
      yield* alice.layer.request(request("OPTIONS", { via }), destination(BOB))
      expect(yield* Effect.flip(alice.layer.request(request("OPTIONS", { via }), destination(BOB)))).toMatchObject({
        reason: "branch z9hG4bKsame is already in use"
      })
    }).pipe(Effect.provide(world())))
})
