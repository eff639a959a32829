/**
 * Reliable provisional responses as the callee (RFC 3262 §3) under
 * TestClock: a bare peer at 10.0.0.2 calls the phone at 10.0.0.1 with
 * `Require: 100rel` and PRACKs by hand. The 180 carries Require and RSeq and
 * goes again at T1, 2·T1, 4·T1, … until its PRACK (200), a PRACK matching
 * nothing gets 481, the 2xx waits for the PRACK (a CANCEL meanwhile still
 * ends the call), no PRACK within 64·T1 gets
 * the INVITE refused 500, and without Require the 180 stays unreliable.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { isResponse, sendTimes, sentFrom } from "../sip/transaction/helpers.ts"
import { ALICE, BOB, handing, inbox, invite, offerSdp, type Peer, phoneAndPeer, settle, toPhone, world } from "./helpers.ts"
import { statusOf } from "./answered.ts"

const PEER_RTP = 30000

const setup = Effect.gen(function*() {
  const calls = yield* handing
  const { tap, phone, peer } = yield* phoneAndPeer({ onIncomingCall: calls.handler })
  return { tap, phone, peer, nextCall: calls.next }
})

/** The peer's INVITE (with `headers`), its transaction, and the 180 after the 100. */
const dial = (peer: Peer, headers: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    const request = invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP), headers)
    const transaction = yield* peer.layer.request(request, toPhone)
    const responses = yield* inbox(Stream.ignore(transaction.responses))
    expect(statusOf(yield* responses.next)).toBe(100)
    const ringing = yield* responses.next
    expect(statusOf(ringing)).toBe(180)
    return { request, transaction, responses, ringing }
  })

/** Sends a PRACK with `rack` in the early dialog of `ringing`; its final status. */
const prack = (peer: Peer, request: SIPMessage.SIPMessage, ringing: SIPMessage.SIPMessage, rack: string) =>
  Effect.gen(function*() {
    const early = Result.getOrThrow(Dialog.fromResponse(request, ringing))
    const built = Result.getOrThrow(Dialog.createRequest(early, "PRACK", { headers: [["RAck", rack]] }))
    const sent = yield* peer.layer.request(built.request, toPhone)
    return statusOf(yield* sent.final)
  })

const rseqOf = (response: SIPMessage.SIPMessage) => Number(response.headers.get("RSeq"))

const requiring = [["Require", "100rel"], ["Supported", "100rel"]] as const

describe("reliable provisional responses as the callee (RFC 3262)", () => {
  it.effect("the 180 has Require: 100rel and an RSeq, goes again at T1, 2·T1, 4·T1 until the PRACK (200), then stops", () =>
    Effect.gen(function*() {
      const { peer, tap, nextCall } = yield* setup
      const { request, ringing } = yield* dial(peer, requiring)
      expect(ringing.headers.get("Require")).toBe("100rel")
      const rseq = rseqOf(ringing)
      expect(Number.isInteger(rseq) && rseq >= 1 && rseq <= 2 ** 31 - 1).toBe(true)
      const call = yield* nextCall
      expect(yield* call.state).toBe(CallState.RINGING)

      yield* TestClock.adjust("4 seconds")
      const retransmitted = (yield* tap.packets).filter((packet) => packet.message !== undefined && isResponse(180)(packet.message))
      expect(retransmitted.map((packet) => packet.sentAt)).toEqual([0, 500, 1500, 3500])
      expect(retransmitted.every((packet) => rseqOf(packet.message!) === rseq)).toBe(true)

      expect(yield* prack(peer, request, ringing, `${rseq} 1 INVITE`)).toBe(200)
      yield* TestClock.adjust("30 seconds")
      expect(sendTimes(yield* tap.packets, ALICE, isResponse(180))).toEqual([0, 500, 1500, 3500])
      expect(yield* call.state).toBe(CallState.RINGING)
      yield* call.deny()
    }).pipe(Effect.provide(world())))

  it.effect("a PRACK matching no unacknowledged 180 gets 481: wrong RSeq, CSeq or method, or one already acknowledged", () =>
    Effect.gen(function*() {
      const { peer, nextCall } = yield* setup
      const { request, ringing } = yield* dial(peer, requiring)
      const rseq = rseqOf(ringing)
      const statuses = []
      for (const rack of [`${rseq + 1} 1 INVITE`, `${rseq} 2 INVITE`, `${rseq} 1 UPDATE`, "garbage", `${rseq} 1 INVITE`, `${rseq} 1 INVITE`]) {
        statuses.push(yield* prack(peer, request, ringing, rack))
      }
      expect(statuses).toEqual([481, 481, 481, 481, 200, 481])
      yield* (yield* nextCall).deny()
    }).pipe(Effect.provide(world())))

  it.effect("answer() sends the 2xx only once the 180 is PRACKed; the ACK then makes the call ANSWERED", () =>
    Effect.gen(function*() {
      const { peer, tap, nextCall } = yield* setup
      const { request, responses, ringing, transaction } = yield* dial(peer, requiring)
      const call = yield* nextCall
      const answering = yield* Effect.forkChild(call.answer)
      yield* TestClock.adjust("2 seconds")
      expect(sendTimes(yield* tap.packets, ALICE, isResponse(200))).toEqual([])

      yield* TestClock.adjust("100 millis")
      expect(yield* prack(peer, request, ringing, `${rseqOf(ringing)} 1 INVITE`)).toBe(200)
      yield* settle
      const ok = yield* transaction.final
      expect(statusOf(ok)).toBe(200)
      expect(ok.to?.tag).toBe(ringing.to?.tag)
      expect(ok.headers.get("Supported")).toBe("timer, 100rel, replaces")
      expect(ok.headers.get("Allow")).toContain("PRACK")
      yield* UaCore.acknowledge(peer.layer, transaction, Result.getOrThrow(Dialog.fromResponse(request, ok)))
      yield* Fiber.join(answering)
      expect(yield* call.state).toBe(CallState.ANSWERED)
      // the 200 to the PRACK went before the 2xx it released
      expect(sentFrom(yield* tap.packets, ALICE, isResponse(200)).map((packet) => packet.message?.cseq?.method)).toEqual(["PRACK", "INVITE"])
      // after the first 180: its copies at T1 and 3·T1, then the 2xx
      expect((yield* responses.all).map(statusOf)).toEqual([180, 180, 200])
      yield* call.hangup
    }).pipe(Effect.provide(world())))

  it.effect("a CANCEL while answer() waits for the PRACK is answered 487; answer() returns with the call ended", () =>
    Effect.gen(function*() {
      const { peer, nextCall } = yield* setup
      const { transaction } = yield* dial(peer, requiring)
      const call = yield* nextCall
      const answering = yield* Effect.forkChild(call.answer)
      yield* TestClock.adjust("1 second")
      expect(statusOf(yield* UaCore.cancel(peer.layer, transaction))).toBe(487)
      yield* Fiber.join(answering)
      expect(yield* call.ended).toEqual({ _tag: "Canceled", by: "remote" })
    }).pipe(Effect.provide(world())))

  it.effect("no PRACK within 64·T1: the 180 went seven times, the INVITE is refused 500, the call fails and answer() with it", () =>
    Effect.gen(function*() {
      const { peer, tap, nextCall } = yield* setup
      const { transaction } = yield* dial(peer, requiring)
      const call = yield* nextCall
      const answering = yield* Effect.forkChild(Effect.result(call.answer))
      yield* TestClock.adjust("32 seconds")
      expect(sendTimes(yield* tap.packets, ALICE, isResponse(180))).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500])
      expect(statusOf(yield* transaction.final)).toBe(500)
      expect(yield* call.ended).toMatchObject({ _tag: "Failed", status: 500 })
      expect(Result.isFailure(yield* Fiber.join(answering))).toBe(true)
    }).pipe(Effect.provide(world())))

  for (const [name, headers] of [["no 100rel", []], ["only Supported: 100rel", [["Supported", "100rel"]]]] as const) {
    it.effect(`an INVITE with ${name} gets a plain 180, sent once`, () =>
      Effect.gen(function*() {
        const { peer, tap, nextCall } = yield* setup
        const { ringing } = yield* dial(peer, headers)
        expect([ringing.headers.has("Require"), ringing.headers.has("RSeq")]).toEqual([false, false])
        yield* TestClock.adjust("10 seconds")
        expect(sendTimes(yield* tap.packets, ALICE, isResponse(180))).toEqual([0])
        yield* (yield* nextCall).deny()
      }).pipe(Effect.provide(world())))
  }
})
