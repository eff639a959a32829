/**
 * The recording analysis on signals whose content is known: tones with
 * their frequency and times, silence, Goertzel amplitudes, gaps.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Audio from "../../src/rtp/Audio.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import * as Recording from "../../src/testing/Recording.ts"

const silence = (millis: number) => new Int16Array(millis * 8)

const join = (...parts: ReadonlyArray<Int16Array>) => Audio.concat(parts)

describe("Recording", () => {
  it("tones: frequency to 1 Hz, start and end to the frame, split at silence and at a change of frequency", () => {
    const recording = Recording.fromSamples(join(silence(100), Audio.tone(440, 1000), Audio.tone(697, 200), silence(300), Audio.tone(1300, 240)), 5000)
    const tones = Recording.tones(recording)
    expect(tones.map((tone) => Math.round(tone.frequency))).toEqual([440, 697, 1300])
    expect(tones.map((tone) => [tone.startMillis, tone.endMillis])).toEqual([[5100, 6100], [6100, 6300], [6600, 6840]])
    expect(tones[0]!.durationMillis).toBe(1000)
    expect(tones[0]!.level).toBeCloseTo(8000 / Math.SQRT2, -2)
  })

  it("tones survive G.711: a PCMU round trip keeps every frequency", () => {
    const signal = join(Audio.tone(300, 200), silence(60), Audio.tone(400, 200), silence(60), Audio.tone(1200, 200))
    const tones = Recording.tones(Recording.fromSamples(PCMU.decode(PCMU.encode(signal))))
    expect(tones.map((tone) => Math.round(tone.frequency))).toEqual([300, 400, 1200])
  })

  it("short blips are left out, and bridgeMillis joins a tone across lost frames", () => {
    const signal = join(Audio.tone(500, 20), silence(200), Audio.tone(300, 100), silence(40), Audio.tone(300, 100))
    expect(Recording.tones(Recording.fromSamples(signal)).map((tone) => tone.durationMillis)).toEqual([100, 100])
    const bridged = Recording.tones(Recording.fromSamples(signal), { bridgeMillis: 40 })
    expect(bridged.map((tone) => [Math.round(tone.frequency), tone.startMillis, tone.endMillis])).toEqual([[300, 220, 460]])
  })

  it("a gap in the frame times (audio on hold) splits a tone", () => {
    const first = Recording.fromSamples(Audio.tone(440, 200), 0)
    const second = Recording.fromSamples(Audio.tone(440, 200), 1000)
    const tones = Recording.tones({ frames: [...first.frames, ...second.frames] })
    expect(tones.map((tone) => [tone.startMillis, tone.endMillis])).toEqual([[0, 200], [1000, 1200]])
  })

  it("isSilent, between, durationMillis and samples", () => {
    const recording = Recording.fromSamples(join(silence(500), Audio.tone(440, 500, 200), Audio.tone(440, 500)))
    expect(Recording.durationMillis(recording)).toBe(1500)
    expect(Recording.samples(recording)).toHaveLength(12000)
    expect(Recording.isSilent(Recording.between(recording, 0, 1000))).toBe(true)
    expect(Recording.isSilent(Recording.between(recording, 1000))).toBe(false)
    expect(Recording.isSilent(Recording.between(recording, 500, 1000), 100)).toBe(false)
    expect(Recording.isSilent(silence(20))).toBe(true)
  })

  it("goertzel gives a sine's amplitude at its frequency and next to nothing elsewhere; dominantFrequency finds it", () => {
    const tone = Audio.tone(1000, 100, 10000)
    expect(Recording.goertzel(tone, 1000)).toBeCloseTo(10000, -2)
    expect(Recording.goertzel(tone, 1500)).toBeLessThan(100)
    expect(Recording.dominantFrequency(Audio.tone(941, 200))).toBe(941)
    expect(Recording.dominantFrequency(silence(200))).toBeUndefined()
  })
})
