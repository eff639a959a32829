/**
 * What a server must answer to a request that parses but cannot be served
 * (RFC 3261 §8.2, §16.3, §10.3; RFC 4475 §3.3), and which responses a user
 * agent client must drop (§8.1.3.3).
 *
 * The checks run in the order of RFC 3261 §8.2: version and mandatory
 * headers, method, header inspection (Request-URI scheme, Require),
 * content. The first failing check gives the rejection.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { HeaderId } from "./HeaderNames.ts"
import { splitList } from "./HeaderValues.ts"
import type { SIPMessage } from "./SIPMessage.ts"
import { SIPStatus } from "./SIPStatus.ts"
import { schemeOfUri } from "./Uri.ts"

/**
 * The response to send instead of processing the request: its status, a
 * reason phrase saying what is wrong, and headers the RFC asks for
 * (`Allow` with 405/501, `Unsupported` with 420, `Accept` with 415).
 *
 * @category models
 * @since 0.1.0
 */
export interface Rejection {
  readonly status: SIPStatus
  readonly reason: string
  readonly headers?: ReadonlyArray<readonly [string, string]>
}

/**
 * The element doing the checking. An endpoint (user agent server) checks
 * methods, Require and bodies; a proxy checks Max-Forwards and Proxy-Require
 * and forwards what it does not understand; a registrar is an endpoint that
 * also accepts REGISTER and checks its To and Contact (RFC 3261 §10.3).
 *
 * @category models
 * @since 0.1.0
 */
export type Role = "endpoint" | "proxy" | "registrar"

/**
 * @category models
 * @since 0.1.0
 */
export interface ValidateOptions {
  /** Default `"endpoint"`. */
  readonly role?: Role
  /** Methods the element implements; default {@link endpointMethods}, plus REGISTER for a registrar. */
  readonly methods?: Iterable<string>
  /** Option tags the element supports (Require, Proxy-Require); default none. */
  readonly supported?: Iterable<string>
  /** Request-URI schemes the element serves; default sip and sips. */
  readonly schemes?: Iterable<string>
  /** Body media types the endpoint understands; default {@link endpointMediaTypes}. */
  readonly accept?: Iterable<string>
}

/**
 * Every method of RFC 3261 and its extensions (PRACK, SUBSCRIBE, NOTIFY,
 * UPDATE, MESSAGE, REFER, INFO, PUBLISH). A method outside this set is
 * unknown (501); a known method the element does not implement gets 405.
 *
 * @category constants
 * @since 0.1.0
 */
export const knownMethods: ReadonlySet<string> = new Set([
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "REGISTER",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "UPDATE",
  "MESSAGE",
  "REFER",
  "INFO",
  "PUBLISH"
])

/**
 * The methods this library's user agent serves.
 *
 * @category constants
 * @since 0.1.0
 */
export const endpointMethods: ReadonlyArray<string> = [
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "UPDATE",
  "MESSAGE",
  "REFER",
  "INFO"
]

/**
 * The body types this library's user agent handles: SDP, text (MESSAGE),
 * sipfrag (NOTIFY for REFER), DTMF relay (INFO) and multipart containers.
 *
 * @category constants
 * @since 0.1.0
 */
export const endpointMediaTypes: ReadonlyArray<string> = [
  "application/sdp",
  "text/plain",
  "message/sipfrag",
  "application/dtmf-relay",
  "multipart/mixed",
  "multipart/alternative",
  "multipart/related",
  "multipart/signed"
]

/** Requests whose Contact a UAS uses as a remote target (RFC 3261 §8.1.1.8, §12.1.1, RFC 3311, 6665, 3515). */
const targetRefreshing: ReadonlySet<string> = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER", "REGISTER"])

/** Requests a UAS answers with a session description, so Accept must admit application/sdp. */
const answeredWithSdp: ReadonlySet<string> = new Set(["INVITE", "UPDATE"])

/** Headers that must appear exactly once in a request (RFC 3261 §8.1.1, Max-Forwards at most once). */
const singleHeaders: ReadonlyArray<readonly [number, string]> = [
  [HeaderId.From, "From"],
  [HeaderId.To, "To"],
  [HeaderId.CallID, "Call-ID"],
  [HeaderId.CSeq, "CSeq"],
  [HeaderId.MaxForwards, "Max-Forwards"],
  [HeaderId.ContentType, "Content-Type"]
]

const magicCookie = "z9hG4bK"

const reject = (
  status: SIPStatus,
  reason: string,
  headers?: ReadonlyArray<readonly [string, string]>
): Rejection => headers === undefined ? { status, reason } : { status, reason, headers }

const lowerSet = (values: Iterable<string>): ReadonlySet<string> => new Set([...values].map((v) => v.toLowerCase()))

/**
 * The response a server must send for `message` instead of processing it,
 * or `undefined` when it may be processed. Responses are not checked (see
 * {@link validateResponse}).
 *
 * @category validation
 * @since 0.1.0
 */
export const validateRequest = (message: SIPMessage, options: ValidateOptions = {}): Rejection | undefined => {
  if (message.type !== "REQUEST") return undefined
  const role = options.role ?? "endpoint"
  const headers = message.headers

  if (message.version !== "SIP/2.0") {
    return reject(SIPStatus.VERSION_NOT_SUPPORTED, `SIP version ${message.version} is not supported`)
  }

  const missing: Array<string> = []
  if (message.via.length === 0) missing.push("Via")
  if (!headers.has("From")) missing.push("From")
  if (!headers.has("To")) missing.push("To")
  if (message.callId === undefined) missing.push("Call-ID")
  if (message.cseq === undefined) missing.push("CSeq")
  if (missing.length > 0) return reject(SIPStatus.BAD_REQUEST, `Missing ${missing.join(", ")}`)
  for (const [id, name] of singleHeaders) {
    if (headers.indexOfId(id, headers.indexOfId(id, 0) + 1) > 0) return reject(SIPStatus.BAD_REQUEST, `More than one ${name}`)
  }
  if (message.via[0]!.branch === magicCookie) {
    return reject(SIPStatus.BAD_REQUEST, "Via branch has nothing after the magic cookie")
  }

  if (role === "proxy") return validateAtProxy(message, options)

  const methods = new Set(options.methods ?? (role === "registrar" ? [...endpointMethods, "REGISTER"] : endpointMethods))
  if (!methods.has(message.method)) {
    const allow: ReadonlyArray<readonly [string, string]> = [["Allow", [...methods].join(", ")]]
    return knownMethods.has(message.method)
      ? reject(SIPStatus.METHOD_NOT_ALLOWED, `${message.method} is not allowed here`, allow)
      : reject(SIPStatus.NOT_IMPLEMENTED, `${message.method} is not implemented`, allow)
  }
  if (message.cseq!.method !== message.method) {
    return reject(SIPStatus.BAD_REQUEST, `CSeq method ${message.cseq!.method} does not match ${message.method}`)
  }

  const schemes = lowerSet(options.schemes ?? ["sip", "sips"])
  const scheme = message.requestUri?.scheme ?? schemeOfUri(message.requestUriText) ?? ""
  if (!schemes.has(scheme)) return reject(SIPStatus.UNSUPPORTED_URI_SCHEME, `Unsupported URI scheme ${scheme}`)
  if ((message.requestUri?.headers.size ?? 0) > 0) {
    return reject(SIPStatus.BAD_REQUEST, "Request-URI must not carry headers")
  }
  if (message.to === undefined) return reject(SIPStatus.BAD_REQUEST, "To is not a SIP, SIPS or tel address")
  if (message.from === undefined) return reject(SIPStatus.BAD_REQUEST, "From is not a SIP, SIPS or tel address")
  if (message.method === "REGISTER" && message.to.uri.scheme === "tel") {
    return reject(SIPStatus.BAD_REQUEST, "To of a REGISTER must be a SIP or SIPS address")
  }

  const malformed = firstMalformed(message)
  if (malformed !== undefined) return reject(SIPStatus.BAD_REQUEST, malformed)

  if (message.method !== "ACK" && message.method !== "CANCEL") {
    const unknown = unsupportedTags(message.require, options.supported)
    if (unknown.length > 0) {
      return reject(SIPStatus.BAD_EXTENSION, "Bad Extension", [["Unsupported", unknown.join(", ")]])
    }
  }

  return validateContent(message, options)
}

/** A proxy's checks (RFC 3261 §16.3): Max-Forwards, Request-URI scheme, Proxy-Require. */
const validateAtProxy = (message: SIPMessage, options: ValidateOptions): Rejection | undefined => {
  const schemes = lowerSet(options.schemes ?? ["sip", "sips"])
  const scheme = message.requestUri?.scheme ?? schemeOfUri(message.requestUriText) ?? ""
  if (!schemes.has(scheme)) return reject(SIPStatus.UNSUPPORTED_URI_SCHEME, `Unsupported URI scheme ${scheme}`)
  const hops = message.maxForwards
  if (Result.isSuccess(hops) && hops.success === 0) return reject(SIPStatus.TOO_MANY_HOPS, "Too Many Hops")
  const unknown = unsupportedTags(message.proxyRequire, options.supported)
  if (unknown.length > 0) return reject(SIPStatus.BAD_EXTENSION, "Bad Extension", [["Unsupported", unknown.join(", ")]])
  return undefined
}

/** The first header a UAS relies on that does not parse. */
const firstMalformed = (message: SIPMessage): string | undefined => {
  const checks: Array<Result.Result<unknown, { readonly message: string }>> = [message.contentType, message.require]
  if (targetRefreshing.has(message.method)) checks.push(message.contact)
  if (message.method === "REGISTER") checks.push(message.expires)
  for (const check of checks) if (Result.isFailure(check)) return check.failure.message
  return undefined
}

const unsupportedTags = (
  required: Result.Result<ReadonlyArray<string> | undefined, unknown>,
  supported: Iterable<string> | undefined
): ReadonlyArray<string> => {
  if (Result.isFailure(required) || required.success === undefined) return []
  const known = lowerSet(supported ?? [])
  return required.success.filter((tag) => !known.has(tag.toLowerCase()))
}

/** RFC 3261 §8.2.3: body type and encoding (415), and whether the answer's type is acceptable (406). */
const validateContent = (message: SIPMessage, options: ValidateOptions): Rejection | undefined => {
  const understood = lowerSet(options.accept ?? endpointMediaTypes)
  const acceptHeader: ReadonlyArray<readonly [string, string]> = [["Accept", [...understood].join(", ")]]
  if (message.rawBody.length > 0) {
    const type = message.contentType
    const mediaType = Result.isSuccess(type) ? type.success?.mediaType : undefined
    if (mediaType === undefined || !understood.has(mediaType)) {
      return reject(SIPStatus.UNSUPPORTED_MEDIA_TYPE, `Unsupported media type ${mediaType ?? "(none)"}`, acceptHeader)
    }
    const encoding = message.headers.get("Content-Encoding")
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
      return reject(SIPStatus.UNSUPPORTED_MEDIA_TYPE, `Unsupported content encoding ${encoding}`, [[
        "Accept-Encoding",
        "identity"
      ]])
    }
  }
  if (answeredWithSdp.has(message.method) && !accepts(message.headers.getAll("Accept"), "application/sdp")) {
    return reject(SIPStatus.NOT_ACCEPTABLE, "Not Acceptable: the answer would be application/sdp")
  }
  return undefined
}

/** Whether Accept lines admit `mediaType` (no Accept header admits application/sdp, RFC 3261 §20.1). */
const accepts = (lines: ReadonlyArray<string>, mediaType: string): boolean => {
  if (lines.length === 0) return true
  const [type] = mediaType.split("/")
  for (const line of lines) {
    for (const range of splitList(line)) {
      const name = range.split(";")[0]!.trim().toLowerCase()
      if (name === mediaType || name === "*/*" || name === `${type}/*`) return true
    }
  }
  return false
}

/**
 * Why a user agent client must drop the response `message` (RFC 3261
 * §8.1.3.3: more than one Via; a response missing the headers that match it
 * to a transaction), or `undefined` when it may be processed. Requests are
 * not checked.
 *
 * @category validation
 * @since 0.1.0
 */
export const validateResponse = (message: SIPMessage): string | undefined => {
  if (message.type !== "RESPONSE") return undefined
  if (message.via.length !== 1) return `a response to a user agent must have exactly one Via, not ${message.via.length}`
  if (message.cseq === undefined) return "missing CSeq"
  if (message.callId === undefined) return "missing Call-ID"
  if (message.from === undefined || message.to === undefined) return "missing From or To"
  return undefined
}
