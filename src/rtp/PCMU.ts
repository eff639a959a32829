/**
 * G.711 μ-law (RTP payload type 0): 16-bit linear samples to and from payload octets,
 * through the tables in `G711.ts`.
 *
 * @since 0.1.0
 */
import { muLawTables as tables, decodeInto as decodeWith, encodeInto as encodeWith } from "./G711.ts"

/**
 * The code of a zero sample (0xFF: μ-law's code for 0), which fills gaps in received audio.
 *
 * @category constants
 * @since 0.1.0
 */
export const silence = 0xff

/**
 * @category encoding
 * @since 0.1.0
 */
export const encode = (samples: Int16Array): Uint8Array => {
  const codes = new Uint8Array(samples.length)
  encodeWith(tables, samples, codes, 0)
  return codes
}

/**
 * Writes the codes of `samples` into `target` at `offset` (default 0) without
 * allocating; returns the offset after the last code.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeInto = (samples: Int16Array, target: Uint8Array, offset = 0): number =>
  encodeWith(tables, samples, target, offset)

/**
 * @category decoding
 * @since 0.1.0
 */
export const decode = (codes: Uint8Array): Int16Array => {
  const samples = new Int16Array(codes.length)
  decodeWith(tables, codes, samples, 0)
  return samples
}

/**
 * Writes the samples of `codes` into `target` at `offset` (default 0) without
 * allocating; returns the offset after the last sample.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeInto = (codes: Uint8Array, target: Int16Array, offset = 0): number =>
  decodeWith(tables, codes, target, offset)

/**
 * @category encoding
 * @since 0.1.0
 */
export const encodeSample = (sample: number): number => tables.encode[sample & 0xffff]!

/**
 * @category decoding
 * @since 0.1.0
 */
export const decodeSample = (code: number): number => tables.decode[code & 0xff]!
