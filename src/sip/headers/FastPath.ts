/**
 * The usual shapes of the values a message parse types — Request-URI, Via,
 * From/To, CSeq, Call-ID — read straight from the received octets. Reading
 * a `Uint8Array` costs a fraction of reading a string's code units, and
 * these values are most of what a parse reads.
 *
 * Every reader takes a message's octets `bytes`, their Latin-1 decoding
 * `text` from `base` (`text[i]` is `bytes[base + i]`), from which it cuts
 * the strings it returns, and a range of `text`. It returns the value, or
 * undefined for anything but the usual shape: LWS around separators,
 * escapes, quoted or host-valued parameters, an IPv6 host, several values
 * in one line, a malformed value... The caller then reads the value with
 * the general scanner, which also words the errors. So a reader never
 * fails, and it only accepts what the general scanner reads to the very
 * same value; the tests hold both to that on generated values and on the
 * torture messages.
 *
 * @since 0.1.0
 */
import type { Via } from "./Via.ts"
import type { NameAddr } from "./NameAddr.ts"
import type { CSeq } from "./Simple.ts"
import type { SIPURI, UriForm } from "../Uri.ts"
import {
  ALPHA,
  DIGIT,
  emptyParams,
  lowerName,
  octetClasses,
  PLAIN_USER,
  TOKEN,
  USERINFO
} from "./Lexer.ts"
import { transportOf } from "./Via.ts"

const HTAB = 0x09
const SP = 0x20
const DQUOTE = 0x22
const HYPHEN = 0x2d
const DOT = 0x2e
const COLON = 0x3a
const SEMI = 0x3b
const LAQUOT = 0x3c
const EQUAL = 0x3d
const RAQUOT = 0x3e
const QUESTION = 0x3f
const AT = 0x40
const BACKSLASH = 0x5c

const has = (octet: number, cls: number): boolean => (octetClasses[octet]! & cls) !== 0

const runEnd = (bytes: Uint8Array, start: number, end: number, cls: number): number => {
  let p = start
  while (p < end && (octetClasses[bytes[p]!]! & cls) !== 0) p++
  return p
}

/** 1 for a token octet: {@link runEnd} for TOKEN, the most read class, with one lookup per octet. */
const tokenOctets = Uint8Array.from(octetClasses, (classes) => (classes & TOKEN) === 0 ? 0 : 1)

const tokenEnd = (bytes: Uint8Array, start: number, end: number): number => {
  let p = start
  while (p < end && tokenOctets[bytes[p]!] === 1) p++
  return p
}

/** Where the last reader that succeeded stopped. */
let stop = 0

/** `1*DIGIT` at `start` up to `max` (stop after it), else -1. */
const decimalAt = (bytes: Uint8Array, start: number, end: number, max: number): number => {
  let p = start
  let value = 0
  while (p < end) {
    const c = bytes[p]!
    if (c < 0x30 || c > 0x39) break
    value = value * 10 + (c - 0x30)
    if (value > max) return -1
    p++
  }
  if (p === start) return -1
  stop = p
  return value
}

/** The end of four dot-separated parts of 1-3 digits, each 0-255, at `start`; -1 if there are none. */
const ipv4End = (bytes: Uint8Array, start: number, end: number): number => {
  let p = start
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (p >= end || bytes[p] !== DOT) return -1
      p++
    }
    const partStart = p
    let value = 0
    while (p < end && p - partStart < 3) {
      const c = bytes[p]!
      if (c < 0x30 || c > 0x39) break
      value = value * 10 + (c - 0x30)
      p++
    }
    if (p === partStart || value > 255) return -1
  }
  return p
}

const isHostOctet = (c: number): boolean => c === DOT || c === HYPHEN || has(c, ALPHA | DIGIT)

/**
 * The end of the host at `start`: an IPv4 address, or labels of letters,
 * digits and inner hyphens joined by dots, the last starting with a letter
 * (no trailing dot). -1 for anything else, or when more host characters follow.
 */
const hostEnd = (bytes: Uint8Array, start: number, end: number): number => {
  const v4 = ipv4End(bytes, start, end)
  if (v4 >= 0) return v4 === end || !isHostOctet(bytes[v4]!) ? v4 : -1
  let p = start
  for (;;) {
    const labelStart = p
    if (p >= end || !has(bytes[p]!, ALPHA | DIGIT)) return -1
    while (p < end && (has(bytes[p]!, ALPHA | DIGIT) || bytes[p] === HYPHEN)) p++
    if (bytes[p - 1] === HYPHEN) return -1
    if (p < end && bytes[p] === DOT) {
      p++
      continue
    }
    return has(bytes[labelStart]!, ALPHA) ? p : -1
  }
}

/**
 * `sip:` or `sips:` in lower case, a user of unreserved characters and "+"
 * (no escape, no password) or none, a host as {@link hostEnd} reads it, a
 * port, and then nothing the general scanner would read as part of the URI
 * in `form` (parameters, headers; for a whole URI, anything).
 */
const sipUri = (
  bytes: Uint8Array,
  text: string,
  base: number,
  start: number,
  end: number,
  form: UriForm
): SIPURI | undefined => {
  if (start + 4 > end || bytes[start] !== 0x73 || bytes[start + 1] !== 0x69 || bytes[start + 2] !== 0x70) return undefined
  let p = start + 3
  let scheme: "sip" | "sips" = "sip"
  if (bytes[p] === 0x73) {
    scheme = "sips"
    p++
  }
  if (p >= end || bytes[p] !== COLON) return undefined
  const userStart = p + 1
  const plainEnd = runEnd(bytes, userStart, end, PLAIN_USER)
  let user: string | undefined
  let hostStart = userStart
  if (plainEnd < end && bytes[plainEnd] === AT) {
    if (plainEnd === userStart) return undefined
    user = text.slice(userStart - base, plainEnd - base)
    hostStart = plainEnd + 1
  } else {
    // The general scanner reads a user wherever its look-ahead over userinfo characters meets an "@".
    const userinfoEnd = runEnd(bytes, plainEnd, end, USERINFO)
    if (userinfoEnd < end && bytes[userinfoEnd] === AT) return undefined
  }
  const hostStop = hostEnd(bytes, hostStart, end)
  if (hostStop < 0) return undefined
  p = hostStop
  let port: number | undefined
  if (p < end && bytes[p] === COLON) {
    port = decimalAt(bytes, p + 1, end, 65535)
    if (port < 0) return undefined
    p = stop
  }
  const next = p < end ? bytes[p]! : -1
  if (next === QUESTION || (next === SEMI && form !== "addrSpec") || (next !== -1 && form === "whole")) return undefined
  stop = p
  return {
    scheme,
    user,
    password: undefined,
    host: text.slice(hostStart - base, hostStop - base),
    port,
    params: emptyParams,
    headers: emptyParams
  }
}

/** The last parameter {@link param} read: its name, and its value or -1 for a flag. */
let nameStart = 0
let nameEnd = 0
let valueStart = -1
let valueEnd = -1

/**
 * `";" token ["=" token]` at `start` (which holds ";"), then the end or
 * another ";" (so the value is a whole token, not the start of a host or a
 * quoted string). Returns where it stops, or -1.
 */
const param = (bytes: Uint8Array, start: number, end: number): number => {
  nameStart = start + 1
  nameEnd = tokenEnd(bytes, nameStart, end)
  if (nameEnd === nameStart) return -1
  if (nameEnd < end && bytes[nameEnd] === EQUAL) {
    valueStart = nameEnd + 1
    valueEnd = tokenEnd(bytes, valueStart, end)
    if (valueEnd === valueStart) return -1
  } else {
    valueStart = -1
    valueEnd = nameEnd
  }
  return valueEnd < end && bytes[valueEnd] !== SEMI ? -1 : valueEnd
}

const octetsOf = (name: string): Uint8Array => new TextEncoder().encode(name)
const SIP_2_0_SLASH = octetsOf("SIP/2.0/")
const BRANCH = octetsOf("branch")
const RECEIVED = octetsOf("received")
const RPORT = octetsOf("rport")
const MADDR = octetsOf("maddr")
const TTL = octetsOf("ttl")
const TAG = octetsOf("tag")

/** Whether the last parameter's name is `lower` in any case (token characters only fold A-Z with `| 0x20`). */
const nameIs = (bytes: Uint8Array, lower: Uint8Array): boolean => {
  if (nameEnd - nameStart !== lower.length) return false
  for (let i = 0; i < lower.length; i++) if ((bytes[nameStart + i]! | 0x20) !== lower[i]) return false
  return true
}

/**
 * The Request-URI `text[start, end)` when it is a usual SIP URI.
 *
 * @category parsing
 * @since 0.1.0
 */
export const usualRequestUri = (
  bytes: Uint8Array,
  text: string,
  base: number,
  start: number,
  end: number
): SIPURI | undefined => sipUri(bytes, text, base, base + start, base + end, "whole")

/**
 * The Via value `text[start, end)` when it is one via-parm `SIP/2.0/<transport>
 * SP <host>[:port]` with `;name[=token]` parameters, `received` an IPv4
 * address, and no `maddr` or `ttl`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const usualVia = (bytes: Uint8Array, text: string, base: number, start: number, end: number): Via | undefined => {
  const first = base + start
  const last = base + end
  if (first + 8 > last) return undefined
  for (let i = 0; i < 8; i++) if (bytes[first + i] !== SIP_2_0_SLASH[i]) return undefined
  const transportStart = first + 8
  const transportEnd = tokenEnd(bytes, transportStart, last)
  if (transportEnd === transportStart || transportEnd >= last || bytes[transportEnd] !== SP) return undefined
  const hostStart = transportEnd + 1
  const hostStop = hostEnd(bytes, hostStart, last)
  if (hostStop < 0) return undefined
  let p = hostStop
  let port: number | undefined
  if (p < last && bytes[p] === COLON) {
    port = decimalAt(bytes, p + 1, last, 65535)
    if (port < 0) return undefined
    p = stop
  }
  let branch: string | undefined
  let received: string | undefined
  let rport: number | null | undefined
  let params: Map<string, string | null> | undefined
  while (p < last) {
    if (bytes[p] !== SEMI) return undefined
    p = param(bytes, p, last)
    if (p < 0) return undefined
    const value = valueStart < 0 ? null : text.slice(valueStart - base, valueEnd - base)
    if (nameIs(bytes, BRANCH)) {
      if (value === null) return undefined
      branch = value
    } else if (nameIs(bytes, RECEIVED)) {
      if (value === null || ipv4End(bytes, valueStart, valueEnd) !== valueEnd) return undefined
      received = value
    } else if (nameIs(bytes, RPORT)) {
      if (value === null) {
        rport = null
      } else {
        rport = decimalAt(bytes, valueStart, valueEnd, 65535)
        if (rport < 0 || stop !== valueEnd) return undefined
      }
    } else if (nameIs(bytes, MADDR) || nameIs(bytes, TTL)) {
      return undefined
    } else {
      ;(params ??= new Map()).set(lowerName(text, nameStart - base, nameEnd - base), value)
    }
  }
  return {
    protocol: "SIP/2.0",
    transport: transportOf(text, transportStart - base, transportEnd - base),
    host: text.slice(hostStart - base, hostStop - base),
    port,
    branch,
    received,
    rport,
    maddr: undefined,
    ttl: undefined,
    params: params ?? emptyParams
  }
}

/** qdtext other than a quoted-pair, in ASCII. */
const isPlainQdtext = (c: number): boolean =>
  c === SP || c === HTAB || (c > SP && c < 0x7f && c !== DQUOTE && c !== BACKSLASH)

/**
 * The From/To value `text[start, end)` when it is `<URI>` after a display
 * name that is a quoted-string without quoted-pairs or tokens separated by
 * single spaces, or none, or a bare addr-spec; then `;name[=token]`
 * parameters, and nothing else.
 *
 * @category parsing
 * @since 0.1.0
 */
export const usualNameAddr = (
  bytes: Uint8Array,
  text: string,
  base: number,
  start: number,
  end: number
): NameAddr | undefined => {
  let p = base + start
  const last = base + end
  let displayName: string | undefined
  const first = p < last ? bytes[p]! : -1
  if (first === DQUOTE) {
    let q = p + 1
    while (q < last && isPlainQdtext(bytes[q]!)) q++
    if (q >= last || bytes[q] !== DQUOTE) return undefined
    displayName = text.slice(p + 1 - base, q - base)
    q++
    while (q < last && (bytes[q] === SP || bytes[q] === HTAB)) q++
    if (q >= last || bytes[q] !== LAQUOT) return undefined
    p = q
  } else if (first !== LAQUOT) {
    // Tokens before "<" are a display name; anything else begins an addr-spec.
    let tokensEnd = -1
    let q = p
    for (;;) {
      const wordEnd = tokenEnd(bytes, q, last)
      if (wordEnd === q) break
      tokensEnd = wordEnd
      if (wordEnd + 1 < last && bytes[wordEnd] === SP && has(bytes[wordEnd + 1]!, TOKEN)) q = wordEnd + 1
      else break
    }
    let r = tokensEnd
    while (r >= 0 && r < last && (bytes[r] === SP || bytes[r] === HTAB)) r++
    if (r >= 0 && r < last && bytes[r] === LAQUOT) {
      displayName = text.slice(p - base, tokensEnd - base)
      p = r
    }
  }
  let uri: SIPURI | undefined
  if (p < last && bytes[p] === LAQUOT) {
    uri = sipUri(bytes, text, base, p + 1, last, "bracketed")
    if (uri === undefined || stop >= last || bytes[stop] !== RAQUOT) return undefined
    p = stop + 1
  } else {
    uri = sipUri(bytes, text, base, p, last, "addrSpec")
    if (uri === undefined) return undefined
    p = stop
  }
  let tag: string | undefined
  let params: Map<string, string | null> | undefined
  while (p < last) {
    if (bytes[p] !== SEMI) return undefined
    p = param(bytes, p, last)
    if (p < 0) return undefined
    const value = valueStart < 0 ? null : text.slice(valueStart - base, valueEnd - base)
    if (!nameIs(bytes, TAG)) (params ??= new Map()).set(lowerName(text, nameStart - base, nameEnd - base), value)
    else if (value !== null) tag = value
    else return undefined
  }
  return { displayName, uri, params: params ?? emptyParams, tag }
}

/**
 * The CSeq value `text[start, end)` when it is `1*DIGIT 1*(SP / HTAB) token`
 * with the number below 2**31.
 *
 * @category parsing
 * @since 0.1.0
 */
export const usualCSeq = (bytes: Uint8Array, text: string, base: number, start: number, end: number): CSeq | undefined => {
  const last = base + end
  const seq = decimalAt(bytes, base + start, last, 2147483647)
  if (seq < 0) return undefined
  let p = stop
  if (p >= last || (bytes[p] !== SP && bytes[p] !== HTAB)) return undefined
  while (p < last && (bytes[p] === SP || bytes[p] === HTAB)) p++
  const methodEnd = tokenEnd(bytes, p, last)
  if (methodEnd === p || methodEnd !== last) return undefined
  return { seq, method: text.slice(p - base, methodEnd - base) }
}

/**
 * Whether `text[start, end)` is one word: not empty, no SP or HTAB (what a
 * Call-ID must be).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isOneWord = (bytes: Uint8Array, base: number, start: number, end: number): boolean => {
  if (start === end) return false
  for (let p = base + start; p < base + end; p++) {
    const c = bytes[p]
    if (c === SP || c === HTAB) return false
  }
  return true
}
