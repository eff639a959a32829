/**
 * name-addr / addr-spec header values (RFC 3261 §20.10, §20.20, §20.30,
 * §20.34, §20.39; RFC 3515 Refer-To, RFC 3892 Referred-By): From, To,
 * Contact, Route, Record-Route, Refer-To, Referred-By.
 *
 * @since 0.1.0
 */
import type { Result } from "effect"
import type { SIPParseError } from "../SIPParseError.ts"
import { formatUri, scanUri, type SIPURI } from "../Uri.ts"
import {
  decimalParam,
  describeAt,
  DIGIT,
  DQUOTE,
  emptyParams,
  expect,
  fail,
  formatParams,
  HTAB,
  is,
  LAQUOT,
  listContinues,
  MAX_DELTA_SECONDS,
  nextParam,
  peek,
  quote,
  quotedEnd,
  RAQUOT,
  run,
  runRange,
  scanClass,
  type Scanner,
  skipWs,
  SP,
  STAR,
  TOKEN,
  tokenParam,
  unquote
} from "./Lexer.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface NameAddr {
  /** Unquoted and unescaped; several tokens are joined by one space. `undefined` when absent. */
  readonly displayName: string | undefined
  readonly uri: SIPURI
  /**
   * Header parameters other than `tag` (and, for Contact, `q` and
   * `expires`), names lower-cased, values as written: a quoted value keeps its
   * quotes so it is written back unchanged. null for a flag parameter.
   */
  readonly params: ReadonlyMap<string, string | null>
  readonly tag: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Contact extends NameAddr {
  /** delta-seconds; values above 2**32-1 are taken as 2**32-1. */
  readonly expires: number | undefined
  /** 0 to 1 with up to three decimals. */
  readonly q: number | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export type ContactHeader =
  | { readonly star: true }
  | { readonly star: false; readonly contacts: ReadonlyArray<Contact> }

/**
 * Reads `[display-name] <URI>` or a bare addr-spec, up to its header
 * parameters. A display name is a quoted-string or tokens followed by `<`;
 * anything else starts an addr-spec, whose `;` parameters then belong to the
 * header (§20.10).
 */
const scanAddress = (sc: Scanner): { displayName: string | undefined; uri: SIPURI } => {
  const s = sc.s
  skipWs(sc)
  let displayName: string | undefined
  if (peek(sc) === DQUOTE) {
    const start = sc.pos
    sc.pos = quotedEnd(s, start, sc.end)
    displayName = unquote(s, start, sc.pos)
    skipWs(sc)
    if (peek(sc) !== LAQUOT) fail(`expected "<" after the display name, found ${describeAt(s, sc.pos, sc.end)}`, sc.pos)
  } else if (peek(sc) !== LAQUOT) {
    displayName = tokenDisplayName(sc)
    if (displayName === undefined) return { displayName, uri: scanUri(sc, "addrSpec") }
  }
  sc.pos++
  const uri = scanUri(sc, "bracketed")
  expect(sc, RAQUOT, `">" after the URI`)
  return { displayName, uri }
}

/**
 * `*(token LWS)` ending at `<`: returns the tokens joined by single spaces
 * with the cursor at `<`, or undefined with the cursor unmoved when the text
 * is not a display name (then it is an addr-spec, whose scheme is a token too).
 */
const tokenDisplayName = (sc: Scanner): string | undefined => {
  const s = sc.s
  const start = sc.pos
  let end = start
  let singleSpaced = true
  while (true) {
    const tokenStart = sc.pos
    if (scanClass(sc, TOKEN) === 0) break
    if (tokenStart > start && (tokenStart - end !== 1 || s.charCodeAt(end) !== SP)) singleSpaced = false
    end = sc.pos
    skipWs(sc)
  }
  if (end === start || peek(sc) !== LAQUOT) {
    sc.pos = start
    return undefined
  }
  return singleSpaced ? s.slice(start, end) : joinWords(s, start, end)
}

/** The words of `s[start, end)` joined by single spaces. */
const joinWords = (s: string, start: number, end: number): string => {
  let out = ""
  let wordStart = -1
  for (let p = start; p <= end; p++) {
    const c = p < end ? s.charCodeAt(p) : SP
    if (c === SP || c === HTAB) {
      if (wordStart >= 0) out += (out === "" ? "" : " ") + s.slice(wordStart, p)
      wordStart = -1
    } else if (wordStart < 0) {
      wordStart = p
    }
  }
  return out
}

interface AddressParams {
  params: ReadonlyMap<string, string | null>
  tag: string | undefined
  expires: number | undefined
  q: number | undefined
}

/** Header parameters after an address; `q` and `expires` are typed only for Contact. */
const scanAddressParams = (sc: Scanner, contact: boolean): AddressParams => {
  let params: Map<string, string | null> | undefined
  let tag: string | undefined
  let expires: number | undefined
  let q: number | undefined
  while (nextParam(sc)) {
    const name = sc.paramName
    const value = sc.paramValue
    if (name === "tag") {
      tag = tokenParam(sc, "tag")
    } else if (contact && name === "expires") {
      expires = decimalParam(sc, MAX_DELTA_SECONDS, true, "Contact expires")
    } else if (contact && name === "q") {
      q = qvalue(value, sc.paramOffset)
    } else {
      ;(params ??= new Map()).set(name, value)
    }
  }
  return { params: params ?? emptyParams, tag, expires, q }
}

/** qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
const qvalue = (value: string | null, offset: number): number => {
  if (value === null || value.length === 0 || value.length > 5) return fail("q must be a qvalue between 0 and 1", offset)
  const whole = value.charCodeAt(0)
  let valid = (whole === 0x30 || whole === 0x31) && (value.length === 1 || value.charCodeAt(1) === 0x2e)
  for (let p = 2; p < value.length && valid; p++) {
    const c = value.charCodeAt(p)
    valid = whole === 0x30 ? is(c, DIGIT) : c === 0x30
  }
  return valid ? Number(value) : fail("q must be a qvalue between 0 and 1", offset)
}

const scanNameAddr = (sc: Scanner): NameAddr => {
  const { displayName, uri } = scanAddress(sc)
  const { params, tag } = scanAddressParams(sc, false)
  return { displayName, uri, params, tag }
}

const scanContact = (sc: Scanner): Contact => {
  const { displayName, uri } = scanAddress(sc)
  const { expires, params, q, tag } = scanAddressParams(sc, true)
  return { displayName, uri, params, tag, expires, q }
}

/** One address at the cursor (see {@link parseNameAddr}); signals errors with `Lexer.fail`. */
export const scanNameAddrValue = (sc: Scanner): NameAddr => {
  const nameAddr = scanNameAddr(sc)
  if (listContinues(sc, "the address")) fail("only one address is allowed here", sc.pos)
  return nameAddr
}

/**
 * One name-addr or addr-spec with its parameters: From, To, Refer-To,
 * Referred-By. With an addr-spec, parameters after the URI are header
 * parameters (`To: sip:b@x;tag=1` has tag 1 and no URI parameters).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseNameAddr = (value: string): Result.Result<NameAddr, SIPParseError> => run(value, scanNameAddrValue)

/**
 * {@link parseNameAddr} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseNameAddrRange = (text: string, start: number, end: number): Result.Result<NameAddr, SIPParseError> =>
  runRange(text, start, end, scanNameAddrValue)

const scanNameAddrListValue = (sc: Scanner): ReadonlyArray<NameAddr> => {
  const list: Array<NameAddr> = []
  do list.push(scanNameAddr(sc))
  while (listContinues(sc, "address"))
  return list
}

/**
 * A comma-separated list of addresses: Route, Record-Route.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseNameAddrList = (value: string): Result.Result<ReadonlyArray<NameAddr>, SIPParseError> =>
  run(value, scanNameAddrListValue)

/**
 * {@link parseNameAddrList} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseNameAddrListRange = (
  text: string,
  start: number,
  end: number
): Result.Result<ReadonlyArray<NameAddr>, SIPParseError> =>
  runRange(text, start, end, scanNameAddrListValue)

const scanContactValue = (sc: Scanner): ContactHeader => {
  skipWs(sc)
  if (peek(sc) === STAR) {
    sc.pos++
    skipWs(sc)
    if (sc.pos < sc.end) fail(`unexpected ${describeAt(sc.s, sc.pos, sc.end)} after "*"`, sc.pos)
    return { star: true }
  }
  const contacts: Array<Contact> = []
  do contacts.push(scanContact(sc))
  while (listContinues(sc, "contact"))
  return { star: false, contacts }
}

/**
 * A Contact header value: `*` or a list of contacts with their `q` and
 * `expires` parameters.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseContact = (value: string): Result.Result<ContactHeader, SIPParseError> => run(value, scanContactValue)

/**
 * {@link parseContact} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseContactRange = (
  text: string,
  start: number,
  end: number
): Result.Result<ContactHeader, SIPParseError> =>
  runRange(text, start, end, scanContactValue)

const formatAddress = (value: NameAddr): string => {
  const uri = `<${formatUri(value.uri)}>`
  const tag = value.tag === undefined ? "" : `;tag=${value.tag}`
  return (value.displayName === undefined ? uri : `${quote(value.displayName)} ${uri}`) + tag
}

/**
 * Always the name-addr form (`"Name" <uri>;tag=...`), which is valid for any
 * URI; the display name is always quoted.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatNameAddr = (value: NameAddr): string => formatAddress(value) + formatParams(value.params)

/**
 * A contact as {@link formatNameAddr} writes it, with `q` and `expires`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatContact = (value: Contact): string => {
  const q = value.q === undefined ? "" : `;q=${formatQ(value.q)}`
  const expires = value.expires === undefined ? "" : `;expires=${value.expires}`
  return formatAddress(value) + q + expires + formatParams(value.params)
}

const formatQ = (q: number): string => {
  const clamped = Math.min(1, Math.max(0, q))
  return clamped === 1 ? "1" : clamped === 0 ? "0" : String(Math.round(clamped * 1000) / 1000)
}
