/**
 * WAV files in and out of the telephone audio format (8 kHz, mono, 16-bit).
 *
 * Reading takes RIFF/WAVE with PCM (8-bit unsigned, 16/24/32-bit signed),
 * 32-bit float, μ-law or A-law samples (plain or WAVE_FORMAT_EXTENSIBLE), at
 * any sample rate and channel count; channels are averaged and the rate is
 * converted with the windowed-sinc resampler of `Resample.ts`. Malformed
 * files fail with {@link WavFormatError}; nothing throws.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { aLawTables, muLawTables } from "./G711.ts"
import { resample } from "./Resample.ts"

/**
 * A file that is not a WAV this module can read.
 *
 * @category errors
 * @since 0.1.0
 */
export class WavFormatError extends Schema.TaggedError<WavFormatError>()("WavFormatError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `unreadable WAV file: ${this.reason}`
  }
}

/**
 * How a file's samples are stored.
 *
 * @category models
 * @since 0.1.0
 */
export interface WavFormat {
  readonly encoding: "pcm" | "float" | "mulaw" | "alaw"
  readonly channels: number
  readonly sampleRate: number
  readonly bitsPerSample: number
}

/**
 * Decoded audio: mono 16-bit samples at `sampleRate`, and the file's own format.
 *
 * @category models
 * @since 0.1.0
 */
export interface WavAudio {
  readonly samples: Int16Array
  readonly sampleRate: number
  readonly source: WavFormat
}

const formatTags: Record<number, WavFormat["encoding"]> = { 1: "pcm", 3: "float", 6: "alaw", 7: "mulaw" }
const extensibleTag = 0xfffe
const maxSampleRate = 768_000

const supportedBits: Record<WavFormat["encoding"], ReadonlyArray<number>> = {
  pcm: [8, 16, 24, 32],
  float: [32],
  mulaw: [8],
  alaw: [8]
}

const chunkId = (bytes: Uint8Array, at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4))

const fail = (reason: string): Result.Result<never, WavFormatError> => Result.fail(new WavFormatError({ reason }))

const readFormat = (view: DataView, at: number, size: number): Result.Result<WavFormat, WavFormatError> => {
  if (size < 16) return fail(`fmt chunk of ${size} octets, expected at least 16`)
  let tag = view.getUint16(at, true)
  const channels = view.getUint16(at + 2, true)
  const sampleRate = view.getUint32(at + 4, true)
  const blockAlign = view.getUint16(at + 12, true)
  const bitsPerSample = view.getUint16(at + 14, true)
  if (tag === extensibleTag) {
    // WAVEFORMATEXTENSIBLE: the real format tag opens the SubFormat GUID at offset 24.
    if (size < 40) return fail(`extensible fmt chunk of ${size} octets, expected 40`)
    tag = view.getUint16(at + 24, true)
  }
  const encoding = formatTags[tag]
  if (encoding === undefined) return fail(`format tag 0x${tag.toString(16)} is not PCM, float, μ-law or A-law`)
  if (!supportedBits[encoding].includes(bitsPerSample)) {
    return fail(`${bitsPerSample}-bit ${encoding} samples are not supported`)
  }
  if (channels === 0) return fail("0 channels")
  if (sampleRate === 0 || sampleRate > maxSampleRate) return fail(`sample rate ${sampleRate} Hz`)
  if (blockAlign !== channels * (bitsPerSample / 8)) {
    return fail(`block align ${blockAlign} does not match ${channels} channels of ${bitsPerSample} bits`)
  }
  return Result.succeed({ encoding, channels, sampleRate, bitsPerSample })
}

/** One sample at octet `at`, scaled to the int16 range. */
const sampleReader = (format: WavFormat, view: DataView): (at: number) => number => {
  switch (format.encoding) {
    case "mulaw":
      return (at) => muLawTables.decode[view.getUint8(at)]!
    case "alaw":
      return (at) => aLawTables.decode[view.getUint8(at)]!
    case "float":
      return (at) => Math.max(-32768, Math.min(32767, view.getFloat32(at, true) * 32768))
    case "pcm":
      switch (format.bitsPerSample) {
        case 8:
          return (at) => (view.getUint8(at) - 128) * 256
        case 16:
          return (at) => view.getInt16(at, true)
        case 24:
          return (at) => ((view.getUint8(at + 2) << 24) | (view.getUint8(at + 1) << 16) | (view.getUint8(at) << 8)) / 65536
        default:
          return (at) => view.getInt32(at, true) / 65536
      }
  }
}

/** The file's samples, channels averaged, in int16 scale. */
const mixDown = (format: WavFormat, data: Uint8Array): Float32Array => {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const read = sampleReader(format, view)
  const sampleBytes = format.bitsPerSample / 8
  const frameBytes = sampleBytes * format.channels
  const frames = Math.floor(data.length / frameBytes)
  const mono = new Float32Array(frames)
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0
    for (let channel = 0; channel < format.channels; channel++) sum += read(frame * frameBytes + channel * sampleBytes)
    mono[frame] = sum / format.channels
  }
  return mono
}

const toInt16 = (samples: Float32Array): Int16Array => {
  const out = new Int16Array(samples.length)
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]!)))
  return out
}

/**
 * Reads a WAV file into mono 16-bit samples at `sampleRate` (default 8000 Hz).
 * A data chunk that claims more octets than the file holds (a recording cut
 * short, or a streaming writer's placeholder size) is read as far as it goes.
 *
 * @category reading
 * @since 0.1.0
 */
export const decodeResult = (bytes: Uint8Array, sampleRate = 8000): Result.Result<WavAudio, WavFormatError> => {
  if (bytes.length < 12 || chunkId(bytes, 0) !== "RIFF" || chunkId(bytes, 8) !== "WAVE") {
    return fail("no RIFF/WAVE header")
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let format: WavFormat | undefined
  let at = 12
  while (at + 8 <= bytes.length) {
    const id = chunkId(bytes, at)
    const size = view.getUint32(at + 4, true)
    const body = at + 8
    if (id === "data") {
      if (format === undefined) return fail("data chunk before the fmt chunk")
      const data = bytes.subarray(body, Math.min(bytes.length, body + size))
      const mono = mixDown(format, data)
      return Result.succeed({
        samples: toInt16(resample(mono, format.sampleRate, sampleRate)),
        sampleRate,
        source: format
      })
    }
    if (body + size > bytes.length) return fail(`${id} chunk of ${size} octets overruns the file`)
    if (id === "fmt ") {
      const parsed = readFormat(view, body, size)
      if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
      format = parsed.success
    }
    // Chunks are padded to an even length.
    at = body + size + (size & 1)
  }
  return fail(format === undefined ? "no fmt chunk" : "no data chunk")
}

/**
 * {@link decodeResult} as an Effect.
 *
 * @category reading
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array, sampleRate = 8000): Effect.Effect<WavAudio, WavFormatError> =>
  Effect.fromResult(decodeResult(bytes, sampleRate))

/**
 * A mono 16-bit PCM WAV file of `samples` at `sampleRate` (default 8000 Hz).
 *
 * @category writing
 * @since 0.1.0
 */
export const encode = (samples: Int16Array, sampleRate = 8000): Uint8Array => {
  const dataLength = samples.length * 2
  const bytes = new Uint8Array(44 + dataLength)
  const view = new DataView(bytes.buffer)
  const writeId = (at: number, id: string) => {
    for (let i = 0; i < 4; i++) bytes[at + i] = id.charCodeAt(i)
  }
  writeId(0, "RIFF")
  view.setUint32(4, 36 + dataLength, true)
  writeId(8, "WAVE")
  writeId(12, "fmt ")
  view.setUint32(16, 16, true)
  view.setUint16(20, 1, true)
  view.setUint16(22, 1, true)
  view.setUint32(24, sampleRate, true)
  view.setUint32(28, sampleRate * 2, true)
  view.setUint16(32, 2, true)
  view.setUint16(34, 16, true)
  writeId(36, "data")
  view.setUint32(40, dataLength, true)
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, samples[i]!, true)
  return bytes
}
