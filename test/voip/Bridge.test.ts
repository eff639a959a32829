/**
 * Two calls bridged through a bot phone, under TestClock: Alice calls the
 * bot, the bot calls Carol and joins the two calls. Each hears the other's
 * tone, Alice's digits reach Carol as RFC 4733 events, and when Alice hangs
 * up the bridge ends Carol's call too.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import * as Audio from "../../src/rtp/Audio.ts"
import * as Recording from "../../src/testing/Recording.ts"
import type { Endpoint } from "../../src/transport/SipTransport.ts"
import { bridge } from "../../src/voip/Bridge.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { VoIPCall } from "../../src/voip/VoIPCall.ts"
import type { VoIPPhoneShape } from "../../src/voip/VoIPPhone.ts"
import { ALICE, answering, BOB, handing, phoneAt, rtpNetwork, runFor, world } from "./helpers.ts"

const CAROL: Endpoint = { address: "10.0.0.3", port: 5060 }

/** The frequency that stands out in `frames`, past the first `skip` (before the bridge carried anything). */
const heard = (frames: Iterable<Int16Array>, skip: number) => Recording.dominantFrequency(Audio.concat([...frames].slice(skip)))

describe("bridge", () => {
  it.effect("joins two answered calls: audio both ways, digits forwarded, one hangup ends both", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const carolCalls = yield* answering
      const botPhone = yield* Deferred.make<VoIPPhoneShape>()
      const bridged = yield* Deferred.make<{ readonly fromAlice: VoIPCall; readonly toCarol: VoIPCall; readonly firstEnded: VoIPCall }>()
      const bot = yield* phoneAt(BOB, rtp, {
        rtpLow: 20100,
        onIncomingCall: (fromAlice) =>
          Effect.gen(function*() {
            yield* fromAlice.answer
            const toCarol = yield* (yield* Deferred.await(botPhone)).call(`sip:phone@${CAROL.address}:${CAROL.port}`)
            yield* toCarol.states.pipe(Stream.filter((state) => state === CallState.ANSWERED), Stream.runHead)
            const firstEnded = yield* bridge(fromAlice, toCarol)
            yield* Deferred.succeed(bridged, { fromAlice, toCarol, firstEnded })
          })
      })
      yield* Deferred.succeed(botPhone, bot)
      yield* phoneAt(CAROL, rtp, { rtpLow: 20200, onIncomingCall: carolCalls.handler })
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })

      const call = yield* alice.call(`sip:bot@${BOB.address}:${BOB.port}`)
      const carol = yield* carolCalls.next
      yield* runFor(100)
      expect([yield* call.state, yield* carol.state]).toEqual([CallState.ANSWERED, CallState.ANSWERED])

      const carolHears = yield* Effect.forkChild(Stream.runCollect(Stream.take(carol.audio, 80)))
      const aliceHears = yield* Effect.forkChild(Stream.runCollect(Stream.take(call.audio, 80)))
      const carolDigits = yield* Effect.forkChild(Stream.runCollect(Stream.take(carol.dtmf, 2)))
      yield* Effect.forkChild(call.play(Audio.fromSamples(Audio.tone(700, 3000))))
      yield* Effect.forkChild(carol.play(Audio.fromSamples(Audio.tone(1200, 3000))))
      yield* runFor(1800)
      expect(heard(yield* Fiber.join(carolHears), 20)).toBe(700)
      expect(heard(yield* Fiber.join(aliceHears), 20)).toBe(1200)

      yield* Effect.forkChild(call.sendDtmf("5#"))
      yield* runFor(1500)
      expect(Array.from(yield* Fiber.join(carolDigits)).join("")).toBe("5#")

      yield* call.hangup
      yield* runFor(100)
      const { firstEnded, fromAlice, toCarol } = yield* Deferred.await(bridged)
      expect(firstEnded).toBe(fromAlice)
      expect(yield* toCarol.endReason).toEqual(Option.some({ _tag: "LocalHangup" }))
      expect(yield* carol.ended).toEqual({ _tag: "RemoteHangup" })
      expect(yield* bot.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("a call that is not answered cannot be bridged: InvalidStateError", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const bobCalls = yield* handing
      yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: bobCalls.handler })
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const call = yield* alice.call(`sip:bot@${BOB.address}:${BOB.port}`)
      const ringing = yield* bobCalls.next
      const error = yield* Effect.flip(bridge(call, ringing))
      expect(error).toMatchObject({ _tag: "InvalidStateError", action: "bridge", allowed: [CallState.ANSWERED] })
      yield* ringing.deny()
    }).pipe(Effect.provide(world())))
})
