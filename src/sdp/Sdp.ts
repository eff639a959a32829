/**
 * SDP bodies (RFC 4566 / RFC 8866): parsing with the checks a user agent
 * needs, a typed view of the session and of every `m=` section, and
 * serialization with CRLF line ends.
 *
 * sdp-transform does the attribute grammar. It accepts almost anything, so
 * `parse` checks the structure itself first (v=0 first, o=, s=, t= present,
 * well-formed m= and c= lines, a connection for every active stream). It is
 * liberal where deployed PBXs are sloppy: an o= line missing a field still
 * gives an origin, blank lines and bare LF line ends are accepted.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import * as SdpTransform from "sdp-transform"
import { type MediaKind, PayloadType, RTPProtocol, TransmitType } from "../rtp/PayloadType.ts"

/**
 * A body that is not a usable session description. `line` is 1-based, 0 when
 * the problem is not on one line (a missing o=, say).
 *
 * @category errors
 * @since 0.1.0
 */
export class SDPParseError extends Schema.TaggedError<SDPParseError>()("SDPParseError", {
  reason: Schema.String,
  line: Schema.Number
}) {
  override get message(): string {
    return this.line > 0 ? `${this.reason} (SDP line ${this.line})` : this.reason
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export type AddressType = "IP4" | "IP6"

/**
 * A `c=` line: where media goes. `address` may be a host name, as in RFC 4317.
 *
 * @category models
 * @since 0.1.0
 */
export interface Connection {
  readonly addressType: AddressType
  readonly address: string
}

/**
 * The `o=` line. Session id and version are decimal strings: they are often
 * 64-bit NTP timestamps, beyond a JavaScript number's exact range.
 *
 * @category models
 * @since 0.1.0
 */
export interface Origin {
  readonly username: string
  readonly sessionId: string
  readonly sessionVersion: string
  readonly netType: string
  readonly addressType: AddressType
  readonly address: string
}

/**
 * One format of an RTP `m=` line, in the line's order. `type` comes from the
 * static table when the number is static, else from the `a=rtpmap` line
 * (`telephone-event/8000` is `PayloadType.EVENT`, an unknown encoding a
 * `PayloadType.dynamic`); it is undefined for a dynamic number without rtpmap.
 *
 * @category models
 * @since 0.1.0
 */
export interface MediaPayload {
  readonly number: number
  readonly type: PayloadType | undefined
  readonly encoding: string | undefined
  readonly rate: number | undefined
  readonly channels: number | undefined
  readonly fmtp: string | undefined
}

/**
 * One `m=` section with the session-level values it inherits already applied
 * (connection, direction).
 *
 * @category models
 * @since 0.1.0
 */
export interface MediaDescription {
  /** `audio`, `video`, `image`, ... */
  readonly kind: string
  /** 0 means the stream is rejected or removed (RFC 3264 §6, §8.2). */
  readonly port: number
  readonly portCount: number
  /** The protocol field as written (`RTP/AVP`, `RTP/SAVPF`, `udptl`). */
  readonly transport: string
  readonly protocol: RTPProtocol | undefined
  /** The format list as written. */
  readonly formats: ReadonlyArray<string>
  /** The formats as RTP payloads; empty for non-RTP transports. */
  readonly payloads: ReadonlyArray<MediaPayload>
  readonly connection: Connection | undefined
  /** Media-level attribute, else session-level, else sendrecv. */
  readonly direction: TransmitType
  readonly ptime: number | undefined
  readonly maxptime: number | undefined
  /** `a=rtcp` (RFC 3605); when absent RTCP uses port + 1. */
  readonly rtcpPort: number | undefined
  readonly rtcpMux: boolean
  /** sdp-transform's reading of the section, with every attribute the view leaves out. */
  readonly raw: SdpTransform.MediaDescription
}

/**
 * A parsed session description. `serialize` writes `raw` (so attributes the
 * view does not model survive) with the o= and m= lines taken from the view.
 *
 * @category models
 * @since 0.1.0
 */
export interface SessionDescription {
  readonly origin: Origin
  readonly sessionName: string
  readonly connection: Connection | undefined
  /** The session-level direction attribute, if any. */
  readonly direction: TransmitType | undefined
  readonly media: ReadonlyArray<MediaDescription>
  readonly raw: SdpTransform.SessionDescription
}

/**
 * The fields of an `m=` line.
 *
 * @category models
 * @since 0.1.0
 */
export interface MediaLine {
  readonly kind: string
  readonly port: number
  readonly portCount: number
  readonly transport: string
  readonly formats: ReadonlyArray<string>
}

interface Line {
  readonly type: string
  readonly value: string
  readonly number: number
}

const fail = (reason: string, line: number): Result.Result<never, SDPParseError> =>
  Result.fail(new SDPParseError({ reason, line }))

const isRtpTransport = (transport: string): boolean => /(^|\/)RTP\//i.test(transport)

const splitLines = (text: string): Result.Result<ReadonlyArray<Line>, SDPParseError> => {
  const lines: Array<Line> = []
  const rawLines = text.split(/\r\n|\r|\n/)
  for (let i = 0; i < rawLines.length; i++) {
    const content = rawLines[i] ?? ""
    if (content.trim() === "") continue
    if (!/^[a-z]=/.test(content)) return fail(`"${content.slice(0, 40)}" is not a <type>=<value> line`, i + 1)
    lines.push({ type: content[0] ?? "", value: content.slice(2), number: i + 1 })
  }
  return Result.succeed(lines)
}

// Read from the right so that an o= line missing a leading field still gives
// the version and address a user agent acts on; a lone leading token is the
// session id (Asterisk has been seen sending "o=-1307081803 2 IN IP4 ...").
const parseOrigin = (line: Line): Result.Result<Origin, SDPParseError> => {
  const fields = line.value.trim().split(/\s+/)
  if (fields.length < 5) {
    return fail("o= line needs a session id, version, network type, address type and address", line.number)
  }
  const [sessionVersion = "", netType = "", addressType = "", address = ""] = fields.slice(-4)
  const leading = fields.slice(0, -4)
  if (!/^\d+$/.test(sessionVersion)) return fail(`o= session version "${sessionVersion}" is not a number`, line.number)
  if (addressType !== "IP4" && addressType !== "IP6") {
    return fail(`o= address type "${addressType}" is neither IP4 nor IP6`, line.number)
  }
  const sessionId = leading.length === 1 ? (leading[0] ?? "").replace(/^-(?=\d)/, "") : leading.at(-1) ?? ""
  const username = leading.length === 1 ? "-" : leading.slice(0, -1).join(" ")
  return Result.succeed({ username, sessionId, sessionVersion, netType, addressType, address })
}

const connectionPattern = /^IN IP([46]) (\S+)/

const parseMediaLine = (line: Line): Result.Result<MediaLine, SDPParseError> => {
  const fields = line.value.trim().split(/\s+/)
  const [kind = "", portField = "", transport = ""] = fields
  const formats = fields.slice(3)
  const port = /^(\d+)(?:\/(\d+))?$/.exec(portField)
  if (port === null || kind === "" || transport === "" || formats.length === 0) {
    return fail("m= line needs <media> <port> <proto> <format>...", line.number)
  }
  const portNumber = Number(port[1])
  const portCount = port[2] === undefined ? 1 : Number(port[2])
  if (portNumber > 65535 || portCount < 1) return fail(`m= port "${portField}" is out of range`, line.number)
  if (isRtpTransport(transport) && !formats.every((f) => /^\d{1,3}$/.test(f) && Number(f) <= 127)) {
    return fail(`m= ${transport} formats must be payload type numbers 0-127`, line.number)
  }
  return Result.succeed({ kind, port: portNumber, portCount, transport, formats })
}

interface Structure {
  readonly origin: Origin
  readonly mediaLines: ReadonlyArray<MediaLine>
}

// Groups the lines from the first m= on into one array per media section.
const mediaSections = (lines: ReadonlyArray<Line>): ReadonlyArray<readonly [Line, ...Array<Line>]> => {
  const sections: Array<[Line, ...Array<Line>]> = []
  for (const line of lines) {
    const current = sections.at(-1)
    if (line.type === "m" || current === undefined) sections.push([line])
    else current.push(line)
  }
  return sections
}

const checkStructure = (lines: ReadonlyArray<Line>): Result.Result<Structure, SDPParseError> =>
  Result.gen(function*() {
    const first = lines[0]
    if (first === undefined) return yield* fail("empty session description", 0)
    if (first.type !== "v" || first.value.trim() !== "0") {
      return yield* fail("a session description starts with v=0", first.number)
    }
    // RFC 4566 §5: v= starts the description and appears once; a later one would
    // overwrite the version that serialize writes first
    const secondVersion = lines.find((l, i) => i > 0 && l.type === "v")
    if (secondVersion !== undefined) return yield* fail("a second v= line", secondVersion.number)
    const firstMedia = lines.findIndex((l) => l.type === "m")
    const session = firstMedia < 0 ? lines : lines.slice(0, firstMedia)
    const originLine = session.find((l) => l.type === "o")
    if (originLine === undefined) return yield* fail("no o= line", 0)
    if (!session.some((l) => l.type === "s")) return yield* fail("no s= line", 0)
    const timing = session.find((l) => l.type === "t")
    if (timing === undefined) return yield* fail("no t= line", 0)
    if (!/^\d+ \d+$/.test(timing.value.trim())) {
      return yield* fail("t= line needs a start and a stop time", timing.number)
    }
    const badConnection = lines.find((l) => l.type === "c" && !connectionPattern.test(l.value))
    if (badConnection !== undefined) return yield* fail("c= line needs IN IP4|IP6 <address>", badConnection.number)

    const origin = yield* parseOrigin(originLine)
    const sessionHasConnection = session.some((l) => l.type === "c")
    const mediaLines: Array<MediaLine> = []
    for (const [mLine, ...attributes] of mediaSections(firstMedia < 0 ? [] : lines.slice(firstMedia))) {
      const media = yield* parseMediaLine(mLine)
      if (media.port !== 0 && !sessionHasConnection && !attributes.some((l) => l.type === "c")) {
        return yield* fail("m= section without c= and no session-level c=", mLine.number)
      }
      mediaLines.push(media)
    }
    return { origin, mediaLines }
  })

const toConnection = (raw: { readonly version: number; readonly ip: string } | undefined): Connection | undefined =>
  raw === undefined
    ? undefined
    : { addressType: raw.version === 6 ? "IP6" : "IP4", address: String(raw.ip).split("/")[0] ?? "" }

// sdp-transform turns every field that looks like a number into one (and
// leaves "" or "020" as strings), whatever its declared type says.
const numberOrUndefined = (value: unknown): number | undefined => typeof value === "number" ? value : undefined

const toPayload = (
  formatNumber: number,
  kind: string,
  raw: SdpTransform.MediaDescription
): MediaPayload => {
  const rtpmap = raw.rtp.find((r) => r.payload === formatNumber)
  const fmtpConfig = raw.fmtp.find((f) => f.payload === formatNumber)?.config
  const fmtp = fmtpConfig === undefined ? undefined : String(fmtpConfig)
  const rate = numberOrUndefined(rtpmap?.rate)
  const staticType = PayloadType.fromNumber(formatNumber)
  if (rtpmap === undefined || rate === undefined) {
    return {
      number: formatNumber,
      type: staticType,
      encoding: staticType?.description ?? (rtpmap === undefined ? undefined : String(rtpmap.codec)),
      rate: staticType?.rate,
      channels: staticType?.channels,
      fmtp
    }
  }
  const encoding = String(rtpmap.codec)
  const mediaKind: MediaKind | undefined = kind === "audio" || kind === "video" ? kind : undefined
  const channels = mediaKind === "video" ? 0 : numberOrUndefined(rtpmap.encoding) ?? 1
  const type = PayloadType.fromEncoding(encoding, rate, channels) ??
    (mediaKind === undefined ? undefined : PayloadType.dynamic(encoding, rate, channels, mediaKind))
  return { number: formatNumber, type, encoding, rate, channels, fmtp }
}

const describeMedia = (
  line: MediaLine,
  raw: SdpTransform.MediaDescription,
  session: SdpTransform.SessionDescription
): MediaDescription => ({
  kind: line.kind,
  port: line.port,
  portCount: line.portCount,
  transport: line.transport,
  protocol: RTPProtocol.fromString(line.transport),
  formats: line.formats,
  payloads: isRtpTransport(line.transport) ? line.formats.map((f) => toPayload(Number(f), line.kind, raw)) : [],
  connection: toConnection(raw.connection ?? session.connection),
  direction: raw.direction ?? session.direction ?? TransmitType.SENDRECV,
  ptime: numberOrUndefined(raw.ptime),
  maxptime: numberOrUndefined(raw.maxptime),
  rtcpPort: numberOrUndefined(raw.rtcp?.port),
  rtcpMux: raw.rtcpMux !== undefined,
  raw
})

/**
 * Builds the typed view over an sdp-transform object whose origin and m=
 * lines are given separately (they are what sdp-transform cannot hold
 * exactly). Used by `parse` and by the offer/answer builders.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeDescription = (
  raw: SdpTransform.SessionDescription,
  origin: Origin,
  mediaLines: ReadonlyArray<MediaLine>
): SessionDescription => {
  const media = mediaLines.map((line, i) => {
    const { maxptime, ptime, rtcp, ...parsed } = raw.media[i] ?? { rtp: [], fmtp: [] }
    // An attribute whose number did not parse ("a=ptime:") would be written back as 0: leave it out.
    const rawMedia: SdpTransform.MediaDescription = {
      ...parsed,
      ...(typeof ptime === "number" ? { ptime } : {}),
      ...(typeof maxptime === "number" ? { maxptime } : {}),
      ...(typeof rtcp?.port === "number" ? { rtcp } : {}),
      type: line.kind,
      port: line.port,
      protocol: line.transport,
      payloads: line.formats.join(" ")
    }
    return describeMedia(line, rawMedia, raw)
  })
  const fixedRaw: SdpTransform.SessionDescription = {
    ...raw,
    origin: {
      username: origin.username,
      sessionId: origin.sessionId,
      sessionVersion: Number(origin.sessionVersion),
      netType: origin.netType,
      ipVer: origin.addressType === "IP6" ? 6 : 4,
      address: origin.address
    },
    media: media.map((m) => m.raw)
  }
  return {
    origin,
    sessionName: String(raw.name ?? ""),
    connection: toConnection(raw.connection),
    direction: raw.direction,
    media,
    raw: fixedRaw
  }
}

/**
 * Parses an SDP body (text or UTF-8 bytes).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parse = (body: string | Uint8Array): Result.Result<SessionDescription, SDPParseError> => {
  const text = typeof body === "string" ? body : new TextDecoder().decode(body)
  return Result.flatMap(splitLines(text), checkStructure).pipe(
    Result.map(({ mediaLines, origin }) => makeDescription(SdpTransform.parse(text), origin, mediaLines))
  )
}

/**
 * `parse` in the Effect failure channel.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseEffect = (body: string | Uint8Array): Effect.Effect<SessionDescription, SDPParseError> =>
  Effect.fromResult(parse(body))

const formatOrigin = (o: Origin): string =>
  `o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addressType} ${o.address}`

const formatMediaLine = (m: MediaLine): string =>
  `m=${m.kind} ${m.port}${m.portCount > 1 ? `/${m.portCount}` : ""} ${m.transport} ${m.formats.join(" ")}`

/**
 * Writes a session description with CRLF line ends (the last line too).
 *
 * @category serializing
 * @since 0.1.0
 */
export const serialize = (sd: SessionDescription): string => {
  // sdp-transform's writer fills in missing fields on the object it is given.
  const lines = SdpTransform.write(structuredClone(sd.raw)).split("\r\n")
  let mediaIndex = 0
  return lines.map((line) => {
    if (line.startsWith("o=")) return formatOrigin(sd.origin)
    if (!line.startsWith("m=")) return line
    const media = sd.media[mediaIndex++]
    return media === undefined ? line : formatMediaLine(media)
  }).join("\r\n")
}
