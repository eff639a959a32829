/**
 * UPDATE from the peer (RFC 3311) in an answered call, under TestClock: a
 * session refresh without a body (RFC 4028), an offer that changes the
 * direction, and an offer racing our re-INVITE (491).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
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
import { ALICE, BOB, nextRequest, peerResponse, settle, world } from "./helpers.ts"

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
