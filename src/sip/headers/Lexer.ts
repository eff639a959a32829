/**
 * The character-level building blocks shared by the URI and header-value
 * parsers: RFC 3261 §25 character classes, a cursor over one header value,
 * quoted strings, `;name=value` parameters, bounded decimals and host
 * validation (hostname, IPv4, IPv6).
 *
 * Scanners advance a {@link Scanner} and signal a grammar violation by
 * throwing a {@link Failure}; {@link run} / {@link runRange} turn that into a
 * failed `Result` at the public boundary, and {@link attempt} into a value
 * for the message parser, so no public function ever throws. Throwing keeps
 * the happy path free of per-step `Result` allocations. The character
 * classes also index octets ({@link octetClasses}) for `FastPath.ts`.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { SIPParseError } from "../SIPParseError.ts"

/** alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
export const TOKEN = 1 << 0
/** user: unreserved / user-unreserved ("&" "=" "+" "$" "," ";" "?" "/"); "%" is checked separately */
export const USER = 1 << 1
/** password: unreserved / "&" "=" "+" "$" "," */
export const PASSWORD = 1 << 2
/** paramchar: unreserved / param-unreserved ("[" "]" "/" ":" "&" "+" "$") */
export const PARAM = 1 << 3
/** hname/hvalue: unreserved / hnv-unreserved ("[" "]" "/" "?" ":" "+" "$") */
export const HNV = 1 << 4
/** ALPHA / DIGIT / "+" / "-" / "." (URI scheme) */
export const SCHEME = 1 << 5
/** token68 (RFC 7235): ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" */
export const TOKEN68 = 1 << 6
/** RFC 3966 telephone-subscriber digits: HEXDIG / "*" / "#" / "+" / visual-separator */
export const TEL = 1 << 7
/** a header generic-param value: token characters, plus ":" "[" "]" for hosts and bare IPv6 */
const GEN_VALUE = 1 << 8
export const DIGIT = 1 << 9
export const HEXDIG = 1 << 10
export const ALPHA = 1 << 11
/** everything that can appear before the "@" of a SIP URI: user, ":" password, "%" escapes */
export const USERINFO = 1 << 12
/** a URI user that needs no unescaping and has no password: unreserved / "+" (a subset of USER) */
export const PLAIN_USER = 1 << 13

const classes = new Uint16Array(256)
const addClass = (chars: string, cls: number): void => {
  for (let i = 0; i < chars.length; i++) classes[chars.charCodeAt(i)]! |= cls
}
const LOWER = "abcdefghijklmnopqrstuvwxyz"
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
const DIGITS = "0123456789"
const ALPHANUM = LOWER + UPPER + DIGITS
const MARK = "-_.!~*'()"
addClass(LOWER + UPPER, ALPHA)
addClass(DIGITS, DIGIT)
addClass(DIGITS + "abcdefABCDEF", HEXDIG)
addClass(ALPHANUM + "-.!%*_+`'~", TOKEN)
addClass(ALPHANUM + MARK, USER | PASSWORD | PARAM | HNV | USERINFO)
addClass("&=+$,;?/", USER | USERINFO)
addClass("&=+$,", PASSWORD)
addClass(":%", USERINFO)
addClass("[]/:&+$", PARAM)
addClass("[]/?:+$", HNV)
addClass(ALPHANUM + "+-.", SCHEME)
addClass(ALPHANUM + "-._~+/", TOKEN68)
addClass(DIGITS + "abcdefABCDEF*#+-.()", TEL)
addClass(ALPHANUM + "-.!%*_+`'~:[]", GEN_VALUE)
addClass(ALPHANUM + MARK + "+", PLAIN_USER)

/**
 * The classes of each octet, for code that reads octets rather than a
 * string: indexed by any octet, with no range check; those above 0x7F belong
 * to none.
 */
export const octetClasses: Readonly<Uint16Array> = classes

/** Whether the UTF-16 code unit `c` (or -1 for end of input) belongs to one of the classes in `cls`. */
export const is = (c: number, cls: number): boolean => c >= 0 && c < 128 && (classes[c]! & cls) !== 0

export const SP = 0x20
export const HTAB = 0x09
export const DQUOTE = 0x22
export const PERCENT = 0x25
export const COMMA = 0x2c
export const SLASH = 0x2f
export const COLON = 0x3a
export const SEMI = 0x3b
export const LAQUOT = 0x3c
export const EQUAL = 0x3d
export const RAQUOT = 0x3e
export const QUESTION = 0x3f
export const AT = 0x40
export const LBRACKET = 0x5b
export const BACKSLASH = 0x5c
const RBRACKET = 0x5d
export const AMPERSAND = 0x26
const DOT = 0x2e
const HYPHEN = 0x2d
export const STAR = 0x2a
export const PLUS = 0x2b

/** A grammar violation found while scanning; caught by {@link run}. Not an `Error`: no stack is captured. */
export class Failure {
  readonly reason: string
  readonly offset: number
  constructor(reason: string, offset: number) {
    this.reason = reason
    this.offset = offset
  }
}

// A function declaration (not an arrow) so that calls narrow types like any `never`-returning assertion.
export function fail(reason: string, offset: number): never {
  throw new Failure(reason, offset)
}

/**
 * A cursor over `s[pos, end)`. `paramName` / `paramValue` hold the last
 * parameter read by `nextParam`, so parameter loops need no per-param allocation.
 * A message parser moves one scanner from value to value with {@link Scanner.reset}.
 */
export class Scanner {
  s: string
  pos: number
  end: number
  paramName = ""
  paramValue: string | null = null
  paramOffset = 0
  paramValueStart = 0
  /** Whether `paramValue` is a token (not null, not quoted, no ":" "[" "]"). */
  paramIsToken = false
  /**
   * `s[userinfoFrom, userinfoStop)` is all userinfo characters and
   * `userinfoStop` is not one. Kept so that the look-ahead for a URI's "@" in
   * a comma list (`sip:a,sip:b,...`) does not rescan the same run for every
   * element, which would be quadratic.
   */
  userinfoFrom = -1
  userinfoStop = -1
  /** Whether the last `%`-aware scan (URI user, parameter, header) met a `%`. */
  escaped = false
  constructor(s: string, pos = 0, end = s.length) {
    this.s = s
    this.pos = pos
    this.end = end
  }

  /** Points the scanner at `s[pos, end)`, forgetting what it learnt about the previous range. */
  reset(s: string, pos: number, end: number): void {
    this.s = s
    this.pos = pos
    this.end = end
    this.userinfoFrom = -1
    this.userinfoStop = -1
  }
}

/** Runs `body` on `sc`, returning the {@link Failure} it signals instead of throwing it. */
export const attempt = <A>(sc: Scanner, body: (sc: Scanner) => A): A | Failure => {
  try {
    return body(sc)
  } catch (error) {
    if (error instanceof Failure) return error
    throw error
  }
}

/**
 * Runs a scanner over `text[start, end)`, converting a {@link Failure} into a
 * failed `Result` whose offset is a position in `text`. A message parser
 * passes the decoded header section and a value's range, so no value is
 * copied out first and errors point into the message.
 */
export const runRange = <A>(
  text: string,
  start: number,
  end: number,
  body: (sc: Scanner) => A
): Result.Result<A, SIPParseError> => {
  const value = attempt(new Scanner(text, start, end), body)
  return value instanceof Failure
    ? Result.fail(new SIPParseError({ reason: value.reason, offset: value.offset }))
    : Result.succeed(value)
}

/** Runs a scanner over the whole of `value` (see {@link runRange}). */
export const run = <A>(value: string, body: (sc: Scanner) => A): Result.Result<A, SIPParseError> =>
  runRange(value, 0, value.length, body)

/** The code unit at the cursor, or -1 at the end. */
export const peek = (sc: Scanner): number => sc.pos < sc.end ? sc.s.charCodeAt(sc.pos) : -1

export const skipWs = (sc: Scanner): void => {
  const s = sc.s
  let p = sc.pos
  while (p < sc.end) {
    const c = s.charCodeAt(p)
    if (c !== SP && c !== HTAB) break
    p++
  }
  sc.pos = p
}

/** Skips LWS and reports whether at least one SP/HTAB was there. */
export const skipRequiredWs = (sc: Scanner): boolean => {
  const before = sc.pos
  skipWs(sc)
  return sc.pos > before
}

/** Readable name of the character at `pos` for error messages. */
export const describeAt = (s: string, pos: number, end = s.length): string =>
  pos >= end ? "end of value" : JSON.stringify(s[pos])

export const expect = (sc: Scanner, code: number, what: string): void => {
  if (peek(sc) !== code) fail(`expected ${what}, found ${describeAt(sc.s, sc.pos, sc.end)}`, sc.pos)
  sc.pos++
}

/** The end of the run of characters of `cls` that starts at `start`, at most `end`. */
export const classEnd = (s: string, start: number, end: number, cls: number): number => {
  let p = start
  while (p < end && is(s.charCodeAt(p), cls)) p++
  return p
}

/** Advances over characters of `cls` and returns how many there were. */
export const scanClass = (sc: Scanner, cls: number): number => {
  const start = sc.pos
  sc.pos = classEnd(sc.s, start, sc.end, cls)
  return sc.pos - start
}

/** `1*(token char)`, failing with `what` when there is none. */
export const token = (sc: Scanner, what: string): string => {
  const start = sc.pos
  if (scanClass(sc, TOKEN) === 0) fail(`expected ${what}, found ${describeAt(sc.s, start, sc.end)}`, start)
  return sc.s.slice(start, sc.pos)
}

/**
 * Validates the quoted-string starting at `start` (which holds `"`) and
 * returns the index just past its closing quote. qdtext is LWS, visible ASCII
 * except `"` and `\`, or any non-ASCII code unit; quoted-pair is `\` and any
 * ASCII character but CR or LF.
 */
export const quotedEnd = (s: string, start: number, end: number): number => {
  let p = start + 1
  while (p < end) {
    const c = s.charCodeAt(p)
    if (c === DQUOTE) return p + 1
    if (c === BACKSLASH) {
      const next = p + 1 < end ? s.charCodeAt(p + 1) : -1
      if (next < 0 || next > 0x7f || next === 0x0a || next === 0x0d) fail("invalid escape in quoted string", p)
      p += 2
    } else if ((c < 0x21 && c !== SP && c !== HTAB) || c === 0x7f) {
      fail("control character in quoted string", p)
    } else {
      p++
    }
  }
  return fail("unterminated quoted string", start)
}

/** The content of the already validated quoted-string `s[start, end)` with quoted-pairs resolved. */
export const unquote = (s: string, start: number, end: number): string => {
  const close = end - 1
  let from = start + 1
  let out = ""
  for (let p = from; p < close; p++) {
    if (s.charCodeAt(p) === BACKSLASH) {
      out += s.slice(from, p)
      from = p + 1
      p++
    }
  }
  return from === start + 1 ? s.slice(from, close) : out + s.slice(from, close)
}

/** Scans a quoted-string at the cursor and returns its unescaped content. */
export const quotedString = (sc: Scanner): string => {
  const start = sc.pos
  sc.pos = quotedEnd(sc.s, start, sc.end)
  return unquote(sc.s, start, sc.pos)
}

/**
 * `value` as a quoted-string: `"`, `\` and control characters become
 * quoted-pairs. CR and LF cannot be written even as quoted-pairs, and a raw one
 * would end the header line, so each becomes a space.
 */
export const quote = (value: string): string => {
  let out = "\""
  let from = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === DQUOTE || c === BACKSLASH || (c < 0x20 && c !== HTAB) || c === 0x7f) {
      out += value.slice(from, i) + (c === 0x0a || c === 0x0d ? " " : "\\" + value[i])
      from = i + 1
    }
  }
  return out + value.slice(from) + "\""
}

export const isToken = (value: string): boolean => {
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) if (!is(value.charCodeAt(i), TOKEN)) return false
  return true
}

/** Parameter names seen in nearly every message, by length, so their lower-case spelling is reused. */
const knownNames: ReadonlyArray<ReadonlyArray<string>> = (() => {
  const byLength: Array<Array<string>> = []
  for (
    const name of [
      "q",
      "lr",
      "id",
      "tag",
      "ttl",
      "user",
      "rport",
      "maddr",
      "branch",
      "method",
      "reason",
      "expires",
      "charset",
      "received",
      "boundary",
      "transport",
      "refresher",
      "retry-after",
      "reg-id",
      "+sip.instance",
      "ob",
      "gr"
    ]
  ) (byLength[name.length] ??= []).push(name)
  return byLength
})()

/** The lower-cased name `s[start, end)`: a shared string when it is a known name already in lower case. */
export const lowerName = (s: string, start: number, end: number): string => {
  const candidates = knownNames[end - start]
  if (candidates !== undefined) {
    for (let k = 0; k < candidates.length; k++) {
      const name = candidates[k]!
      let i = 0
      while (i < name.length && s.charCodeAt(start + i) === name.charCodeAt(i)) i++
      if (i === name.length) return name
    }
  }
  return s.slice(start, end).toLowerCase()
}

/**
 * Reads one header parameter `SEMI name [EQUAL value]` if the cursor (after
 * LWS) is at `;`. The lower-cased name goes to `sc.paramName`, the value as
 * written (a quoted-string keeps its quotes) or null to `sc.paramValue`, and
 * whether that value is a plain token to `sc.paramIsToken`.
 * Values are `gen-value` (token, host, quoted-string); bare IPv6 is accepted
 * too for Via's `received`.
 */
export const nextParam = (sc: Scanner): boolean => {
  skipWs(sc)
  if (peek(sc) !== SEMI) return false
  sc.pos++
  skipWs(sc)
  const nameStart = sc.pos
  sc.paramOffset = nameStart
  if (scanClass(sc, TOKEN) === 0) fail(`expected a parameter name, found ${describeAt(sc.s, nameStart, sc.end)}`, nameStart)
  sc.paramName = lowerName(sc.s, nameStart, sc.pos)
  skipWs(sc)
  if (peek(sc) !== EQUAL) {
    sc.paramValue = null
    sc.paramIsToken = false
    return true
  }
  sc.pos++
  skipWs(sc)
  const start = sc.pos
  sc.paramValueStart = start
  if (peek(sc) === DQUOTE) {
    sc.pos = quotedEnd(sc.s, start, sc.end)
    sc.paramIsToken = false
  } else {
    const tokenLength = scanClass(sc, TOKEN)
    sc.paramIsToken = !is(peek(sc), GEN_VALUE)
    if (!sc.paramIsToken) scanClass(sc, GEN_VALUE)
    else if (tokenLength === 0) fail(`expected a value for parameter "${sc.paramName}", found ${describeAt(sc.s, start, sc.end)}`, start)
  }
  sc.paramValue = sc.s.slice(start, sc.pos)
  return true
}

/**
 * After one list element: skips LWS and consumes a `,`. Returns false at the
 * end of the value, true when another element follows.
 */
export const listContinues = (sc: Scanner, what: string): boolean => {
  skipWs(sc)
  if (sc.pos >= sc.end) return false
  if (peek(sc) !== COMMA) fail(`unexpected ${describeAt(sc.s, sc.pos, sc.end)} after ${what}`, sc.pos)
  sc.pos++
  skipWs(sc)
  if (sc.pos >= sc.end || peek(sc) === COMMA) fail(`empty element in ${what} list`, sc.pos)
  return true
}

/**
 * `1*DIGIT` at the cursor as a number. Values above `max` fail unless
 * `saturate` is set, in which case they become `max` (RFC 3261 delta-seconds).
 */
export const decimal = (sc: Scanner, max: number, saturate: boolean, what: string): number => {
  const s = sc.s
  const start = sc.pos
  let p = start
  let value = 0
  while (p < sc.end) {
    const c = s.charCodeAt(p)
    if (c < 0x30 || c > 0x39) break
    if (value <= max) value = value * 10 + (c - 0x30)
    p++
  }
  if (p === start) fail(`expected ${what}, found ${describeAt(s, start, sc.end)}`, start)
  if (value > max) {
    if (!saturate) fail(`${what} is larger than ${max}`, start)
    value = max
  }
  sc.pos = p
  return value
}

/** The value of the parameter just read by {@link nextParam}, which must be a token. */
export const tokenParam = (sc: Scanner, what: string): string => {
  if (!sc.paramIsToken || sc.paramValue === null) return fail(`${what} must be a token`, sc.paramOffset)
  return sc.paramValue
}

/**
 * Runs `scan` over exactly the value of the parameter just read by
 * {@link nextParam} (the cursor is narrowed to it, not copied), failing if
 * the value has more than `scan` reads.
 */
export const withinParamValue = <A>(sc: Scanner, what: string, scan: (sc: Scanner) => A): A => {
  if (sc.paramValue === null) return fail(`${what} needs a value`, sc.paramOffset)
  const valueEnd = sc.pos
  const end = sc.end
  sc.pos = sc.paramValueStart
  sc.end = valueEnd
  const value = scan(sc)
  if (sc.pos !== valueEnd) fail(`unexpected ${describeAt(sc.s, sc.pos, valueEnd)} in ${what}`, sc.pos)
  sc.end = end
  return value
}

/** The value of the parameter just read by {@link nextParam} as a bounded decimal. */
export const decimalParam = (sc: Scanner, max: number, saturate: boolean, what: string): number =>
  withinParamValue(sc, what, (value) => decimal(value, max, saturate, what))

/** Upper bound of delta-seconds (RFC 3261 §25): larger values are taken as 2**32-1. */
export const MAX_DELTA_SECONDS = 4294967295

/** IPv4address with each part in 0-255 occupying exactly `s[start, end)`. */
export const isIPv4 = (s: string, start: number, end: number): boolean => ipv4End(s, start, end) === end

/** The end of the four dot-separated parts of 1-3 digits, each 0-255, that start `s[start, end)`; -1 if there are none. */
const ipv4End = (s: string, start: number, end: number): number => {
  let p = start
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (p >= end || s.charCodeAt(p) !== DOT) return -1
      p++
    }
    const partStart = p
    let value = 0
    while (p < end && p - partStart < 3) {
      const c = s.charCodeAt(p)
      if (c < 0x30 || c > 0x39) break
      value = value * 10 + (c - 0x30)
      p++
    }
    if (p === partStart || value > 255) return -1
  }
  return p
}

/**
 * IPv6address (RFC 4291 text form, RFC 3986 grammar) occupying exactly
 * `s[start, end)`. Also tolerates the `::` `:` IPv4 form that RFC 3261's ABNF
 * produced by mistake (`2001:db8:::192.0.2.1`), which RFC 5118 §4.10 asks
 * receivers to accept.
 */
export const isIPv6 = (s: string, start: number, end: number): boolean => {
  if (end - start < 2) return false
  let p = start
  let pieces = 0
  let compressed = false
  if (s.charCodeAt(p) === COLON) {
    if (s.charCodeAt(p + 1) !== COLON) return false
    compressed = true
    p += 2
    if (p === end) return true
    if (s.charCodeAt(p) === COLON) return isIPv4(s, p + 1, end)
  }
  while (true) {
    const pieceStart = p
    while (p < end && is(s.charCodeAt(p), HEXDIG)) p++
    if (p < end && s.charCodeAt(p) === DOT) {
      if (!isIPv4(s, pieceStart, end)) return false
      pieces += 2
      break
    }
    if (p === pieceStart || p - pieceStart > 4) return false
    pieces++
    if (p === end) break
    if (s.charCodeAt(p) !== COLON) return false
    p++
    if (p === end) return false
    if (s.charCodeAt(p) === COLON) {
      if (compressed) return false
      compressed = true
      p++
      if (p === end) break
      if (s.charCodeAt(p) === COLON) {
        if (!isIPv4(s, p + 1, end)) return false
        pieces += 2
        break
      }
    }
  }
  return compressed ? pieces <= 7 : pieces === 8
}

/** A valid IPv6 address only holds ":::" in the tolerated RFC 3261 form; it means "::". */
export const canonicalColons = (address: string): string =>
  address.includes(":::") ? address.replace(":::", "::") : address

/**
 * A host at the cursor: `[IPv6]`, or hostname (`*(domainlabel ".") toplabel
 * ["."]`) / IPv4address, checked in the same pass that finds its end.
 * Returns it without brackets. A last label that starts with a digit cannot
 * be a toplabel, so such a host must be a valid IPv4 address.
 */
export const host = (sc: Scanner, what: string): string => {
  const s = sc.s
  const start = sc.pos
  const end = sc.end
  if (start < end && s.charCodeAt(start) === LBRACKET) {
    let close = start + 1
    while (close < end && s.charCodeAt(close) !== RBRACKET) close++
    if (close >= end) fail(`unterminated IPv6 reference in ${what}`, start)
    if (!isIPv6(s, start + 1, close)) fail(`invalid IPv6 address in ${what}`, start)
    sc.pos = close + 1
    return canonicalColons(s.slice(start + 1, close))
  }
  const p = hostnameEnd(s, start, end, what)
  sc.pos = p
  return s.slice(start, p)
}

/**
 * The end of the hostname or IPv4 address that starts `s[start, end)` (see
 * {@link host}); fails when it is not a valid one.
 */
const hostnameEnd = (s: string, start: number, end: number, what: string): number => {
  // An IPv4 address, the usual host in SIP traffic, needs no label checks: one pass suffices.
  const v4 = ipv4End(s, start, end)
  if (v4 >= 0 && (v4 === end || !isHostChar(s.charCodeAt(v4)))) return v4
  let p = start
  let labelStart = start
  let lastLabelStart = start
  let afterHyphen = false
  while (p < end) {
    const c = s.charCodeAt(p)
    if (c === DOT) {
      if (p === labelStart || afterHyphen) fail(`empty or hyphen-edged label in ${what}`, p)
      lastLabelStart = labelStart
      labelStart = p + 1
    } else if (c === HYPHEN) {
      if (p === labelStart) fail(`label starting with "-" in ${what}`, p)
      afterHyphen = true
      p++
      continue
    } else if (!is(c, ALPHA | DIGIT)) {
      break
    }
    afterHyphen = false
    p++
  }
  if (p === start) fail(`expected ${what}, found ${describeAt(s, start, end)}`, start)
  if (afterHyphen) fail(`label ending with "-" in ${what}`, p - 1)
  const trailingDot = labelStart === p
  if (is(s.charCodeAt(trailingDot ? lastLabelStart : labelStart), DIGIT) && (trailingDot || !isIPv4(s, start, p))) {
    fail(`invalid IPv4 address or top-level label in ${what}`, start)
  }
  return p
}

const isHostChar = (c: number): boolean => c === DOT || c === HYPHEN || is(c, ALPHA | DIGIT)

/** Host as written in a URI or sent-by: IPv6 gets its brackets back. */
export const formatHost = (value: string): string => value.includes(":") ? `[${value}]` : value

/**
 * The one empty map shared by every parsed value without parameters, so none
 * allocates its own. Object.freeze does not stop `Map.prototype.set`, and a
 * write through a cast would change every such value, so writes throw.
 */
export const emptyParams: ReadonlyMap<string, never> = (() => {
  const map = new Map<string, never>()
  const readOnly = () => {
    throw new TypeError("the shared empty parameter map is read-only")
  }
  for (const method of ["set", "delete", "clear"]) Object.defineProperty(map, method, { value: readOnly })
  return Object.freeze(map)
})()

/** `;name` / `;name=value` for each entry; values are written as stored. */
export const formatParams = (params: ReadonlyMap<string, string | null>): string => {
  let out = ""
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`
  return out
}
