/**
 * SIP messages (RFC 3261 §7): parse bytes into a {@link SIPMessage}, write
 * one back with {@link serialize}, build requests and responses
 * ({@link request}, {@link response}, RFC 3261 §8.1.1, §8.2.6), and edit
 * messages immutably ({@link withHeader}, {@link mapTopVia}, ...).
 *
 * Parsing types the headers every transaction needs (Via, From, To, Call-ID,
 * CSeq); a message whose mandatory header is present but malformed fails
 * with a {@link SIPParseError}. The other typed headers are parsed on first
 * access and cached, each giving a `Result`. A missing mandatory header is
 * not a parse error: the field is `undefined` and `Validate.validateRequest`
 * answers 400, as RFC 4475 `insuf` asks.
 *
 * The SIP version is read as `SIP/x.y`: a request with another version than
 * 2.0 parses (so the UAS can answer 505 from its headers, RFC 4475
 * `badvers`), a response with another version is a parse error (there is
 * nobody to answer; RFC 3261 §18.1.2 drops it).
 *
 * Where RFC 4475 lets a receiver be liberal, the parser is: CRLFs before the
 * start line, bare LF line ends, several SP between and after request-line
 * elements, a status line without the SP before an empty reason. A parsed
 * message's `raw` and `rawBody` are views of the input, not copies.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { usualVia } from "./headers/FastPath.ts"
import { HeaderId } from "./HeaderNames.ts"
import { formatVia, parseVia, splitList, type Via } from "./HeaderValues.ts"
import { Headers, type HeadersInit } from "./message/Headers.ts"
import {
  asBytes,
  assemble,
  type Parts,
  serialize,
  type SIPMessage,
  SIPMessageType,
  withVia
} from "./message/Message.ts"
import { type RequestLine, type StartLine, type StatusLine, scan, type Transport } from "./message/Scanner.ts"
import { SIPParseError } from "./SIPParseError.ts"
import { SIPStatus } from "./SIPStatus.ts"
import { formatUri, type SIPURI } from "./Uri.ts"

export { Headers, type HeadersInit, serialize, type SIPMessage, SIPMessageType, type Transport }

/**
 * @category models
 * @since 0.1.0
 */
export interface ParseOptions {
  /**
   * `"datagram"` (default): the input is one UDP datagram; without
   * Content-Length the body is the rest of it, octets after the body are
   * ignored. `"stream"`: the input is the start of a TCP/TLS byte stream; the
   * body is exactly Content-Length octets (none without it) and `trailing`
   * counts the octets that belong to the next message.
   */
  readonly transport?: Transport
}

/**
 * Parses one SIP message.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseResult = (
  input: Uint8Array | string,
  options?: ParseOptions
): Result.Result<SIPMessage, SIPParseError> => {
  const transport = options?.transport ?? "datagram"
  const scanned = typeof input === "string" ? scan(asBytes(input), transport, input) : scan(input, transport)
  return scanned instanceof SIPParseError ? Result.fail(scanned) : assemble(scanned)
}

/**
 * Whether `error`, from parsing `input`, only says that the input ends before
 * the message does: no start line yet (only CRLFs), no empty line yet, or
 * fewer body octets than Content-Length. A stream reader then waits for more
 * octets; for a datagram the message is malformed all the same.
 *
 * @category parsing
 * @since 0.1.0
 */
export const isIncomplete = (error: SIPParseError, input: Uint8Array | string): boolean =>
  error.offset === (typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.length)

/**
 * Whether `message`'s Require lists the option tag `option` (compared
 * without case, RFC 3261 §19.2); false when Require does not parse.
 *
 * @category headers
 * @since 0.1.0
 */
export const requires = (message: SIPMessage, option: string): boolean => {
  const required = message.require
  const wanted = option.toLowerCase()
  return Result.isSuccess(required) && (required.success ?? []).some((tag) => tag.toLowerCase() === wanted)
}

/**
 * {@link parseResult} as an Effect.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parse = (input: Uint8Array | string, options?: ParseOptions): Effect.Effect<SIPMessage, SIPParseError> =>
  Effect.suspend(() => Effect.fromResult(parseResult(input, options)))

/**
 * A body given as text is sent as its UTF-8 octets.
 *
 * @category models
 * @since 0.1.0
 */
export type Body = string | Uint8Array

/**
 * @category models
 * @since 0.1.0
 */
export interface RequestInit {
  readonly method: string
  readonly uri: SIPURI | string
  /** In wire order; Content-Length is always computed. */
  readonly headers?: HeadersInit
  readonly body?: Body
  /** Sets Content-Type (replacing one in `headers`). */
  readonly contentType?: string
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ResponseInit {
  /** Defaults to the status's registered phrase. */
  readonly reason?: string
  /** Added after the copied headers; a name that was copied (Via, From, To, ...) replaces the copy. */
  readonly headers?: HeadersInit
  readonly body?: Body
  readonly contentType?: string
  /** Added to To when the request's To has no tag (RFC 3261 §8.2.6.2). */
  readonly toTag?: string
}

const fail = (reason: string): Result.Result<never, SIPParseError> =>
  Result.fail(new SIPParseError({ reason, offset: 0 }))

const isTokenText = (text: string): boolean => /^[A-Za-z0-9\-.!%*_+`'~]+$/.test(text)

/** Checks names and values of headers that did not come off the wire: no CR/LF injection, names are tokens. */
const checkHeaders = (headers: Headers): Result.Result<Headers, SIPParseError> => {
  for (const [name, value] of headers) {
    if (!isTokenText(name)) return fail(`header name "${name}" is not a token`)
    if (/[\r\n]/.test(value)) return fail(`${name} value contains CR or LF`)
  }
  return Result.succeed(headers)
}

const emptyBody = new Uint8Array(0)

const bodyBytes = (body: Body | undefined): Uint8Array =>
  body === undefined ? emptyBody : typeof body === "string" ? asBytes(body) : body

const builtParts = (startLine: StartLine, headers: Headers, body: Uint8Array): Parts => ({
  startLine,
  headers,
  text: "",
  valueStarts: undefined,
  input: body,
  messageStart: 0,
  bodyStart: 0,
  bodyEnd: body.length,
  hasContentLength: true
})

const build = (
  startLine: StartLine,
  headers: Headers,
  body: Body | undefined,
  contentType: string | undefined
): Result.Result<SIPMessage, SIPParseError> => {
  const withType = contentType === undefined ? headers : headers.with("Content-Type", [contentType])
  const checked = checkHeaders(withType.without("Content-Length"))
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  return assemble(builtParts(startLine, checked.success, bodyBytes(body)))
}

/**
 * Builds a request. Headers are checked (names are tokens, values have no
 * CR or LF) and the mandatory ones typed as in parsing.
 *
 * @category constructors
 * @since 0.1.0
 */
export const request = (init: RequestInit): Result.Result<SIPMessage, SIPParseError> => {
  if (!isTokenText(init.method)) return fail(`method "${init.method}" is not a token`)
  const uri = typeof init.uri === "string" ? init.uri : formatUri(init.uri)
  if (uri.length === 0 || /[^\x21-\x7e]|[<>"]/.test(uri)) return fail(`Request-URI "${uri}" is not a URI`)
  const startLine: RequestLine = { kind: "request", method: init.method, uri, uriOffset: 0, version: "SIP/2.0" }
  return build(startLine, Headers.from(init.headers ?? []), init.body, init.contentType)
}

/** Methods whose 1xx (but 100) and 2xx responses create a dialog, which carries Record-Route (RFC 3261 §12.1.1). */
const dialogCreating: ReadonlySet<string> = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"])

/**
 * Builds the response to `request` (RFC 3261 §8.2.6): copies every Via line
 * in order, From, To (adding `toTag` when To has none), Call-ID and CSeq,
 * and Record-Route for a 101-299 response to a dialog-creating request
 * (§12.1.1).
 *
 * @category constructors
 * @since 0.1.0
 */
export const response = (
  request: SIPMessage,
  status: SIPStatus | number,
  init: ResponseInit = {}
): Result.Result<SIPMessage, SIPParseError> => {
  const resolved = typeof status === "number" ? SIPStatus.fromCode(status) : status
  if (resolved === undefined) return fail(`status code ${status as number} is outside 100-699`)
  const reason = init.reason ?? resolved.phrase
  if (/[\r\n]/.test(reason)) return fail("reason phrase contains CR or LF")

  const source = request.headers
  const copied: Array<readonly [string, string]> = []
  const copy = (id: number, all: boolean): void => {
    for (let i = source.indexOfId(id, 0); i >= 0; i = all ? source.indexOfId(id, i + 1) : -1) {
      copied.push([source.names[i]!, source.values[i]!])
    }
  }
  copy(HeaderId.Via, true)
  if (dialogCreating.has(request.method) && resolved.value > 100 && resolved.value < 300) copy(HeaderId.RecordRoute, true)
  copy(HeaderId.From, false)
  const toIndex = source.indexOfId(HeaderId.To, 0)
  if (toIndex >= 0) {
    const to = source.values[toIndex]!
    const tagged = init.toTag !== undefined && request.to !== undefined && request.to.tag === undefined
    copied.push(["To", tagged ? `${to};tag=${init.toTag}` : to])
  }
  copy(HeaderId.CallID, false)
  copy(HeaderId.CSeq, false)

  let headers = Headers.from(copied)
  const extra = Headers.from(init.headers ?? [])
  for (const name of new Set(extra.names)) headers = headers.without(name)
  headers = headers.concat(extra)
  const startLine: StatusLine = { kind: "response", version: "SIP/2.0", code: resolved.value, reason }
  return build(startLine, headers, init.body, init.contentType)
}

const startLineOf = (message: SIPMessage): StartLine =>
  message.type === SIPMessageType.REQUEST
    ? { kind: "request", method: message.method, uri: message.requestUriText, uriOffset: 0, version: message.version }
    : { kind: "response", version: message.version, code: message.status === 0 ? 0 : message.status.value, reason: message.reason }

const rebuild = (message: SIPMessage, headers: Headers, body: Uint8Array): Result.Result<SIPMessage, SIPParseError> =>
  assemble(builtParts(startLineOf(message), headers, body))

const valuesOf = (value: string | ReadonlyArray<string>): ReadonlyArray<string> =>
  typeof value === "string" ? [value] : value

const editHeaders = (
  message: SIPMessage,
  edit: (headers: Headers) => Headers
): Result.Result<SIPMessage, SIPParseError> => {
  const checked = checkHeaders(edit(message.headers))
  return Result.isFailure(checked) ? Result.fail(checked.failure) : rebuild(message, checked.success, message.rawBody)
}

/**
 * Replaces every line named `name` with one line per value, where the first
 * of them was (at the end when there was none).
 *
 * @category edits
 * @since 0.1.0
 */
export const withHeader = (
  message: SIPMessage,
  name: string,
  value: string | ReadonlyArray<string>
): Result.Result<SIPMessage, SIPParseError> => editHeaders(message, (h) => h.with(name, valuesOf(value)))

/**
 * Adds lines after all others.
 *
 * @category edits
 * @since 0.1.0
 */
export const appendHeader = (
  message: SIPMessage,
  name: string,
  value: string | ReadonlyArray<string>
): Result.Result<SIPMessage, SIPParseError> => editHeaders(message, (h) => h.insert(h.size, name, valuesOf(value)))

/**
 * Adds lines before the first line of the same name (before all others when
 * there is none): a proxy's Via or Record-Route goes on top.
 *
 * @category edits
 * @since 0.1.0
 */
export const prependHeader = (
  message: SIPMessage,
  name: string,
  value: string | ReadonlyArray<string>
): Result.Result<SIPMessage, SIPParseError> =>
  editHeaders(message, (h) => h.insert(Math.max(0, h.indexOf(name, 0)), name, valuesOf(value)))

/**
 * Removes every line named `name`.
 *
 * @category edits
 * @since 0.1.0
 */
export const withoutHeader = (message: SIPMessage, name: string): Result.Result<SIPMessage, SIPParseError> =>
  editHeaders(message, (h) => h.without(name))

/**
 * Replaces the body; with `contentType` also Content-Type. Content-Length
 * follows the body.
 *
 * @category edits
 * @since 0.1.0
 */
export const withBody = (
  message: SIPMessage,
  body: Body,
  contentType?: string
): Result.Result<SIPMessage, SIPParseError> => {
  const headers = contentType === undefined ? message.headers : message.headers.with("Content-Type", [contentType])
  const checked = checkHeaders(headers)
  return Result.isFailure(checked) ? Result.fail(checked.failure) : rebuild(message, checked.success, bodyBytes(body))
}

const scratch = new Uint8Array(1024)
const utf8 = new TextEncoder()

/**
 * Types a Via value an edit wrote: from its octets when it is ASCII and has
 * the usual shape (see `FastPath.usualVia`), else with {@link parseVia}.
 */
const typeWrittenVia = (value: string): Result.Result<ReadonlyArray<Via>, SIPParseError> => {
  if (value.length <= scratch.length) {
    const { read, written } = utf8.encodeInto(value, scratch)
    // One octet per character: ASCII, so the octets line up with the characters as a reader needs.
    const via = read === value.length && written === value.length
      ? usualVia(scratch, value, 0, 0, value.length)
      : undefined
    if (via !== undefined) return Result.succeed([via])
  }
  return parseVia(value)
}

/**
 * Rewrites the topmost Via value, e.g. to add `received` and `rport` as a
 * server does on receipt (RFC 3261 §18.2.1, RFC 3581 §4). The other values
 * on that line stay as written.
 *
 * Only the new value is written and read again: the other header lines,
 * the body and the other typed headers are the message's own, so an edit
 * costs a small fraction of a parse. The result is a built message (`raw`
 * is serialized on first use).
 *
 * @category edits
 * @since 0.1.0
 */
export const mapTopVia = (message: SIPMessage, f: (via: Via) => Via): Result.Result<SIPMessage, SIPParseError> => {
  const top = message.via[0]
  const index = message.headers.indexOfId(HeaderId.Via, 0)
  if (top === undefined || index < 0) return fail("the message has no Via")
  const written = formatVia(f(top))
  const parsed = typeWrittenVia(written)
  if (Result.isFailure(parsed)) {
    return Result.fail(new SIPParseError({ reason: `Via: ${parsed.failure.reason}`, offset: parsed.failure.offset }))
  }
  if (parsed.success.length !== 1) return fail(`the new top Via "${written}" is not one via-parm`)
  const line = message.headers.values[index]!
  const rest = line.includes(",") ? splitList(line).slice(1) : []
  const values = message.headers.values.slice()
  values[index] = rest.length === 0 ? written : [written, ...rest].join(", ")
  const headers = new Headers(message.headers.ids, message.headers.names, values)
  const parts = builtParts(startLineOf(message), headers, message.rawBody)
  return Result.succeed(withVia(message, parts, [parsed.success[0]!, ...message.via.slice(1)]))
}

/**
 * The top-Via parameters {@link withTopViaParams} sets.
 *
 * @category models
 * @since 0.1.0
 */
export interface TopViaParams {
  /** The address the request came from (RFC 3261 §18.2.1). */
  readonly received?: string
  /** RFC 3581: `null` asks for it (a client, §3), a number is the port it came from (a server, §4). */
  readonly rport?: number | null
}

/**
 * Sets `received` and `rport` on the topmost Via: what a server stamps on a
 * request it receives and a client asks for before sending. Each parameter
 * given replaces the one of that name; the edit costs what
 * {@link mapTopVia} does, not a parse.
 *
 * @category edits
 * @since 0.1.0
 */
export const withTopViaParams = (message: SIPMessage, params: TopViaParams): Result.Result<SIPMessage, SIPParseError> =>
  mapTopVia(message, (via) => ({ ...via, ...params }))
