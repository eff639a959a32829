/**
 * The media vocabulary shared by SDP and RTP: payload types (RFC 3551 §6),
 * transport protocols of an `m=` line and stream directions (RFC 3264 §6.1).
 *
 * Like pyVoIP's enums, each is a `const` object of members plus a type of its
 * members; the object also carries the look-up functions
 * (`PayloadType.fromNumber`, `TransmitType.mirror`, ...).
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"

/**
 * Whether a payload type carries sound or pictures.
 *
 * @category models
 * @since 0.1.0
 */
export type MediaKind = "audio" | "video"

/**
 * One payload format. Static ones (RFC 3551 Tables 4 and 5) have a fixed
 * number in `value`; dynamic ones (telephone-event) have `"dynamic"` and get
 * their number from the SDP (see {@link PayloadMapping}).
 *
 * @category models
 * @since 0.1.0
 */
export interface PayloadType {
  /** The member name, as pyVoIP's `pt.name` (`"PCMU"`, `"DVI4_16000"`, `"EVENT"`). */
  readonly name: string
  readonly value: number | "dynamic"
  /** The encoding name as written in `a=rtpmap` (`"PCMU"`, `"telephone-event"`). */
  readonly description: string
  /** RTP clock rate in Hz. */
  readonly rate: number
  /** Audio channels; 0 for video. */
  readonly channels: number
  readonly kind: MediaKind
  /** The encoding name, as pyVoIP's `str(pt)`. */
  toString(): string
}

/**
 * A payload type bound to the number an SDP offer or answer gave it, e.g.
 * `{ number: 101, type: PayloadType.EVENT }` from `a=rtpmap:101 telephone-event/8000`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PayloadMapping {
  readonly number: number
  readonly type: PayloadType
}

/**
 * Raised when a dynamic payload type is asked for its number without a
 * mapping from the SDP.
 *
 * @category errors
 * @since 0.1.0
 */
export class DynamicPayloadType extends Schema.TaggedError<DynamicPayloadType>()("DynamicPayloadType", {
  payloadType: Schema.String
}) {
  override get message(): string {
    return `the payload type ${this.payloadType} is dynamic: its number comes from the SDP`
  }
}

const member = (
  name: string,
  value: number | "dynamic",
  description: string,
  rate: number,
  channels: number,
  kind: MediaKind
): PayloadType =>
  Object.freeze({ name, value, description, rate, channels, kind, toString: () => description })

const members = {
  PCMU: member("PCMU", 0, "PCMU", 8000, 1, "audio"),
  GSM: member("GSM", 3, "GSM", 8000, 1, "audio"),
  G723: member("G723", 4, "G723", 8000, 1, "audio"),
  DVI4_8000: member("DVI4_8000", 5, "DVI4", 8000, 1, "audio"),
  DVI4_16000: member("DVI4_16000", 6, "DVI4", 16000, 1, "audio"),
  LPC: member("LPC", 7, "LPC", 8000, 1, "audio"),
  PCMA: member("PCMA", 8, "PCMA", 8000, 1, "audio"),
  // RFC 3551 §4.5.2: G.722 samples at 16 kHz but keeps an 8000 Hz RTP clock for historical reasons.
  G722: member("G722", 9, "G722", 8000, 1, "audio"),
  L16_2: member("L16_2", 10, "L16", 44100, 2, "audio"),
  L16: member("L16", 11, "L16", 44100, 1, "audio"),
  QCELP: member("QCELP", 12, "QCELP", 8000, 1, "audio"),
  CN: member("CN", 13, "CN", 8000, 1, "audio"),
  MPA: member("MPA", 14, "MPA", 90000, 1, "audio"),
  G728: member("G728", 15, "G728", 8000, 1, "audio"),
  DVI4_11025: member("DVI4_11025", 16, "DVI4", 11025, 1, "audio"),
  DVI4_22050: member("DVI4_22050", 17, "DVI4", 22050, 1, "audio"),
  G729: member("G729", 18, "G729", 8000, 1, "audio"),
  CELB: member("CELB", 25, "CelB", 90000, 0, "video"),
  JPEG: member("JPEG", 26, "JPEG", 90000, 0, "video"),
  NV: member("NV", 28, "nv", 90000, 0, "video"),
  H261: member("H261", 31, "H261", 90000, 0, "video"),
  MPV: member("MPV", 32, "MPV", 90000, 0, "video"),
  MP2T: member("MP2T", 33, "MP2T", 90000, 0, "video"),
  H263: member("H263", 34, "H263", 90000, 0, "video"),
  EVENT: member("EVENT", "dynamic", "telephone-event", 8000, 1, "audio")
} as const

const all: ReadonlyArray<PayloadType> = Object.freeze(Object.values(members))

const byNumber: ReadonlyArray<PayloadType | undefined> = (() => {
  const table: Array<PayloadType | undefined> = new Array(128).fill(undefined)
  for (const pt of all) if (typeof pt.value === "number") table[pt.value] = pt
  return table
})()

/**
 * The payload type with this static number (0-127), or `undefined` for
 * unassigned and dynamic numbers.
 */
const fromNumber = (payloadNumber: number): PayloadType | undefined => byNumber[payloadNumber]

/**
 * The payload type an `a=rtpmap` line names: encoding names compare without
 * case (RFC 4855 §3); `channels` defaults to 1 for audio, as in rtpmap.
 */
const fromEncoding = (encoding: string, rate: number, channels?: number): PayloadType | undefined => {
  const wanted = encoding.toLowerCase()
  return all.find((pt) =>
    pt.description.toLowerCase() === wanted && pt.rate === rate &&
    (pt.kind === "video" || pt.channels === (channels ?? 1))
  )
}

/**
 * A dynamic payload type the table does not hold (`opus/48000/2`, `iLBC/8000`),
 * named by its rtpmap encoding; its member name is the encoding in upper case.
 */
const dynamic = (encoding: string, rate: number, channels = 1, kind: MediaKind = "audio"): PayloadType =>
  member(encoding.toUpperCase(), "dynamic", encoding, rate, kind === "video" ? 0 : channels, kind)

/**
 * Whether two payload types are the same format: same encoding name (without
 * case), clock rate and channels. This is how SDP matches codecs whose numbers
 * differ between offer and answer (RFC 3264 §6.1).
 */
const equivalent = (a: PayloadType, b: PayloadType): boolean =>
  a === b ||
  (a.description.toLowerCase() === b.description.toLowerCase() && a.rate === b.rate && a.channels === b.channels &&
    a.kind === b.kind)

const toNumberResult = (pt: PayloadType): Result.Result<number, DynamicPayloadType> =>
  pt.value === "dynamic"
    ? Result.fail(new DynamicPayloadType({ payloadType: pt.description }))
    : Result.succeed(pt.value)

const toNumber = (pt: PayloadType): Effect.Effect<number, DynamicPayloadType> =>
  Effect.fromResult(toNumberResult(pt))

/**
 * RFC 3551 §6's static payload types plus telephone-event (RFC 4733), with
 * their look-ups:
 * - `fromNumber(n)`: the static type numbered `n`, or `undefined`.
 * - `fromEncoding(name, rate, channels?)`: the type an rtpmap names, or `undefined`.
 * - `dynamic(encoding, rate, channels?, kind?)`: a dynamic type outside the table.
 * - `equivalent(a, b)`: same encoding, rate and channels.
 * - `toNumber(pt)` / `toNumberResult(pt)`: the static number, failing with
 *   {@link DynamicPayloadType} for dynamic types.
 * - `all`: every member, in table order.
 *
 * @category constructors
 * @since 0.1.0
 */
export const PayloadType = {
  ...members,
  all,
  fromNumber,
  fromEncoding,
  dynamic,
  equivalent,
  toNumber,
  toNumberResult
} as const

/**
 * The transport protocol of an SDP `m=` line, as pyVoIP's `RTPProtocol`.
 *
 * @category models
 * @since 0.1.0
 */
export type RTPProtocol = "udp" | "RTP/AVP" | "RTP/SAVP"

const rtpProtocols = { UDP: "udp", AVP: "RTP/AVP", SAVP: "RTP/SAVP" } as const satisfies Record<string, RTPProtocol>

/**
 * `UDP`, `AVP`, `SAVP`, and `fromString(proto)` which gives the member for
 * an `m=` line's protocol field (compared without case) or `undefined`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const RTPProtocol = {
  ...rtpProtocols,
  fromString: (proto: string): RTPProtocol | undefined => {
    const wanted = proto.toLowerCase()
    return Object.values(rtpProtocols).find((p) => p.toLowerCase() === wanted)
  }
} as const

/**
 * The direction of a media stream (`a=sendrecv` and friends), as pyVoIP's
 * `TransmitType`.
 *
 * @category models
 * @since 0.1.0
 */
export type TransmitType = "recvonly" | "sendrecv" | "sendonly" | "inactive"

const transmitTypes = {
  RECVONLY: "recvonly",
  SENDRECV: "sendrecv",
  SENDONLY: "sendonly",
  INACTIVE: "inactive"
} as const satisfies Record<string, TransmitType>

const mirrored: Record<TransmitType, TransmitType> = {
  recvonly: "sendonly",
  sendonly: "recvonly",
  sendrecv: "sendrecv",
  inactive: "inactive"
}

/**
 * `RECVONLY`, `SENDRECV`, `SENDONLY`, `INACTIVE`, plus:
 * - `fromString(s)`: the member an SDP attribute names, or `undefined`.
 * - `mirror(t)`: the direction an answer takes towards an offer with `t`
 *   (RFC 3264 §6.1: sendonly is answered recvonly and back; sendrecv and
 *   inactive stay).
 *
 * @category constructors
 * @since 0.1.0
 */
export const TransmitType = {
  ...transmitTypes,
  fromString: (attribute: string): TransmitType | undefined => {
    const wanted = attribute.toLowerCase()
    return Object.values(transmitTypes).find((t) => t === wanted)
  },
  mirror: (offered: TransmitType): TransmitType => mirrored[offered]
} as const
