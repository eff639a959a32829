/**
 * Sample-rate conversion by band-limited (windowed-sinc) interpolation.
 *
 * Each output sample is a weighted sum of the input around its position: a
 * sinc low-pass at 90 % of the lower Nyquist frequency, 24 zero crossings on
 * each side, shaped by a Blackman window (about -74 dB stop band). Kernels
 * are tabulated per fractional position (polyphase): one per phase when the
 * rate ratio reduces to at most 1024 phases, otherwise the nearest of 1024.
 *
 * @since 0.1.0
 */

const zeroCrossings = 24
const passband = 0.9
const maxPhases = 1024

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

const blackman = (t: number): number => 0.42 + 0.5 * Math.cos(Math.PI * t) + 0.08 * Math.cos(2 * Math.PI * t)

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x))

interface Kernels {
  readonly phases: number
  readonly reach: number
  readonly taps: number
  readonly weights: Float64Array
}

const buildKernels = (fromRate: number, toRate: number, phases: number): Kernels => {
  // Cut-off in cycles per input sample.
  const cutoff = 0.5 * passband * Math.min(1, toRate / fromRate)
  const halfWidth = zeroCrossings / (2 * cutoff)
  const reach = Math.ceil(halfWidth)
  const taps = 2 * reach + 1
  const weights = new Float64Array(phases * taps)
  for (let phase = 0; phase < phases; phase++) {
    const fraction = phase / phases
    let sum = 0
    for (let tap = 0; tap < taps; tap++) {
      const distance = tap - reach - fraction
      const weight = Math.abs(distance) >= halfWidth ? 0 : sinc(2 * cutoff * distance) * blackman(distance / halfWidth)
      weights[phase * taps + tap] = weight
      sum += weight
    }
    // Unity gain at DC for every phase.
    for (let tap = 0; tap < taps; tap++) weights[phase * taps + tap]! /= sum
  }
  return { phases, reach, taps, weights }
}

/**
 * `input` sampled at `fromRate` Hz, resampled to `toRate` Hz (positive
 * integers). Samples outside the input count as 0. The output has
 * ⌊length × toRate / fromRate⌋ samples.
 *
 * @category resampling
 * @since 0.1.0
 */
export const resample = (input: Float32Array, fromRate: number, toRate: number): Float32Array => {
  if (fromRate === toRate) return input.slice()
  const divisor = gcd(fromRate, toRate)
  const up = toRate / divisor
  const down = fromRate / divisor
  const { phases, reach, taps, weights } = buildKernels(fromRate, toRate, Math.min(up, maxPhases))
  const output = new Float32Array(Math.floor((input.length * up) / down))
  const last = input.length - 1
  for (let n = 0; n < output.length; n++) {
    const numerator = n * down
    let center = Math.floor(numerator / up)
    let phase = Math.round(((numerator - center * up) / up) * phases)
    if (phase === phases) {
      center++
      phase = 0
    }
    const base = phase * taps
    const first = center - reach
    let acc = 0
    if (first >= 0 && first + taps - 1 <= last) {
      for (let tap = 0; tap < taps; tap++) acc += input[first + tap]! * weights[base + tap]!
    } else {
      for (let tap = 0; tap < taps; tap++) {
        const index = first + tap
        if (index >= 0 && index <= last) acc += input[index]! * weights[base + tap]!
      }
    }
    output[n] = acc
  }
  return output
}
