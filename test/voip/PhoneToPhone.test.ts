/**
 * Two phones on the in-memory network, under TestClock: one calls, the
 * other's handler answers, both see the states in order, the hangup ends
 * both, and every RTP port comes back.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { CallState } from "../../src/voip/CallState.ts"
import type { VoIPCall } from "../../src/voip/VoIPCall.ts"
import { ALICE, BOB, phoneAt, rtpNetwork, settle, world } from "./helpers.ts"

describe("phone to phone", () => {
  it.effect("Alice calls Bob, Bob answers, Alice hangs up", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const incoming = yield* Deferred.make<VoIPCall>()
      const bobStates = yield* Deferred.make<ReadonlyArray<CallState>>()
      const bob = yield* phoneAt(BOB, rtp, {
        rtpLow: 20100,
        onIncomingCall: (call) =>
          Effect.gen(function*() {
            const states = yield* call.states.pipe(Stream.runCollect, Effect.forkChild)
            yield* Deferred.succeed(incoming, call)
            yield* call.answer
            yield* Deferred.succeed(bobStates, yield* Fiber.join(states))
          })
      })
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const call = yield* alice.call(`sip:phone@${BOB.address}:${BOB.port}`)
      const aliceStates = yield* call.states.pipe(Stream.runCollect, Effect.forkChild)
      expect(yield* call.state).toBe(CallState.DIALING)
      yield* settle
      const bobCall = yield* Deferred.await(incoming)
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      expect(yield* bobCall.state).toBe(CallState.ANSWERED)
      expect(yield* alice.rtpPortsInUse).toBe(1)
      expect(yield* bob.rtpPortsInUse).toBe(1)
      yield* call.hangup
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(yield* call.endReason).toEqual(Option.some({ _tag: "LocalHangup" }))
      expect(yield* bobCall.ended).toEqual({ _tag: "RemoteHangup" })
      expect(Array.from(yield* Fiber.join(aliceStates))).toEqual([CallState.DIALING, CallState.ANSWERED, CallState.ENDED])
      expect(Array.from(yield* Deferred.await(bobStates))).toEqual([CallState.RINGING, CallState.ANSWERED, CallState.ENDED])
      expect(yield* alice.rtpPortsInUse).toBe(0)
      expect(yield* bob.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))
})
