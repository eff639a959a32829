/**
 * The octet-level readers of src/sip/headers/FastPath.ts never change what a
 * message parses to: whatever they accept, the general scanner reads to the
 * same value. Checked on generated values, on those values with random
 * edits, and on every torture and real-UA message, against the string
 * parsers (which only use the general scanner).
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import { isOneWord, usualCSeq, usualNameAddr, usualRequestUri, usualVia } from "../../src/sip/headers/FastPath.ts"
import { formatNameAddr, formatVia, parseCSeq, parseNameAddr, parseVia } from "../../src/sip/HeaderValues.ts"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { formatUri, parseUri } from "../../src/sip/Uri.ts"
import { readVector, vectorPath } from "../support/vectors.ts"
import { nameAddrArb, viaArb } from "./HeaderArbitraries.ts"
import {
  baresipInvite,
  benchmarkInvite,
  kamailio401,
  kamailio407,
  registerOk,
  sippInvite,
  sippRegister,
  trying
} from "./SIPMessageFixtures.ts"
import { tokenArb, uriArb } from "./UriArbitraries.ts"

type Reader<A> = (bytes: Uint8Array, text: string, base: number, start: number, end: number) => A | undefined

/**
 * Runs `read` on `value` as the message scanner hands a value over: a range
 * of a header section's Latin-1 text, inside longer text, at an octet offset.
 * Values with characters beyond Latin-1 never reach a reader.
 */
const onOctets = <A>(read: Reader<A>, value: string): A | undefined => {
  const before = "\r\nX-Before: "
  const text = `${before}${value}\r\nX-After: ;,>\r\n`
  const bytes = Buffer.from(`\r\n${text}`, "latin1")
  return read(bytes, text, 2, before.length, before.length + value.length)
}

const isLatin1 = (value: string): boolean => /^[\x00-\xff]*$/.test(value)

/** Whatever `read` gives for `value`, `general` gives too. */
const agrees = <A, B>(read: Reader<A>, general: (value: string) => Result.Result<B, unknown>, expected: (a: A) => B) =>
(value: string): boolean => {
  if (!isLatin1(value)) return false
  const fast = onOctets(read, value)
  if (fast === undefined) return false
  const parsed = general(value)
  if (Result.isFailure(parsed)) throw new Error(`the fast path accepts ${JSON.stringify(value)}, the general parser does not`)
  expect(parsed.success, JSON.stringify(value)).toEqual(expected(fast))
  return true
}

const viaAgrees = agrees(usualVia, parseVia, (via) => [via])
const nameAddrAgrees = agrees(usualNameAddr, parseNameAddr, (nameAddr) => nameAddr)
const uriAgrees = agrees(usualRequestUri, parseUri, (uri) => uri)
const cseqAgrees = agrees(usualCSeq, parseCSeq, (cseq) => cseq)

/** Characters that matter to the grammars, for random edits. */
const EDIT_CHARS = [..." \t\"\\<>;,:=@[]%?&/+*.-_!~'`()$#abcsipAZ0129\u00e9"]

/** `value` with up to four random single-character edits (replace, insert, delete). */
const edited = (values: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(values, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDIT_CHARS), fc.integer({ min: 0, max: 2 })), { maxLength: 4 }))
    .map(([value, edits]) =>
      edits.reduce((text, [at, char, kind]) => {
        const i = text.length === 0 ? 0 : at % text.length
        return kind === 0 ? text.slice(0, i) + char + text.slice(i + 1) : kind === 1 ? text.slice(0, i) + char + text.slice(i) : text.slice(0, i) + text.slice(i + 1)
      }, value)
    )

const usualVias = fc.record({
  transport: fc.constantFrom("UDP", "tcp", "TLS", "WS", "sctp", "X-Y"),
  host: fc.oneof(fc.ipV4(), fc.domain()),
  port: fc.option(fc.integer({ min: 0, max: 70000 }), { nil: undefined }),
  params: fc.array(
    fc.tuple(
      fc.constantFrom("branch", "BRANCH", "received", "rport", "rPort", "ttl", "maddr", "alias", "keep", "x"),
      fc.option(fc.oneof(tokenArb, fc.ipV4(), fc.integer({ min: 0, max: 70000 }).map(String)), { nil: null })
    ),
    { maxLength: 4 }
  )
}).map(({ host, params, port, transport }) =>
  `SIP/2.0/${transport} ${host}${port === undefined ? "" : `:${port}`}` +
  params.map(([name, value]) => value === null ? `;${name}` : `;${name}=${value}`).join("")
)

const usualUris = fc.record({
  scheme: fc.constantFrom("sip", "sips", "SIP"),
  user: fc.option(fc.stringMatching(/^[A-Za-z0-9\-_.!~*'()+]{1,10}$/), { nil: undefined }),
  host: fc.oneof(fc.ipV4(), fc.domain()),
  port: fc.option(fc.integer({ min: 0, max: 70000 }), { nil: undefined })
}).map(({ host, port, scheme, user }) => `${scheme}:${user === undefined ? "" : `${user}@`}${host}${port === undefined ? "" : `:${port}`}`)

const usualNameAddrs = fc.record({
  display: fc.oneof(
    fc.constant(""),
    fc.stringMatching(/^"[ -!#-[\]-~]{0,12}" ?$/),
    fc.stringMatching(/^[A-Za-z0-9]{1,6}( [A-Za-z0-9]{1,6}){0,2} ?$/)
  ),
  bracketed: fc.boolean(),
  uri: usualUris,
  params: fc.array(fc.tuple(fc.constantFrom("tag", "TAG", "x", "lr"), fc.option(tokenArb, { nil: null })), { maxLength: 3 })
}).map(({ bracketed, display, params, uri }) =>
  (bracketed || display !== "" ? `${display}<${uri}>` : uri) +
  params.map(([name, value]) => value === null ? `;${name}` : `;${name}=${value}`).join("")
)

const cseqs = fc.tuple(fc.oneof(fc.nat(), fc.constant(2147483647), fc.constant(2147483648)), fc.constantFrom(" ", "  ", "\t"), tokenArb)
  .map(([seq, space, method]) => `${seq}${space}${method}`)

describe("FastPath readers agree with the general scanner", () => {
  it("Via", () => {
    let read = 0
    fc.assert(fc.property(fc.oneof(usualVias, viaArb.map(formatVia)), (value) => {
      if (viaAgrees(value)) read++
    }), { numRuns: 3000 })
    expect(read).toBeGreaterThan(500)
  })

  it("Via with random edits", () => {
    fc.assert(fc.property(edited(usualVias), (value) => void viaAgrees(value)), { numRuns: 5000 })
  })

  it("From/To", () => {
    let read = 0
    fc.assert(fc.property(fc.oneof(usualNameAddrs, nameAddrArb.map(formatNameAddr)), (value) => {
      if (nameAddrAgrees(value)) read++
    }), { numRuns: 3000 })
    expect(read).toBeGreaterThan(500)
  })

  it("From/To with random edits", () => {
    fc.assert(fc.property(edited(usualNameAddrs), (value) => void nameAddrAgrees(value)), { numRuns: 5000 })
  })

  it("Request-URI", () => {
    let read = 0
    fc.assert(fc.property(fc.oneof(usualUris, uriArb.map(formatUri)), (value) => {
      if (uriAgrees(value)) read++
    }), { numRuns: 3000 })
    expect(read).toBeGreaterThan(500)
  })

  it("Request-URI with random edits", () => {
    fc.assert(fc.property(edited(usualUris), (value) => void uriAgrees(value)), { numRuns: 5000 })
  })

  it("CSeq, with and without random edits", () => {
    let read = 0
    fc.assert(fc.property(cseqs, (value) => {
      if (cseqAgrees(value)) read++
    }), { numRuns: 1000 })
    expect(read).toBeGreaterThan(300)
    fc.assert(fc.property(edited(cseqs), (value) => void cseqAgrees(value)), { numRuns: 2000 })
  })

  it("Call-ID: one word is what has no SP or HTAB", () => {
    fc.assert(fc.property(edited(fc.constantFrom("a84b4c76e66710@pc33.atlanta.com", "x")), (value) => {
      const bytes = Buffer.from(value, "latin1")
      expect(isOneWord(bytes, 0, 0, bytes.length)).toBe(value.length > 0 && !/[ \t]/.test(value))
    }), { numRuns: 500 })
  })

  it("take the values of the benchmark INVITE", () => {
    expect(onOctets(usualRequestUri, "sip:bob@127.0.0.1:5060")).toMatchObject({ user: "bob", host: "127.0.0.1", port: 5060 })
    expect(onOctets(usualVia, `SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK.${"a".repeat(32)}`))
      .toMatchObject({ transport: "UDP", host: "127.0.0.2", port: 5060, branch: `z9hG4bK.${"a".repeat(32)}` })
    expect(onOctets(usualNameAddr, "\"Alice\" <sip:alice@127.0.0.2:5060>;tag=1928301774"))
      .toMatchObject({ displayName: "Alice", uri: { host: "127.0.0.2" }, tag: "1928301774" })
    expect(onOctets(usualCSeq, "1 INVITE")).toEqual({ seq: 1, method: "INVITE" })
  })

  it("leave other shapes to the general scanner", () => {
    expect(onOctets(usualVia, "SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b")).toBeUndefined()
    expect(onOctets(usualVia, "SIP/2.0/UDP [2001:db8::1]:5060")).toBeUndefined()
    expect(onOctets(usualVia, "SIP/2.0/UDP a ;branch=1")).toBeUndefined()
    expect(onOctets(usualNameAddr, "\"A \\\"B\\\"\" <sip:a@b>")).toBeUndefined()
    expect(onOctets(usualNameAddr, "<sip:a@b;lr>")).toBeUndefined()
    expect(onOctets(usualRequestUri, "sip:a%20b@c")).toBeUndefined()
    expect(onOctets(usualRequestUri, "sip:a:pw@c")).toBeUndefined()
    expect(onOctets(usualRequestUri, "tel:+1555")).toBeUndefined()
    expect(onOctets(usualCSeq, "99999999999 INVITE")).toBeUndefined()
  })
})

/** The typed fields of `message`, as the string parsers (general scanner only) read its header values. */
const typedByGeneralParsers = (message: SIPMessage.SIPMessage) => {
  const first = (name: string) => message.headers.get(name)
  const address = (name: string) => {
    const value = first(name)
    const parsed = value === undefined ? undefined : parseNameAddr(value)
    return parsed !== undefined && Result.isSuccess(parsed) ? parsed.success : undefined
  }
  const uri = parseUri(message.requestUriText)
  const cseq = first("CSeq")
  return {
    requestUri: message.type === "REQUEST" && Result.isSuccess(uri) ? uri.success : undefined,
    via: message.headers.getAll("Via").flatMap((value) => Result.getOrThrow(parseVia(value))),
    from: address("From"),
    to: address("To"),
    cseq: cseq === undefined ? undefined : Result.getOrThrow(parseCSeq(cseq))
  }
}

const tortureFiles = (folder: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> =>
  fs.readdirSync(vectorPath(...folder)).filter((file) => file.endsWith(".dat")).map((file) => [...folder, file])

describe("a parsed message is typed as the general scanner types its values", () => {
  const messages: ReadonlyArray<readonly [string, Uint8Array | string]> = [
    ...[...tortureFiles(["sip-torture"]), ...tortureFiles(["sip-torture", "rfc5118"])].map((parts) =>
      [parts.join("/"), readVector(...parts)] as const
    ),
    ...Object.entries({ baresipInvite, benchmarkInvite, kamailio401, kamailio407, registerOk, sippInvite, sippRegister, trying })
  ]

  it("on every torture and real-UA message that parses", () => {
    let typed = 0
    for (const [name, input] of messages) {
      const parsed = SIPMessage.parseResult(input)
      if (Result.isFailure(parsed)) continue
      const message = parsed.success
      const { cseq, from, requestUri, to, via } = typedByGeneralParsers(message)
      expect(message.requestUri, name).toEqual(requestUri)
      expect(message.via, name).toEqual(via)
      expect(message.from, name).toEqual(from)
      expect(message.to, name).toEqual(to)
      expect(message.cseq, name).toEqual(cseq)
      typed++
    }
    expect(typed).toBeGreaterThan(40)
  })
})
