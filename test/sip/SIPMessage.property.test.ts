import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { validateRequest, validateResponse } from "../../src/sip/Validate.ts"
import { vectorPath } from "../support/vectors.ts"
import { baresipInvite, benchmarkInvite, kamailio401, registerOk } from "./SIPMessageFixtures.ts"

const tortureDir = vectorPath("sip-torture")
const seeds: ReadonlyArray<Uint8Array> = [
  ...fs.readdirSync(tortureDir).filter((f) => f.endsWith(".dat")).map((f) => new Uint8Array(fs.readFileSync(`${tortureDir}/${f}`))),
  ...[benchmarkInvite, baresipInvite, kamailio401, registerOk].map((m) => new TextEncoder().encode(m))
]

/** Touches everything a caller can read, so lazy parsing runs too. */
const readAll = (m: SIPMessage.SIPMessage): void => {
  void [m.heading, m.body, m.sdp, m.raw, m.trailing, m.authentication, m.summary()]
  void [m.contact, m.maxForwards, m.expires, m.minExpires, m.contentType, m.route, m.recordRoute]
  void [m.wwwAuthenticate, m.proxyAuthenticate, m.authorization, m.proxyAuthorization, m.referTo, m.referredBy]
  void [m.event, m.subscriptionState, m.sessionExpires, m.minSE, m.supported, m.require, m.proxyRequire]
  void [m.unsupported, m.allow, validateRequest(m), validateResponse(m)]
}

/** parse never throws: a message or a SIPParseError; a message survives serialize + parse unchanged. */
const checkTotal = (input: Uint8Array): void => {
  for (const transport of ["datagram", "stream"] as const) {
    const result = SIPMessage.parseResult(input, { transport })
    if (Result.isFailure(result)) {
      expect(result.failure._tag).toBe("SIPParseError")
      continue
    }
    const m = result.success
    readAll(m)
    const again = SIPMessage.parseResult(SIPMessage.serialize(m))
    expect(Result.isSuccess(again), Result.isFailure(again) ? again.failure.message : "").toBe(true)
    if (Result.isSuccess(again)) {
      const copy = again.success
      expect(copy.heading).toBe(m.heading)
      expect(copy.via).toEqual(m.via)
      expect(copy.from).toEqual(m.from)
      expect(copy.to).toEqual(m.to)
      expect(copy.cseq).toEqual(m.cseq)
      expect(copy.callId).toBe(m.callId)
      expect([...copy.headers].filter(([n]) => n !== "Content-Length")).toEqual(
        [...m.headers].filter(([n]) => n !== "Content-Length")
      )
      expect(Buffer.from(copy.rawBody).equals(Buffer.from(m.rawBody))).toBe(true)
    }
  }
}

type Mutation =
  | { readonly kind: "set"; readonly at: number; readonly byte: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: "delete"; readonly at: number; readonly length: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.constantFrom(0, 9, 10, 13, 32, 34, 44, 58, 59, 60, 62, 0xff) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) })
)

const mutate = (seed: Uint8Array, mutations: ReadonlyArray<Mutation>): Uint8Array => {
  let bytes = Array.from(seed)
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length
    if (m.kind === "set") bytes[at] = m.byte
    else if (m.kind === "insert") bytes = [...bytes.slice(0, at), ...m.bytes, ...bytes.slice(at)]
    else bytes.splice(at, m.length)
  }
  return new Uint8Array(bytes)
}

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,12}$/)
const headerText = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/)

describe("SIPMessage properties", () => {
  it("arbitrary bytes give a message or a SIPParseError, never a throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => checkTotal(bytes)), { numRuns: 500 })
  })

  it("byte-level mutations of the torture messages give a message or a SIPParseError", () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, mutations) =>
        checkTotal(mutate(seed, mutations))),
      { numRuns: 1500 }
    )
  })

  it("built requests round-trip through serialize and parse", () => {
    fc.assert(
      fc.property(
        token,
        fc.array(fc.tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/), headerText), { maxLength: 6 }),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (method, extra, body, seq) => {
          const built = Result.getOrThrow(SIPMessage.request({
            method,
            uri: "sip:bob@example.com;transport=tcp",
            headers: [
              ["Via", "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK-prop"],
              ["From", "\"A\" <sip:alice@example.com>;tag=x"],
              ["To", "<sip:bob@example.com>"],
              ["Call-ID", "prop@192.0.2.1"],
              ["CSeq", `${seq} ${method}`],
              ...extra
            ],
            body,
            contentType: "text/plain"
          }))
          const copy = Result.getOrThrow(SIPMessage.parseResult(built.raw))
          expect(copy.method).toBe(method)
          expect(copy.cseq).toEqual({ seq, method })
          expect([...copy.headers]).toEqual([...built.headers, ["Content-Length", String(built.rawBody.length)]])
          expect(copy.body).toBe(body)
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("SIPMessage on adversarial input", () => {
  const head = "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n"
  const big = 64 * 1024

  const timed = (name: string, input: string, check: (result: Result.Result<SIPMessage.SIPMessage, unknown>) => void) =>
    it(name, () => {
      const bytes = new TextEncoder().encode(input)
      const started = performance.now()
      const result = SIPMessage.parseResult(bytes)
      if (Result.isSuccess(result)) readAll(result.success)
      const elapsed = performance.now() - started
      check(result)
      expect(elapsed).toBeLessThan(100)
    })

  timed("a 64 KiB header line", `${head}X-Long: ${"a".repeat(big)}\r\n\r\n`, (r) => {
    expect(Result.isSuccess(r) && r.success.headers.get("X-Long")?.length).toBe(big)
  })
  timed("64 KiB of line folding", `${head}X-Folded: a${"\r\n b".repeat(big / 4)}\r\n\r\n`, (r) => {
    expect(Result.isSuccess(r) && r.success.headers.get("X-Folded")?.length).toBe(1 + (big / 4) * 2)
  })
  timed("10 000 commas in a Contact", `${head}Contact: ${"<sip:a@b>,".repeat(10_000)}<sip:a@b>\r\n\r\n`, (r) => {
    const contact = Result.isSuccess(r) ? r.success.contact : undefined
    expect(contact !== undefined && Result.isSuccess(contact) && contact.success?.star === false).toBe(true)
  })
  timed("10 000 empty list elements in Via", `${head}Via: SIP/2.0/UDP h${",".repeat(10_000)}\r\n\r\n`, (r) => {
    expect(Result.isFailure(r)).toBe(true)
  })
  timed("10 000 header lines with bare LF", `${head}${"X-A: b\n".repeat(10_000)}\n`, (r) => {
    expect(Result.isSuccess(r) && r.success.headers.size).toBe(10_002)
  })
  timed("64 KiB without an empty line", `${head}${"X-A: b\r\n".repeat(big / 8)}`, (r) => {
    expect(Result.isFailure(r)).toBe(true)
  })
  timed("64 KiB of spaces in the request line", `OPTIONS ${" ".repeat(big)}sip:a@b SIP/2.0\r\n\r\n`, (r) => {
    expect(Result.isSuccess(r)).toBe(true)
  })
  timed("64 KiB of CRs", `${head}X: ${"\r".repeat(big)}\r\n\r\n`, (r) => {
    expect(Result.isFailure(r)).toBe(true)
  })
})
