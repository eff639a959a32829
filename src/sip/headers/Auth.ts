/**
 * WWW-Authenticate, Proxy-Authenticate, Authorization and
 * Proxy-Authorization values (RFC 3261 §22, §25; RFC 7235 auth-scheme with
 * token68 or auth-params; RFC 7616 / RFC 8760 Digest parameters).
 *
 * @since 0.1.0
 */
import type { Result } from "effect"
import type { SIPParseError } from "../SIPParseError.ts"
import {
  describeAt,
  DQUOTE,
  EQUAL,
  fail,
  is,
  isToken,
  listContinues,
  peek,
  quote,
  quotedString,
  run,
  runRange,
  scanClass,
  type Scanner,
  skipRequiredWs,
  skipWs,
  TOKEN,
  token,
  TOKEN68
} from "./Lexer.ts"

/**
 * A challenge or credentials.
 *
 * @category models
 * @since 0.1.0
 */
export interface AuthHeader {
  /** As written ("Digest"); compare case-insensitively. */
  readonly scheme: string
  /** Names lower-cased, values unquoted and unescaped. */
  readonly params: ReadonlyMap<string, string>
  /** The token68 form (Basic credentials), when the scheme is followed by one instead of parameters. */
  readonly token68: string | undefined
}

const noParams: ReadonlyMap<string, string> = new Map()

/** Whether the cursor is at `name =` followed by a value, i.e. auth-params rather than a token68. */
const atAuthParam = (sc: Scanner): boolean => {
  const start = sc.pos
  let p = start
  const s = sc.s
  while (p < sc.end && is(s.charCodeAt(p), TOKEN)) p++
  if (p === start) return false
  while (p < sc.end && (s.charCodeAt(p) === 0x20 || s.charCodeAt(p) === 0x09)) p++
  if (p >= sc.end || s.charCodeAt(p) !== EQUAL) return false
  p++
  while (p < sc.end && (s.charCodeAt(p) === 0x20 || s.charCodeAt(p) === 0x09)) p++
  return p < sc.end && (s.charCodeAt(p) === DQUOTE || is(s.charCodeAt(p), TOKEN))
}

const scanToken68 = (sc: Scanner): string => {
  const start = sc.pos
  if (scanClass(sc, TOKEN68) === 0) fail(`expected credentials, found ${describeAt(sc.s, start, sc.end)}`, start)
  while (peek(sc) === EQUAL) sc.pos++
  const value = sc.s.slice(start, sc.pos)
  skipWs(sc)
  if (sc.pos < sc.end) fail(`unexpected ${describeAt(sc.s, sc.pos, sc.end)} after the credentials`, sc.pos)
  return value
}

const scanAuth = (sc: Scanner): AuthHeader => {
  skipWs(sc)
  const scheme = token(sc, "an authentication scheme")
  const spaced = skipRequiredWs(sc)
  if (sc.pos >= sc.end) return { scheme, params: noParams, token68: undefined }
  if (!spaced) fail(`expected a space after the authentication scheme`, sc.pos)
  if (!atAuthParam(sc)) return { scheme, params: noParams, token68: scanToken68(sc) }
  const params = new Map<string, string>()
  do {
    const nameStart = sc.pos
    const name = token(sc, "an auth-param name").toLowerCase()
    skipWs(sc)
    if (peek(sc) !== EQUAL) fail(`expected "=" after "${name}"`, sc.pos)
    sc.pos++
    skipWs(sc)
    const value = peek(sc) === DQUOTE ? quotedString(sc) : token(sc, `a value for "${name}"`)
    if (params.has(name)) fail(`parameter "${name}" appears twice`, nameStart)
    params.set(name, value)
  } while (listContinues(sc, "auth-param"))
  return { scheme, params, token68: undefined }
}

/**
 * One challenge or credentials. Commas inside quoted values
 * (`qop="auth,auth-int"`) do not separate parameters; a parameter given twice
 * is an error (RFC 7235 §2.2).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseAuth = (value: string): Result.Result<AuthHeader, SIPParseError> => run(value, scanAuth)

/**
 * {@link parseAuth} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseAuthRange = (text: string, start: number, end: number): Result.Result<AuthHeader, SIPParseError> =>
  runRange(text, start, end, scanAuth)

/**
 * Parameters written quoted by default: the quoted-string ones of RFC 3261
 * §25 and RFC 7616 (`qop` only in a challenge, see {@link formatAuth}).
 *
 * @category formatting
 * @since 0.1.0
 */
export const quotedAuthParams: ReadonlySet<string> = new Set([
  "realm",
  "nonce",
  "uri",
  "response",
  "cnonce",
  "opaque",
  "username",
  "domain",
  "nextnonce",
  "rspauth"
])

/**
 * Writes `scheme token68` or `scheme name=value, ...`. A parameter is quoted
 * when it is in `quoted` (default {@link quotedAuthParams}, plus `qop` in a
 * challenge, i.e. when there is no `response`) or when its value is not a
 * token; `algorithm`, `nc`, `stale`, `userhash` and credentials' `qop` stay bare.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatAuth = (value: AuthHeader, quoted?: ReadonlySet<string>): string => {
  if (value.token68 !== undefined) return `${value.scheme} ${value.token68}`
  const isChallenge = !value.params.has("response")
  let out = ""
  for (const [name, param] of value.params) {
    const mustQuote = quoted === undefined
      ? quotedAuthParams.has(name) || (name === "qop" && isChallenge)
      : quoted.has(name)
    out += `${out === "" ? "" : ", "}${name}=${mustQuote || !isToken(param) ? quote(param) : param}`
  }
  return out === "" ? value.scheme : `${value.scheme} ${out}`
}
