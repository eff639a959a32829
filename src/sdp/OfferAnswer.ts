/**
 * The SDP offer/answer model (RFC 3264) for a voice user agent: build an
 * offer, answer a remote offer, read the answer to our offer, and get from
 * each exchange the `NegotiatedMedia` the RTP layer runs on.
 *
 * Choices made here:
 * - Codecs are matched by encoding, rate and channels, so a renumbered
 *   dynamic type (RFC 4317 §2.3: iLBC as 97 in the offer, 99 in the answer)
 *   still matches. Our answers reuse the offer's numbers (RFC 3264 §6.1).
 * - An answer keeps every acceptable codec in the offerer's order; the first
 *   one is the codec used.
 * - Every offered stream gets an m= line in the answer; a stream we cannot
 *   take gets port 0 and the offer's first format (RFC 3264 §6). The k-th
 *   accepted stream (from 0) is given `port + 2k`.
 * - A connection address of 0.0.0.0 (or ::) is RFC 2543 hold: no media is
 *   sent there, whatever the direction attribute says (RFC 3264 §8.4).
 *
 * @since 0.1.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Effect, Result, Schema } from "effect"
import type * as SdpTransform from "sdp-transform"
import { type PayloadMapping, PayloadType, RTPProtocol, TransmitType } from "../rtp/PayloadType.ts"
import {
  type AddressType,
  type Connection,
  makeDescription,
  type MediaDescription,
  type MediaLine,
  type MediaPayload,
  type Origin,
  type SessionDescription
} from "./Sdp.ts"

/**
 * No offered stream has a codec we support: a UAS answers the INVITE with
 * 488 Not Acceptable Here.
 *
 * @category errors
 * @since 0.1.0
 */
export class NoCompatibleCodec extends Schema.TaggedError<NoCompatibleCodec>()("NoCompatibleCodec", {
  offered: Schema.Array(Schema.String),
  supported: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `no offered codec is supported: offered ${this.offered.join(", ") || "nothing"}, ` +
      `supported ${this.supported.join(", ")}`
  }
}

/**
 * An answer that does not answer our offer (RFC 3264 §6: one m= line per
 * offered stream, in the same order).
 *
 * @category errors
 * @since 0.1.0
 */
export class AnswerMismatch extends Schema.TaggedError<AnswerMismatch>()("AnswerMismatch", {
  offeredStreams: Schema.Number,
  answeredStreams: Schema.Number
}) {
  override get message(): string {
    return `the answer has ${this.answeredStreams} m= lines for ${this.offeredStreams} offered streams`
  }
}

/**
 * What we put in our side of an exchange.
 *
 * @category models
 * @since 0.1.0
 */
export interface LocalMedia {
  /** Our RTP address, written in c=. */
  readonly address: string
  /** RTP port of the first stream; RTCP goes on port + 1. */
  readonly port: number
  /**
   * Codecs in order of preference; default PCMU, PCMA, telephone-event.
   * Dynamic types without a mapping are numbered from 96 (telephone-event: 101).
   */
  readonly codecs?: NonEmptyReadonlyArray<PayloadType | PayloadMapping>
  /** What we want to do, default sendrecv; the answer narrows it to what the offer allows. */
  readonly direction?: TransmitType
  /** Packet time we want to receive, in ms; default 20. */
  readonly ptime?: number
  /** Default: random. Keep it across a dialog's re-offers. */
  readonly sessionId?: bigint
  /** Default: the session id. Use `nextVersion` for a changed re-offer. */
  readonly sessionVersion?: bigint
  /** o= username; default "-". */
  readonly username?: string
  /** s= value; default "-". */
  readonly sessionName?: string
}

/**
 * One stream the RTP layer runs, seen from our side.
 *
 * @category models
 * @since 0.1.0
 */
export interface NegotiatedMedia {
  /** Position of the stream's m= line. */
  readonly mediaIndex: number
  readonly kind: string
  readonly localPort: number
  readonly remoteAddressType: AddressType
  readonly remoteAddress: string
  readonly remotePort: number
  /** `a=rtcp` of the remote side, else its RTP port + 1. */
  readonly remoteRtcpPort: number
  /** The codec we send, numbered as the remote side asked to receive it. */
  readonly codec: PayloadMapping
  /** The telephone-event number the remote side receives, if both sides have it. */
  readonly dtmf: number | undefined
  /** The payload numbers we may receive, as our own description numbered them. */
  readonly receive: ReadonlyArray<PayloadMapping>
  /** Our direction: `recvonly` means we only receive. */
  readonly direction: TransmitType
  /** Packet time the remote side asked for (a=ptime), else 20 ms. */
  readonly ptime: number
}

/**
 * An answer to a remote offer and the streams it sets up.
 *
 * @category models
 * @since 0.1.0
 */
export interface Answer {
  readonly description: SessionDescription
  readonly media: ReadonlyArray<NegotiatedMedia>
}

const defaultCodecs: NonEmptyReadonlyArray<PayloadType> = [PayloadType.PCMU, PayloadType.PCMA, PayloadType.EVENT]
const defaultPtime = 20
// RFC 4733 §3.2 events 0-15 are DTMF 0-9 * # A-D; 16 is flash (hook flash).
const supportedEvents = { low: 0, high: 16 }
const ourEvents = `${supportedEvents.low}-${supportedEvents.high}`
// RFC 4733 §2.4.1: telephone-event without fmtp means events 0-15.
const defaultOfferedEvents = "0-15"

const isMapping = (codec: PayloadType | PayloadMapping): codec is PayloadMapping => "number" in codec

const isEvent = (type: PayloadType): boolean => PayloadType.equivalent(type, PayloadType.EVENT)

// Static types keep their number, given mappings theirs; the other dynamic
// types take 101 for telephone-event (the usual choice) or the lowest free
// number from 96. Past 127 there are no dynamic numbers left, so the rest is dropped.
const assignNumbers = (codecs: ReadonlyArray<PayloadType | PayloadMapping>): ReadonlyArray<PayloadMapping> => {
  const used = new Set<number>()
  for (const codec of codecs) {
    if (isMapping(codec)) used.add(codec.number)
    else if (codec.value !== "dynamic") used.add(codec.value)
  }
  const freeNumber = (preferred: number | undefined): number | undefined => {
    if (preferred !== undefined && !used.has(preferred)) return preferred
    for (let n = 96; n <= 127; n++) if (!used.has(n)) return n
    return undefined
  }
  const mappings: Array<PayloadMapping> = []
  for (const codec of codecs) {
    if (isMapping(codec)) mappings.push(codec)
    else if (codec.value !== "dynamic") mappings.push({ number: codec.value, type: codec })
    else {
      const number = freeNumber(isEvent(codec) ? 101 : undefined)
      if (number === undefined) continue
      used.add(number)
      mappings.push({ number, type: codec })
    }
  }
  return mappings
}

const localTypes = (local: LocalMedia): ReadonlyArray<PayloadType> =>
  (local.codecs ?? defaultCodecs).map((codec) => isMapping(codec) ? codec.type : codec)

const sends = (t: TransmitType): boolean => t === TransmitType.SENDRECV || t === TransmitType.SENDONLY
const receives = (t: TransmitType): boolean => t === TransmitType.SENDRECV || t === TransmitType.RECVONLY

const directionOf = (send: boolean, receive: boolean): TransmitType =>
  send
    ? (receive ? TransmitType.SENDRECV : TransmitType.SENDONLY)
    : (receive ? TransmitType.RECVONLY : TransmitType.INACTIVE)

// RFC 3264 §6.1: the answer mirrors the offer, and we may narrow it further.
const answerDirection = (offered: TransmitType, wanted: TransmitType): TransmitType =>
  directionOf(receives(offered) && sends(wanted), sends(offered) && receives(wanted))

const isUnspecifiedAddress = (address: string): boolean => address === "0.0.0.0" || address === "::"

// Event lists such as "0-15,66" (RFC 4733 §2.4.1) narrowed to the events we handle.
const commonEvents = (offered: string): string | undefined => {
  const wanted = new Set<number>()
  for (const part of offered.split(",")) {
    const range = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part)
    if (range === null) continue
    const from = Math.max(Number(range[1]), supportedEvents.low)
    const to = Math.min(Number(range[2] ?? range[1]), supportedEvents.high)
    for (let e = from; e <= to; e++) wanted.add(e)
  }
  const ranges: Array<string> = []
  for (let e = supportedEvents.low; e <= supportedEvents.high; e++) {
    if (!wanted.has(e) || wanted.has(e - 1)) continue
    let end = e
    while (wanted.has(end + 1)) end++
    ranges.push(end === e ? `${e}` : `${e}-${end}`)
  }
  return ranges.length === 0 ? undefined : ranges.join(",")
}

const rtpmapOf = (mapping: PayloadMapping): SdpTransform.MediaAttributes["rtp"][number] => ({
  payload: mapping.number,
  codec: mapping.type.description,
  rate: mapping.type.rate,
  ...(mapping.type.kind === "audio" && mapping.type.channels > 1 ? { encoding: mapping.type.channels } : {})
})

interface StreamPlan {
  readonly line: MediaLine
  readonly raw: SdpTransform.MediaDescription
}

const acceptedStream = (
  kind: string,
  port: number,
  mappings: ReadonlyArray<PayloadMapping>,
  events: string | undefined,
  direction: TransmitType,
  ptime: number
): StreamPlan => ({
  line: { kind, port, portCount: 1, transport: "RTP/AVP", formats: mappings.map((m) => String(m.number)) },
  raw: {
    type: kind,
    port,
    protocol: "RTP/AVP",
    rtp: mappings.map(rtpmapOf),
    fmtp: events === undefined
      ? []
      : mappings.filter((m) => isEvent(m.type)).map((m) => ({ payload: m.number, config: events })),
    ...(kind === "audio" ? { ptime } : {}),
    direction
  }
})

const makeOrigin = (local: LocalMedia): Origin => {
  const sessionId = local.sessionId ?? randomSessionId()
  return {
    username: local.username ?? "-",
    sessionId: sessionId.toString(),
    sessionVersion: (local.sessionVersion ?? sessionId).toString(),
    netType: "IN",
    addressType: addressTypeOf(local.address),
    address: local.address
  }
}

// 62 random bits: positive and well inside the 63-bit range RFC 4566 implementations expect.
const randomSessionId = (): bigint => {
  const [high = 0, low = 0] = crypto.getRandomValues(new Uint32Array(2))
  return (BigInt(high & 0x3fffffff) << 32n) | BigInt(low)
}

const addressTypeOf = (address: string): AddressType => address.includes(":") ? "IP6" : "IP4"

const buildDescription = (local: LocalMedia, streams: ReadonlyArray<StreamPlan>): SessionDescription => {
  const origin = makeOrigin(local)
  const raw: SdpTransform.SessionDescription = {
    version: 0,
    origin: {
      username: origin.username,
      sessionId: origin.sessionId,
      sessionVersion: 0,
      netType: origin.netType,
      ipVer: origin.addressType === "IP6" ? 6 : 4,
      address: origin.address
    },
    name: local.sessionName ?? "-",
    connection: { version: origin.addressType === "IP6" ? 6 : 4, ip: local.address },
    timing: { start: 0, stop: 0 },
    media: streams.map((s) => s.raw)
  }
  return makeDescription(raw, origin, streams.map((s) => s.line))
}

/**
 * An offer with one RTP/AVP stream per media kind among `codecs` (audio on
 * `port`, video, if any, on `port + 2`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const createOffer = (local: LocalMedia): SessionDescription => {
  const mappings = assignNumbers(local.codecs ?? defaultCodecs)
  const kinds = [...new Set(mappings.map((m) => m.type.kind))]
  const streams = kinds.map((kind, k) => {
    const ofKind = mappings.filter((m) => m.type.kind === kind)
    const events = ofKind.some((m) => isEvent(m.type)) ? ourEvents : undefined
    return acceptedStream(
      kind,
      local.port + 2 * k,
      ofKind,
      events,
      local.direction ?? TransmitType.SENDRECV,
      local.ptime ?? defaultPtime
    )
  })
  return buildDescription(local, streams)
}

/**
 * The session version for a changed re-offer: the previous one plus one
 * (RFC 3264 §8; RFC 4566 §5.2).
 *
 * @category constructors
 * @since 0.1.0
 */
export const nextVersion = (previous: SessionDescription): bigint =>
  /^\d+$/.test(previous.origin.sessionVersion) ? BigInt(previous.origin.sessionVersion) + 1n : 1n

const mappingOf = (payload: MediaPayload): PayloadMapping | undefined =>
  payload.type === undefined ? undefined : { number: payload.number, type: payload.type }

const negotiated = (
  mediaIndex: number,
  localPort: number,
  remote: MediaDescription,
  connection: Connection,
  send: NonEmptyReadonlyArray<PayloadMapping>,
  receive: ReadonlyArray<PayloadMapping>,
  direction: TransmitType
): NegotiatedMedia => {
  const held = isUnspecifiedAddress(connection.address)
  return {
    mediaIndex,
    kind: remote.kind,
    localPort,
    remoteAddressType: connection.addressType,
    remoteAddress: connection.address,
    remotePort: remote.port,
    remoteRtcpPort: remote.rtcpPort ?? remote.port + 1,
    codec: send[0],
    dtmf: send.find((m) => isEvent(m.type))?.number,
    receive,
    direction: directionOf(sends(direction) && !held, receives(direction)),
    ptime: remote.ptime ?? defaultPtime
  }
}

const rejectedStream = (offered: MediaDescription): StreamPlan => {
  const first = offered.formats[0] ?? "0"
  const rtpmap = offered.raw.rtp.filter((r) => String(r.payload) === first)
  return {
    line: { kind: offered.kind, port: 0, portCount: 1, transport: offered.transport, formats: [first] },
    raw: { type: offered.kind, port: 0, protocol: offered.transport, rtp: rtpmap, fmtp: [] }
  }
}

// The offered payloads we take, in the offer's order: a stream needs a codec
// other than telephone-event, unless it was offered as a telephone-event-only
// stream (RFC 4317 §2.4).
const acceptable = (
  offered: MediaDescription,
  supported: ReadonlyArray<PayloadType>
): ReadonlyArray<PayloadMapping> => {
  if (offered.port === 0 || offered.protocol !== RTPProtocol.AVP) return []
  const common = offered.payloads
    .map(mappingOf)
    .filter((m): m is PayloadMapping => m !== undefined && supported.some((s) => PayloadType.equivalent(s, m.type)))
  const eventsOnly = offered.payloads.every((p) => p.type !== undefined && isEvent(p.type))
  return eventsOnly || common.some((m) => !isEvent(m.type)) ? common : []
}

const encodingsOf = (payloads: ReadonlyArray<MediaPayload>): ReadonlyArray<string> =>
  payloads.map((p) => p.encoding === undefined ? `${p.number}` : `${p.encoding}/${p.rate ?? "?"}`)

const describeTypes = (types: ReadonlyArray<PayloadType>): ReadonlyArray<string> =>
  types.map((t) => `${t.description}/${t.rate}`)

/**
 * Answers a remote offer (RFC 3264 §6). Fails with `NoCompatibleCodec` when
 * the offer has active streams and we can take none of them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createAnswer = (
  offer: SessionDescription,
  local: LocalMedia
): Result.Result<Answer, NoCompatibleCodec> => {
  const supported = localTypes(local)
  const wanted = local.direction ?? TransmitType.SENDRECV
  const streams: Array<StreamPlan> = []
  const media: Array<NegotiatedMedia> = []
  offer.media.forEach((offered, mediaIndex) => {
    const common = acceptable(offered, supported)
    const offeredEvents = offered.payloads.find((p) => p.type !== undefined && isEvent(p.type))?.fmtp
    const events = commonEvents(offeredEvents ?? defaultOfferedEvents)
    const [first, ...rest] = events === undefined ? common.filter((m) => !isEvent(m.type)) : common
    if (first === undefined || offered.connection === undefined) return void streams.push(rejectedStream(offered))
    const taken: NonEmptyReadonlyArray<PayloadMapping> = [first, ...rest]
    const port = local.port + 2 * media.length
    const direction = answerDirection(offered.direction, wanted)
    streams.push(acceptedStream(offered.kind, port, taken, events, direction, local.ptime ?? defaultPtime))
    media.push(negotiated(mediaIndex, port, offered, offered.connection, taken, taken, direction))
  })
  if (media.length === 0 && offer.media.some((m) => m.port !== 0)) {
    const offered = offer.media.flatMap((m) => m.port === 0 ? [] : encodingsOf(m.payloads))
    return Result.fail(new NoCompatibleCodec({ offered: [...offered], supported: [...describeTypes(supported)] }))
  }
  return Result.succeed({ description: buildDescription(local, streams), media })
}

/**
 * `createAnswer` in the Effect failure channel.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createAnswerEffect = (
  offer: SessionDescription,
  local: LocalMedia
): Effect.Effect<Answer, NoCompatibleCodec> => Effect.fromResult(createAnswer(offer, local))

/**
 * The streams an answer to our offer sets up. A stream is used when the
 * answer accepts it (port not 0) with at least one codec we offered.
 *
 * @category constructors
 * @since 0.1.0
 */
export const readAnswer = (
  offer: SessionDescription,
  answer: SessionDescription
): Result.Result<ReadonlyArray<NegotiatedMedia>, NoCompatibleCodec | AnswerMismatch> => {
  if (offer.media.length !== answer.media.length) {
    return Result.fail(
      new AnswerMismatch({ offeredStreams: offer.media.length, answeredStreams: answer.media.length })
    )
  }
  const media: Array<NegotiatedMedia> = []
  answer.media.forEach((answered, mediaIndex) => {
    const offered = offer.media[mediaIndex]
    if (offered === undefined || offered.port === 0 || answered.port === 0 || answered.connection === undefined) return
    const ours = offered.payloads.map(mappingOf).filter((m): m is PayloadMapping => m !== undefined)
    const [first, ...rest] = answered.payloads
      .map(mappingOf)
      .filter((m): m is PayloadMapping => m !== undefined && ours.some((o) => PayloadType.equivalent(o.type, m.type)))
    if (first === undefined) return
    const send: NonEmptyReadonlyArray<PayloadMapping> = [first, ...rest]
    const receive = ours.filter((o) => send.some((m) => PayloadType.equivalent(o.type, m.type)))
    const direction = TransmitType.mirror(answered.direction)
    media.push(negotiated(mediaIndex, offered.port, answered, answered.connection, send, receive, direction))
  })
  if (media.length === 0 && offer.media.some((m) => m.port !== 0)) {
    return Result.fail(
      new NoCompatibleCodec({
        offered: [...offer.media.flatMap((m) => encodingsOf(m.payloads))],
        supported: [...answer.media.flatMap((m) => encodingsOf(m.payloads))]
      })
    )
  }
  return Result.succeed(media)
}

/**
 * `readAnswer` in the Effect failure channel.
 *
 * @category constructors
 * @since 0.1.0
 */
export const readAnswerEffect = (
  offer: SessionDescription,
  answer: SessionDescription
): Effect.Effect<ReadonlyArray<NegotiatedMedia>, NoCompatibleCodec | AnswerMismatch> =>
  Effect.fromResult(readAnswer(offer, answer))
