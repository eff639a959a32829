/**
 * Incoming calls under TestClock: a bare peer at 10.0.0.2 calls the phone
 * at 10.0.0.1 and writes its requests by hand: 180 and RINGING, the 2xx
 * retransmitted until the ACK, deny, the caller's CANCEL, a 2xx never
 * acknowledged, offers we cannot take, a late offer, the handler's
 * lifetime, and every action the state forbids.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { IncomingCallHandler } from "../../src/voip/VoIPPhone.ts"
import { isResponse, sendTimes } from "../sip/transaction/helpers.ts"
import {
  ALICE,
  BOB,
  handing,
  hangupAnswered,
  inbox,
  invite,
  nextRequest,
  offerSdp,
  type Peer,
  peerResponse,
  phoneAndPeer,
  refusesWhileAnswered,
  sdpPort,
  settle,
  toPhone,
  world
} from "./helpers.ts"
import { statusOf } from "./answered.ts"

const PEER_RTP = 30000

const setup = (handler?: IncomingCallHandler) => phoneAndPeer({ onIncomingCall: handler })

/** The peer's INVITE to the phone: its transaction and an inbox of its responses. */
const dial = (peer: Peer, request: SIPMessage.SIPMessage = invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP))) =>
  Effect.gen(function*() {
    const transaction = yield* peer.layer.request(request, toPhone)
    const responses = yield* inbox(Stream.ignore(transaction.responses))
    return { request, transaction, responses }
  })

describe("incoming calls", () => {
  it.effect("100, then 180 with our tag and Contact, RINGING; answer() sends the SDP answer until the ACK, ANSWERED after it", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer, phone, rtp, tap } = yield* setup(calls.handler)
      const { request, responses, transaction } = yield* dial(peer)
      expect(statusOf(yield* responses.next)).toBe(100)
      const ringing = yield* responses.next
      expect(statusOf(ringing)).toBe(180)
      expect(ringing.to?.tag).toBeDefined()
      expect(ringing.headers.get("Contact")).toBe(`<sip:phone@${ALICE.address}:${ALICE.port}>`)
      const call = yield* calls.next
      expect([call.direction, yield* call.state, call.remote?.uri.user, call.callId]).toEqual(["incoming", CallState.RINGING, "peer", request.callId])
      expect(yield* phone.rtpPortsInUse).toBe(0)

      const answering = yield* Effect.forkChild(call.answer)
      const ok = yield* responses.next
      expect(statusOf(ok)).toBe(200)
      expect(ok.to?.tag).toBe(ringing.to?.tag)
      const answer = Result.getOrThrow(ok.sdp)!.media[0]!
      expect(answer.payloads.map((payload) => [payload.number, payload.type?.description])).toEqual([[0, "PCMU"], [8, "PCMA"], [101, "telephone-event"]])
      expect(answer.port).toBeGreaterThanOrEqual(20000)
      expect(ok.headers.get("Allow")).toContain("BYE")
      expect(yield* phone.rtpPortsInUse).toBe(1)
      yield* TestClock.adjust("1600 millis")
      expect(yield* call.state).toBe(CallState.RINGING)
      expect(sendTimes(yield* tap.packets, ALICE, isResponse(200))).toEqual([0, 500, 1500])
      yield* UaCore.acknowledge(peer.layer, transaction, Dialog.fromResponse(request, ok).pipe(Result.getOrThrow))
      yield* Fiber.join(answering)
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* TestClock.adjust("3 seconds")
      expect(sendTimes(yield* tap.packets, ALICE, isResponse(200))).toEqual([0, 500, 1500])
      // RTP goes to the port of the offer
      expect(rtp.sent.some((datagram) => datagram.port === answer.port && datagram.address.port === PEER_RTP)).toBe(true)

      yield* call.hangup
      const bye = yield* nextRequest(peer)
      expect(bye.request.method).toBe("BYE")
      expect(bye.request.requestUriText).toBe(`sip:peer@${BOB.address}:${BOB.port}`)
      expect(bye.request.from?.tag).toBe(ringing.to?.tag)
      yield* bye.respond(peerResponse(bye.request, 200))
      expect(yield* call.ended).toEqual({ _tag: "LocalHangup" })
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  for (const [status, args] of [[486, []], [603, [603]]] as const) {
    it.effect(`deny(${args.join("")}) refuses with ${status} and ends the call as denied`, () =>
      Effect.gen(function*() {
        const calls = yield* handing
        const { peer, phone } = yield* setup(calls.handler)
        const { responses, transaction } = yield* dial(peer)
        const call = yield* calls.next
        yield* call.deny(...args)
        expect(statusOf(yield* transaction.final)).toBe(status)
        expect([statusOf(yield* responses.next), statusOf(yield* responses.next)]).toEqual([100, 180])
        expect(yield* call.ended).toEqual({ _tag: "Denied", status })
        expect(yield* phone.calls).toEqual([])
      }).pipe(Effect.provide(world())))
  }

  it.effect("a handler that returns without answering leaves the call to pyVoIP's default: 486", () =>
    Effect.gen(function*() {
      const { peer } = yield* setup(() => Effect.void)
      const { transaction } = yield* dial(peer)
      expect(statusOf(yield* transaction.final)).toBe(486)
    }).pipe(Effect.provide(world())))

  it.effect("a handler that answers and returns hangs up; one that fails is logged and its call ended", () =>
    Effect.gen(function*() {
      const { peer } = yield* setup((call) => Effect.andThen(call.answer, Effect.fail("the IVR broke")))
      const { request, transaction } = yield* dial(peer)
      const ok = yield* transaction.final
      expect(statusOf(ok)).toBe(200)
      yield* UaCore.acknowledge(peer.layer, transaction, Result.getOrThrow(Dialog.fromResponse(request, ok)))
      yield* settle
      const bye = yield* nextRequest(peer)
      expect(bye.request.method).toBe("BYE")
      yield* bye.respond(peerResponse(bye.request, 200))
    }).pipe(Effect.provide(world())))

  it.effect("without a handler every INVITE is refused 486, as pyVoIP's phone without call_class", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const { transaction } = yield* dial(peer)
      expect(statusOf(yield* transaction.final)).toBe(486)
      expect(yield* phone.calls).toEqual([])
    }).pipe(Effect.provide(world())))

  it.effect("the caller's CANCEL is answered 200 and the INVITE 487; the call ends canceled and can no longer be answered", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer, phone } = yield* setup(calls.handler)
      const { transaction } = yield* dial(peer)
      const call = yield* calls.next
      const final = yield* UaCore.cancel(peer.layer, transaction)
      expect(statusOf(final)).toBe(487)
      yield* settle
      expect(yield* call.ended).toEqual({ _tag: "Canceled", by: "remote" })
      expect(yield* Effect.flip(call.answer)).toMatchObject({ _tag: "InvalidStateError", state: "ENDED", allowed: ["RINGING"] })
      expect(yield* phone.calls).toEqual([])
    }).pipe(Effect.provide(world())))

  it.effect("a 2xx never acknowledged: BYE after 64·T1, the call fails (408) and answer() with it", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer, phone } = yield* setup(calls.handler)
      yield* dial(peer)
      const call = yield* calls.next
      const answering = yield* Effect.forkChild(Effect.flip(call.answer))
      yield* TestClock.adjust("32 seconds")
      expect(yield* Fiber.join(answering)).toMatchObject({ _tag: "CallError", action: "answer" })
      const bye = yield* nextRequest(peer)
      expect(bye.request.method).toBe("BYE")
      yield* bye.respond(peerResponse(bye.request, 200))
      expect(yield* call.ended).toMatchObject({ _tag: "Failed", status: 408 })
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("an offer without a codec we take is refused 488, malformed SDP 400; no call reaches the handler", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer, phone } = yield* setup(calls.handler)
      const g722 = yield* dial(peer, invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP, [PayloadType.G722])))
      expect(statusOf(yield* g722.transaction.final)).toBe(488)
      const broken = yield* dial(peer, invite(BOB, ALICE, "v=0\r\nthis is not SDP\r\n"))
      expect(statusOf(yield* broken.transaction.final)).toBe(400)
      expect(yield* phone.calls).toEqual([])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("a late offer (INVITE without SDP): our offer goes in the 2xx, the answer in the ACK starts the media", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer, rtp } = yield* setup(calls.handler)
      const { request, transaction } = yield* dial(peer, invite(BOB, ALICE))
      const call = yield* calls.next
      const answering = yield* Effect.forkChild(call.answer)
      const ok = yield* transaction.final
      const offer = Result.getOrThrow(ok.sdp)!
      const answer = Result.getOrThrow(OfferAnswer.createAnswer(offer, { address: BOB.address, port: PEER_RTP }))
      yield* UaCore.acknowledge(peer.layer, transaction, Result.getOrThrow(Dialog.fromResponse(request, ok)), {
        body: Sdp.serialize(answer.description),
        contentType: "application/sdp"
      })
      yield* Fiber.join(answering)
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* TestClock.adjust("100 millis")
      expect(rtp.sent.some((datagram) => datagram.port === sdpPort(ok) && datagram.address.port === PEER_RTP)).toBe(true)
      yield* hangupAnswered(call, peer)
    }).pipe(Effect.provide(world())))

  it.effect("every action the state forbids fails with InvalidStateError carrying the state (pyVoIP's table)", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer } = yield* setup(calls.handler)
      const { request, transaction } = yield* dial(peer)
      const call = yield* calls.next
      const refusal = <A, E>(action: Effect.Effect<A, E>) => Effect.flip(action)
      expect([
        yield* refusal(call.hangup),
        yield* refusal(call.cancel),
        yield* refusal(call.sendDtmf("1"))
      ]).toMatchObject([
        { _tag: "InvalidStateError", action: "hangup", state: "RINGING", allowed: ["ANSWERED"] },
        { _tag: "InvalidStateError", action: "cancel", state: "RINGING", allowed: ["DIALING", "PROGRESS"] },
        { _tag: "InvalidStateError", action: "send DTMF", state: "RINGING", allowed: ["ANSWERED"] }
      ])
      const answering = yield* Effect.forkChild(call.answer)
      const ok = yield* transaction.final
      yield* UaCore.acknowledge(peer.layer, transaction, Result.getOrThrow(Dialog.fromResponse(request, ok)))
      yield* Fiber.join(answering)
      yield* refusesWhileAnswered(call)
      yield* hangupAnswered(call, peer)
      expect(yield* refusal(call.deny())).toMatchObject({ action: "deny", state: "ENDED" })
      expect(yield* refusal(call.hangup)).toMatchObject({ action: "hangup", state: "ENDED" })
    }).pipe(Effect.provide(world())))
})
