/**
 * RTP data packets (RFC 3550 §5.1): parsing into {@link RTPMessage} and
 * writing, including a zero-copy header writer for the send path.
 *
 * Parsing never copies: `payload` is a view into the received bytes.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { type PayloadMapping, PayloadType } from "./PayloadType.ts"
import { readUint32, writeUint32 } from "./internal/bigEndian.ts"

/**
 * A datagram that is not an RTP version 2 packet, or whose header, CSRC list,
 * extension or padding does not fit in it.
 *
 * @category errors
 * @since 0.1.0
 */
export class RTPParseError extends Schema.TaggedError<RTPParseError>()("RTPParseError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid RTP packet: ${this.reason}`
  }
}

/**
 * Which payload type each number stands for in this session, as the SDP's
 * `a=rtpmap` lines say (pyVoIP's `assoc`, e.g. `{0: PCMU, 101: EVENT}`).
 * Numbers not in it fall back to RFC 3551's static table.
 *
 * @category models
 * @since 0.1.0
 */
export type PayloadAssociation = ReadonlyMap<number, PayloadType>

/**
 * The association the SDP's payload mappings make.
 *
 * @category constructors
 * @since 0.1.0
 */
export const association = (mappings: Iterable<PayloadMapping>): PayloadAssociation =>
  new Map(Array.from(mappings, (mapping) => [mapping.number, mapping.type]))

/**
 * RFC 3550 §5.3.1 header extension: a profile-defined 16-bit identifier and
 * the extension's data (a whole number of 32-bit words).
 *
 * @category models
 * @since 0.1.0
 */
export interface HeaderExtension {
  readonly profile: number
  readonly data: Uint8Array
}

/**
 * The fixed header fields, what {@link writeHeader} writes. Numbers are taken
 * modulo their field width, so callers may pass counters that have run past
 * 65535 (sequence) or 2^32 (timestamp).
 *
 * @category models
 * @since 0.1.0
 */
export interface RTPHeaderFields {
  readonly marker: boolean
  /** The number on the wire, 0-127. */
  readonly payloadType: number
  readonly sequence: number
  readonly timestamp: number
  readonly ssrc: number
  /** Contributing sources; at most 15 are written. */
  readonly csrc?: ReadonlyArray<number> | undefined
}

/**
 * A whole packet to write with {@link encode} or {@link encodeInto}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RTPPacketFields extends RTPHeaderFields {
  readonly headerExtension?: HeaderExtension | undefined
  readonly payload: Uint8Array
  /** Padding octets to append (1-255, the last one holding the count); 0 or absent for none. */
  readonly paddingLength?: number | undefined
}

const noSources: ReadonlyArray<number> = Object.freeze([])

/**
 * A parsed RTP packet. Field names follow RFC 3550; pyVoIP's `CC` is
 * `csrcCount` and its `SSRC` is `ssrc`.
 *
 * @category models
 * @since 0.1.0
 */
export class RTPMessage {
  readonly version = 2
  /** The payload type the association (or the static table) gives the number, or the number itself. */
  readonly payloadType: PayloadType | number
  readonly payloadTypeNumber: number
  readonly marker: boolean
  readonly sequence: number
  readonly timestamp: number
  readonly ssrc: number
  readonly csrc: ReadonlyArray<number>
  readonly headerExtension: HeaderExtension | undefined
  /** The media octets, without header, extension or padding: a view into `raw`. */
  readonly payload: Uint8Array
  /** Padding octets that followed the payload (0 when the P bit is clear). */
  readonly paddingLength: number
  /** The whole packet as received (or as {@link make} encoded it). */
  readonly raw: Uint8Array

  constructor(fields: {
    readonly payloadType: PayloadType | number
    readonly payloadTypeNumber: number
    readonly marker: boolean
    readonly sequence: number
    readonly timestamp: number
    readonly ssrc: number
    readonly csrc: ReadonlyArray<number>
    readonly headerExtension: HeaderExtension | undefined
    readonly payload: Uint8Array
    readonly paddingLength: number
    readonly raw: Uint8Array
  }) {
    this.payloadType = fields.payloadType
    this.payloadTypeNumber = fields.payloadTypeNumber
    this.marker = fields.marker
    this.sequence = fields.sequence
    this.timestamp = fields.timestamp
    this.ssrc = fields.ssrc
    this.csrc = fields.csrc
    this.headerExtension = fields.headerExtension
    this.payload = fields.payload
    this.paddingLength = fields.paddingLength
    this.raw = fields.raw
  }

  get padding(): boolean {
    return this.paddingLength > 0
  }

  get extension(): boolean {
    return this.headerExtension !== undefined
  }

  get csrcCount(): number {
    return this.csrc.length
  }

  /** A multi-line description of the header, as pyVoIP's `RTPMessage.summary()`. */
  summary(): string {
    const payloadType = typeof this.payloadType === "number" ? "unknown" : this.payloadType.description
    return [
      `Version: ${this.version}`,
      `Padding: ${this.padding}`,
      `Extension: ${this.extension}`,
      `CC: ${this.csrcCount}`,
      `Marker: ${this.marker}`,
      `Payload Type: ${payloadType} (${this.payloadTypeNumber})`,
      `Sequence Number: ${this.sequence}`,
      `Timestamp: ${this.timestamp}`,
      `SSRC: ${this.ssrc}`,
      ""
    ].join("\n")
  }
}

const fail = (reason: string): Result.Result<never, RTPParseError> => Result.fail(new RTPParseError({ reason }))

const resolvePayloadType = (
  payloadTypeNumber: number,
  association: PayloadAssociation | undefined
): PayloadType | number =>
  association?.get(payloadTypeNumber) ?? PayloadType.fromNumber(payloadTypeNumber) ?? payloadTypeNumber

/**
 * Parses one RTP packet (RFC 3550 §5.1). Checks the version (2), that the
 * CSRC list and header extension fit, and that the padding count is neither 0
 * nor larger than what follows the header; strips padding and skips the
 * extension. The payload type goes through `association` first.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseResult = (
  bytes: Uint8Array,
  association?: PayloadAssociation
): Result.Result<RTPMessage, RTPParseError> => {
  const length = bytes.length
  if (length < 12) return fail(`${length} octets is shorter than the 12-octet header`)
  const first = bytes[0]!
  const version = first >> 6
  if (version !== 2) return fail(`version ${version}, expected 2`)
  const csrcCount = first & 0x0f
  let headerLength = 12 + 4 * csrcCount
  if (headerLength > length) return fail(`CSRC count ${csrcCount} needs ${headerLength} octets, packet has ${length}`)
  let csrc = noSources
  if (csrcCount > 0) {
    const list = new Array<number>(csrcCount)
    for (let i = 0; i < csrcCount; i++) list[i] = readUint32(bytes, 12 + 4 * i)
    csrc = list
  }
  let headerExtension: HeaderExtension | undefined
  if (first & 0x10) {
    if (headerLength + 4 > length) return fail("header extension bit set but no room for the extension header")
    const profile = (bytes[headerLength]! << 8) | bytes[headerLength + 1]!
    const dataLength = 4 * ((bytes[headerLength + 2]! << 8) | bytes[headerLength + 3]!)
    const dataStart = headerLength + 4
    if (dataStart + dataLength > length) {
      return fail(`header extension of ${dataLength} octets overruns the ${length}-octet packet`)
    }
    headerExtension = { profile, data: bytes.subarray(dataStart, dataStart + dataLength) }
    headerLength = dataStart + dataLength
  }
  let paddingLength = 0
  if (first & 0x20) {
    paddingLength = bytes[length - 1]!
    if (paddingLength === 0) return fail("padding bit set with a padding count of 0")
    if (paddingLength > length - headerLength) {
      return fail(`padding count ${paddingLength} exceeds the ${length - headerLength} octets after the header`)
    }
  }
  const second = bytes[1]!
  const payloadTypeNumber = second & 0x7f
  return Result.succeed(
    new RTPMessage({
      payloadType: resolvePayloadType(payloadTypeNumber, association),
      payloadTypeNumber,
      marker: second >= 0x80,
      sequence: (bytes[2]! << 8) | bytes[3]!,
      timestamp: readUint32(bytes, 4),
      ssrc: readUint32(bytes, 8),
      csrc,
      headerExtension,
      payload: bytes.subarray(headerLength, length - paddingLength),
      paddingLength,
      raw: bytes
    })
  )
}

/**
 * {@link parseResult} as an Effect.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parse = (bytes: Uint8Array, association?: PayloadAssociation): Effect.Effect<RTPMessage, RTPParseError> =>
  Effect.fromResult(parseResult(bytes, association))

const csrcCountOf = (fields: RTPHeaderFields): number => Math.min(fields.csrc?.length ?? 0, 15)

/**
 * Writes the fixed header and CSRC list at `offset` (no extension, no
 * padding) and returns the offset where the payload goes. `bytes` needs
 * 12 + 4 × CSRC-count octets from `offset`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const writeHeader = (bytes: Uint8Array, offset: number, fields: RTPHeaderFields): number => {
  const csrcCount = csrcCountOf(fields)
  bytes[offset] = 0x80 | csrcCount
  bytes[offset + 1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f)
  bytes[offset + 2] = fields.sequence >>> 8
  bytes[offset + 3] = fields.sequence
  writeUint32(bytes, offset + 4, fields.timestamp)
  writeUint32(bytes, offset + 8, fields.ssrc)
  for (let i = 0; i < csrcCount; i++) writeUint32(bytes, offset + 12 + 4 * i, fields.csrc![i]!)
  return offset + 12 + 4 * csrcCount
}

const extensionWords = (extension: HeaderExtension): number => Math.min(Math.ceil(extension.data.length / 4), 0xffff)

const extensionLength = (extension: HeaderExtension | undefined): number =>
  extension === undefined ? 0 : 4 + 4 * extensionWords(extension)

const paddingOf = (fields: RTPPacketFields): number => Math.min(Math.max(fields.paddingLength ?? 0, 0), 255) | 0

/**
 * The number of octets {@link encodeInto} writes for `fields`.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodedLength = (fields: RTPPacketFields): number =>
  12 + 4 * csrcCountOf(fields) + extensionLength(fields.headerExtension) + fields.payload.length + paddingOf(fields)

/**
 * Writes a whole packet at `offset` and returns the offset after it; `bytes`
 * needs {@link encodedLength} octets from `offset`. The extension data is
 * zero-padded to a whole number of 32-bit words (and cut at 65535 words).
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeInto = (bytes: Uint8Array, offset: number, fields: RTPPacketFields): number => {
  let at = writeHeader(bytes, offset, fields)
  const extension = fields.headerExtension
  if (extension !== undefined) {
    bytes[offset] = bytes[offset]! | 0x10
    const words = extensionWords(extension)
    const data = extension.data.subarray(0, 4 * words)
    bytes[at] = extension.profile >>> 8
    bytes[at + 1] = extension.profile
    bytes[at + 2] = words >>> 8
    bytes[at + 3] = words
    bytes.set(data, at + 4)
    bytes.fill(0, at + 4 + data.length, at + 4 + 4 * words)
    at += 4 + 4 * words
  }
  bytes.set(fields.payload, at)
  at += fields.payload.length
  const padding = paddingOf(fields)
  if (padding > 0) {
    bytes[offset] = bytes[offset]! | 0x20
    bytes.fill(0, at, at + padding - 1)
    bytes[at + padding - 1] = padding
    at += padding
  }
  return at
}

/**
 * A new buffer holding the packet.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encode = (fields: RTPPacketFields): Uint8Array => {
  const bytes = new Uint8Array(encodedLength(fields))
  encodeInto(bytes, 0, fields)
  return bytes
}

/**
 * Writes a parsed or built message back to octets (padding and extension
 * included, with zeroed padding octets).
 *
 * @category encoding
 * @since 0.1.0
 */
export const serialize = (message: RTPMessage): Uint8Array =>
  encode({
    marker: message.marker,
    payloadType: message.payloadTypeNumber,
    sequence: message.sequence,
    timestamp: message.timestamp,
    ssrc: message.ssrc,
    csrc: message.csrc,
    headerExtension: message.headerExtension,
    payload: message.payload,
    paddingLength: message.paddingLength
  })

/**
 * An {@link RTPMessage} for `fields` (its `raw` freshly encoded), e.g. to log
 * an outgoing packet's `summary()`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (fields: RTPPacketFields, association?: PayloadAssociation): RTPMessage => {
  const raw = encode(fields)
  const paddingLength = paddingOf(fields)
  const payloadEnd = raw.length - paddingLength
  const extension = fields.headerExtension
  const extensionEnd = payloadEnd - fields.payload.length
  const payloadTypeNumber = fields.payloadType & 0x7f
  return new RTPMessage({
    payloadType: resolvePayloadType(payloadTypeNumber, association),
    payloadTypeNumber,
    marker: fields.marker,
    sequence: fields.sequence & 0xffff,
    timestamp: fields.timestamp >>> 0,
    ssrc: fields.ssrc >>> 0,
    csrc: (fields.csrc ?? noSources).slice(0, 15).map((source) => source >>> 0),
    headerExtension: extension === undefined
      ? undefined
      : { profile: extension.profile & 0xffff, data: raw.subarray(extensionEnd - 4 * extensionWords(extension), extensionEnd) },
    payload: raw.subarray(extensionEnd, payloadEnd),
    paddingLength,
    raw
  })
}

/**
 * pyVoIP's `byte_to_bits`: the octet as 8 binary digits, most significant first.
 *
 * @category helpers
 * @since 0.1.0
 */
export const byteToBits = (byte: number): string => (byte & 0xff).toString(2).padStart(8, "0")

/**
 * pyVoIP's `add_bytes`: the octets read as one big-endian unsigned integer
 * (exact up to 6 octets, 2^53).
 *
 * @category helpers
 * @since 0.1.0
 */
export const addBytes = (bytes: Uint8Array): number => {
  let value = 0
  for (const byte of bytes) value = value * 256 + byte
  return value
}
