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
  parseAuth,
  parseContact,
  parseContentType,
  parseCSeq,
  parseEvent,
  parseNameAddr,
  parseNameAddrList,
  parseNonNegativeInt,
  parseSessionExpires,
  parseSubscriptionState,
  parseTokenList,
  parseVia,
  type SessionExpires,
  type SubscriptionState,
  type Via
} from "../HeaderValues.ts"
import { SIPParseError } from "../SIPParseError.ts"
import { SIPStatus } from "../SIPStatus.ts"
import { parseUri, schemeOfUri, type SIPURI } from "../Uri.ts"
import type { Headers } from "./Headers.ts"
import { decodeUtf8, type StartLine } from "./Scanner.ts"

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
  /** Where each header value starts in `input`; only a received message has them. */
  readonly valueOffsets: ReadonlyArray<number> | undefined
  /** Holds the body at [bodyStart, bodyEnd); for a received message, the message from `messageStart`. */
  readonly input: Uint8Array
  readonly messageStart: number
  readonly bodyStart: number
  readonly bodyEnd: number
  readonly hasContentLength: boolean
}

interface Typed {
  readonly requestUri: SIPURI | undefined
  readonly via: ReadonlyArray<Via>
  readonly from: NameAddr | undefined
  readonly to: NameAddr | undefined
  readonly callId: string | undefined
  readonly cseq: CSeq | undefined
}

const nativeSchemes: ReadonlySet<string> = new Set(["sip", "sips", "tel"])

class Message implements SIPMessage {
  readonly type: SIPMessageType
  readonly version: string
  readonly method: string
  readonly requestUri: SIPURI | undefined
  readonly requestUriText: string
  readonly status: SIPStatus | 0
  readonly reason: string
  readonly headers: Headers
  readonly via: ReadonlyArray<Via>
  readonly from: NameAddr | undefined
  readonly to: NameAddr | undefined
  readonly callId: string | undefined
  readonly cseq: CSeq | undefined
  readonly hasContentLength: boolean
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
    const { bodyEnd, input, messageStart, valueOffsets } = this.parts
    return (this.rawBytes ??= valueOffsets !== undefined ? input.subarray(messageStart, bodyEnd) : serialize(this))
  }

  get trailing(): number {
    return this.parts.valueOffsets !== undefined ? this.parts.input.length - this.parts.bodyEnd : 0
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
        const parsed = this.parseLine(index, parseContact)
        if (Result.isFailure(parsed)) return parsed
        if (parsed.success.star) star = true
        else contacts.push(...parsed.success.contacts)
      }
      if (star && (lines.length > 1 || contacts.length > 0)) {
        return Result.fail(this.lineError(lines[0]!, "Contact \"*\" must be the only contact", 0))
      }
      return Result.succeed<ContactHeader>(star ? { star: true } : { star: false, contacts })
    })
  }

  get maxForwards(): Result.Result<number | undefined, SIPParseError> {
    return this.single("maxForwards", HeaderId.MaxForwards, (value) =>
      Result.flatMap(parseNonNegativeInt(value), (hops) =>
        hops <= 255
          ? Result.succeed(hops)
          : Result.fail(new SIPParseError({ reason: `Max-Forwards ${value} is above 255`, offset: 0 }))))
  }

  get expires(): Result.Result<number | undefined, SIPParseError> {
    return this.single("expires", HeaderId.Expires, parseNonNegativeInt)
  }

  get minExpires(): Result.Result<number | undefined, SIPParseError> {
    return this.single("minExpires", HeaderId.MinExpires, parseNonNegativeInt)
  }

  get contentType(): Result.Result<ContentType | undefined, SIPParseError> {
    return this.single("contentType", HeaderId.ContentType, parseContentType)
  }

  get route(): Result.Result<ReadonlyArray<NameAddr>, SIPParseError> {
    return this.list("route", HeaderId.Route, parseNameAddrList)
  }

  get recordRoute(): Result.Result<ReadonlyArray<NameAddr>, SIPParseError> {
    return this.list("recordRoute", HeaderId.RecordRoute, parseNameAddrList)
  }

  get wwwAuthenticate(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("wwwAuthenticate", HeaderId.WWWAuthenticate, parseOne(parseAuth))
  }

  get proxyAuthenticate(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("proxyAuthenticate", HeaderId.ProxyAuthenticate, parseOne(parseAuth))
  }

  get authorization(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("authorization", HeaderId.Authorization, parseOne(parseAuth))
  }

  get proxyAuthorization(): Result.Result<ReadonlyArray<AuthHeader>, SIPParseError> {
    return this.list("proxyAuthorization", HeaderId.ProxyAuthorization, parseOne(parseAuth))
  }

  get referTo(): Result.Result<NameAddr | undefined, SIPParseError> {
    return this.single("referTo", HeaderId.ReferTo, parseNameAddr)
  }

  get referredBy(): Result.Result<NameAddr | undefined, SIPParseError> {
    return this.single("referredBy", HeaderId.ReferredBy, parseNameAddr)
  }

  get event(): Result.Result<EventHeader | undefined, SIPParseError> {
    return this.single("event", HeaderId.Event, parseEvent)
  }

  get subscriptionState(): Result.Result<SubscriptionState | undefined, SIPParseError> {
    return this.single("subscriptionState", HeaderId.SubscriptionState, parseSubscriptionState)
  }

  get sessionExpires(): Result.Result<SessionExpires | undefined, SIPParseError> {
    return this.single("sessionExpires", HeaderId.SessionExpires, parseSessionExpires)
  }

  get minSE(): Result.Result<number | undefined, SIPParseError> {
    return this.single("minSE", HeaderId.MinSE, (value) => Result.map(parseSessionExpires(value), (se) => se.deltaSeconds))
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

  private lineError(index: number, reason: string, offset: number): SIPParseError {
    const base = this.parts.valueOffsets?.[index] ?? 0
    return new SIPParseError({ reason: `${this.headers.names[index]}: ${reason}`, offset: base + offset })
  }

  private parseLine<A>(
    index: number,
    parse: (value: string) => Result.Result<A, SIPParseError>
  ): Result.Result<A, SIPParseError> {
    const parsed = parse(this.headers.values[index]!)
    return Result.isFailure(parsed)
      ? Result.fail(this.lineError(index, parsed.failure.reason, parsed.failure.offset))
      : parsed
  }

  private single<A>(
    key: string,
    id: number,
    parse: (value: string) => Result.Result<A, SIPParseError>
  ): Result.Result<A | undefined, SIPParseError> {
    return this.cached(key, () => {
      const index = this.headers.indexOfId(id, 0)
      return index < 0 ? Result.succeed(undefined) : this.parseLine(index, parse)
    })
  }

  private list<A>(
    key: string,
    id: number,
    parse: (value: string) => Result.Result<ReadonlyArray<A>, SIPParseError>
  ): Result.Result<ReadonlyArray<A>, SIPParseError> {
    return this.cached(key, () => {
      const all: Array<A> = []
      for (const index of this.lines(id)) {
        const parsed = this.parseLine(index, parse)
        if (Result.isFailure(parsed)) return parsed
        all.push(...parsed.success)
      }
      return Result.succeed(all)
    })
  }

  private tokens(key: string, id: number): Result.Result<ReadonlyArray<string> | undefined, SIPParseError> {
    return this.cached(key, () => {
      if (this.headers.indexOfId(id, 0) < 0) return Result.succeed(undefined)
      return this.list(`${key}.list`, id, parseTokenList)
    })
  }
}

const parseOne = <A>(parse: (value: string) => Result.Result<A, SIPParseError>) =>
(value: string): Result.Result<ReadonlyArray<A>, SIPParseError> => Result.map(parse(value), (one) => [one])

const relocate = (error: SIPParseError, what: string, base: number): SIPParseError =>
  new SIPParseError({ reason: `${what}: ${error.reason}`, offset: base + error.offset })

/** Whether an address header's URI has a well-formed scheme other than sip, sips and tel. */
const hasForeignScheme = (value: string): boolean => {
  const open = value.indexOf("<")
  const uri = (open >= 0 ? value.slice(open + 1) : value).trimStart()
  const scheme = schemeOfUri(uri)
  return scheme !== undefined && !nativeSchemes.has(scheme)
}

/**
 * Types the start line and the mandatory headers of `parts` and makes the
 * message; shared by parsing, the builders and the edits.
 */
export const assemble = (parts: Parts): Result.Result<SIPMessage, SIPParseError> => {
  const line = parts.startLine
  let requestUri: SIPURI | undefined
  let status: SIPStatus | 0 = 0
  if (line.kind === "request") {
    const parsed = parseUri(line.uri)
    if (Result.isSuccess(parsed)) requestUri = parsed.success
    else if (!hasForeignScheme(line.uri)) return Result.fail(relocate(parsed.failure, "Request-URI", line.uriOffset))
  } else {
    status = SIPStatus.fromCode(line.code) ?? 0
  }

  const { ids, values } = parts.headers
  const offsets = parts.valueOffsets
  let via: ReadonlyArray<Via> = []
  let from: NameAddr | undefined
  let to: NameAddr | undefined
  let callId: string | undefined
  let cseq: CSeq | undefined
  let seen = 0
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    const value = values[i]!
    const base = offsets?.[i] ?? 0
    if (id === HeaderId.Via) {
      const parsed = parseVia(value)
      if (Result.isFailure(parsed)) return Result.fail(relocate(parsed.failure, "Via", base))
      via = via.length === 0 ? parsed.success : [...via, ...parsed.success]
    } else if (id === HeaderId.From || id === HeaderId.To) {
      const bit = id === HeaderId.From ? 1 : 2
      if (seen & bit) continue
      seen |= bit
      const parsed = parseNameAddr(value)
      if (Result.isFailure(parsed)) {
        if (hasForeignScheme(value)) continue
        return Result.fail(relocate(parsed.failure, id === HeaderId.From ? "From" : "To", base))
      }
      if (bit === 1) from = parsed.success
      else to = parsed.success
    } else if (id === HeaderId.CallID) {
      if (callId !== undefined) continue
      if (value.length === 0 || value.includes(" ") || value.includes("\t")) {
        return Result.fail(new SIPParseError({ reason: "Call-ID must be one word without spaces", offset: base }))
      }
      callId = value
    } else if (id === HeaderId.CSeq) {
      if (cseq !== undefined) continue
      const parsed = parseCSeq(value)
      if (Result.isFailure(parsed)) return Result.fail(relocate(parsed.failure, "CSeq", base))
      cseq = parsed.success
    }
  }
  return Result.succeed(new Message(parts, { requestUri, via, from, to, callId, cseq }, status))
}

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

