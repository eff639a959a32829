/**
 * pyVoIP's audio format: 8 kHz mono, 8-bit unsigned linear samples (silence
 * is 0x80), as its `read_audio` returns and `write_audio` takes.
 *
 * The conversions match pyVoIP's `audioop` calls bit for bit: an 8-bit sample
 * is the top byte of the 16-bit one plus 128 (`ulaw2lin(data, 1)` followed by
 * `bias(data, 1, 128)`), and back (`bias(data, 1, -128)` then `lin2ulaw(data, 1)`).
 * The 16-bit values involved are multiples of 256, where G.191's and audioop's
 * μ-law encoders agree.
 *
 * @since 0.1.0
 */
import { aLawTables, type CompandingTables, muLawTables } from "./G711.ts"

/**
 * The 8-bit code of a zero sample.
 *
 * @category constants
 * @since 0.1.0
 */
export const silence = 0x80

/**
 * Each 16-bit sample's top byte, made unsigned (the low byte is dropped).
 *
 * @category conversions
 * @since 0.1.0
 */
export const fromInt16 = (samples: Int16Array): Uint8Array => {
  const linear8 = new Uint8Array(samples.length)
  for (let i = 0; i < samples.length; i++) linear8[i] = (samples[i]! >> 8) + 128
  return linear8
}

/**
 * @category conversions
 * @since 0.1.0
 */
export const toInt16 = (linear8: Uint8Array): Int16Array => {
  const samples = new Int16Array(linear8.length)
  for (let i = 0; i < linear8.length; i++) samples[i] = (linear8[i]! - 128) << 8
  return samples
}

const fromCodesTable = (tables: CompandingTables): Uint8Array =>
  Uint8Array.from(tables.decode, (sample) => (sample >> 8) + 128)

const toCodesTable = (tables: CompandingTables): Uint8Array =>
  Uint8Array.from({ length: 256 }, (_, value) => tables.encode[((value - 128) << 8) & 0xffff]!)

const translate = (table: Uint8Array, input: Uint8Array): Uint8Array => {
  const output = new Uint8Array(input.length)
  for (let i = 0; i < input.length; i++) output[i] = table[input[i]!]!
  return output
}

const muLawToLinear8 = fromCodesTable(muLawTables)
const linear8ToMuLaw = toCodesTable(muLawTables)
const aLawToLinear8 = fromCodesTable(aLawTables)
const linear8ToALaw = toCodesTable(aLawTables)

/**
 * @category conversions
 * @since 0.1.0
 */
export const fromPCMU = (codes: Uint8Array): Uint8Array => translate(muLawToLinear8, codes)

/**
 * @category conversions
 * @since 0.1.0
 */
export const toPCMU = (linear8: Uint8Array): Uint8Array => translate(linear8ToMuLaw, linear8)

/**
 * @category conversions
 * @since 0.1.0
 */
export const fromPCMA = (codes: Uint8Array): Uint8Array => translate(aLawToLinear8, codes)

/**
 * @category conversions
 * @since 0.1.0
 */
export const toPCMA = (linear8: Uint8Array): Uint8Array => translate(linear8ToALaw, linear8)
