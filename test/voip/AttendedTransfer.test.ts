/**
 * Attended transfer (RFC 5589 §7) with Replaces (RFC 3891) under TestClock:
 * three phones, where Bob, in a call with Alice, consults Carol and then
 * transfers Alice to her: Alice's INVITE with Replaces takes the place of
 * Bob's call at Carol's phone, and Alice and Carol hear each other. Then a
 * bare peer sends INVITEs with a Replaces the phone must refuse.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Audio from "../../src/rtp/Audio.ts"
import * as Recording from "../../src/testing/Recording.ts"
import type { Endpoint } from "../../src/transport/SipTransport.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import { answered, peerOffer, statusOf } from "./answered.ts"
import {
  ALICE,
  answering,
  BOB,
  handing,
  hangupAnswered,
  invite,
  phoneAt,
  rtpNetwork,
  runFor,
  settle,
  toPhone,
  world
} from "./helpers.ts"

const CAROL: Endpoint = { address: "10.0.0.3", port: 5060 }
const uriOf = (endpoint: Endpoint) => `sip:phone@${endpoint.address}:${endpoint.port}`

/** Two seconds of a `frequency` Hz sine, loud enough to stand out from silence. */
const tone = (frequency: number) => Audio.fromSamples(Audio.tone(frequency, 2000))

/** The first event of `events` (collected by a fiber) with `tag`. */
const eventOf = <T extends CallEvent["_tag"]>(events: ReadonlyArray<CallEvent>, tag: T) =>
  events.find((event): event is Extract<CallEvent, { _tag: T }> => event._tag === tag)

describe("attended transfer between three phones", () => {
  it.effect("Bob transfers Alice to Carol after consulting her: Alice's INVITE replaces Bob's call at Carol", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const bobCalls = yield* answering
      const carolCalls = yield* answering
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const bob = yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: bobCalls.handler })
      yield* phoneAt(CAROL, rtp, { rtpLow: 20200, onIncomingCall: carolCalls.handler })

      const aliceToBob = yield* alice.call(uriOf(BOB))
      const aliceEvents = yield* Effect.forkChild(Stream.runCollect(aliceToBob.events))
      const bobFromAlice = yield* bobCalls.next
      const consultation = yield* bob.call(uriOf(CAROL))
      const carolFromBob = yield* carolCalls.next
      const carolEvents = yield* Effect.forkChild(Stream.runCollect(carolFromBob.events))
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect([yield* aliceToBob.state, yield* consultation.state]).toEqual([CallState.ANSWERED, CallState.ANSWERED])

      const transferring = yield* Effect.forkChild(bobFromAlice.transferTo(consultation))
      yield* runFor(100)
      expect(yield* Fiber.join(transferring)).toBe(true)

      // Bob is out of both calls: he hung up on Alice, Carol hung up on him
      expect(yield* bobFromAlice.ended).toEqual({ _tag: "LocalHangup" })
      expect(yield* consultation.ended).toEqual({ _tag: "RemoteHangup" })
      expect(yield* aliceToBob.ended).toEqual({ _tag: "RemoteHangup" })
      expect(yield* carolFromBob.ended).toEqual({ _tag: "Replaced" })

      const aliceToCarol = eventOf(yield* Fiber.join(aliceEvents), "Transferred")!.call
      const carolFromAlice = eventOf(yield* Fiber.join(carolEvents), "Replaced")!.call
      expect(aliceToCarol.callId).toBe(carolFromAlice.callId)
      // Carol's tag, then Bob's: the dialog as Carol sees it (RFC 3891 §3)
      expect(carolFromAlice.request.headers.get("Replaces")).toMatch(
        new RegExp(`^${carolFromBob.callId.replaceAll(".", "\\.")};to-tag=[^;]+;from-tag=${carolFromBob.request.from!.tag}$`)
      )
      expect(carolFromAlice.request.headers.get("Supported")).toContain("replaces")
      expect([yield* aliceToCarol.state, yield* carolFromAlice.state]).toEqual([CallState.ANSWERED, CallState.ANSWERED])
      expect(yield* bob.rtpPortsInUse).toBe(0)

      // Alice and Carol now hear each other
      const carolHears = yield* Effect.forkChild(Stream.runCollect(Stream.take(carolFromAlice.audio, 60)))
      const aliceHears = yield* Effect.forkChild(Stream.runCollect(Stream.take(aliceToCarol.audio, 60)))
      yield* Effect.forkChild(aliceToCarol.play(tone(700)))
      yield* Effect.forkChild(carolFromAlice.play(tone(1200)))
      yield* runFor(1400)
      const heard = (frames: Iterable<Int16Array>) => Recording.dominantFrequency(Audio.concat([...frames].slice(20)))
      expect(heard(yield* Fiber.join(carolHears))).toBe(700)
      expect(heard(yield* Fiber.join(aliceHears))).toBe(1200)

      yield* aliceToCarol.hangup
      yield* runFor(40)
      expect(yield* carolFromAlice.ended).toEqual({ _tag: "RemoteHangup" })
    }).pipe(Effect.provide(world())))

  it.effect("transferTo needs the consultation to be an answered call of the same phone", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const bobCalls = yield* answering
      const carolCalls = yield* handing
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: bobCalls.handler })
      yield* phoneAt(CAROL, rtp, { rtpLow: 20200, onIncomingCall: carolCalls.handler })
      const aliceToBob = yield* alice.call(uriOf(BOB))
      yield* bobCalls.next
      const ringing = yield* alice.call(uriOf(CAROL))
      yield* carolCalls.next
      yield* TestClock.adjust("10 millis")
      yield* settle
      const notAnswered = yield* Effect.flip(aliceToBob.transferTo(ringing))
      expect(notAnswered.message).toContain("the consultation call is not an answered call of this phone")
      yield* ringing.cancel
      const unanswered = yield* Effect.flip(ringing.transferTo(aliceToBob))
      expect(unanswered._tag).toBe("InvalidStateError")
      expect(yield* aliceToBob.state).toBe(CallState.ANSWERED)
    }).pipe(Effect.provide(world())))
})

describe("an INVITE with Replaces the phone refuses", () => {
  const replacing = (setup: Effect.Success<typeof answered>, replaces: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const request = invite(BOB, ALICE, peerOffer(30100), replaces.map((value) => ["Replaces", value] as const))
      const transaction = yield* setup.peer.layer.request(request, toPhone)
      const final = yield* transaction.responses.pipe(
        Stream.filter((response) => statusOf(response) >= 200),
        Stream.runHead
      )
      return final._tag === "Some" ? statusOf(final.value) : 0
    })

  it.effect("481 for no such dialog (also once ended), 486 for early-only on an answered call, 400 malformed or twice", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      // the peer's dialog: its local tag is the From tag, the phone's the To tag
      const dialog = setup.dialog.get()
      const ours = `${dialog.callId};to-tag=${dialog.remoteTag};from-tag=${dialog.localTag}`
      expect(yield* replacing(setup, [`unknown@test;to-tag=${dialog.remoteTag};from-tag=${dialog.localTag}`])).toBe(481)
      expect(yield* replacing(setup, [`${dialog.callId};to-tag=${dialog.localTag};from-tag=${dialog.remoteTag}`])).toBe(481)
      expect(yield* replacing(setup, [`${ours};early-only`])).toBe(486)
      expect(yield* replacing(setup, [`${dialog.callId};to-tag=${dialog.remoteTag}`])).toBe(400)
      expect(yield* replacing(setup, [ours, ours])).toBe(400)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* hangupAnswered(setup.call, setup.peer)
      // the ended call is no dialog of the phone any more
      expect(yield* replacing(setup, [ours])).toBe(481)
    }).pipe(Effect.provide(world())))
})
