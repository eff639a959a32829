/**
 * re-INVITE in both directions and SIP INFO DTMF, under TestClock: a bare
 * peer at 10.0.0.2 calls the phone at 10.0.0.1, the phone answers, and the
 * peer then changes the session (hold, resume, new port, new codec, no
 * offer), or the phone does (`hold()`/`unhold()`, with 491 glare), or the
 * peer sends digits by INFO.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import { infoDigit } from "../../src/voip/CallSession.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import {
  answered,
  byeAnswered,
  PEER_RTP,
  payloadTypeOf,
  peerOffer,
  peerSessionEnd,
  reinvite,
  sdpOf,
  sendInDialog,
  sentTo,
  statusOf
} from "./answered.ts"
import { ALICE, answering, BOB, hangupAnswered, inbox, nextRequest, peerAt, peerResponse, phoneAt, rtpNetwork, settle, world } from "./helpers.ts"

describe("re-INVITE from the peer", () => {
  it.effect("hold (sendonly) is answered recvonly with the next o= version and stops our RTP; sendrecv on a new port resumes there", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const { rtp, localPort, firstAnswer } = setup
      yield* TestClock.adjust("100 millis")
      expect(sentTo(rtp, localPort, PEER_RTP, 0).length).toBeGreaterThan(0)

      const held = yield* reinvite(setup, peerOffer(PEER_RTP, { direction: "sendonly", sessionVersion: 78n }))
      expect(statusOf(held)).toBe(200)
      const answer = sdpOf(held)
      expect(answer.media[0]!.direction).toBe("recvonly")
      expect(answer.origin.sessionId).toBe(firstAnswer.origin.sessionId)
      expect(BigInt(answer.origin.sessionVersion)).toBe(BigInt(firstAnswer.origin.sessionVersion) + 1n)
      expect(held.headers.get("Contact")).toBe(`<sip:phone@${ALICE.address}:${ALICE.port}>`)
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "remote" })
      const heldAt = 100
      yield* TestClock.adjust("200 millis")
      expect(sentTo(rtp, localPort, PEER_RTP, heldAt + 1)).toEqual([])

      const resumed = yield* reinvite(setup, peerOffer(PEER_RTP + 10, { sessionVersion: 79n }))
      expect(sdpOf(resumed).media[0]!.direction).toBe("sendrecv")
      expect(BigInt(sdpOf(resumed).origin.sessionVersion)).toBe(BigInt(firstAnswer.origin.sessionVersion) + 2n)
      expect(yield* setup.events.next).toEqual({ _tag: "Resumed", by: "remote" })
      yield* TestClock.adjust("200 millis")
      expect(sentTo(rtp, localPort, PEER_RTP + 10, 300).length).toBeGreaterThan(0)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("an unchanged offer keeps our o= version; inactive is mirrored inactive; a new codec is sent", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const same = yield* reinvite(setup, peerOffer(PEER_RTP, { sessionVersion: 78n }))
      expect(sdpOf(same).origin.sessionVersion).toBe(setup.firstAnswer.origin.sessionVersion)

      const inactive = yield* reinvite(setup, peerOffer(PEER_RTP, { direction: "inactive", sessionVersion: 79n }))
      expect(sdpOf(inactive).media[0]!.direction).toBe("inactive")
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "remote" })

      const pcma = yield* reinvite(setup, peerOffer(PEER_RTP, { codecs: [PayloadType.PCMA, PayloadType.EVENT], sessionVersion: 80n }))
      expect(sdpOf(pcma).media[0]!.payloads.map((payload) => payload.type?.description)).toEqual(["PCMA", "telephone-event"])
      expect(yield* setup.events.next).toEqual({ _tag: "Resumed", by: "remote" })
      const since = yield* Clock.currentTimeMillis
      yield* TestClock.adjust("200 millis")
      const packets = sentTo(setup.rtp, setup.localPort, PEER_RTP, since + 1)
      expect(packets.length).toBeGreaterThan(0)
      expect(new Set(packets.map((datagram) => payloadTypeOf(datagram.payload)))).toEqual(new Set([8]))
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("without an offer: our offer in the 200 (same codecs, next version), the answer in the ACK moves our RTP", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const ok = yield* reinvite(setup, undefined, (response) =>
        Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(response), { address: BOB.address, port: PEER_RTP + 20 })).description))
      const offer = sdpOf(ok)
      expect(offer.media[0]!.direction).toBe("sendrecv")
      expect(offer.media[0]!.port).toBe(setup.localPort)
      const since = yield* Clock.currentTimeMillis
      yield* TestClock.adjust("200 millis")
      expect(sentTo(setup.rtp, setup.localPort, PEER_RTP + 20, since + 1).length).toBeGreaterThan(0)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("a 200 to a re-INVITE never acknowledged: sent again until 64·T1, then BYE and the call fails 408", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const sent = yield* sendInDialog(setup, "INVITE", { body: peerOffer(PEER_RTP, { sessionVersion: 78n }), contentType: "application/sdp" })
      let response = yield* sent.responses.next
      while (statusOf(response) < 200) response = yield* sent.responses.next
      expect(statusOf(response)).toBe(200)
      yield* TestClock.adjust("31 seconds")
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* TestClock.adjust("1 second")
      const reason = yield* byeAnswered(setup)
      expect(reason._tag === "Failed" && reason.status).toBe(408)
    }).pipe(Effect.provide(world())))

  it.effect("an offer with no codec we take is refused 488 and the session stays", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const refused = yield* reinvite(setup, peerOffer(PEER_RTP + 30, { codecs: [PayloadType.G722] }))
      expect(statusOf(refused)).toBe(488)
      const since = yield* Clock.currentTimeMillis
      yield* TestClock.adjust("200 millis")
      expect(sentTo(setup.rtp, setup.localPort, PEER_RTP, since + 1).length).toBeGreaterThan(0)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))
})

describe("hold() and unhold()", () => {
  it.effect("hold() offers sendonly with the next version; the recvonly answer stops what we receive; unhold() offers sendrecv", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const holding = yield* Effect.forkChild(setup.call.hold)
      const request = yield* nextRequest(setup.peer)
      expect(request.request.method).toBe("INVITE")
      expect(request.request.to?.tag).toBe(setup.dialog.get().localTag)
      const offer = sdpOf(request.request)
      expect(offer.media[0]!.direction).toBe("sendonly")
      expect(BigInt(offer.origin.sessionVersion)).toBe(BigInt(setup.firstAnswer.origin.sessionVersion) + 1n)
      const answer = Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(offer, { address: BOB.address, port: PEER_RTP })).description)
      expect(answer).toContain("a=recvonly")
      yield* request.respond(peerResponse(request.request, 200, { sdp: answer, contact: BOB, toTag: setup.dialog.get().localTag }))
      yield* Fiber.join(holding)
      const ack = yield* request.ack
      expect(ack.cseq).toEqual({ seq: request.request.cseq!.seq, method: "ACK" })
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "local" })

      const resuming = yield* Effect.forkChild(setup.call.unhold)
      const again = yield* nextRequest(setup.peer)
      const reoffer = sdpOf(again.request)
      expect(reoffer.media[0]!.direction).toBe("sendrecv")
      expect(BigInt(reoffer.origin.sessionVersion)).toBe(BigInt(setup.firstAnswer.origin.sessionVersion) + 2n)
      expect(again.request.cseq!.seq).toBe(request.request.cseq!.seq + 1)
      const reanswer = Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(reoffer, { address: BOB.address, port: PEER_RTP })).description)
      yield* again.respond(peerResponse(again.request, 200, { sdp: reanswer, contact: BOB, toTag: setup.dialog.get().localTag }))
      yield* Fiber.join(resuming)
      expect(yield* setup.events.next).toEqual({ _tag: "Resumed", by: "local" })
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("glare: the peer's re-INVITE during ours gets 491; ours, answered 491, goes again within 2 s (we did not choose the Call-ID)", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const holding = yield* Effect.forkChild(setup.call.hold)
      const ours = yield* nextRequest(setup.peer)
      const crossing = yield* reinvite(setup, peerOffer(PEER_RTP, { direction: "sendonly", sessionVersion: 78n }))
      expect(statusOf(crossing)).toBe(491)
      yield* ours.respond(peerResponse(ours.request, 491, { toTag: setup.dialog.get().localTag }))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      const retried = yield* nextRequest(setup.peer)
      expect(retried.request.method).toBe("INVITE")
      expect(retried.request.cseq!.seq).toBeGreaterThan(ours.request.cseq!.seq)
      expect(sdpOf(retried.request).media[0]!.direction).toBe("sendonly")
      const answer = Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(retried.request), { address: BOB.address, port: PEER_RTP })).description)
      yield* retried.respond(peerResponse(retried.request, 200, { sdp: answer, contact: BOB, toTag: setup.dialog.get().localTag }))
      yield* Fiber.join(holding)
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "local" })
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("a reliable 183 to our re-INVITE is PRACKed in the dialog (RAck, next CSeq) once; the 200 then completes hold()", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const toTag = setup.dialog.get().localTag
      const holding = yield* Effect.forkChild(setup.call.hold)
      const ours = yield* nextRequest(setup.peer)
      const seq = ours.request.cseq!.seq
      const reliable = (rseq: number) =>
        peerResponse(ours.request, 183, { toTag, contact: BOB, headers: [["Require", "100rel"], ["RSeq", String(rseq)]] })
      yield* ours.respond(reliable(1))
      const prack = yield* nextRequest(setup.peer)
      expect([prack.request.method, prack.request.headers.get("RAck"), prack.request.cseq?.seq]).toEqual(["PRACK", `1 ${seq} INVITE`, seq + 1])
      yield* prack.respond(peerResponse(prack.request, 200, { toTag }))
      // a retransmission of the same RSeq is not PRACKed again
      yield* ours.respond(reliable(1))
      yield* settle
      const answer = Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(ours.request), { address: BOB.address, port: PEER_RTP })).description)
      yield* ours.respond(peerResponse(ours.request, 200, { sdp: answer, contact: BOB, toTag }))
      yield* Fiber.join(holding)
      expect((yield* ours.ack).cseq).toEqual({ seq, method: "ACK" })
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "local" })
      // the dialog goes on after the PRACK's CSeq
      const bye = yield* hangupAnswered(setup.call, setup.peer)
      expect(bye.cseq?.seq).toBe(seq + 2)
    }).pipe(Effect.provide(world())))

  it.effect("a refused re-INVITE fails hold() and the call stays as it was", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const holding = yield* Effect.forkChild(Effect.flip(setup.call.hold))
      const ours = yield* nextRequest(setup.peer)
      yield* ours.respond(peerResponse(ours.request, 488, { toTag: setup.dialog.get().localTag }))
      const error = yield* Fiber.join(holding)
      expect(error._tag).toBe("CallError")
      expect(error.message).toContain("488")
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("hold and unhold need an answered call", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const phone = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const peer = yield* peerAt(BOB)
      const call = yield* phone.call(`sip:peer@${BOB.address}:${BOB.port}`)
      for (const action of [call.hold, call.unhold]) {
        const error = yield* Effect.flip(action)
        expect(error._tag).toBe("InvalidStateError")
        expect(error._tag === "InvalidStateError" && [error.state, error.allowed]).toEqual([CallState.DIALING, [CallState.ANSWERED]])
      }
      const dialed = yield* nextRequest(peer)
      yield* dialed.respond(peerResponse(dialed.request, 486))
      expect(yield* call.ended).toEqual({ _tag: "Busy", status: 486 })
    }).pipe(Effect.provide(world())))
})

describe("SIP INFO DTMF", () => {
  it("reads dtmf-relay and application/dtmf bodies", () => {
    expect(infoDigit("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")).toBe("5")
    expect(infoDigit("application/dtmf-relay", "signal= #\r\nDuration=100")).toBe("#")
    expect(infoDigit("application/dtmf-relay", "Signal=11\r\nDuration=160")).toBe("#")
    expect(infoDigit("application/dtmf", "10")).toBe("*")
    expect(infoDigit("application/dtmf", "d")).toBe("D")
    expect(infoDigit("application/dtmf-relay", "Duration=160")).toBeUndefined()
    expect(infoDigit("application/dtmf", "x")).toBeUndefined()
  })

  it.effect("INFO digits reach getDtmf and the dtmf stream; other bodies get 415, an empty INFO 200", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const digits = yield* inbox(setup.call.dtmf)
      const info = (body: string | undefined, contentType: string) =>
        Effect.gen(function*() {
          const sent = yield* sendInDialog(setup, "INFO", body === undefined ? {} : { body, contentType })
          return statusOf(yield* sent.responses.next)
        })
      expect(yield* info("Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")).toBe(200)
      expect(yield* info("#", "application/dtmf")).toBe(200)
      expect(yield* info("hello", "text/plain")).toBe(415)
      expect(yield* info(undefined, "application/dtmf")).toBe(200)
      expect([yield* digits.next, yield* digits.next]).toEqual(["5", "#"])
      const dtmfEvents: Array<CallEvent> = [yield* setup.events.next, yield* setup.events.next]
      expect(dtmfEvents).toEqual([{ _tag: "Dtmf", digit: "5" }, { _tag: "Dtmf", digit: "#" }])
      expect(yield* setup.call.getDtmf(-1)).toBe("5#")
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))
})

describe("hold between two phones", () => {
  it.effect("Alice holds Bob and resumes: both see it", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const bobCalls = yield* answering
      yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: bobCalls.handler })
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const call = yield* alice.call(`sip:phone@${BOB.address}:${BOB.port}`)
      const bobCall = yield* bobCalls.next
      const bobEvents = yield* inbox(bobCall.events)
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      const aliceEvents = yield* inbox(call.events)
      yield* call.hold
      expect(yield* aliceEvents.next).toEqual({ _tag: "Held", by: "local" })
      let event = yield* bobEvents.next
      while (event._tag === "State") event = yield* bobEvents.next
      expect(event).toEqual({ _tag: "Held", by: "remote" })
      yield* call.unhold
      expect(yield* aliceEvents.next).toEqual({ _tag: "Resumed", by: "local" })
      expect(yield* bobEvents.next).toEqual({ _tag: "Resumed", by: "remote" })
      yield* call.hangup
      yield* TestClock.adjust("10 millis")
      expect(yield* bobCall.ended).toEqual({ _tag: "RemoteHangup" })
    }).pipe(Effect.provide(world())))
})

