/**
 * The byte-level pass over a SIP message (RFC 3261 §7, §18.3): start line,
 * header lines (names identified straight from the octets, values unfolded),
 * the empty line, and the body framed by Content-Length. It decodes the
 * header section once as Latin-1, finds line ends in that string and reads
 * everything else from the octets (a `Uint8Array` reads faster than a
 * string); values are slices of the string, and only a value with non-ASCII
 * octets is decoded as UTF-8 on its own. The string and each value's place
 * in it go with the result, so values can be typed in place.
 *
 * Liberal where RFC 4475 allows it: CRLFs before the start line are skipped
 * (§7.5), a bare LF ends a line like CRLF, runs of SP separate the request
 * line's elements and may trail it (RFC 4475 `lwsstart`, `trws`), and a
 * status line may omit the SP before an empty reason phrase.
 *
 * @since 0.1.0
 */
import { isAscii } from "node:buffer"
import { HeaderId, headerIdOfOctets, nameOfId, packNameOctet } from "../HeaderNames.ts"
import { SIPParseError } from "../SIPParseError.ts"
import { Headers } from "./Headers.ts"

/**
 * How the message arrived. A datagram holds one message: without
 * Content-Length the body is the rest of it. On a stream Content-Length is
 * mandatory (RFC 3261 §18.3); when it is missing the body is taken as empty
 * and `hasContentLength` says so.
 *
 * @category models
 * @since 0.1.0
 */
export type Transport = "datagram" | "stream"

/** The first line of a request. */
export interface RequestLine {
  readonly kind: "request"
  readonly method: string
  /** The Request-URI as written. */
  readonly uri: string
  /** Byte offset of the Request-URI in the input. */
  readonly uriOffset: number
  /** `SIP/2.0`, upper-cased; any other version is kept for a 505. */
  readonly version: string
}

/** The first line of a response. */
export interface StatusLine {
  readonly kind: "response"
  readonly version: string
  readonly code: number
  readonly reason: string
}

export type StartLine = RequestLine | StatusLine

/** One message cut out of the input; positions are byte offsets in `input` unless said otherwise. */
export interface Scanned {
  readonly startLine: StartLine
  readonly headers: Headers
  /**
   * The header section decoded as Latin-1 (one character per octet), from
   * `messageStart`: value parsers read ranges of it instead of copies.
   */
  readonly text: string
  /**
   * Per header line, where its value starts in `text` (and, plus
   * `messageStart`, in `input`): `start` when the value is `text` from there
   * for its length, `~start` (negative) when it differs from the octets
   * because it was unfolded or decoded as UTF-8.
   */
  readonly valueStarts: ReadonlyArray<number>
  readonly input: Uint8Array
  readonly messageStart: number
  readonly bodyStart: number
  readonly bodyEnd: number
  readonly hasContentLength: boolean
}

const CR = 13
const LF = 10
const SP = 32
const HT = 9
const COLON = 58
const SLASH = 47
const DOT = 46

const isToken = new Uint8Array(256)
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") isToken[c.charCodeAt(0)] = 1

const isDigit = (c: number): boolean => c >= 48 && c <= 57
const isBlank = (c: number): boolean => c === SP || c === HT
const isLws = (c: number): boolean => c === SP || c === HT || c === CR || c === LF

// Node's Buffer decoders work on any Uint8Array and, unlike TextDecoder, keep
// a leading byte-order mark (RFC 4475 `intmeth` has one in a header value).
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string
const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string

/** UTF-8 text of `bytes[start, end)`, invalid sequences replaced by U+FFFD. */
export const decodeUtf8 = (bytes: Uint8Array, start: number, end: number): string =>
  utf8Slice.call(bytes, start, end)

const error = (reason: string, offset: number): SIPParseError => new SIPParseError({ reason, offset })

/** Replaces each line fold (`*WSP CRLF 1*WSP`, RFC 3261 §7.3.1) by one SP. */
const unfold = (value: string): string => {
  let out = ""
  let segmentStart = 0
  let i = 0
  while (i < value.length) {
    const c = value.charCodeAt(i)
    if (c !== CR && c !== LF) {
      i++
      continue
    }
    let end = i
    while (end > segmentStart && isBlank(value.charCodeAt(end - 1))) end--
    out += value.slice(segmentStart, end) + " "
    while (i < value.length && isLws(value.charCodeAt(i))) i++
    segmentStart = i
  }
  return out + value.slice(segmentStart)
}

// The start line is read from the octets, where `text[i]` is `bytes[base + i]`.

/** Whether `text[start, end)` is `SIP/1*DIGIT.1*DIGIT`, "SIP" in any case. */
const isVersion = (bytes: Uint8Array, base: number, start: number, end: number): boolean => {
  const at = base + start
  if (end - start < 7 || bytes[at + 3] !== SLASH) return false
  if ((bytes[at]! | 0x20) !== 0x73 || (bytes[at + 1]! | 0x20) !== 0x69 || (bytes[at + 2]! | 0x20) !== 0x70) return false
  let p = at + 4
  const major = p
  while (p < base + end && isDigit(bytes[p]!)) p++
  if (p === major || bytes[p] !== DOT) return false
  const minor = ++p
  while (p < base + end && isDigit(bytes[p]!)) p++
  return p > minor && p === base + end
}

const SIP_2_0 = "SIP/2.0"

/** The version `text[start, end)` (see {@link isVersion}) upper-cased. */
const versionText = (text: string, start: number, end: number): string =>
  text.startsWith(SIP_2_0, start) && end - start === SIP_2_0.length ? SIP_2_0 : text.slice(start, end).toUpperCase()

/** The header lines of a message, and where its body starts (an offset in the decoded text). */
interface HeaderLines {
  readonly startLineEnd: number
  readonly ids: Array<number>
  readonly names: Array<string>
  readonly values: Array<string>
  readonly valueStarts: Array<number>
  readonly bodyStart: number
  readonly contentLength: number
}

/** `text` ends before the empty line: decode a longer window and scan again. */
const needMore = "needMore" as const

/** Whether `bytes[start, end)` has an octet above 0x7F. */
const hasNonAscii = (bytes: Uint8Array, start: number, end: number): boolean => {
  let seen = 0
  for (let i = start; i < end; i++) seen |= bytes[i]!
  return seen > 0x7f
}

/**
 * Scans the start line's end and the header lines in `text`, the Latin-1
 * decoding of `bytes` from `base`. Unless `ascii`, values with non-ASCII
 * octets are decoded again from `bytes` as UTF-8.
 */
const scanHeaderLines = (
  bytes: Uint8Array,
  text: string,
  base: number,
  ascii: boolean
): HeaderLines | SIPParseError | typeof needMore => {
  const ids: Array<number> = []
  const names: Array<string> = []
  const values: Array<string> = []
  const valueStarts: Array<number> = []
  let contentLength = -1
  let lf = text.indexOf("\n")
  if (lf < 0) return needMore
  const startLineEnd = lf > 0 && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf
  // The first CR at or after the current line: every CR must begin a CRLF.
  let cr = text.indexOf("\r")
  if (cr >= 0 && cr < startLineEnd) return error("bare CR in the start line", base + cr)
  let pos = lf + 1
  for (;;) {
    lf = text.indexOf("\n", pos)
    if (lf < 0) return needMore
    if (lf === pos || (lf === pos + 1 && text.charCodeAt(pos) === CR)) break
    let p = pos
    let first = 0
    let second = 0
    for (let c = bytes[base + p]!; isToken[c] === 1; c = bytes[base + ++p]!) {
      if (p - pos < 4) first = packNameOctet(first, c)
      else if (p - pos < 8) second = packNameOctet(second, c)
    }
    const nameEnd = p
    if (nameEnd === pos) return error("expected a header name", base + pos)
    while (isBlank(bytes[base + p]!)) p++
    if (bytes[base + p] !== COLON) return error("expected ':' after the header name", base + p)
    p++
    let folded = false
    while (isBlank(bytes[base + lf + 1]!)) {
      folded = true
      lf = text.indexOf("\n", lf + 1)
      if (lf < 0) return needMore
    }
    if (cr >= 0 && cr < pos) cr = text.indexOf("\r", pos)
    while (cr >= 0 && cr < lf) {
      if (bytes[base + cr + 1] !== LF) return error("bare CR in a header value", base + cr)
      cr = text.indexOf("\r", cr + 2)
    }
    let end = lf
    while (end > p && isLws(bytes[base + end - 1]!)) end--
    while (p < end && isLws(bytes[base + p]!)) p++
    const id = headerIdOfOctets(bytes, base + pos, base + nameEnd, first, second)
    const utf8 = !ascii && hasNonAscii(bytes, base + p, base + end)
    let value = utf8 ? utf8Slice.call(bytes, base + p, base + end) : text.slice(p, end)
    if (folded) value = unfold(value)
    if (id === HeaderId.ContentLength) {
      const length = contentLengthOf(value)
      if (length < 0) return error(`Content-Length is not a decimal number: "${value}"`, base + p)
      if (contentLength >= 0 && length !== contentLength) {
        return error(`conflicting Content-Length values ${contentLength} and ${length}`, base + p)
      }
      contentLength = length
    }
    ids.push(id)
    names.push(id >= 0 ? nameOfId(id)! : text.slice(pos, nameEnd))
    values.push(value)
    valueStarts.push(utf8 || folded ? ~p : p)
    pos = lf + 1
  }
  return { startLineEnd, ids, names, values, valueStarts, bodyStart: lf + 1, contentLength }
}

// The header section is decoded in a window that grows geometrically until it
// holds the empty line, so a long stream buffer is not decoded whole per message.
const firstWindow = 4096

/**
 * `bytes[start, end)` as Latin-1. An ASCII window of a message given as a
 * string is that string's own characters, so it is cut from it, not decoded.
 */
const decodeWindow = (bytes: Uint8Array, start: number, end: number, ascii: boolean, source: string | undefined): string =>
  ascii && source !== undefined ? source.slice(start, end) : latin1Slice.call(bytes, start, end)

const isAsciiRange = (bytes: Uint8Array, start: number, end: number): boolean =>
  start === 0 && end === bytes.length ? isAscii(bytes) : isAscii(bytes.subarray(start, end))

/**
 * Cuts one message out of `bytes`: start line, header lines and body. An
 * error at offset `bytes.length` means the input ends before the message
 * does (only CRLFs, no empty line yet, or a body shorter than Content-Length).
 * `source` is the string `bytes` were encoded from (as UTF-8), if any.
 *
 * @category parsing
 * @since 0.1.0
 */
export const scan = (bytes: Uint8Array, transport: Transport, source?: string): Scanned | SIPParseError => {
  const n = bytes.length
  let base = 0
  while (base < n && (bytes[base] === CR || bytes[base] === LF)) base++
  if (base === n) return error("empty message", base)

  let windowEnd = Math.min(n, base + firstWindow)
  // A string is ASCII exactly when its UTF-8 encoding has one octet per character.
  const allAscii = source !== undefined && source.length === n
  let ascii = allAscii || isAsciiRange(bytes, base, windowEnd)
  let text = decodeWindow(bytes, base, windowEnd, ascii, source)
  let lines = scanHeaderLines(bytes, text, base, ascii)
  while (lines === needMore && windowEnd < n) {
    windowEnd = Math.min(n, base + (windowEnd - base) * 4)
    ascii = allAscii || isAsciiRange(bytes, base, windowEnd)
    text = decodeWindow(bytes, base, windowEnd, ascii, source)
    lines = scanHeaderLines(bytes, text, base, ascii)
  }
  if (lines === needMore) {
    return text.indexOf("\n") < 0
      ? error("start line is not terminated by CRLF", n)
      : error("header section is not terminated by an empty line", n)
  }
  if (lines instanceof SIPParseError) return lines
  const startLine = scanStartLine(bytes, text, base, lines.startLineEnd, ascii)
  if (startLine instanceof SIPParseError) return startLine

  const bodyStart = base + lines.bodyStart
  const contentLength = lines.contentLength
  let bodyEnd: number
  if (contentLength >= 0) {
    bodyEnd = bodyStart + contentLength
    if (bodyEnd > n) {
      return error(`Content-Length ${contentLength} exceeds the ${n - bodyStart} octets after the header section`, n)
    }
  } else {
    bodyEnd = transport === "datagram" ? n : bodyStart
  }
  return {
    startLine,
    headers: new Headers(lines.ids, lines.names, lines.values),
    text,
    valueStarts: lines.valueStarts,
    input: bytes,
    messageStart: base,
    bodyStart,
    bodyEnd,
    hasContentLength: contentLength >= 0
  }
}

/** A Content-Length value (1*DIGIT), or -1; values beyond 2^31 count as -1 too. */
const contentLengthOf = (value: string): number => {
  if (value.length === 0 || value.length > 10) return -1
  let length = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (!isDigit(c)) return -1
    length = length * 10 + (c - 48)
  }
  return length <= 0x7fffffff ? length : -1
}

/** Whether `text` has "sip:" or "sips:" at `at`, in any case. */
const isSipUri = (bytes: Uint8Array, base: number, at: number): boolean => {
  const p = base + at
  if ((bytes[p]! | 0x20) !== 0x73 || (bytes[p + 1]! | 0x20) !== 0x69 || (bytes[p + 2]! | 0x20) !== 0x70) return false
  const next = bytes[p + 3]!
  return next === COLON || ((next | 0x20) === 0x73 && bytes[p + 4] === COLON)
}

/** Reads the start line `text[0, end)`; unless `ascii`, a reason phrase with non-ASCII octets is decoded as UTF-8. */
const scanStartLine = (
  bytes: Uint8Array,
  text: string,
  base: number,
  end: number,
  ascii: boolean
): StartLine | SIPParseError => {
  let p = 0
  while (p < end && isToken[bytes[base + p]!] === 1) p++
  if (p < end && bytes[base + p] === SLASH) return scanStatusLine(bytes, text, base, end, ascii)
  if (p === 0) return error("expected a method or SIP-Version at the start of the message", base)
  if (bytes[base + p] !== SP) return error("expected SP after the method", base + p)
  const method = text.slice(0, p)
  while (p < end && bytes[base + p] === SP) p++
  let last = end
  while (last > p && bytes[base + last - 1] === SP) last--
  let versionStart = last
  while (versionStart > p && bytes[base + versionStart - 1] !== SP) versionStart--
  if (!isVersion(bytes, base, versionStart, last)) {
    return error("expected SIP-Version at the end of the request line", base + versionStart)
  }
  let uriEnd = versionStart
  while (uriEnd > p && bytes[base + uriEnd - 1] === SP) uriEnd--
  if (uriEnd === p) return error("request line has no Request-URI", base + p)
  const uriText = text.slice(p, uriEnd)
  // A sip, sips or tel URI is checked by its parser; this guards any other scheme.
  if (!isSipUri(bytes, base, p) && /[\x00-\x20\x7f-\xff]/.test(uriText)) {
    return error("whitespace or non-ASCII octet inside the Request-URI", base + p)
  }
  return { kind: "request", method, uri: uriText, uriOffset: base + p, version: versionText(text, versionStart, last) }
}

const scanStatusLine = (
  bytes: Uint8Array,
  text: string,
  base: number,
  end: number,
  ascii: boolean
): StartLine | SIPParseError => {
  let p = 0
  while (p < end && bytes[base + p] !== SP) p++
  if (!isVersion(bytes, base, 0, p)) return error("expected SIP-Version in the status line", base)
  const version = versionText(text, 0, p)
  if (version !== SIP_2_0) return error(`unsupported SIP version ${version} in a response`, base)
  if (p === end) return error("status line has no status code", base + p)
  const codeStart = ++p
  let code = 0
  while (p < end && isDigit(bytes[base + p]!)) code = code * 10 + (bytes[base + p++]! - 0x30)
  if (p - codeStart !== 3 || (p < end && bytes[base + p] !== SP)) {
    return error("status code must be three digits followed by SP", base + codeStart)
  }
  if (code < 100 || code > 699) return error(`status code ${code} is outside 100-699`, base + codeStart)
  const reasonStart = p < end ? p + 1 : end
  const reason = !ascii && hasNonAscii(bytes, base + reasonStart, base + end)
    ? utf8Slice.call(bytes, base + reasonStart, base + end)
    : text.slice(reasonStart, end)
  return { kind: "response", version, code, reason }
}
