/**
 * A call's media between two phones under TestClock (RTP on an in-memory
 * socket network): audio through the Stream API and through pyVoIP's 8-bit
 * `writeAudio` / `readAudio`, RFC 4733 DTMF with pyVoIP's `getDtmf` buffer,
 * and barge-in: a prompt cut by a digit, or by the hangup.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Audio from "../../src/rtp/Audio.ts"
import * as Linear8 from "../../src/rtp/Linear8.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { bestOffset, chirp, concat } from "../rtp/session/helpers.ts"
import { ALICE, BOB, energy, handing, phoneAt, rtpNetwork, runFor, settle, world } from "./helpers.ts"

/** Alice calls Bob, Bob answers: both calls ANSWERED. */
const connected = Effect.gen(function*() {
  const rtp = yield* rtpNetwork
  const calls = yield* handing
  yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: calls.handler })
  const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
  const caller = yield* alice.call(`sip:phone@${BOB.address}:${BOB.port}`)
  yield* settle
  const callee = yield* calls.next
  const silentBefore = yield* callee.readAudio(160, true)
  yield* callee.answer
  yield* settle
  expect([yield* caller.state, yield* callee.state]).toEqual([CallState.ANSWERED, CallState.ANSWERED])
  return { caller, callee, silentBefore }
})


describe("call media", () => {
  it.effect("audio through the Stream API: a chirp Alice plays arrives at Bob", () =>
    Effect.gen(function*() {
      const { callee, caller } = yield* connected
      const signal = chirp(0.6)
      const recording = yield* Effect.forkChild(callee.audio.pipe(Stream.take(60), Stream.runCollect))
      yield* settle
      const playing = yield* Effect.forkChild(caller.play(Audio.fromSamples(signal)))
      yield* runFor(1300)
      yield* Fiber.join(playing)
      const { correlation } = bestOffset(signal, concat(Array.from(yield* Fiber.join(recording))))
      expect(correlation).toBeGreaterThan(0.99)
      yield* caller.hangup
      yield* settle
    }).pipe(Effect.provide(world())))

  it.effect("pyVoIP's 8-bit audio: readAudio(160) before the answer is silence; writeAudio at one end is readAudio at the other", () =>
    Effect.gen(function*() {
      const { callee, caller, silentBefore } = yield* connected
      expect(silentBefore).toEqual(new Uint8Array(160).fill(0x80))
      const signal = chirp(0.4)
      // reading starts keeping audio, so read once before anything is sent
      yield* callee.readAudio(160, false)
      yield* caller.writeAudio(Linear8.fromInt16(signal))
      const reads: Array<Uint8Array> = []
      const reader = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 0; i < 40; i++) reads.push(yield* callee.readAudio(160, true))
      }))
      yield* runFor(1000)
      yield* Fiber.join(reader)
      expect(reads.every((read) => read.length === 160)).toBe(true)
      const heard = Linear8.toInt16(new Uint8Array(reads.flatMap((read) => Array.from(read))))
      expect(bestOffset(signal, heard).correlation).toBeGreaterThan(0.98)
      yield* caller.hangup
      yield* settle
      // after the end, reads return silence at once, blocking or not
      expect(yield* callee.readAudio(160, true)).toEqual(new Uint8Array(160).fill(0x80))
    }).pipe(Effect.provide(world())))

  it.effect("RFC 4733 DTMF: sendDtmf at one end; getDtmf with pyVoIP's buffer, the dtmf stream and the events at the other", () =>
    Effect.gen(function*() {
      const { callee, caller } = yield* connected
      const stream = yield* Effect.forkChild(callee.dtmf.pipe(Stream.take(3), Stream.runCollect))
      const events = yield* Effect.forkChild(callee.events.pipe(Stream.filter((event) => event._tag === "Dtmf"), Stream.take(3), Stream.runCollect))
      yield* settle
      expect(yield* callee.getDtmf()).toBe("")
      const sending = yield* Effect.forkChild(caller.sendDtmf("12#"))
      yield* runFor(1500)
      yield* Fiber.join(sending)
      expect(Array.from(yield* Fiber.join(stream)).join("")).toBe("12#")
      expect(Array.from(yield* Fiber.join(events))).toEqual([
        { _tag: "Dtmf", digit: "1" },
        { _tag: "Dtmf", digit: "2" },
        { _tag: "Dtmf", digit: "#" }
      ])
      expect([yield* callee.getDtmf(), yield* callee.getDtmf(-1), yield* callee.getDtmf(), yield* callee.getDtmf(5)]).toEqual(["1", "2#", "", ""])
      expect(yield* Effect.flip(caller.sendDtmf("X"))).toMatchObject({ _tag: "DtmfSendError" })
      yield* caller.hangup
      yield* settle
    }).pipe(Effect.provide(world())))

  it.effect("barge-in: playUntilDtmf stops the prompt at the first digit, which stays for getDtmf", () =>
    Effect.gen(function*() {
      const { callee, caller } = yield* connected
      const prompt = chirp(5)
      const playing = yield* Effect.forkChild(callee.playUntilDtmf(Audio.fromSamples(prompt)))
      yield* runFor(400)
      const heardBefore = yield* Effect.forkChild(caller.audio.pipe(Stream.take(10), Stream.runCollect))
      yield* runFor(200)
      expect(energy(concat(Array.from(yield* Fiber.join(heardBefore))))).toBeGreaterThan(1000)
      yield* Effect.forkChild(caller.sendDtmf("5"))
      yield* runFor(300)
      expect(yield* Fiber.join(playing)).toBe(true)
      expect(yield* callee.getDtmf()).toBe("5")
      // the rest of the prompt was dropped: the caller hears silence
      yield* runFor(200)
      const heardAfter = yield* Effect.forkChild(caller.audio.pipe(Stream.take(10), Stream.runCollect))
      yield* runFor(300)
      expect(energy(concat(Array.from(yield* Fiber.join(heardAfter))))).toBeLessThan(50)
      yield* caller.hangup
      yield* settle
    }).pipe(Effect.provide(world())))

  it.effect("barge-in by hangup: a playing prompt stops when the call ends, and the audio stream ends", () =>
    Effect.gen(function*() {
      const { callee, caller } = yield* connected
      const playing = yield* Effect.forkChild(callee.play(Audio.fromSamples(chirp(5))))
      const listening = yield* Effect.forkChild(Stream.runCollect(callee.audio))
      yield* runFor(300)
      yield* caller.hangup
      yield* runFor(100)
      yield* Fiber.join(playing)
      expect((yield* Fiber.join(listening)).length).toBeGreaterThan(0)
      expect(yield* callee.ended).toEqual({ _tag: "RemoteHangup" })
      expect(yield* callee.playUntilDtmf(Audio.fromSamples(chirp(1)))).toBe(false)
    }).pipe(Effect.provide(world())))
})
