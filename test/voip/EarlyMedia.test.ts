/**
 * Early media from the callee (`progress`, RFC 3261 §13.3.1.1 with the
 * answer in a 183) under TestClock: a bare peer's INVITE gets 183 Session
 * Progress with our answer and our RTP flows while the call still rings;
 * the 200 repeats that answer. Between two phones, the caller hears the
 * callee's announcement in PROGRESS, before any answer. Without an offer
 * there is no early media.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Audio from "../../src/rtp/Audio.ts"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import * as Recording from "../../src/testing/Recording.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { PEER_RTP, sdpOf, statusOf } from "./answered.ts"
import {
  ALICE,
  BOB,
  handing,
  hangupAnswered,
  inbox,
  invite,
  offerSdp,
  peerAt,
  phoneAt,
  rtpNetwork,
  runFor,
  settle,
  toPhone,
  world
} from "./helpers.ts"

const tone = (frequency: number, seconds: number) => Audio.fromSamples(Audio.tone(frequency, seconds * 1000))

describe("early media", () => {
  it.effect("progress: 183 with our answer, RTP to the caller while RINGING; answer repeats the same SDP in the 200", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const rtp = yield* rtpNetwork
      yield* phoneAt(ALICE, rtp, { rtpLow: 20000, onIncomingCall: calls.handler })
      const peer = yield* peerAt(BOB)
      const transaction = yield* peer.layer.request(invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP)), toPhone)
      const responses = yield* inbox(Stream.ignore(transaction.responses))
      const call = yield* calls.next
      yield* call.progress
      let provisional = yield* responses.next
      while (statusOf(provisional) !== 183) provisional = yield* responses.next
      const early = sdpOf(provisional)
      const ourPort = early.media[0]!.port
      yield* Effect.forkChild(call.play(tone(500, 2)))
      yield* runFor(200)
      expect(yield* call.state).toBe(CallState.RINGING)
      expect(rtp.sent.filter((datagram) => datagram.port === ourPort && datagram.address.port === PEER_RTP).length).toBeGreaterThan(5)
      // progress again is a no-op; answer sends the same answer in the 200
      yield* call.progress
      const answering = yield* Effect.forkChild(call.answer)
      let ok = yield* responses.next
      while (statusOf(ok) < 200) ok = yield* responses.next
      expect(statusOf(ok)).toBe(200)
      expect(new TextDecoder().decode(ok.rawBody)).toBe(new TextDecoder().decode(provisional.rawBody))
      yield* UaCore.acknowledge(peer.layer, transaction, Result.getOrThrow(Dialog.fromResponse(transaction.request, ok)))
      yield* Fiber.join(answering)
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* hangupAnswered(call, peer)
    }).pipe(Effect.provide(world())))

  it.effect("between two phones: Alice hears Bob's announcement in PROGRESS; Bob denies and every port comes back", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const bobCalls = yield* handing
      const bob = yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: bobCalls.handler })
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const call = yield* alice.call(`sip:phone@${BOB.address}:${BOB.port}`)
      const bobCall = yield* bobCalls.next
      yield* bobCall.progress
      const heard = yield* Effect.forkChild(Stream.runCollect(Stream.take(call.audio, 60)))
      yield* Effect.forkChild(bobCall.play(tone(700, 2)))
      yield* runFor(1300)
      expect(yield* call.state).toBe(CallState.PROGRESS)
      expect(yield* bobCall.state).toBe(CallState.RINGING)
      expect(Recording.dominantFrequency(Audio.concat([...(yield* Fiber.join(heard))].slice(10)))).toBe(700)
      yield* bobCall.deny(603)
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(yield* call.ended).toEqual({ _tag: "Declined", status: 603 })
      expect([yield* alice.rtpPortsInUse, yield* bob.rtpPortsInUse]).toEqual([0, 0])
    }).pipe(Effect.provide(world())))

  it.effect("an INVITE without an offer: progress fails with CallError and the call still rings", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const rtp = yield* rtpNetwork
      const phone = yield* phoneAt(ALICE, rtp, { rtpLow: 20000, onIncomingCall: calls.handler })
      const peer = yield* peerAt(BOB)
      yield* peer.layer.request(invite(BOB, ALICE), toPhone)
      const call = yield* calls.next
      const error = yield* Effect.flip(call.progress)
      expect(error._tag === "CallError" && error.message).toContain("the INVITE has no offer")
      expect(yield* call.state).toBe(CallState.RINGING)
      expect(yield* phone.rtpPortsInUse).toBe(0)
      yield* call.deny()
    }).pipe(Effect.provide(world())))
})
