/**
 * A 422 to our re-INVITE (RFC 4028 §7.4) under TestClock: a session refresh
 * or a hold() answered 422 with Min-SE is sent once more (CSeq + 1, new
 * branch, the same offer) asking Session-Expires and Min-SE at that Min-SE,
 * and the next refresh follows the interval of its 2xx; a second 422 in a
 * row fails the attempt with a CallError and leaves the call up.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import type { ServerTransaction } from "../../src/sip/transaction/ServerTransaction.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { type Answered, answered, answeredWith, PEER_RTP, peerSessionEnd, sdpOf } from "./answered.ts"
import { BOB, nextRequest, peerResponse, settle, world } from "./helpers.ts"

/** An answered call whose caller leaves refreshing to us every 60 s (Session-Expires 120). */
const refreshing = answeredWith([["Session-Expires", "120"]])

/** Moves the clock `seconds` ahead and lets what is due run. */
const advance = (seconds: number) =>
  Effect.andThen(TestClock.adjust(`${seconds} seconds`), settle)

/** The peer answers our re-INVITE in `transaction` with `status` (2xx: with its SDP answer) in the dialog of `setup`. */
const answer = (setup: Answered, transaction: ServerTransaction, status: number, headers: ReadonlyArray<readonly [string, string]> = []) => {
  const request = transaction.request
  const sdp = status === 200
    ? Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(request), { address: BOB.address, port: PEER_RTP })).description)
    : undefined
  return transaction.respond(peerResponse(request, status, {
    toTag: setup.dialog.get().localTag,
    headers,
    ...(sdp === undefined ? {} : { sdp, contact: BOB })
  }))
}

const tooSmall = (setup: Answered, transaction: ServerTransaction, minSE: string) =>
  Effect.andThen(answer(setup, transaction, 422, [["Min-SE", minSE]]), settle)

/** What must stay the same between a re-INVITE and the one sent again after its 422: the offer, o= version included. */
const sameOffer = (again: SIPMessage.SIPMessage, first: SIPMessage.SIPMessage) => {
  expect(again.method).toBe("INVITE")
  expect(again.cseq?.seq).toBe(first.cseq!.seq + 1)
  expect(again.via[0]?.branch).not.toBe(first.via[0]?.branch)
  expect(again.callId).toBe(first.callId)
  expect(sdpOf(again).origin.sessionVersion).toBe(sdpOf(first).origin.sessionVersion)
  expect(again.rawBody).toEqual(first.rawBody)
}

describe("a 422 to our re-INVITE", () => {
  it.effect("a refresh answered 422 Min-SE 1800 goes again asking 1800; its 2xx moves the next refresh to 900 s later", () =>
    Effect.gen(function*() {
      const setup = yield* refreshing
      yield* advance(60)
      const refresh = yield* nextRequest(setup.peer)
      expect(refresh.request.headers.get("Session-Expires")).toBe("120;refresher=uac")
      expect(sdpOf(refresh.request).origin.sessionVersion).toBe(setup.firstAnswer.origin.sessionVersion)
      yield* tooSmall(setup, refresh, "1800")
      const again = yield* nextRequest(setup.peer)
      sameOffer(again.request, refresh.request)
      expect(again.request.headers.get("Session-Expires")).toBe("1800;refresher=uac")
      expect(again.request.headers.get("Min-SE")).toBe("1800")
      yield* answer(setup, again, 200, [["Session-Expires", "1800;refresher=uac"]])
      yield* again.ack
      yield* settle
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)

      yield* advance(899)
      expect(yield* setup.peer.events.size).toBe(0)
      yield* advance(1)
      const next = yield* nextRequest(setup.peer)
      expect(next.request.method).toBe("INVITE")
      expect(next.request.cseq!.seq).toBe(again.request.cseq!.seq + 1)
      expect(next.request.headers.get("Session-Expires")).toBe("1800;refresher=uac")
      yield* answer(setup, next, 200, [["Session-Expires", "1800;refresher=uac"]])
      yield* next.ack
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("hold() without a session timer, answered 422 Min-SE 1800, goes again with Session-Expires and Min-SE 1800 and holds", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const holding = yield* Effect.forkChild(setup.call.hold)
      const first = yield* nextRequest(setup.peer)
      expect(first.request.headers.has("Session-Expires")).toBe(false)
      expect(sdpOf(first.request).media[0]!.direction).toBe("sendonly")
      yield* tooSmall(setup, first, "1800")
      const again = yield* nextRequest(setup.peer)
      sameOffer(again.request, first.request)
      expect(again.request.headers.get("Session-Expires")).toBe("1800")
      expect(again.request.headers.get("Min-SE")).toBe("1800")
      yield* answer(setup, again, 200)
      yield* Fiber.join(holding)
      yield* again.ack
      expect(yield* setup.events.next).toEqual({ _tag: "Held", by: "local" })
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("a second 422 in a row fails hold() with a CallError; nothing is sent again and the call stays up", () =>
    Effect.gen(function*() {
      const setup = yield* refreshing
      const holding = yield* Effect.forkChild(Effect.flip(setup.call.hold))
      const first = yield* nextRequest(setup.peer)
      yield* tooSmall(setup, first, "1800")
      const again = yield* nextRequest(setup.peer)
      yield* tooSmall(setup, again, "3600")
      const error = yield* Fiber.join(holding)
      expect(error._tag).toBe("CallError")
      expect(error.message).toContain("422")
      expect(yield* setup.peer.events.size).toBe(0)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      // not held: no Held event
      expect(yield* setup.events.size).toBe(0)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))

  it.effect("a refresh answered 422 twice is given up without ending the call", () =>
    Effect.gen(function*() {
      const setup = yield* refreshing
      yield* advance(60)
      const refresh = yield* nextRequest(setup.peer)
      yield* tooSmall(setup, refresh, "1800")
      const again = yield* nextRequest(setup.peer)
      yield* tooSmall(setup, again, "3600")
      yield* advance(120)
      expect(yield* setup.peer.events.size).toBe(0)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* peerSessionEnd(setup)
    }).pipe(Effect.provide(world())))
})
