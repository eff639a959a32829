/**
 * G.711 μ-law (RTP payload type 0): 16-bit linear samples to and from payload
 * octets, through the tables in `G711.ts`. `silence` is 0xFF, μ-law's code
 * for 0.
 *
 * @since 0.1.0
 */
import { type G711Codec, makeCodec, muLawTables } from "./G711.ts"

/**
 * The μ-law codec. Its members ({@link G711Codec} documents each) are
 * exported on their own too: `encode`, `decode`, `encodeInto`, `decodeInto`,
 * `encodeSample`, `decodeSample`, `silence`.
 *
 * @category codecs
 * @since 0.1.0
 */
export const codec = makeCodec(muLawTables)

export const { silence, encode, encodeInto, decode, decodeInto, encodeSample, decodeSample } = codec
