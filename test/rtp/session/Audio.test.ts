/**
 * The audio helpers: the outgoing queue between playback and the send
 * fiber, WAV files to and from streams, and the tone generator.
 */
import { describe, expect, it } from "@effect/vitest"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Fiber, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Audio from "../../../src/rtp/Audio.ts"
import * as Wav from "../../../src/rtp/Wav.ts"
import * as Recording from "../../../src/testing/Recording.ts"
import { chirp, concat } from "./helpers.ts"

const ramp = (from: number, count: number) => Int16Array.from({ length: count }, (_, i) => from + i)

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-audio-")), name)

describe("Outbox", () => {
  it.effect("packetizes across pushed chunks and pads the last packet with silence", () =>
    Effect.sync(() => {
      const outbox = new Audio.Outbox(480)
      outbox.push(ramp(1, 100))
      outbox.push(ramp(101, 150))
      const packet = new Int16Array(160)
      expect(outbox.takeInto(packet)).toBe(true)
      expect(packet).toEqual(ramp(1, 160))
      expect(outbox.takeInto(packet)).toBe(true)
      expect(packet).toEqual(Int16Array.from({ length: 160 }, (_, i) => (i < 90 ? 161 + i : 0)))
      expect(outbox.takeInto(packet)).toBe(false)
      expect(outbox.size).toBe(0)
    }))

  it.effect("offer waits for room, drained waits for the send fiber, flush releases both", () =>
    Effect.gen(function*() {
      const outbox = new Audio.Outbox(320)
      yield* outbox.offer(ramp(0, 160))
      yield* outbox.offer(ramp(0, 160))
      const third = yield* Effect.forkChild(outbox.offer(ramp(0, 160)), { startImmediately: true })
      const drained = yield* Effect.forkChild(outbox.drained, { startImmediately: true })
      expect(third.pollUnsafe()).toBeUndefined()
      outbox.takeInto(new Int16Array(160))
      yield* Fiber.join(third)
      expect(outbox.size).toBe(320)
      expect(drained.pollUnsafe()).toBeUndefined()
      const fourth = yield* Effect.forkChild(outbox.offer(ramp(0, 160)), { startImmediately: true })
      expect(fourth.pollUnsafe()).toBeUndefined()
      outbox.flush()
      yield* Fiber.join(drained)
      yield* Fiber.join(fourth)
      expect(outbox.size).toBe(160)
    }))
})

describe("WAV streams", () => {
  it.effect("recordWav writes what a stream carries; fromWavFile reads it back in 20 ms frames", () =>
    Effect.gen(function*() {
      const file = tempFile("chirp.wav")
      const signal = chirp(0.5)
      expect(yield* Audio.recordWav(file, Audio.fromSamples(signal))).toBe(4000)
      const decoded = yield* Wav.decode(new Uint8Array(fs.readFileSync(file)))
      expect(decoded.samples).toEqual(signal)
      const frames = yield* Stream.runCollect(Audio.fromWavFile(file))
      expect(frames.map((frame) => frame.length)).toEqual(Array.from({ length: 25 }, () => 160))
      expect(concat(frames)).toEqual(signal)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.live("an interrupted recording (the call hung up) still leaves a complete file", () =>
    Effect.gen(function*() {
      const file = tempFile("cut.wav")
      const endless = Stream.concat(Audio.fromSamples(ramp(-500, 800)), Stream.never)
      const recorder = yield* Effect.forkChild(Audio.recordWav(file, endless))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(recorder)
      const decoded = yield* Wav.decode(new Uint8Array(fs.readFileSync(file)))
      expect(decoded.samples).toEqual(ramp(-500, 800))
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("tone", () => {
  it("millis of a sine at 8 kHz: its length, its peak, its frequency to the hertz", () => {
    const beep = Audio.tone(697, 250, 10000)
    expect(beep.length).toBe(2000)
    expect(Math.max(...beep)).toBeGreaterThan(9900)
    expect(Math.max(...beep)).toBeLessThanOrEqual(10000)
    expect(Recording.dominantFrequency(beep)).toBe(697)
  })
})
