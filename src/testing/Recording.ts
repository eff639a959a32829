/**
 * What a party heard, and how to tell what it was: received audio as 20 ms
 * frames stamped with the `Clock` time they were played out, and plain
 * functions that analyse it. `tones` cuts a recording into segments of one
 * dominant frequency (found with the Goertzel algorithm, refined over the
 * whole segment) with their start and end times, so a test asserts "the bot
 * played 440 Hz for 30 s, then 300 Hz for 200 ms" instead of comparing
 * samples.
 *
 * ```ts
 * import { Recording } from "effect-voip/testing"
 *
 * const heard = Recording.fromSamples(samples)          // or `yield* call.heard`
 * Recording.tones(heard).map((tone) => Math.round(tone.frequency))   // [440, 300]
 * Recording.isSilent(Recording.between(heard, 0, 500))  // true: nothing in the first half second
 * Recording.durationMillis(heard)                       // 31_000
 * ```
 *
 * @since 0.1.0
 */
import { concat } from "../rtp/Audio.ts"

/**
 * Samples per second of every recording: the telephone rate.
 *
 * @category constants
 * @since 0.1.0
 */
export const sampleRate = 8000

const frameSamples = 160
const frameMillis = (frameSamples * 1000) / sampleRate

/**
 * One played-out frame and the `Clock` time (milliseconds) it began at.
 *
 * @category models
 * @since 0.1.0
 */
export interface Frame {
  readonly at: number
  readonly samples: Int16Array
}

/**
 * Received audio in arrival order. Frames are contiguous while audio flows;
 * a gap in their times means nothing was played out (the call was on hold,
 * or not yet answered).
 *
 * @category models
 * @since 0.1.0
 */
export interface Recording {
  readonly frames: ReadonlyArray<Frame>
}

/**
 * A stretch of audio with one dominant frequency.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tone {
  /** In hertz, refined over the whole stretch (to about 1 Hz for a steady tone of 100 ms or more). */
  readonly frequency: number
  /** `Clock` time of its first frame, in milliseconds. */
  readonly startMillis: number
  /** `Clock` time at the end of its last frame. */
  readonly endMillis: number
  readonly durationMillis: number
  /** Root mean square of its samples (full scale is 32767). */
  readonly level: number
}

/**
 * A recording of `samples`, cut into 20 ms frames from `startMillis` on
 * (the last one padded with silence): for analysing a known signal.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromSamples = (samples: Int16Array, startMillis = 0): Recording => {
  const frames: Array<Frame> = []
  for (let offset = 0; offset < samples.length; offset += frameSamples) {
    const frame = new Int16Array(frameSamples)
    frame.set(samples.subarray(offset, offset + frameSamples))
    frames.push({ at: startMillis + (offset / frameSamples) * frameMillis, samples: frame })
  }
  return { frames }
}

/**
 * All the samples, one frame after the other (gaps are not filled).
 *
 * @category accessors
 * @since 0.1.0
 */
export const samples = (recording: Recording): Int16Array => concat(recording.frames.map((frame) => frame.samples))

/**
 * How much audio it holds, in milliseconds.
 *
 * @category accessors
 * @since 0.1.0
 */
export const durationMillis = (recording: Recording): number =>
  recording.frames.reduce((sum, frame) => sum + frame.samples.length, 0) * 1000 / sampleRate

/**
 * The frames that began at or after `fromMillis` and before `toMillis`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const between = (recording: Recording, fromMillis: number, toMillis = Number.POSITIVE_INFINITY): Recording => ({
  frames: recording.frames.filter((frame) => frame.at >= fromMillis && frame.at < toMillis)
})

/**
 * Root mean square of `samples` (0 for none).
 *
 * @category analysis
 * @since 0.1.0
 */
export const rms = (samples: Int16Array): number => {
  let sum = 0
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length)
}

/**
 * The level below which a frame counts as silence: about -40 dBFS, far
 * above G.711's quantisation noise, far below speech or a prompt.
 *
 * @category constants
 * @since 0.1.0
 */
export const silenceThreshold = 300

/**
 * Whether every frame (or the samples) stays below `threshold` RMS.
 *
 * @category analysis
 * @since 0.1.0
 */
export const isSilent = (audio: Recording | Int16Array, threshold = silenceThreshold): boolean =>
  audio instanceof Int16Array ? rms(audio) < threshold : audio.frames.every((frame) => rms(frame.samples) < threshold)

/**
 * The amplitude of the `frequency` component of `samples` (Goertzel): about
 * `A` for a sine of amplitude `A` lasting the whole of `samples`.
 *
 * @category analysis
 * @since 0.1.0
 */
export const goertzel = (samples: Int16Array, frequency: number): number => {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate)
  let previous = 0
  let beforePrevious = 0
  for (let i = 0; i < samples.length; i++) {
    const current = samples[i]! + coefficient * previous - beforePrevious
    beforePrevious = previous
    previous = current
  }
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
  return samples.length === 0 ? 0 : (2 * Math.sqrt(Math.max(0, power))) / samples.length
}

/** The frequency of `frequencies` with the largest Goertzel amplitude in `samples`. */
const strongest = (samples: Int16Array, from: number, to: number, step: number): number => {
  let best = from
  let bestAmplitude = -1
  for (let frequency = from; frequency <= to; frequency += step) {
    const amplitude = goertzel(samples, frequency)
    if (amplitude > bestAmplitude) {
      best = frequency
      bestAmplitude = amplitude
    }
  }
  return best
}

// A 20 ms frame resolves about 50 Hz: scan at half that, then refine over the whole tone.
const coarseStep = 25
const lowest = 50
const highest = 3950
const refineSpan = 2 * coarseStep
// Enough for 1 Hz resolution; longer tones gain nothing.
const refineSamples = sampleRate

/**
 * The dominant frequency of `samples` in hertz, to about 1 Hz for a steady
 * tone of 100 ms or more; `undefined` for silence.
 *
 * @category analysis
 * @since 0.1.0
 */
export const dominantFrequency = (samples: Int16Array, threshold = silenceThreshold): number | undefined => {
  if (rms(samples) < threshold) return undefined
  const coarse = strongest(samples.subarray(0, frameSamples * 4), lowest, highest, coarseStep)
  return refine(samples, coarse)
}

const refine = (samples: Int16Array, coarse: number): number =>
  strongest(samples.subarray(0, refineSamples), Math.max(lowest, coarse - refineSpan), coarse + refineSpan, 1)

/**
 * @category models
 * @since 0.1.0
 */
export interface ToneOptions {
  /** Frames below this RMS are silence; default {@link silenceThreshold}. */
  readonly threshold?: number
  /** Frames whose coarse frequencies differ by more than this start a new tone; default 40 Hz. */
  readonly toleranceHz?: number
  /** Shorter tones (clicks, the edge of a cut prompt) are left out; default 40 ms. */
  readonly minDurationMillis?: number
  /**
   * Silence of at most this long between two stretches of the same
   * frequency is bridged (lost packets); default 0: every gap splits.
   */
  readonly bridgeMillis?: number
}

interface Segment {
  readonly frequency: number
  readonly frames: Array<Frame>
}

/**
 * The tones in `recording`, in order: stretches of sound with one dominant
 * frequency, split at silence, at a change of frequency and at gaps in the
 * frame times.
 *
 * @category analysis
 * @since 0.1.0
 */
export const tones = (recording: Recording, options: ToneOptions = {}): ReadonlyArray<Tone> => {
  const threshold = options.threshold ?? silenceThreshold
  const tolerance = options.toleranceHz ?? 40
  const minDuration = options.minDurationMillis ?? 40
  const bridge = options.bridgeMillis ?? 0
  const segments: Array<Segment> = []
  let current: Segment | undefined
  let lastEnd = Number.NEGATIVE_INFINITY
  for (const frame of recording.frames) {
    const contiguous = frame.at <= lastEnd + 0.5
    lastEnd = frame.at + (frame.samples.length * 1000) / sampleRate
    if (rms(frame.samples) < threshold) {
      current = undefined
      continue
    }
    // most frames continue the tone before them: one Goertzel tells, a full scan is for the others
    if (current !== undefined && contiguous && holds(frame.samples, current.frequency)) {
      current.frames.push(frame)
      continue
    }
    const frequency = strongest(frame.samples, lowest, highest, coarseStep)
    if (current !== undefined && contiguous && Math.abs(frequency - current.frequency) <= tolerance) {
      current.frames.push(frame)
      continue
    }
    const previous = segments[segments.length - 1]
    const gap = previous === undefined ? Number.POSITIVE_INFINITY : frame.at - endOf(previous)
    if (current === undefined && previous !== undefined && gap <= bridge && Math.abs(frequency - previous.frequency) <= tolerance) {
      current = previous
      current.frames.push(frame)
      continue
    }
    current = { frequency, frames: [frame] }
    segments.push(current)
  }
  return segments.flatMap((segment) => {
    const start = segment.frames[0]!.at
    const end = endOf(segment)
    if (end - start < minDuration) return []
    const audio = concat(segment.frames.map((frame) => frame.samples))
    return [{
      frequency: refine(audio, segment.frequency),
      startMillis: start,
      endMillis: end,
      durationMillis: end - start,
      level: rms(audio)
    }]
  })
}

/**
 * Whether `frequency` carries most of the frame: a sine's Goertzel amplitude
 * is √2 times its RMS, less up to 10% when `frequency` is half a scan step off.
 */
const holds = (samples: Int16Array, frequency: number): boolean => goertzel(samples, frequency) >= 0.8 * Math.SQRT2 * rms(samples)

const endOf = (segment: Segment): number => {
  const last = segment.frames[segment.frames.length - 1]!
  return last.at + (last.samples.length * 1000) / sampleRate
}

