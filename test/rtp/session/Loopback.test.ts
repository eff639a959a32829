/**
 * Two real sessions on 127.0.0.1 talking to each other: audio both ways
 * (a chirp, correlated with what arrives), DTMF both ways.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Audio from "../../../src/rtp/Audio.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import { chirp, concat, connect, missingFrames, sessionsLayer } from "./helpers.ts"

describe("two sessions on loopback", () => {
  it.live("a chirp sent by one arrives intact at the other, frame-aligned", () =>
    Effect.gen(function*() {
      const a = yield* RTPClient.make({ address: "127.0.0.1" })
      const b = yield* RTPClient.make({ address: "127.0.0.1" })
      yield* connect(a, b)
      const signal = chirp(1.5)
      // 2.5 s of B's playout: the chirp, the jitter buffer's delay and margin.
      const recording = yield* b.audio.pipe(Stream.take(125), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("100 millis")
      yield* a.play(Audio.fromSamples(signal))
      const received = concat(yield* Fiber.join(recording))
      expect(missingFrames(signal, received)).toEqual([])
      const stats = yield* b.stats
      expect(stats.packetsReceived).toBeGreaterThan(100)
      expect(stats.foreignPackets).toBe(0)
      expect(stats.malformedPackets).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))
})
