/**
 * G.711 A-law (RTP payload type 8): 16-bit linear samples to and from payload
 * octets, through the tables in `G711.ts`. `silence` is 0xD5, A-law's code
 * for 0.
 *
 * @since 0.1.0
 */
import { aLawTables, type G711Codec, makeCodec } from "./G711.ts"

/**
 * The A-law codec. Its members ({@link G711Codec} documents each) are
 * exported on their own too: `encode`, `decode`, `encodeInto`, `decodeInto`,
 * `encodeSample`, `decodeSample`, `silence`.
 *
 * @category codecs
 * @since 0.1.0
 */
export const codec = makeCodec(aLawTables)

export const { silence, encode, encodeInto, decode, decodeInto, encodeSample, decodeSample } = codec
