/**
 * UPDATE from the peer (RFC 3311) in an answered call, under TestClock: a
 * session refresh without a body (RFC 4028), an offer that changes the
 * direction, and an offer racing our re-INVITE (491); and from the callee
 * in the early dialog of our INVITE (200 without an offer, 491 with one).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import { CallState } from "../../src/voip/CallState.ts"
import {
  type Answered,
  answeredWith,
  byeAnswered,
  PEER_RTP,
  peerOffer,
  peerSessionEnd,
  sdpOf,
  sendInDialog,
  sentTo,
  statusOf
} from "./answered.ts"
import { ALICE, answerTo, BOB, nextRequest, PEER_URI, peerResponse, phoneAndPeer, settle, world } from "./helpers.ts"

const advance = (seconds: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < seconds; i++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
  })

/** The peer's UPDATE (offer `sdp`, or none; `headers`) and its final response. */
const update = (setup: Answered, sdp: string | undefined, headers: ReadonlyArray<readonly [string, string]> = []) =>
  Effect.gen(function*() {
    const sent = yield* sendInDialog(setup, "UPDATE", {
      headers,
      ...(sdp === undefined ? {} : { body: sdp, contentType: "application/sdp" })
    })
    let response = yield* sent.responses.next
    while (statusOf(response) < 200) response = yield* sent.responses.next
    yield* settle
    return response
  })

const TIMER = [["Session-Expires", "120;refresher=uac"], ["Supported", "timer"]] as const

describe("UPDATE from the peer", () => {
  it.effect("the phone's 200 allows UPDATE", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith()
      expect(setup.ok.headers.get("Allow")).toContain("UPDATE")
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("without SDP: a session refresh, 200 with Session-Expires and no body, and the timer restarts (BYE at 50 + 88 s)", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith(TIMER)
      yield* advance(50)
      const refreshed = yield* update(setup, undefined, TIMER)
      expect(statusOf(refreshed)).toBe(200)
      expect(refreshed.headers.get("Session-Expires")).toBe("120;refresher=uac")
      expect(refreshed.headers.get("Require")).toBe("timer")
      expect(refreshed.headers.get("Contact")).toBe(`<sip:phone@${ALICE.address}:${ALICE.port}>`)
      expect(refreshed.rawBody.length).toBe(0)
      // 88 s: the first timer would have ended the call
      yield* advance(87)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* advance(1)
      yield* byeAnswered(setup)
    }).pipe(Effect.provide(world())))

  it.effect("a Session-Expires below 90 s is refused 422 with Min-SE", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith()
      const refused = yield* update(setup, undefined, [["Session-Expires", "60"]])
      expect(statusOf(refused)).toBe(422)
      expect(refused.headers.get("Min-SE")).toBe("90")
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("with SDP offering sendonly: 200 with a recvonly answer (next o= version), our RTP stops; sendrecv on a new port resumes there", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith()
      const { rtp, localPort, firstAnswer } = setup
      yield* TestClock.adjust("100 millis")
      expect(sentTo(rtp, localPort, PEER_RTP, 0).length).toBeGreaterThan(0)

      const held = yield* update(setup, peerOffer(PEER_RTP, { direction: "sendonly", sessionVersion: 78n }))
      expect(statusOf(held)).toBe(200)
      const answer = sdpOf(held)
      expect(answer.media[0]!.direction).toBe("recvonly")
      expect(BigInt(answer.origin.sessionVersion)).toBe(BigInt(firstAnswer.origin.sessionVersion) + 1n)
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "remote" })
      yield* TestClock.adjust("200 millis")
      expect(sentTo(rtp, localPort, PEER_RTP, 101)).toEqual([])

      const resumed = yield* update(setup, peerOffer(PEER_RTP + 10, { sessionVersion: 79n }))
      expect(statusOf(resumed)).toBe(200)
      expect(sdpOf(resumed).media[0]!.direction).toBe("sendrecv")
      expect(yield* setup.events.next).toEqual({ _tag: "Resumed", by: "remote" })
      yield* TestClock.adjust("200 millis")
      expect(sentTo(rtp, localPort, PEER_RTP + 10, 300).length).toBeGreaterThan(0)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("an offer with no codec we take is refused 488", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith()
      const refused = yield* update(setup, peerOffer(PEER_RTP, { codecs: [PayloadType.G722] }))
      expect(statusOf(refused)).toBe(488)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("an UPDATE offer racing our re-INVITE gets 491; a bare refresh meanwhile still gets 200", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith()
      const holding = yield* Effect.forkChild(setup.call.hold)
      const ours = yield* nextRequest(setup.peer)
      expect(ours.request.method).toBe("INVITE")
      const crossing = yield* update(setup, peerOffer(PEER_RTP, { direction: "sendonly", sessionVersion: 78n }))
      expect(statusOf(crossing)).toBe(491)
      const refresh = yield* update(setup, undefined)
      expect(statusOf(refresh)).toBe(200)
      const answer = Sdp.serialize(
        Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(ours.request), { address: BOB.address, port: PEER_RTP })).description
      )
      yield* ours.respond(peerResponse(ours.request, 200, { sdp: answer, contact: BOB, toTag: setup.dialog.get().localTag }))
      yield* Fiber.join(holding)
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "local" })
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))
})

describe("UPDATE in an early dialog of our INVITE", () => {
  it.effect("after the callee's 180: without an offer 200 with our Contact, with an offer 491; the call is then answered as usual", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* phoneAndPeer()
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      const ringing = peerResponse(invite, 180, { contact: BOB })
      yield* incoming.respond(ringing)
      yield* settle
      // the callee's side of the early dialog
      let early = Result.getOrThrow(Dialog.fromRequest(invite, ringing))
      const updateOf = (init: Dialog.RequestInit) =>
        Effect.gen(function*() {
          const built = Result.getOrThrow(Dialog.createRequest(early, "UPDATE", init))
          early = built.dialog
          const transaction = yield* peer.layer.request(built.request, { host: ALICE.address, port: ALICE.port })
          const final = yield* transaction.responses.pipe(Stream.filter((response) => statusOf(response) >= 200), Stream.runHead)
          return Option.getOrThrow(final)
        })
      const bare = yield* updateOf({ headers: [["P-Asserted-Identity", "<sip:forwarded@example.com>"]] })
      expect(statusOf(bare)).toBe(200)
      expect(bare.headers.get("Contact")).toBe(`<sip:phone@${ALICE.address}:${ALICE.port}>`)
      const offered = yield* updateOf({ body: peerOffer(PEER_RTP + 2), contentType: "application/sdp" })
      expect(statusOf(offered)).toBe(491)
      expect(yield* call.state).toBe(CallState.DIALING)

      const ok = peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })
      const accepted = yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* Fiber.join(accepted)
      yield* call.hangup
      const bye = yield* nextRequest(peer)
      // the dialog's CSeq of the callee was not ours to advance: our BYE follows our INVITE's
      expect(bye.request.cseq?.seq).toBe(invite.cseq!.seq + 1)
      yield* bye.respond(peerResponse(bye.request, 200))
    }).pipe(Effect.provide(world())))
})
