/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, §25; RFC 3966): parsing with
 * `%XX` unescaping, formatting with re-escaping, and small helpers.
 *
 * Parsing is a single left-to-right scan over the characters; user and
 * password are stored unescaped, IPv6 hosts without their brackets, and URI
 * parameter names lower-cased.
 *
 * @since 0.1.0
 */
import type { Result } from "effect"
import {
  ALPHA,
  AMPERSAND,
  AT,
  classEnd,
  COLON,
  decimal,
  describeAt,
  DIGIT,
  emptyParams,
  EQUAL,
  fail,
  formatHost,
  HEXDIG,
  HNV,
  host,
  is,
  LBRACKET,
  lowerName,
  PARAM,
  PASSWORD,
  PERCENT,
  PLUS,
  QUESTION,
  run,
  runRange,
  type Scanner,
  SCHEME,
  SEMI,
  TEL,
  USER,
  USERINFO
} from "./headers/Lexer.ts"
import type { SIPParseError } from "./SIPParseError.ts"

/**
 * A parsed `sip:`, `sips:` or `tel:` URI.
 *
 * @category models
 * @since 0.1.0
 */
export interface SIPURI {
  readonly scheme: "sip" | "sips" | "tel"
  /** Unescaped (`%41` is `"A"`). For tel URIs: the number, visual separators included. */
  readonly user: string | undefined
  readonly password: string | undefined
  /** IPv6 addresses without brackets; `""` for tel URIs. */
  readonly host: string
  readonly port: number | undefined
  /** Names lower-cased, names and values unescaped; null for a flag parameter (`;lr`). */
  readonly params: ReadonlyMap<string, string | null>
  /** Header fields after `?`, names as written, values unescaped; a repeated name joins its values with ",". */
  readonly headers: ReadonlyMap<string, string>
}

const emptyHeaders: ReadonlyMap<string, never> = emptyParams

/**
 * Where a URI stands, which decides where it ends:
 * - `"whole"`: it is the whole range (a Request-URI);
 * - `"bracketed"`: inside `<...>`, it ends at the first character no URI
 *   part can hold (the caller then expects `>`);
 * - `"addrSpec"`: unbracketed in a header (RFC 3261 §20.10), it ends before
 *   the first `;` after the host, since those parameters belong to the
 *   header, and it may not carry `?` headers.
 *
 * @category parsing
 * @since 0.1.0
 */
export type UriForm = "whole" | "bracketed" | "addrSpec"

/**
 * Reads a URI from the cursor; see {@link UriForm} for where it ends.
 *
 * @category parsing
 * @since 0.1.0
 */
export const scanUri = (sc: Scanner, form: UriForm): SIPURI => {
  const s = sc.s
  const schemeStart = sc.pos
  if (schemeStart >= sc.end || !is(s.charCodeAt(schemeStart), ALPHA)) {
    fail(`expected a URI scheme, found ${describeAt(s, schemeStart, sc.end)}`, schemeStart)
  }
  let p = schemeStart + 1
  while (p < sc.end && is(s.charCodeAt(p), SCHEME)) p++
  if (p >= sc.end || s.charCodeAt(p) !== COLON) fail(`expected ":" after the URI scheme`, p)
  const scheme = schemeOf(s, schemeStart, p)
  sc.pos = p + 1
  const uri = scheme === "tel" ? scanTel(sc, form) : scanSip(sc, scheme, form)
  if (form === "whole" && sc.pos < sc.end) fail(`unexpected ${describeAt(s, sc.pos, sc.end)} in URI`, sc.pos)
  return uri
}

const schemeOf = (s: string, start: number, end: number): SIPURI["scheme"] => {
  const length = end - start
  if (length === 3 && s.startsWith("sip", start)) return "sip"
  if (length === 4 && s.startsWith("sips", start)) return "sips"
  const written = s.slice(start, end)
  const scheme = written.toLowerCase()
  if (scheme === "sip" || scheme === "sips" || scheme === "tel") return scheme
  return fail(`unsupported URI scheme "${written}"`, start)
}

/**
 * Where the run of userinfo characters from `start` ends: an "@" there means
 * the URI has a userinfo part. The run is remembered in the scanner, so that
 * URIs listed with commas (`sip:a,sip:b,...`), each of which looks ahead
 * over the same run, take linear time, not quadratic.
 */
const userinfoEnd = (sc: Scanner, start: number): number => {
  if (sc.userinfoFrom <= start && start <= sc.userinfoStop) return sc.userinfoStop
  const stop = classEnd(sc.s, start, sc.end, USERINFO)
  sc.userinfoFrom = start
  sc.userinfoStop = stop
  return stop
}

const scanSip = (sc: Scanner, scheme: "sip" | "sips", form: UriForm): SIPURI => {
  const s = sc.s
  const start = sc.pos
  const p = userinfoEnd(sc, start)
  let user: string | undefined
  let password: string | undefined
  if (p < sc.end && s.charCodeAt(p) === AT) {
    let userEnd = start
    while (userEnd < p && s.charCodeAt(userEnd) !== COLON) userEnd++
    if (userEnd === start) fail("empty user part in URI", start)
    // USERINFO is USER plus ":" and "%", so only the password needs its characters checked.
    user = unescape(s, start, userEnd, "user part")
    if (userEnd < p) {
      checkChars(s, userEnd + 1, p, PASSWORD, "password")
      password = unescape(s, userEnd + 1, p, "password")
    }
    sc.pos = p + 1
  }
  const hostname = host(sc, "URI host")
  let port: number | undefined
  if (sc.pos < sc.end && s.charCodeAt(sc.pos) === COLON) {
    sc.pos++
    port = decimal(sc, 65535, false, "port")
  }
  const params = form === "addrSpec" ? emptyParams : uriParams(sc)
  let headers: ReadonlyMap<string, string> = emptyHeaders
  if (sc.pos < sc.end && s.charCodeAt(sc.pos) === QUESTION) {
    if (form === "addrSpec") fail("a URI with headers must be enclosed in <...>", sc.pos)
    headers = uriHeaders(sc)
  }
  return { scheme, user, password, host: hostname, port, params, headers }
}

const scanTel = (sc: Scanner, form: UriForm): SIPURI => {
  const s = sc.s
  const start = sc.pos
  let p = start
  while (p < sc.end && is(s.charCodeAt(p), TEL)) p++
  if (!isTelephoneNumber(s, start, p)) fail("invalid telephone number in tel URI", start)
  sc.pos = p
  const params = form === "addrSpec" ? emptyParams : uriParams(sc)
  return { scheme: "tel", user: s.slice(start, p), password: undefined, host: "", port: undefined, params, headers: emptyHeaders }
}

/**
 * RFC 3966: global-number-digits (`+` then digits and visual separators, at
 * least one digit) or local-number-digits (hex digits, `*`, `#` and visual
 * separators, at least one of the former).
 */
const isTelephoneNumber = (s: string, start: number, end: number): boolean => {
  const global = start < end && s.charCodeAt(start) === PLUS
  let significant = false
  for (let p = global ? start + 1 : start; p < end; p++) {
    const c = s.charCodeAt(p)
    if (c === PLUS) return false
    if (global ? is(c, DIGIT) : is(c, HEXDIG) || c === 0x2a || c === 0x23) significant = true
    else if (global && !isVisualSeparator(c)) return false
  }
  return significant
}

const isVisualSeparator = (c: number): boolean => c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29

const uriParams = (sc: Scanner): ReadonlyMap<string, string | null> => {
  const s = sc.s
  let params: Map<string, string | null> | undefined
  while (sc.pos < sc.end && s.charCodeAt(sc.pos) === SEMI) {
    const nameStart = ++sc.pos
    const nameEnd = scanEscaped(sc, PARAM)
    if (nameEnd === nameStart) fail("empty URI parameter", nameStart)
    const name = sc.escaped
      ? unescape(s, nameStart, nameEnd, "parameter").toLowerCase()
      : lowerName(s, nameStart, nameEnd)
    let value: string | null = null
    if (sc.pos < sc.end && s.charCodeAt(sc.pos) === EQUAL) {
      const valueStart = ++sc.pos
      const valueEnd = scanEscaped(sc, PARAM)
      if (valueEnd === valueStart) fail(`empty value for URI parameter "${name}"`, valueStart)
      value = sc.escaped ? unescape(s, valueStart, valueEnd, "parameter") : s.slice(valueStart, valueEnd)
    }
    ;(params ??= new Map()).set(name, value)
  }
  return params ?? emptyParams
}

const uriHeaders = (sc: Scanner): ReadonlyMap<string, string> => {
  const s = sc.s
  const headers = new Map<string, string>()
  do {
    const nameStart = ++sc.pos
    const nameEnd = scanEscaped(sc, HNV)
    if (nameEnd === nameStart) fail("empty URI header name", nameStart)
    const name = unescape(s, nameStart, nameEnd, "header name")
    if (sc.pos >= sc.end || s.charCodeAt(sc.pos) !== EQUAL) fail(`expected "=" after URI header name`, sc.pos)
    const valueStart = ++sc.pos
    const value = unescape(s, valueStart, scanEscaped(sc, HNV), "header value")
    const previous = headers.get(name)
    headers.set(name, previous === undefined ? value : `${previous},${value}`)
  } while (sc.pos < sc.end && s.charCodeAt(sc.pos) === AMPERSAND)
  return headers
}

/**
 * Advances over characters of `cls` and `%`, recording in `sc.escaped`
 * whether there was a `%` (to be checked by {@link unescape}); returns the
 * new position.
 */
const scanEscaped = (sc: Scanner, cls: number): number => {
  const s = sc.s
  let p = sc.pos
  let escaped = false
  while (p < sc.end) {
    const c = s.charCodeAt(p)
    if (c === PERCENT) escaped = true
    else if (!is(c, cls)) break
    p++
  }
  sc.pos = p
  sc.escaped = escaped
  return p
}

/**
 * `s[start, end)`, whose characters the caller has checked, with `%XX`
 * escapes decoded: as UTF-8, or one character per byte when the bytes are
 * not UTF-8. Unescaping happens once: `%2541` is `%41`.
 */
const unescape = (s: string, start: number, end: number, what: string): string => {
  let escaped = false
  for (let p = start; p < end; p++) {
    if (s.charCodeAt(p) !== PERCENT) continue
    if (p + 2 >= end || !is(s.charCodeAt(p + 1), HEXDIG) || !is(s.charCodeAt(p + 2), HEXDIG)) {
      fail(`invalid escape in URI ${what}`, p)
    }
    escaped = true
    p += 2
  }
  return escaped ? decodeEscapes(s.slice(start, end)) : s.slice(start, end)
}

/** Checks that `s[start, end)` holds only characters of `cls` or `%`. */
const checkChars = (s: string, start: number, end: number, cls: number, what: string): void => {
  for (let p = start; p < end; p++) {
    const c = s.charCodeAt(p)
    if (c !== PERCENT && !is(c, cls)) fail(`invalid character ${describeAt(s, p)} in URI ${what}`, p)
  }
}

const decodeEscapes = (raw: string): string => {
  try {
    return decodeURIComponent(raw)
  } catch {
    let out = ""
    for (let p = 0; p < raw.length; p++) {
      if (raw.charCodeAt(p) === PERCENT) {
        out += String.fromCharCode(parseInt(raw.slice(p + 1, p + 3), 16))
        p += 2
      } else {
        out += raw[p]
      }
    }
    return out
  }
}

const HEX = "0123456789ABCDEF"
const utf8 = new TextEncoder()

/** `value` with every character outside `cls` written as `%XX` (UTF-8 bytes for non-ASCII). */
const escape = (value: string, cls: number): string => {
  let i = 0
  while (i < value.length && is(value.charCodeAt(i), cls)) i++
  if (i === value.length) return value
  let out = value.slice(0, i)
  while (i < value.length) {
    const c = value.charCodeAt(i)
    if (is(c, cls)) {
      out += value[i]
      i++
    } else if (c < 0x80) {
      out += "%" + HEX[c >> 4] + HEX[c & 15]
      i++
    } else {
      let stop = i + 1
      while (stop < value.length && value.charCodeAt(stop) >= 0x80) stop++
      for (const byte of utf8.encode(value.slice(i, stop))) out += "%" + HEX[byte >> 4] + HEX[byte & 15]
      i = stop
    }
  }
  return out
}

/**
 * Parses a whole string as a SIP, SIPS or tel URI. Any other scheme fails
 * with "unsupported URI scheme" (use {@link schemeOfUri} to answer 416).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseUri = (input: string): Result.Result<SIPURI, SIPParseError> =>
  run(input, scanWholeUri)

/**
 * {@link parseUri} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseUriRange = (text: string, start: number, end: number): Result.Result<SIPURI, SIPParseError> =>
  runRange(text, start, end, scanWholeUri)

/** A URI filling the cursor's range (see {@link parseUri}); signals errors with `Lexer.fail`. */
export const scanWholeUri = (sc: Scanner): SIPURI => scanUri(sc, "whole")

/**
 * The lower-cased scheme if `input` starts with a syntactically valid
 * `scheme ":"`, whatever the scheme; lets a caller tell an unsupported
 * scheme (416) from a malformed URI (400).
 *
 * @category parsing
 * @since 0.1.0
 */
export const schemeOfUri = (input: string): string | undefined => {
  if (!is(input.charCodeAt(0), ALPHA)) return undefined
  let p = 1
  while (p < input.length && is(input.charCodeAt(p), SCHEME)) p++
  return input.charCodeAt(p) === COLON ? input.slice(0, p).toLowerCase() : undefined
}

/**
 * Writes a URI, escaping what the grammar does not allow literally, so that
 * `parseUri(formatUri(u))` gives back `u`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatUri = (uri: SIPURI): string => {
  let out: string
  if (uri.scheme === "tel") {
    out = `tel:${uri.user ?? ""}`
  } else {
    out = `${uri.scheme}:`
    if (uri.user !== undefined) {
      out += escape(uri.user, USER)
      if (uri.password !== undefined) out += ":" + escape(uri.password, PASSWORD)
      out += "@"
    }
    out += hostPort(uri)
  }
  for (const [name, value] of uri.params) {
    out += ";" + escape(name, PARAM)
    if (value !== null) out += "=" + escape(value, PARAM)
  }
  let separator = "?"
  for (const [name, value] of uri.headers) {
    out += separator + escape(name, HNV) + "=" + escape(value, HNV)
    separator = "&"
  }
  return out
}

/**
 * `host` or `host:port`, with an IPv6 host in brackets.
 *
 * @category formatting
 * @since 0.1.0
 */
export const hostPort = (uri: Pick<SIPURI, "host" | "port">): string =>
  uri.port === undefined ? formatHost(uri.host) : `${formatHost(uri.host)}:${uri.port}`

/**
 * Builds a URI from fields (scheme defaults to `sip`). Parameter names are
 * lower-cased; nothing else is checked, so pass values a parser would accept.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (fields: {
  readonly scheme?: SIPURI["scheme"] | undefined
  readonly user?: string | undefined
  readonly password?: string | undefined
  readonly host: string
  readonly port?: number | undefined
  readonly params?: ReadonlyMap<string, string | null> | Readonly<Record<string, string | null>> | undefined
  readonly headers?: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined
}): SIPURI => ({
  scheme: fields.scheme ?? "sip",
  user: fields.user,
  password: fields.password,
  host: stripBrackets(fields.host),
  port: fields.port,
  params: toMap(fields.params, true) ?? emptyParams,
  headers: toMap(fields.headers, false) ?? emptyHeaders
})

const stripBrackets = (value: string): string =>
  value.charCodeAt(0) === LBRACKET && value.endsWith("]") ? value.slice(1, -1) : value

const toMap = <V>(
  entries: ReadonlyMap<string, V> | Readonly<Record<string, V>> | undefined,
  lowerCaseNames: boolean
): ReadonlyMap<string, V> | undefined => {
  if (entries === undefined) return undefined
  const pairs: Iterable<readonly [string, V]> = entries instanceof Map ? entries : Object.entries(entries)
  const map = new Map<string, V>()
  for (const [name, value] of pairs) map.set(lowerCaseNames ? name.toLowerCase() : name, value)
  return map.size === 0 ? undefined : map
}
