import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import {
  parseAuth,
  parseContact,
  parseContentType,
  parseCSeq,
  parseNameAddr,
  parseNameAddrList,
  parseNonNegativeInt,
  parseTokenList,
  parseVia
} from "../../src/sip/HeaderValues.ts"
import { parseUri } from "../../src/sip/Uri.ts"
import { readVectorJson } from "../support/vectors.ts"
import { readTortureMessage, requestUri, type TortureMessage } from "./HeaderTortureMessages.ts"

type Parser = (value: string) => Result.Result<unknown, { readonly message: string }>

/** The header fields these parsers cover, by long and compact name (lower case). */
const parserFor: Record<string, Parser> = {
  via: parseVia,
  v: parseVia,
  from: parseNameAddr,
  f: parseNameAddr,
  to: parseNameAddr,
  t: parseNameAddr,
  contact: parseContact,
  m: parseContact,
  route: parseNameAddrList,
  "record-route": parseNameAddrList,
  cseq: parseCSeq,
  "max-forwards": parseNonNegativeInt,
  "content-length": parseNonNegativeInt,
  l: parseNonNegativeInt,
  expires: parseNonNegativeInt,
  "content-type": parseContentType,
  c: parseContentType,
  require: parseTokenList,
  "proxy-require": parseTokenList,
  supported: parseTokenList,
  k: parseTokenList,
  allow: parseTokenList,
  authorization: parseAuth
}

/** Header lines whose value one of the parsers above rejects, as "name: reason". */
const rejectedHeaders = (message: TortureMessage): ReadonlyArray<string> =>
  message.headers.flatMap(([name, value]) => {
    const parse = parserFor[name.toLowerCase()]
    const result = parse?.(value)
    return result !== undefined && Result.isFailure(result) ? [`${name.toLowerCase()}: ${result.failure.message}`] : []
  })

interface Rfc4475Entry {
  readonly file: string
  readonly parser: string
  readonly message: string
}

const rfc4475 = readVectorJson<ReadonlyArray<Rfc4475Entry>>("sip-torture", "index.json")
const rfc5118 = readVectorJson<ReadonlyArray<{ readonly file: string; readonly expect: string }>>("sip-torture", "rfc5118", "index.json")

/**
 * Messages whose fault lies in a header value parsed here, with the headers
 * that must be rejected. Every other header of every message must parse.
 */
const faultyHeaders: Record<string, ReadonlyArray<string>> = {
  "badinv01.dat": ["via", "contact"], // empty parameters ";;"
  "ncl.dat": ["content-length"], // -999
  "scalar02.dat": ["cseq"], // 2**65
  "scalarlg.dat": ["cseq"],
  "quotbal.dat": ["to"], // unterminated quoted display name
  "regbadct.dat": ["contact"], // URI with headers outside <>
  "badaspec.dat": ["to"], // spaces inside <>
  "baddn.dat": ["from", "to"], // unquoted display names with ","
  // Valid messages whose To/From/Contact carry non-SIP URIs (isbn:, http:, name:): the typed parsers only
  // model sip/sips/tel, so the message layer must keep these headers opaque (RFC 4475 §3.3.4).
  "unksm2.dat": ["to", "from", "contact"]
}

/** Request-URIs (as the first and last space of the request line delimit them) that parseUri rejects. */
const rejectedRequestUris = new Set([
  "ltgtruri.dat", // <sip:...>
  "lwsruri.dat", // "; lr" with a space
  "lwsstart.dat", // extra spaces in the request line end up inside
  "trws.dat",
  "unkscm.dat", // unsupported schemes: 416 at the message layer, see schemeOfUri
  "novelsc.dat"
])

describe("RFC 4475 messages", () => {
  it.each(rfc4475.map((entry) => [entry.file, entry.parser] as const))("%s (%s): header values", (file) => {
    const rejected = rejectedHeaders(readTortureMessage(file)).map((line) => line.slice(0, line.indexOf(":")))
    expect(rejected).toEqual(faultyHeaders[file] ?? [])
  })

  it.each(rfc4475.filter((entry) => entry.message === "request").map((entry) => [entry.file] as const))("%s: Request-URI", (file) => {
    const result = parseUri(requestUri(readTortureMessage(file)))
    expect(Result.isFailure(result)).toBe(rejectedRequestUris.has(file))
  })

  it("rejections point at the offending byte", () => {
    expect(rejectedHeaders(readTortureMessage("badinv01.dat"))).toEqual([
      `via: expected a parameter name, found ";" (at byte 23)`,
      `contact: expected a parameter name, found ";" (at byte 28)`
    ])
    expect(rejectedHeaders(readTortureMessage("baddn.dat"))).toEqual([
      `from: expected ":" after the URI scheme (at byte 4)`,
      `to: expected ":" after the URI scheme (at byte 6)`
    ])
  })
})

describe("RFC 5118 messages", () => {
  it.each(rfc5118.map((entry) => [entry.file] as const))("%s: header values", (file) => {
    expect(rejectedHeaders(readTortureMessage("rfc5118", file))).toEqual([])
  })
})
