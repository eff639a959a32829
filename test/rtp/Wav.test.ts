import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as PCMA from "../../src/rtp/PCMA.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import { resample } from "../../src/rtp/Resample.ts"
import * as Wav from "../../src/rtp/Wav.ts"

interface WavSpec {
  readonly tag?: number
  readonly channels?: number
  readonly sampleRate?: number
  readonly bits?: number
  readonly blockAlign?: number
  readonly extensible?: boolean
  readonly before?: ReadonlyArray<Uint8Array>
  readonly dataSize?: number
  readonly data: Uint8Array
}

const chunk = (id: string, body: Uint8Array, declaredSize = body.length): Uint8Array => {
  const bytes = new Uint8Array(8 + body.length + (body.length & 1))
  bytes.set(Buffer.from(id, "latin1"))
  new DataView(bytes.buffer).setUint32(4, declaredSize, true)
  bytes.set(body, 8)
  return bytes
}

/** A WAV file written field by field, so tests can break any of them. */
const buildWav = (spec: WavSpec): Uint8Array => {
  const channels = spec.channels ?? 1
  const sampleRate = spec.sampleRate ?? 8000
  const bits = spec.bits ?? 16
  const fmt = new DataView(new ArrayBuffer(spec.extensible ? 40 : 16))
  fmt.setUint16(0, spec.extensible ? 0xfffe : spec.tag ?? 1, true)
  fmt.setUint16(2, channels, true)
  fmt.setUint32(4, sampleRate, true)
  fmt.setUint32(8, (sampleRate * channels * bits) / 8, true)
  fmt.setUint16(12, spec.blockAlign ?? (channels * bits) / 8, true)
  fmt.setUint16(14, bits, true)
  if (spec.extensible) {
    fmt.setUint16(16, 22, true)
    fmt.setUint16(18, bits, true)
    fmt.setUint16(24, spec.tag ?? 1, true)
  }
  const body = Buffer.concat([
    Buffer.from("WAVE"),
    ...(spec.before ?? []),
    chunk("fmt ", new Uint8Array(fmt.buffer)),
    chunk("data", spec.data, spec.dataSize)
  ])
  return Uint8Array.from(Buffer.concat([Buffer.from("RIFF"), Buffer.from(Uint32Array.of(body.length).buffer), body]))
}

const int16Bytes = (samples: ArrayLike<number>): Uint8Array => Uint8Array.from(Buffer.from(Int16Array.from(samples).buffer))
const sine = (frequency: number, rate: number, count: number, amplitude = 10000): Array<number> =>
  Array.from({ length: count }, (_, n) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * n) / rate)))

const decodeOk = (bytes: Uint8Array, rate?: number) => Result.getOrThrow(Wav.decodeResult(bytes, rate))
const reason = (bytes: Uint8Array): string => {
  const result = Wav.decodeResult(bytes)
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure.reason
}

/** Amplitude of `frequency` in `samples` (a single-bin DFT), skipping the edges where the filter starts up. */
const amplitudeAt = (samples: ArrayLike<number>, frequency: number, rate: number): number => {
  let re = 0
  let im = 0
  const from = 200
  const to = samples.length - 200
  for (let n = from; n < to; n++) {
    re += samples[n]! * Math.cos((2 * Math.PI * frequency * n) / rate)
    im += samples[n]! * Math.sin((2 * Math.PI * frequency * n) / rate)
  }
  return (2 * Math.hypot(re, im)) / (to - from)
}

describe("WAV", () => {
  it("reads 8 kHz mono 16-bit as is, and encode/decode round-trips", () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 1234])
    expect(decodeOk(buildWav({ data: int16Bytes(samples) }))).toEqual({
      samples,
      sampleRate: 8000,
      source: { encoding: "pcm", channels: 1, sampleRate: 8000, bitsPerSample: 16 }
    })
    expect(decodeOk(Wav.encode(samples)).samples).toEqual(samples)
  })

  it("reads 8-bit unsigned, μ-law, A-law, 24-bit, 32-bit and float samples", () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(decodeOk(buildWav({ bits: 8, data: codes })).samples).toEqual(Int16Array.from(codes, (v) => (v - 128) * 256))
    expect(decodeOk(buildWav({ tag: 7, bits: 8, data: codes })).samples).toEqual(PCMU.decode(codes))
    expect(decodeOk(buildWav({ tag: 6, bits: 8, data: codes, extensible: true })).samples).toEqual(PCMA.decode(codes))
    expect(decodeOk(buildWav({ bits: 24, data: Uint8Array.of(0x00, 0x34, 0x12, 0x00, 0x00, 0x80) })).samples)
      .toEqual(Int16Array.of(0x1234, -32768))
    expect(decodeOk(buildWav({ bits: 32, data: Uint8Array.from(Buffer.from(Int32Array.of(0x12345678, -65536).buffer)) })).samples)
      .toEqual(Int16Array.of(0x1234, -1))
    expect(decodeOk(buildWav({ tag: 3, bits: 32, data: Uint8Array.from(Buffer.from(Float32Array.of(0.5, -1, 2).buffer)) })).samples)
      .toEqual(Int16Array.of(16384, -32768, 32767))
  })

  it("averages channels", () => {
    const data = int16Bytes([1000, -3000, 32767, 32767, -5, 6])
    expect(decodeOk(buildWav({ channels: 2, data })).samples).toEqual(Int16Array.of(-1000, 32767, 1))
  })

  it("skips other chunks (odd sizes padded), and reads a data chunk cut short", () => {
    const samples = sine(440, 8000, 100)
    const file = buildWav({ before: [chunk("LIST", Uint8Array.of(1, 2, 3))], data: int16Bytes(samples), dataSize: 0xffffffff })
    expect(Array.from(decodeOk(file).samples)).toEqual(samples)
    // A trailing half sample frame is dropped.
    expect(decodeOk(buildWav({ data: Uint8Array.of(1, 0, 2) })).samples).toEqual(Int16Array.of(1))
  })

  it("resamples to 8 kHz keeping the pass band and removing what would alias", () => {
    for (const rate of [16000, 44100, 48000, 11025]) {
      const tone = decodeOk(buildWav({ sampleRate: rate, data: int16Bytes(sine(1000, rate, rate)) })).samples
      expect(tone.length).toBe(8000)
      expect(amplitudeAt(tone, 1000, 8000)).toBeGreaterThan(9900)
      expect(amplitudeAt(tone, 1000, 8000)).toBeLessThan(10100)
    }
    // 6 kHz at 16 kHz would fold to 2 kHz at 8 kHz: it must be filtered out (> 60 dB down).
    const high = decodeOk(buildWav({ sampleRate: 16000, data: int16Bytes(sine(6000, 16000, 16000)) })).samples
    expect(amplitudeAt(high, 2000, 8000)).toBeLessThan(10)
    // And upsampling 8 kHz → 16 kHz keeps a 3 kHz tone and adds no image at 5 kHz.
    const up = resample(Float32Array.from(sine(3000, 8000, 8000)), 8000, 16000)
    expect(amplitudeAt(up, 3000, 16000)).toBeGreaterThan(9900)
    expect(amplitudeAt(up, 5000, 16000)).toBeLessThan(10)
  })

  it("fails with a reason on malformed files", () => {
    const data = int16Bytes([1, 2])
    expect(reason(new Uint8Array(4))).toBe("no RIFF/WAVE header")
    expect(reason(Uint8Array.from(Buffer.from("RIFF\x04\x00\x00\x00WAVX", "latin1")))).toBe("no RIFF/WAVE header")
    expect(reason(buildWav({ tag: 2, data }))).toBe("format tag 0x2 is not PCM, float, μ-law or A-law")
    expect(reason(buildWav({ bits: 12, data }))).toBe("12-bit pcm samples are not supported")
    expect(reason(buildWav({ tag: 7, bits: 16, data }))).toBe("16-bit mulaw samples are not supported")
    expect(reason(buildWav({ channels: 0, data }))).toBe("0 channels")
    expect(reason(buildWav({ sampleRate: 0, data }))).toBe("sample rate 0 Hz")
    expect(reason(buildWav({ blockAlign: 3, data }))).toBe("block align 3 does not match 1 channels of 16 bits")
    expect(reason(buildWav({ before: [chunk("LIST", new Uint8Array(4), 999)], data }))).toBe("LIST chunk of 999 octets overruns the file")
    const riff = (body: Uint8Array) => Uint8Array.from(Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVE"), body]))
    expect(reason(riff(chunk("data", data)))).toBe("data chunk before the fmt chunk")
    expect(reason(riff(chunk("fmt ", new Uint8Array(8))))).toBe("fmt chunk of 8 octets, expected at least 16")
    expect(reason(riff(new Uint8Array(0)))).toBe("no fmt chunk")
    const noData = buildWav({ data }).subarray(0, 36)
    expect(reason(noData)).toBe("no data chunk")
  })

  it.effect("decode is the Effect form", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Wav.decode(new Uint8Array(0)))
      expect(error.message).toBe("unreadable WAV file: no RIFF/WAVE header")
      expect((yield* Wav.decode(Wav.encode(Int16Array.of(5)))).samples).toEqual(Int16Array.of(5))
    }))

  it("property: arbitrary bytes behind a RIFF/WAVE header give a Result and never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (tail) => {
      const bytes = Uint8Array.from(Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVEfmt "), tail]))
      const result = Wav.decodeResult(bytes)
      expect(Result.isSuccess(result) || result.failure._tag === "WavFormatError").toBe(true)
    }), { numRuns: 3000 })
  })
})

describe("WAV against sox", () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-wav-"))
  const sox = (...args: Array<string>) => execFileSync("sox", args, { stdio: ["ignore", "pipe", "pipe"] })
  const soxInfo = (file: string, option: string) => execFileSync("sox", ["--i", option, file]).toString().trim()

  it("sox reads our 8 kHz mono 16-bit files", () => {
    const file = path.join(directory, "ours.wav")
    fs.writeFileSync(file, Wav.encode(Int16Array.from(sine(1000, 8000, 8000))))
    expect([soxInfo(file, "-r"), soxInfo(file, "-c"), soxInfo(file, "-b"), soxInfo(file, "-s"), soxInfo(file, "-e")])
      .toEqual(["8000", "1", "16", "8000", "Signed Integer PCM"])
  })

  it("decodes sox's μ-law, A-law and 8-bit files exactly as sox converts them", () => {
    for (const [encoding, bits] of [["u-law", "8"], ["a-law", "8"], ["unsigned-integer", "8"]] as const) {
      const file = path.join(directory, `${encoding}.wav`)
      sox("-n", "-r", "8000", "-c", "1", "-e", encoding, "-b", bits, file, "synth", "0.25", "sine", "700", "vol", "0.8")
      const expected = sox(file, "-t", "raw", "-e", "signed-integer", "-b", "16", "-")
      expect(decodeOk(fs.readFileSync(file)).samples).toEqual(new Int16Array(Uint8Array.from(expected).buffer))
    }
  })

  it("resamples and downmixes sox's 44.1 kHz stereo like sox does, within 1 %", () => {
    const file = path.join(directory, "stereo.wav")
    sox("-n", "-r", "44100", "-c", "2", "-b", "16", file, "synth", "1", "sine", "300-3000", "sine", "1200", "vol", "0.5")
    const ours = decodeOk(fs.readFileSync(file)).samples
    const theirs = new Int16Array(Uint8Array.from(sox(file, "-t", "raw", "-r", "8000", "-c", "1", "-e", "signed-integer", "-b", "16", "-")).buffer)
    expect(Math.abs(ours.length - theirs.length)).toBeLessThanOrEqual(1)
    let signal = 0
    let error = 0
    for (let n = 200; n < Math.min(ours.length, theirs.length) - 200; n++) {
      signal += theirs[n]! ** 2
      error += (ours[n]! - theirs[n]!) ** 2
    }
    expect(Math.sqrt(error / signal)).toBeLessThan(0.01)
  })
})
