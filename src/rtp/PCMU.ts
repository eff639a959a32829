/**
 * G.711 μ-law (RTP payload type 0): 16-bit linear samples to and from payload
 * octets, through the tables in `G711.ts`. `silence` is 0xFF, μ-law's code
 * for 0.
 *
 * @since 0.1.0
 */
import { makeCodec, muLawTables } from "./G711.ts"

/**
 * @category codecs
 * @since 0.1.0
 */
export const codec = makeCodec(muLawTables)

export const { silence, encode, encodeInto, decode, decodeInto, encodeSample, decodeSample } = codec
