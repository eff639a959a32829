/**
 * Session timers (RFC 4028) under TestClock, at exact instants: 422 for a
 * Session-Expires below 90 s, the refreshee's BYE at interval − min(32 s,
 * interval/3) without a refresh and its restart by one, the refresher's
 * re-INVITE at half the interval, outgoing calls honouring the 2xx.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import { timerHeaders, timerOf } from "../../src/voip/CallSession.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { answeredWith, byeAnswered, PEER_RTP, peerOffer, reinvite, sdpOf, statusOf } from "./answered.ts"
import { ALICE, BOB, hangupAnswered, inbox, invite, nextRequest, offerSdp, peerAt, peerResponse, phoneAt, rtpNetwork, settle, toPhone, world } from "./helpers.ts"

/** Moves the clock `seconds` ahead in one-second steps, so every timer fires at its instant. */
const advance = (seconds: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < seconds; i++) {
      yield* TestClock.adjust("1 second")
      yield* settle
    }
  })

describe("session timers", () => {
  it("reads who refreshes from either side of a transaction", () => {
    const request = invite(BOB, ALICE, undefined, [["Session-Expires", "120"], ["Supported", "timer"]])
    expect(timerOf(request, false)).toEqual({ interval: 120, refresher: "remote" })
    expect(timerOf(invite(BOB, ALICE, undefined, [["Session-Expires", "120"]]), false)).toEqual({ interval: 120, refresher: "local" })
    expect(timerOf(invite(BOB, ALICE, undefined, [["Session-Expires", "300;refresher=uas"]]), false)).toEqual({ interval: 300, refresher: "local" })
    expect(timerOf(invite(BOB, ALICE, undefined, [["Session-Expires", "300;refresher=uas"]]), true)).toEqual({ interval: 300, refresher: "remote" })
    expect(timerOf(invite(BOB, ALICE), false)).toBeUndefined()
    expect(timerHeaders({ interval: 120, refresher: "remote" }, false)).toEqual([["Session-Expires", "120;refresher=uac"], ["Require", "timer"]])
    expect(timerHeaders({ interval: 120, refresher: "local" }, true)).toEqual([["Session-Expires", "120;refresher=uac"]])
    expect(timerHeaders({ interval: 120, refresher: "local" }, false)).toEqual([["Session-Expires", "120;refresher=uas"]])
  })

  it.effect("a Session-Expires below 90 is refused 422 with Min-SE: 90", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      yield* phoneAt(ALICE, rtp, { rtpLow: 20000, onIncomingCall: (call) => call.answer })
      const peer = yield* peerAt(BOB)
      const transaction = yield* peer.layer.request(invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP), [["Session-Expires", "60"]]), toPhone)
      const responses = yield* inbox(Stream.ignore(transaction.responses))
      let response = yield* responses.next
      while (statusOf(response) < 200) response = yield* responses.next
      expect(statusOf(response)).toBe(422)
      expect(response.headers.get("Min-SE")).toBe("90")
    }).pipe(Effect.provide(world())))

  it.effect("refreshee: the 200 names the caller refresher; without a refresh the call ends with BYE at 120 − 32 = 88 s", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith([["Session-Expires", "120;refresher=uac"], ["Supported", "timer"]])
      expect(setup.ok.headers.get("Session-Expires")).toBe("120;refresher=uac")
      expect(setup.ok.headers.get("Require")).toBe("timer")
      expect(setup.ok.headers.get("Supported")).toBe("timer, 100rel, replaces")
      yield* advance(87)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* advance(1)
      const reason = yield* byeAnswered(setup)
      expect(reason._tag === "Failed" && reason.status).toBe(408)
      expect(yield* setup.phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("refreshee: the caller's re-INVITE at 50 s restarts the timer (BYE at 50 + 88 = 138 s)", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith([["Session-Expires", "120;refresher=uac"], ["Supported", "timer"]])
      yield* advance(50)
      const refreshed = yield* reinvite(setup, peerOffer(PEER_RTP, { sessionVersion: 77n }), undefined, [
        ["Session-Expires", "120;refresher=uac"],
        ["Supported", "timer"]
      ])
      expect(statusOf(refreshed)).toBe(200)
      expect(refreshed.headers.get("Session-Expires")).toBe("120;refresher=uac")
      // 88 s: the first timer would have ended the call
      yield* advance(38)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* advance(49)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* advance(1)
      yield* byeAnswered(setup)
    }).pipe(Effect.provide(world())))

  it.effect("refresher: a caller without timer support leaves it to us; we re-INVITE at 60 s with the same description, then every 60 s", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith([["Session-Expires", "120"]])
      expect(setup.ok.headers.get("Session-Expires")).toBe("120;refresher=uas")
      expect(setup.ok.headers.has("Require")).toBe(false)
      yield* advance(59)
      yield* advance(1)
      const refresh = yield* nextRequest(setup.peer)
      expect(refresh.request.method).toBe("INVITE")
      expect(refresh.request.headers.get("Session-Expires")).toBe("120;refresher=uac")
      const offer = sdpOf(refresh.request)
      expect(offer.origin.sessionVersion).toBe(setup.firstAnswer.origin.sessionVersion)
      expect(offer.media[0]!.direction).toBe("sendrecv")
      const answer = Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(offer, { address: BOB.address, port: PEER_RTP })).description)
      yield* refresh.respond(peerResponse(refresh.request, 200, {
        sdp: answer,
        contact: BOB,
        toTag: setup.dialog.get().localTag,
        headers: [["Session-Expires", "120;refresher=uac"]]
      }))
      yield* refresh.ack
      yield* advance(59)
      expect(yield* setup.peer.events.size).toBe(0)
      yield* advance(1)
      const second = yield* nextRequest(setup.peer)
      expect(second.request.method).toBe("INVITE")
      expect(second.request.cseq!.seq).toBe(refresh.request.cseq!.seq + 1)
      yield* second.respond(peerResponse(second.request, 200, {
        sdp: answer,
        contact: BOB,
        toTag: setup.dialog.get().localTag
      }))
      yield* second.ack
      // the 2xx had no Session-Expires: the timer is off
      yield* advance(200)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* hangupAnswered(setup.call, setup.peer)
    }).pipe(Effect.provide(world())))

  it.effect("outgoing: a 2xx with Session-Expires 90;refresher=uac makes us refresh at 45 s", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const phone = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const peer = yield* peerAt(BOB)
      const call = yield* phone.call(`sip:peer@${BOB.address}:${BOB.port}`)
      const dialed = yield* nextRequest(peer)
      expect(dialed.request.headers.get("Supported")).toBe("timer, 100rel, replaces")
      const answer = Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(dialed.request), { address: BOB.address, port: PEER_RTP })).description)
      yield* dialed.respond(peerResponse(dialed.request, 200, { sdp: answer, contact: BOB, headers: [["Session-Expires", "90;refresher=uac"]] }))
      yield* dialed.ack
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* advance(44)
      yield* advance(1)
      const refresh = yield* nextRequest(peer)
      expect(refresh.request.method).toBe("INVITE")
      expect(refresh.request.headers.get("Session-Expires")).toBe("90;refresher=uac")
      yield* refresh.respond(peerResponse(refresh.request, 200, { sdp: answer, contact: BOB, headers: [["Session-Expires", "90;refresher=uac"]] }))
      yield* refresh.ack
      const hanging = yield* Effect.forkChild(call.hangup)
      const bye = yield* nextRequest(peer)
      yield* bye.respond(peerResponse(bye.request, 200))
      yield* Fiber.join(hanging)
    }).pipe(Effect.provide(world())))
})
