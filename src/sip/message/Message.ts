/**
 * The SIP message model behind `SIPMessage.ts`: the {@link SIPMessage}
 * interface, its implementation with lazily parsed, cached header accessors,
 * the step that types the start line and the mandatory headers (shared by
 * parsing, building and editing), and the serializer.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as Sdp from "../../sdp/Sdp.ts"
import { HeaderId } from "../HeaderNames.ts"
import {
  type AuthHeader,
  type Contact,
  type ContactHeader,
  type ContentType,
  type CSeq,
  type EventHeader,
  type NameAddr,
  parseAuthRange,
  parseContactRange,
  parseContentTypeRange,
  parseEventRange,
  parseNameAddrListRange,
  parseNameAddrRange,
  parseNonNegativeIntRange,
  parseSessionExpiresRange,
  parseSubscriptionStateRange,
  parseTokenListRange,
  type SessionExpires,
  type SubscriptionState,
  type Via
} from "../HeaderValues.ts"
import { SIPParseError } from "../SIPParseError.ts"
import { SIPStatus } from "../SIPStatus.ts"
import { isOneWord, usualCSeq, usualNameAddr, usualRequestUri, usualVia } from "../headers/FastPath.ts"
import { attempt, Failure, Scanner } from "../headers/Lexer.ts"
import { scanNameAddrValue } from "../headers/NameAddr.ts"
import { scanCSeqValue } from "../headers/Simple.ts"
import { scanViaValue } from "../headers/Via.ts"
import { schemeOfUri, scanWholeUri, type SIPURI } from "../Uri.ts"
import type { Headers } from "./Headers.ts"
import { decodeUtf8, type RequestLine, type StartLine } from "./Scanner.ts"

/**
 * Whether a message is a request or a response (pyVoIP's `SIPMessageType`).
 *
 * @category models
 * @since 0.1.0
 */
export const SIPMessageType = { REQUEST: "REQUEST", RESPONSE: "RESPONSE" } as const

/**
 * @category models
 * @since 0.1.0
 */
export type SIPMessageType = (typeof SIPMessageType)[keyof typeof SIPMessageType]

/**
 * A parsed or built SIP message. Immutable: edits return a new message.
 *
 * @category models
 * @since 0.1.0
 */
export interface SIPMessage {
  readonly type: SIPMessageType
  /** The start line as this library writes it (single spaces, version upper-cased). */
  readonly heading: string
  /** `"SIP/2.0"`; a request may carry another version, which `validateRequest` answers with 505. */
  readonly version: string
  /** The request method; for a response, the method of its CSeq (`""` without CSeq). */
  readonly method: string
  /**
   * The parsed Request-URI; `undefined` for responses and for a Request-URI
   * whose scheme is not sip, sips or tel (see {@link requestUriText}).
   */
  readonly requestUri: SIPURI | undefined
  /** The Request-URI as written; `""` for responses. */
  readonly requestUriText: string
  /** The response status (`status.value` is the code as received); 0 for requests, as in pyVoIP. */
  readonly status: SIPStatus | 0
  /** The reason phrase as received or written; `""` for requests. */
  readonly reason: string
  readonly headers: Headers
  /** Every Via value, top first, across all Via lines. */
  readonly via: ReadonlyArray<Via>
  /**
   * `undefined` when the header is absent, or when its URI has a scheme
   * other than sip, sips or tel (RFC 4475 `unksm2`: still a valid message).
   */
  readonly from: NameAddr | undefined
  readonly to: NameAddr | undefined
  readonly callId: string | undefined
  readonly cseq: CSeq | undefined
  readonly rawBody: Uint8Array
  /** The body: a session description when Content-Type is application/sdp and it parses, else its UTF-8 text. */
  readonly body: Sdp.SessionDescription | string
  /** The SDP body, parsed on first access; `undefined` when the body is empty or not application/sdp. */
  readonly sdp: Result.Result<Sdp.SessionDescription | undefined, Sdp.SDPParseError>
  /** The message's octets: as received, or as {@link serialize} writes a built one. */
  readonly raw: Uint8Array
  /** Octets that followed the message in the parsed input (see {@link ParseOptions}). */
  readonly trailing: number
  /** Whether the message had a Content-Length header (required on streams, RFC 3261 §18.3). */
  readonly hasContentLength: boolean
  /**
   * The first challenge (responses: WWW-Authenticate, else Proxy-Authenticate)
   * or credentials (requests: Authorization, else Proxy-Authorization);
   * `undefined` when absent or malformed.
   */
  readonly authentication: AuthHeader | undefined
  readonly contact: Result.Result<ContactHeader | undefined, SIPParseError>
  /** Max-Forwards, 0-255. */
  readonly maxForwards: Result.Result<number | undefined, SIPParseError>
  readonly expires: Result.Result<number | undefined, SIPParseError>
  readonly minExpires: Result.Result<number | undefined, SIPParseError>
  readonly contentType: Result.Result<ContentType | undefined, SIPParseError>
  readonly route: Result.Result<ReadonlyArray<NameAddr>, SIPParseError>
  readonly recordRoute: Result.Result<ReadonlyArray<NameAddr>, SIPParseError>
  readonly wwwAuthenticate: Result.Result<ReadonlyArray<AuthHeader>, SIPParseError>
  readonly proxyAuthenticate: Result.Result<ReadonlyArray<AuthHeader>, SIPParseError>
  readonly authorization: Result.Result<ReadonlyArray<AuthHeader>, SIPParseError>
  readonly proxyAuthorization: Result.Result<ReadonlyArray<AuthHeader>, SIPParseError>
  readonly referTo: Result.Result<NameAddr | undefined, SIPParseError>
  readonly referredBy: Result.Result<NameAddr | undefined, SIPParseError>
  readonly event: Result.Result<EventHeader | undefined, SIPParseError>
  readonly subscriptionState: Result.Result<SubscriptionState | undefined, SIPParseError>
  readonly sessionExpires: Result.Result<SessionExpires | undefined, SIPParseError>
  readonly minSE: Result.Result<number | undefined, SIPParseError>
  /** Option tags of every Supported line; `undefined` when absent. */
  readonly supported: Result.Result<ReadonlyArray<string> | undefined, SIPParseError>
  readonly require: Result.Result<ReadonlyArray<string> | undefined, SIPParseError>
  readonly proxyRequire: Result.Result<ReadonlyArray<string> | undefined, SIPParseError>
  readonly unsupported: Result.Result<ReadonlyArray<string> | undefined, SIPParseError>
  readonly allow: Result.Result<ReadonlyArray<string> | undefined, SIPParseError>
  /** A readable dump: start line, headers and body text (pyVoIP's `summary()`). */
  summary(): string
}

/** Fields every message is built from, whether parsed, built or edited. */
export interface Parts {
  readonly startLine: StartLine
  readonly headers: Headers
  /** A received message's header section decoded as Latin-1 (see `Scanner.Scanned`); `""` otherwise. */
  readonly text: string
  /** Where each header value starts in `text` (see `Scanner.Scanned`); only a received message has them. */
  readonly valueStarts: ReadonlyArray<number> | undefined
  /** Holds the body at [bodyStart, bodyEnd); for a received message, the message from `messageStart`. */
  readonly input: Uint8Array
  readonly messageStart: number
  readonly bodyStart: number
  readonly bodyEnd: number
  readonly hasContentLength: boolean
}

/** The headers typed when a message is made (the others on first access). */
type Typed = Pick<SIPMessage, "requestUri" | "via" | "from" | "to" | "callId" | "cseq">

const nativeSchemes: ReadonlySet<string> = new Set(["sip", "sips", "tel"])

/**
 * The fields the constructor sets, declared once by {@link SIPMessage} and
 * merged into the class below; writable so that the constructor can set them
 * (the class is module-private: callers see the readonly interface).
 */
type Fields = {
  -readonly [K in "type" | "version" | "method" | "requestUriText" | "status" | "reason" | "headers" | "hasContentLength" | keyof Typed]:
    SIPMessage[K]
}

interface Message extends Fields {}

class Message implements SIPMessage {
  private readonly parts: Parts
  private bodyBytes: Uint8Array | undefined
  private rawBytes: Uint8Array | undefined
  private memo: Map<string, unknown> | undefined

  constructor(parts: Parts, typed: Typed, status: SIPStatus | 0) {
    const line = parts.startLine
    this.type = line.kind === "request" ? SIPMessageType.REQUEST : SIPMessageType.RESPONSE
    this.version = line.version
    this.method = line.kind === "request" ? line.method : typed.cseq?.method ?? ""
    this.requestUri = typed.requestUri
    this.requestUriText = line.kind === "request" ? line.uri : ""
    this.status = status
    this.reason = line.kind === "response" ? line.reason : ""
    this.headers = parts.headers
    this.via = typed.via
    this.from = typed.from
    this.to = typed.to
    this.callId = typed.callId
    this.cseq = typed.cseq
    this.hasContentLength = parts.hasContentLength
    this.parts = parts
    this.bodyBytes = undefined
    this.rawBytes = undefined
    this.memo = undefined
  }

  get heading(): string {
    const line = this.parts.startLine
    return line.kind === "request"
      ? `${line.method} ${line.uri} ${line.version}`
      : `${line.version} ${line.code} ${line.reason}`
  }

  get rawBody(): Uint8Array {
    const { bodyEnd, bodyStart, input } = this.parts
    return (this.bodyBytes ??= bodyStart === 0 && bodyEnd === input.length ? input : input.subarray(bodyStart, bodyEnd))
  }

  get raw(): Uint8Array {
    const { bodyEnd, input, messageStart, valueStarts } = this.parts
    return (this.rawBytes ??= valueStarts !== undefined ? input.subarray(messageStart, bodyEnd) : serialize(this))
  }

  get trailing(): number {
    return this.parts.valueStarts !== undefined ? this.parts.input.length - this.parts.bodyEnd : 0
  }

  get sdp(): Result.Result<Sdp.SessionDescription | undefined, Sdp.SDPParseError> {
    return this.cached("sdp", () => {
      if (this.rawBody.length === 0) return Result.succeed(undefined)
      const type = this.contentType
      if (Result.isFailure(type) || type.success?.mediaType !== "application/sdp") return Result.succeed(undefined)
      return Sdp.parse(this.rawBody)
    })
  }

  get body(): Sdp.SessionDescription | string {
    const sdp = this.sdp
    return Result.isSuccess(sdp) && sdp.success !== undefined
      ? sdp.success
      : this.cached("text", () => decodeUtf8(this.rawBody, 0, this.rawBody.length))
  }

  get authentication(): AuthHeader | undefined {
    const [first, second] = this.type === SIPMessageType.RESPONSE
      ? [this.wwwAuthenticate, this.proxyAuthenticate]
      : [this.authorization, this.proxyAuthorization]
    for (const found of [first, second]) {
      if (Result.isSuccess(found) && found.success.length > 0) return found.success[0]
    }
    return undefined
  }

  get contact(): Result.Result<ContactHeader | undefined, SIPParseError> {
    return this.cached("contact", () => {
      const lines = this.lines(HeaderId.Contact)
      if (lines.length === 0) return Result.succeed(undefined)
      const contacts: Array<Contact> = []
      let star = false
      for (const index of lines) {
        const parsed = parseHeaderLine(this.parts, index, parseContactRange)
        if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
        if (parsed.success.star) star = true
        else contacts.push(...parsed.success.contacts)
      }
      if (star && (lines.length > 1 || contacts.length > 0)) {
        const first = lines[0]!
        const at = Math.max(0, this.parts.valueStarts?.[first] ?? 0)
        return Result.fail(lineError(this.parts, first, "Contact \"*\" must be the only contact", at))
      }
      return Result.succeed<ContactHeader>(star ? { star: true } : { star: false, contacts })
    })
  }

  get maxForwards(): Result.Result<number | undefined, SIPParseError> {
    return this.single("maxForwards", HeaderId.MaxForwards, parseMaxForwards)
  }

  get expires(): Result.Result<number | undefined, SIPParseError> {
    return this.single("expires", HeaderId.Expires, parseNonNegativeIntRange)
  }

  get minExpires(): Result.Result<number | undefined, SIPParseError> {
    return this.single("minExpires", HeaderId.MinExpires, parseNonNegativeIntRange)
  }

  get contentType(): Result.Result<ContentType | undefined, SIPParseError> {
    return this.single("contentType", HeaderId.ContentType, parseContentTypeRange)
  }

  get route(): Result.Result<ReadonlyArray<NameAddr>, SIPParseError> {
    return this.list("route", HeaderId.Route, parseNameAddrListRange)
  }

  get recordRoute(): Result.Result<ReadonlyArray<NameAddr>, SIPParseError> {
    return this.list("recordRoute", HeaderId.RecordRoute, parseNameAddrListRange)
  }

  get wwwAuthenticate(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("wwwAuthenticate", HeaderId.WWWAuthenticate, parseOne(parseAuthRange))
  }

  get proxyAuthenticate(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("proxyAuthenticate", HeaderId.ProxyAuthenticate, parseOne(parseAuthRange))
  }

  get authorization(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("authorization", HeaderId.Authorization, parseOne(parseAuthRange))
  }

  get proxyAuthorization(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("proxyAuthorization", HeaderId.ProxyAuthorization, parseOne(parseAuthRange))
  }

  get referTo(): Result.Result<NameAddr | undefined, SIPParseError> {
    return this.single("referTo", HeaderId.ReferTo, parseNameAddrRange)
  }

  get referredBy(): Result.Result<NameAddr | undefined, SIPParseError> {
    return this.single("referredBy", HeaderId.ReferredBy, parseNameAddrRange)
  }

  get event(): Result.Result<EventHeader | undefined, SIPParseError> {
    return this.single("event", HeaderId.Event, parseEventRange)
  }

  get subscriptionState(): Result.Result<SubscriptionState | undefined, SIPParseError> {
    return this.single("subscriptionState", HeaderId.SubscriptionState, parseSubscriptionStateRange)
  }

  get sessionExpires(): Result.Result<SessionExpires | undefined, SIPParseError> {
    return this.single("sessionExpires", HeaderId.SessionExpires, parseSessionExpiresRange)
  }

  get minSE(): Result.Result<number | undefined, SIPParseError> {
    return this.single("minSE", HeaderId.MinSE, parseMinSE)
  }

  get supported(): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.tokens("supported", HeaderId.Supported)
  }

  get require(): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.tokens("require", HeaderId.Require)
  }

  get proxyRequire(): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.tokens("proxyRequire", HeaderId.ProxyRequire)
  }

  get unsupported(): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.tokens("unsupported", HeaderId.Unsupported)
  }

  get allow(): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.tokens("allow", HeaderId.Allow)
  }

  summary(): string {
    let out = `${this.heading}\n\nHeaders:\n`
    for (const [name, value] of this.headers) out += `${name}: ${value}\n`
    const body = this.body
    out += `\nBody:\n${typeof body === "string" ? body : Sdp.serialize(body)}`
    return out
  }

  private cached<A>(key: string, compute: () => A): A {
    const memo = (this.memo ??= new Map())
    if (memo.has(key)) return memo.get(key) as A
    const value = compute()
    memo.set(key, value)
    return value
  }

  private lines(id: number): ReadonlyArray<number> {
    const found: Array<number> = []
    const ids = this.headers.ids
    for (let i = 0; i < ids.length; i++) if (ids[i] === id) found.push(i)
    return found
  }

  private single<A>(
    key: string,
    id: number,
    parse: RangeParser<A>
  ): Result.Result<A | undefined, SIPParseError> {
    return this.cached(key, () => {
      const index = this.headers.indexOfId(id, 0)
      return index < 0 ? Result.succeed(undefined) : parseHeaderLine(this.parts, index, parse)
    })
  }

  private list<A>(
    key: string,
    id: number,
    parse: RangeParser<ReadonlyArray<A>>
  ): Result.Result<ReadonlyArray<A>, SIPParseError> {
    return this.cached(key, () => {
      const all: Array<A> = []
      for (const index of this.lines(id)) {
        const parsed = parseHeaderLine(this.parts, index, parse)
        if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
        all.push(...parsed.success)
      }
      return Result.succeed(all)
    })
  }

  private tokens(key: string, id: number): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.cached(key, () => {
      if (this.headers.indexOfId(id, 0) < 0) return Result.succeed(undefined)
      return this.list(`${key}.list`, id, parseTokenListRange)
    })
  }
}

/** A header value parser over `text[start, end)` whose error offsets are positions in `text`. */
type RangeParser<A> = (text: string, start: number, end: number) => Result.Result<A, SIPParseError>

const parseOne = <A>(parse: RangeParser<A>): RangeParser<ReadonlyArray<A>> => (text, start, end) =>
  Result.map(parse(text, start, end), (one) => [one])

const parseMaxForwards: RangeParser<number> = (text, start, end) =>
  Result.flatMap(parseNonNegativeIntRange(text, start, end), (hops) =>
    hops <= 255
      ? Result.succeed(hops)
      : Result.fail(new SIPParseError({ reason: `Max-Forwards ${text.slice(start, end)} is above 255`, offset: start })))

const parseMinSE: RangeParser<number> = (text, start, end) =>
  Result.map(parseSessionExpiresRange(text, start, end), (se) => se.deltaSeconds)

/** Points `sc` at header line `index`: its range of the decoded header section when it has one, else its value. */
const pointAtLine = (sc: Scanner, parts: Parts, index: number): void => {
  const value = parts.headers.values[index]!
  const start = parts.valueStarts?.[index] ?? -1
  if (start >= 0) sc.reset(parts.text, start, start + value.length)
  else sc.reset(value, 0, value.length)
}

/**
 * The general scanner of {@link assemble}, pointed at each value it reads;
 * one is enough, as typing a message never starts typing another.
 */
const sc = new Scanner("", 0, 0)

/** A `FastPath` reader: the value of `text[start, end)` in its usual shape, else undefined. */
type UsualReader<A> = (bytes: Uint8Array, text: string, base: number, start: number, end: number) => A | undefined

/**
 * Types header line `index`: with `usual` straight from the octets when it
 * is in its usual shape, else with the general `scan`.
 */
const typeLine = <A>(parts: Parts, index: number, usual: UsualReader<A>, scan: (sc: Scanner) => A): A | Failure => {
  const start = parts.valueStarts?.[index] ?? -1
  if (start >= 0) {
    const end = start + parts.headers.values[index]!.length
    const read = usual(parts.input, parts.text, parts.messageStart, start, end)
    if (read !== undefined) return read
  }
  pointAtLine(sc, parts, index)
  return attempt(sc, scan)
}

/** The Request-URI, like {@link typeLine} a header line (positions in `text` for a received message). */
const typeRequestUri = (parts: Parts, line: RequestLine): SIPURI | Failure => {
  if (parts.valueStarts !== undefined) {
    const start = line.uriOffset - parts.messageStart
    const end = start + line.uri.length
    const usual = usualRequestUri(parts.input, parts.text, parts.messageStart, start, end)
    if (usual !== undefined) return usual
    sc.reset(parts.text, start, end)
  } else {
    sc.reset(line.uri, 0, line.uri.length)
  }
  return attempt(sc, scanWholeUri)
}

const usualVias: UsualReader<ReadonlyArray<Via>> = (bytes, text, base, start, end) => {
  const via = usualVia(bytes, text, base, start, end)
  return via === undefined ? undefined : [via]
}

/**
 * The error for header line `index` at `offset`, a position in what the line
 * was parsed from (see {@link pointAtLine}): prefixed with the header's
 * name, its offset turned into one in the message.
 */
const lineError = (parts: Parts, index: number, reason: string, offset: number): SIPParseError => {
  const start = parts.valueStarts?.[index]
  const base = start === undefined ? 0 : parts.messageStart + (start >= 0 ? 0 : ~start)
  return new SIPParseError({ reason: `${parts.headers.names[index]}: ${reason}`, offset: base + offset })
}

/** Parses header line `index` with `parse` (see {@link pointAtLine}, {@link lineError}). */
const parseHeaderLine = <A>(parts: Parts, index: number, parse: RangeParser<A>): Result.Result<A, SIPParseError> => {
  const value = parts.headers.values[index]!
  const start = parts.valueStarts?.[index] ?? -1
  const parsed = start >= 0 ? parse(parts.text, start, start + value.length) : parse(value, 0, value.length)
  return Result.isSuccess(parsed)
    ? parsed
    : Result.fail(lineError(parts, index, parsed.failure.reason, parsed.failure.offset))
}

/** Whether an address header's URI has a well-formed scheme other than sip, sips and tel. */
const hasForeignScheme = (value: string): boolean => {
  const open = value.indexOf("<")
  const uri = (open >= 0 ? value.slice(open + 1) : value).trimStart()
  const scheme = schemeOfUri(uri)
  return scheme !== undefined && !nativeSchemes.has(scheme)
}

/**
 * Types the start line and the mandatory headers of `parts` and makes the
 * message; shared by parsing, the builders and the edits. Values in their
 * usual shape are read from the octets of a received message, any other
 * with the general scanner, in place in the decoded header section.
 */
export const assemble = (parts: Parts): Result.Result<SIPMessage, SIPParseError> => {
  const line = parts.startLine
  let requestUri: SIPURI | undefined
  let status: SIPStatus | 0 = 0
  if (line.kind === "request") {
    const uri = typeRequestUri(parts, line)
    if (!(uri instanceof Failure)) requestUri = uri
    else if (!hasForeignScheme(line.uri)) {
      const base = parts.valueStarts !== undefined ? parts.messageStart : line.uriOffset
      return Result.fail(new SIPParseError({ reason: `Request-URI: ${uri.reason}`, offset: base + uri.offset }))
    }
  } else {
    status = SIPStatus.fromCode(line.code) ?? 0
  }

  const { ids, values } = parts.headers
  let via: ReadonlyArray<Via> = []
  let from: NameAddr | undefined
  let to: NameAddr | undefined
  let callId: string | undefined
  let cseq: CSeq | undefined
  let seen = 0
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    if (id === HeaderId.Via) {
      const parsed = typeLine(parts, i, usualVias, scanViaValue)
      if (parsed instanceof Failure) return Result.fail(lineError(parts, i, parsed.reason, parsed.offset))
      via = via.length === 0 ? parsed : [...via, ...parsed]
    } else if (id === HeaderId.From || id === HeaderId.To) {
      const bit = id === HeaderId.From ? 1 : 2
      if (seen & bit) continue
      seen |= bit
      const parsed = typeLine(parts, i, usualNameAddr, scanNameAddrValue)
      if (parsed instanceof Failure) {
        if (hasForeignScheme(values[i]!)) continue
        return Result.fail(lineError(parts, i, parsed.reason, parsed.offset))
      }
      if (bit === 1) from = parsed
      else to = parsed
    } else if (id === HeaderId.CallID) {
      if (callId !== undefined) continue
      const value = values[i]!
      const start = parts.valueStarts?.[i] ?? -1
      const word = start >= 0
        ? isOneWord(parts.input, parts.messageStart, start, start + value.length)
        : value.length > 0 && !/[ \t]/.test(value)
      if (!word) return Result.fail(lineError(parts, i, "must be one word without spaces", Math.max(0, start)))
      callId = value
    } else if (id === HeaderId.CSeq) {
      if (cseq !== undefined) continue
      const parsed = typeLine(parts, i, usualCSeq, scanCSeqValue)
      if (parsed instanceof Failure) return Result.fail(lineError(parts, i, parsed.reason, parsed.offset))
      cseq = parsed
    }
  }
  return Result.succeed(new Message(parts, { requestUri, via, from, to, callId, cseq }, status))
}

/**
 * `message` made of `parts` (its start line and body, other header lines)
 * with `via` for its Via values and its own other typed headers: for an edit
 * that changes only Via lines and has typed the values it wrote.
 */
export const withVia = (message: SIPMessage, parts: Parts, via: ReadonlyArray<Via>): SIPMessage =>
  new Message(
    parts,
    { requestUri: message.requestUri, via, from: message.from, to: message.to, callId: message.callId, cseq: message.cseq },
    message.status
  )

export const asBytes = (input: Uint8Array | string): Uint8Array => {
  if (typeof input !== "string") return input
  const encoded = Buffer.from(input, "utf8")
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length)
}

/**
 * The message's octets: CRLF line ends, canonical header names, one header
 * line per stored line (values as stored), and a Content-Length that matches
 * the body, written where the first Content-Length was (else last).
 *
 * @category serializing
 * @since 0.1.0
 */
export const serialize = (message: SIPMessage): Uint8Array => {
  const { ids, names, values } = message.headers
  const body = message.rawBody
  const contentLength = `Content-Length: ${body.length}\r\n`
  let text = `${message.heading}\r\n`
  let wroteLength = false
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === HeaderId.ContentLength) {
      if (!wroteLength) text += contentLength
      wroteLength = true
    } else {
      text += `${names[i]}: ${values[i]}\r\n`
    }
  }
  if (!wroteLength) text += contentLength
  text += "\r\n"
  const headLength = Buffer.byteLength(text, "utf8")
  // Node's pooled allocation: a zero-filled Uint8Array of this size costs more than the encoding.
  const out = Buffer.allocUnsafe(headLength + body.length)
  out.write(text, 0, "utf8")
  out.set(body, headLength)
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

