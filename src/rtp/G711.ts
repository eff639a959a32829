/**
 * ITU-T G.711 companding (μ-law and A-law) between 16-bit linear samples and
 * the octets carried in RTP PCMU (PT 0) and PCMA (PT 8) payloads.
 *
 * The bit-level reference functions follow the ITU-T G.191 STL (`g711.c`).
 * Encoding goes through a 64 Ki-entry table built once from them when the
 * module loads, so encoding costs one table load per sample; decoding uses
 * 256-entry tables. `PCMU.ts` and `PCMA.ts` bind these tables to one law each.
 *
 * @since 0.1.0
 */

/**
 * G.191's μ-law encoder. Negative samples are taken as their one's complement
 * (`~x`), as G.191 does; Python's `audioop` negates instead, which gives a
 * code one step louder for 508 negative inputs (see the G.711 test vectors).
 *
 * @category reference
 * @since 0.1.0
 */
export const linearToMuLaw = (sample: number): number => {
  const negative = sample < 0
  // 14-bit magnitude plus the μ-law bias of 33 (in 14-bit units).
  let magnitude = ((negative ? ~sample : sample) >> 2) + 33
  if (magnitude > 0x1fff) magnitude = 0x1fff
  let segment = 1
  for (let rest = magnitude >> 6; rest !== 0; rest >>= 1) segment++
  const code = ((8 - segment) << 4) | (0x0f - ((magnitude >> segment) & 0x0f))
  return negative ? code : code | 0x80
}

/**
 * G.191's A-law encoder; the result is already XORed with 0x55 (even-bit
 * inversion), i.e. the transmitted octet.
 *
 * @category reference
 * @since 0.1.0
 */
export const linearToALaw = (sample: number): number => {
  const negative = sample < 0
  // 12-bit magnitude (one's complement for negatives, as G.191).
  let magnitude = (negative ? ~sample : sample) >> 4
  if (magnitude > 15) {
    let exponent = 1
    while (magnitude > 31) {
      magnitude >>= 1
      exponent++
    }
    magnitude = magnitude - 16 + (exponent << 4)
  }
  return (negative ? magnitude : magnitude | 0x80) ^ 0x55
}

/**
 * The linear value (int16) a μ-law octet stands for.
 *
 * @category reference
 * @since 0.1.0
 */
export const muLawToLinear = (code: number): number => {
  const inverted = ~code & 0xff
  const magnitude = ((((inverted & 0x0f) << 3) + 0x84) << ((inverted & 0x70) >> 4)) - 0x84
  return inverted & 0x80 ? -magnitude : magnitude
}

/**
 * The linear value (int16) an A-law octet stands for.
 *
 * @category reference
 * @since 0.1.0
 */
export const aLawToLinear = (code: number): number => {
  const value = (code & 0xff) ^ 0x55
  const segment = (value & 0x70) >> 4
  let magnitude = ((value & 0x0f) << 4) + 8
  if (segment > 0) magnitude = (magnitude + 0x100) << (segment - 1)
  return value & 0x80 ? magnitude : -magnitude
}

/**
 * The lookup tables of one companding law. `encode` is indexed by the sample's
 * 16 bits read as unsigned (`sample & 0xffff`).
 *
 * @category models
 * @since 0.1.0
 */
export interface CompandingTables {
  readonly encode: Uint8Array
  readonly decode: Int16Array
}

const buildTables = (
  compress: (sample: number) => number,
  expand: (code: number) => number
): CompandingTables => {
  const encode = new Uint8Array(65536)
  for (let bits = 0; bits < 65536; bits++) encode[bits] = compress((bits << 16) >> 16)
  const decode = new Int16Array(256)
  for (let code = 0; code < 256; code++) decode[code] = expand(code)
  return { encode, decode }
}

/**
 * @category tables
 * @since 0.1.0
 */
export const muLawTables: CompandingTables = buildTables(linearToMuLaw, muLawToLinear)

/**
 * @category tables
 * @since 0.1.0
 */
export const aLawTables: CompandingTables = buildTables(linearToALaw, aLawToLinear)

/**
 * Encodes `samples` into `target` from `offset` on (no allocation) and returns
 * the offset after the last code written. `target` must have room for
 * `samples.length` octets.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeInto = (
  tables: CompandingTables,
  samples: Int16Array,
  target: Uint8Array,
  offset: number
): number => {
  const table = tables.encode
  const count = samples.length
  for (let i = 0; i < count; i++) target[offset + i] = table[samples[i]! & 0xffff]!
  return offset + count
}

/**
 * Decodes `codes` into `target` from `offset` on (no allocation) and returns
 * the offset after the last sample written.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeInto = (
  tables: CompandingTables,
  codes: Uint8Array,
  target: Int16Array,
  offset: number
): number => {
  const table = tables.decode
  const count = codes.length
  for (let i = 0; i < count; i++) target[offset + i] = table[codes[i]!]!
  return offset + count
}

/**
 * One G.711 law bound to its tables: what `PCMU.ts` and `PCMA.ts` export.
 *
 * @category models
 * @since 0.1.0
 */
export interface G711Codec {
  /** The code of a zero sample, which fills gaps in received audio. */
  readonly silence: number
  /** The codes of `samples`, one octet per sample (the RTP payload). */
  readonly encode: (samples: Int16Array) => Uint8Array
  /** Writes the codes of `samples` into `target` at `offset` without allocating; returns the offset after the last code. */
  readonly encodeInto: (samples: Int16Array, target: Uint8Array, offset?: number) => number
  /** The 16-bit samples of a payload's `codes`. */
  readonly decode: (codes: Uint8Array) => Int16Array
  /** Writes the samples of `codes` into `target` at `offset` without allocating; returns the offset after the last sample. */
  readonly decodeInto: (codes: Uint8Array, target: Int16Array, offset?: number) => number
  /** The code of one 16-bit sample. */
  readonly encodeSample: (sample: number) => number
  /** The 16-bit sample of one code. */
  readonly decodeSample: (code: number) => number
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const makeCodec = (tables: CompandingTables): G711Codec => ({
  silence: tables.encode[0]!,
  encode: (samples) => {
    const codes = new Uint8Array(samples.length)
    encodeInto(tables, samples, codes, 0)
    return codes
  },
  encodeInto: (samples, target, offset = 0) => encodeInto(tables, samples, target, offset),
  decode: (codes) => {
    const samples = new Int16Array(codes.length)
    decodeInto(tables, codes, samples, 0)
    return samples
  },
  decodeInto: (codes, target, offset = 0) => decodeInto(tables, codes, target, offset),
  encodeSample: (sample) => tables.encode[sample & 0xffff]!,
  decodeSample: (code) => tables.decode[code & 0xff]!
})
