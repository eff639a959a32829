/**
 * Header values with a flat grammar: comma lists of tokens, delta-seconds,
 * CSeq, Content-Type (RFC 3261 §20, §25), Event and Subscription-State
 * (RFC 6665), Session-Expires (RFC 4028), Replaces (RFC 3891), and a
 * generic top-level comma splitter.
 *
 * @since 0.1.0
 */
import type { Result } from "effect"
import type { SIPParseError } from "../SIPParseError.ts"
import {
  BACKSLASH,
  COMMA,
  decimal,
  decimalParam,
  describeAt,
  DQUOTE,
  emptyParams,
  expect,
  fail,
  HTAB,
  isToken,
  LAQUOT,
  listContinues,
  MAX_DELTA_SECONDS,
  nextParam,
  RAQUOT,
  run,
  SEMI,
  runRange,
  type Scanner,
  skipRequiredWs,
  skipWs,
  SLASH,
  SP,
  token,
  tokenParam,
  unquote
} from "./Lexer.ts"

const trimmed = (value: string, start: number, end: number): string => {
  while (start < end && (value.charCodeAt(start) === SP || value.charCodeAt(start) === HTAB)) start++
  while (end > start && (value.charCodeAt(end - 1) === SP || value.charCodeAt(end - 1) === HTAB)) end--
  return value.slice(start, end)
}

/**
 * Splits a header value on the commas that separate list elements: not
 * inside a quoted string (where `\"` does not close it) nor inside `<...>`.
 * Elements are trimmed of SP/HTAB; empty elements are kept so callers can
 * reject them. An all-blank value gives an empty array.
 *
 * @category parsing
 * @since 0.1.0
 */
export const splitList = (value: string): ReadonlyArray<string> => {
  const parts: Array<string> = []
  const end = value.length
  let start = 0
  let p = 0
  while (p < end) {
    const c = value.charCodeAt(p)
    if (c === DQUOTE) {
      p++
      while (p < end && value.charCodeAt(p) !== DQUOTE) p += value.charCodeAt(p) === BACKSLASH ? 2 : 1
      p++
    } else if (c === LAQUOT) {
      while (p < end && value.charCodeAt(p) !== RAQUOT) p++
      p++
    } else {
      if (c === COMMA) {
        parts.push(trimmed(value, start, p))
        start = p + 1
      }
      p++
    }
  }
  const last = trimmed(value, start, end)
  if (parts.length === 0 && last === "") return parts
  parts.push(last)
  return parts
}

const scanTokenListValue = (sc: Scanner): ReadonlyArray<string> => {
  const tokens: Array<string> = []
  skipWs(sc)
  if (sc.pos >= sc.end) return tokens
  do tokens.push(token(sc, "a token"))
  while (listContinues(sc, "token"))
  return tokens
}

/**
 * `[token *(COMMA token)]`: Allow, Supported, Require, Proxy-Require,
 * Unsupported. A blank value gives an empty list (Allow and Supported may be
 * empty; the caller checks Require).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseTokenList = (value: string): Result.Result<ReadonlyArray<string>, SIPParseError> =>
  run(value, scanTokenListValue)

/**
 * {@link parseTokenList} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseTokenListRange = (
  text: string,
  start: number,
  end: number
): Result.Result<ReadonlyArray<string>, SIPParseError> =>
  runRange(text, start, end, scanTokenListValue)

const expectEnd = (sc: Scanner, what: string): void => {
  skipWs(sc)
  if (sc.pos < sc.end) fail(`unexpected ${describeAt(sc.s, sc.pos, sc.end)} in ${what}`, sc.pos)
}

const scanNonNegativeIntValue = (sc: Scanner): number => {
  skipWs(sc)
  const n = decimal(sc, MAX_DELTA_SECONDS, true, "a non-negative integer")
  expectEnd(sc, "a non-negative integer")
  return n
}

/**
 * delta-seconds / `1*DIGIT`: Expires, Max-Forwards, Min-Expires,
 * Content-Length, Min-SE (without parameters). Leading zeros are fine;
 * values above 2**32-1 are taken as 2**32-1 (RFC 3261 §25 delta-seconds).
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseNonNegativeInt = (value: string): Result.Result<number, SIPParseError> =>
  run(value, scanNonNegativeIntValue)

/**
 * {@link parseNonNegativeInt} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseNonNegativeIntRange = (
  text: string,
  start: number,
  end: number
): Result.Result<number, SIPParseError> =>
  runRange(text, start, end, scanNonNegativeIntValue)

/**
 * @category models
 * @since 0.1.0
 */
export interface CSeq {
  readonly seq: number
  readonly method: string
}

/** RFC 3261 §8.1.1.5: the sequence number must be less than 2**31. */
const MAX_CSEQ = 2147483647

/** A CSeq value at the cursor (see {@link parseCSeq}); signals errors with `Lexer.fail`. */
export const scanCSeqValue = (sc: Scanner): CSeq => {
  skipWs(sc)
  const seq = decimal(sc, MAX_CSEQ, false, "a CSeq number")
  if (!skipRequiredWs(sc)) fail(`expected a space after the CSeq number, found ${describeAt(sc.s, sc.pos, sc.end)}`, sc.pos)
  const method = token(sc, "a CSeq method")
  expectEnd(sc, "CSeq")
  return { seq, method }
}

/**
 * `1*DIGIT LWS Method`, the number below 2**31, the method case-sensitive.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseCSeq = (value: string): Result.Result<CSeq, SIPParseError> => run(value, scanCSeqValue)

/**
 * {@link parseCSeq} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseCSeqRange = (text: string, start: number, end: number): Result.Result<CSeq, SIPParseError> =>
  runRange(text, start, end, scanCSeqValue)

/**
 * @category models
 * @since 0.1.0
 */
export interface ContentType {
  readonly type: string
  readonly subtype: string
  /** `type/subtype` lower-cased, e.g. "application/sdp". */
  readonly mediaType: string
  /** Names lower-cased, values unquoted. */
  readonly params: ReadonlyMap<string, string>
}

const scanContentTypeValue = (sc: Scanner): ContentType => {
  skipWs(sc)
  const type = token(sc, "a media type").toLowerCase()
  skipWs(sc)
  expect(sc, SLASH, `"/" in the media type`)
  skipWs(sc)
  const subtype = token(sc, "a media subtype").toLowerCase()
  let params: Map<string, string> | undefined
  while (nextParam(sc)) {
    const raw = sc.paramValue
    if (raw === null) fail(`media type parameter "${sc.paramName}" needs a value`, sc.paramOffset)
    const quoted = raw.charCodeAt(0) === DQUOTE
    if (!quoted && !isToken(raw)) fail(`invalid value for "${sc.paramName}"`, sc.paramValueStart)
    ;(params ??= new Map()).set(sc.paramName, quoted ? unquote(raw, 0, raw.length) : raw)
  }
  expectEnd(sc, "Content-Type")
  return { type, subtype, mediaType: `${type}/${subtype}`, params: params ?? emptyParams }
}

/**
 * media-type: `type "/" subtype *(";" attribute "=" value)`, value a token
 * or quoted string.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseContentType = (value: string): Result.Result<ContentType, SIPParseError> =>
  run(value, scanContentTypeValue)

/**
 * {@link parseContentType} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseContentTypeRange = (
  text: string,
  start: number,
  end: number
): Result.Result<ContentType, SIPParseError> =>
  runRange(text, start, end, scanContentTypeValue)

/**
 * @category models
 * @since 0.1.0
 */
export interface EventHeader {
  /** The event type as written, e.g. "refer", "presence.winfo". */
  readonly event: string
  readonly id: string | undefined
  /** Parameters other than `id`: names lower-cased, values as written. */
  readonly params: ReadonlyMap<string, string | null>
}

const scanEventValue = (sc: Scanner): EventHeader => {
  skipWs(sc)
  const event = token(sc, "an event type")
  let id: string | undefined
  let params: Map<string, string | null> | undefined
  while (nextParam(sc)) {
    if (sc.paramName === "id") {
      id = tokenParam(sc, "id")
    } else {
      ;(params ??= new Map()).set(sc.paramName, sc.paramValue)
    }
  }
  expectEnd(sc, "Event")
  return { event, id, params: params ?? emptyParams }
}

/**
 * RFC 6665 Event: `event-type *(";" event-param)` with the `id` parameter typed.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseEvent = (value: string): Result.Result<EventHeader, SIPParseError> => run(value, scanEventValue)

/**
 * {@link parseEvent} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseEventRange = (text: string, start: number, end: number): Result.Result<EventHeader, SIPParseError> =>
  runRange(text, start, end, scanEventValue)

/**
 * @category models
 * @since 0.1.0
 */
export interface SubscriptionState {
  /** Lower-cased: "active", "pending", "terminated" or an extension. */
  readonly state: string
  readonly expires: number | undefined
  /** Lower-cased event-reason-value ("deactivated", "timeout", ...). */
  readonly reason: string | undefined
  readonly retryAfter: number | undefined
  /** The other parameters: names lower-cased, values as written. */
  readonly params: ReadonlyMap<string, string | null>
}

const scanSubscriptionStateValue = (sc: Scanner): SubscriptionState => {
  skipWs(sc)
  const state = token(sc, "a subscription state").toLowerCase()
  let expires: number | undefined
  let reason: string | undefined
  let retryAfter: number | undefined
  let params: Map<string, string | null> | undefined
  while (nextParam(sc)) {
    switch (sc.paramName) {
      case "expires":
        expires = decimalParam(sc, MAX_DELTA_SECONDS, true, "expires")
        break
      case "retry-after":
        retryAfter = decimalParam(sc, MAX_DELTA_SECONDS, true, "retry-after")
        break
      case "reason":
        reason = tokenParam(sc, "reason").toLowerCase()
        break
      default:
        ;(params ??= new Map()).set(sc.paramName, sc.paramValue)
    }
  }
  expectEnd(sc, "Subscription-State")
  return { state, expires, reason, retryAfter, params: params ?? emptyParams }
}

/**
 * RFC 6665 Subscription-State with `expires`, `reason` and `retry-after` typed.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseSubscriptionState = (value: string): Result.Result<SubscriptionState, SIPParseError> =>
  run(value, scanSubscriptionStateValue)

/**
 * {@link parseSubscriptionState} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseSubscriptionStateRange = (
  text: string,
  start: number,
  end: number
): Result.Result<SubscriptionState, SIPParseError> =>
  runRange(text, start, end, scanSubscriptionStateValue)

/**
 * @category models
 * @since 0.1.0
 */
export interface SessionExpires {
  readonly deltaSeconds: number
  readonly refresher: "uac" | "uas" | undefined
  /** The other parameters: names lower-cased, values as written. */
  readonly params: ReadonlyMap<string, string | null>
}

const scanSessionExpiresValue = (sc: Scanner): SessionExpires => {
  skipWs(sc)
  const deltaSeconds = decimal(sc, MAX_DELTA_SECONDS, true, "delta-seconds")
  let refresher: "uac" | "uas" | undefined
  let params: Map<string, string | null> | undefined
  while (nextParam(sc)) {
    if (sc.paramName === "refresher") {
      const who = sc.paramValue?.toLowerCase()
      if (who !== "uac" && who !== "uas") fail(`refresher must be "uac" or "uas"`, sc.paramOffset)
      refresher = who
    } else {
      ;(params ??= new Map()).set(sc.paramName, sc.paramValue)
    }
  }
  expectEnd(sc, "Session-Expires")
  return { deltaSeconds, refresher, params: params ?? emptyParams }
}

/**
 * RFC 4028 Session-Expires: `delta-seconds *(";" se-params)`, `refresher`
 * typed. Also reads Min-SE, whose value has the same shape without `refresher`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseSessionExpires = (value: string): Result.Result<SessionExpires, SIPParseError> =>
  run(value, scanSessionExpiresValue)

/**
 * {@link parseSessionExpires} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseSessionExpiresRange = (
  text: string,
  start: number,
  end: number
): Result.Result<SessionExpires, SIPParseError> =>
  runRange(text, start, end, scanSessionExpiresValue)

/**
 * @category models
 * @since 0.1.0
 */
export interface Replaces {
  readonly callId: string
  /** The tag of the recipient's side of the dialog (its local tag). */
  readonly toTag: string
  /** The tag of the other side (the recipient's remote tag). */
  readonly fromTag: string
  /** Replace the dialog only while it is early. */
  readonly earlyOnly: boolean
}

const scanReplacesValue = (sc: Scanner): Replaces => {
  skipWs(sc)
  const start = sc.pos
  while (sc.pos < sc.end) {
    const c = sc.s.charCodeAt(sc.pos)
    if (c === SEMI || c <= SP || c > 0x7e) break
    sc.pos++
  }
  if (sc.pos === start) fail("a Call-ID", start)
  const callId = sc.s.slice(start, sc.pos)
  let toTag: string | undefined
  let fromTag: string | undefined
  let earlyOnly = false
  while (nextParam(sc)) {
    if (sc.paramName === "to-tag") toTag = tokenParam(sc, "to-tag")
    else if (sc.paramName === "from-tag") fromTag = tokenParam(sc, "from-tag")
    else if (sc.paramName === "early-only") earlyOnly = true
  }
  expectEnd(sc, "Replaces")
  if (toTag === undefined || fromTag === undefined) fail("Replaces needs to-tag and from-tag", sc.pos)
  return { callId, toTag, fromTag, earlyOnly }
}

/**
 * RFC 3891 Replaces: `callid *(";" replaces-param)` with `to-tag` and
 * `from-tag` required and `early-only` as a flag.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseReplaces = (value: string): Result.Result<Replaces, SIPParseError> => run(value, scanReplacesValue)

/**
 * The value of a Replaces header for `replaces`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatReplaces = (replaces: Replaces): string =>
  `${replaces.callId};to-tag=${replaces.toTag};from-tag=${replaces.fromTag}${replaces.earlyOnly ? ";early-only" : ""}`
