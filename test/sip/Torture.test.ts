/**
 * Every RFC 4475 and RFC 5118 torture message behaves as its index.json
 * says. Where the index leaves a choice (`may-reject`, `liberal_accept_allowed`)
 * or names a response that can only be sent from a parsed message (505, a
 * CSeq mismatch), the table below fixes this library's answer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { type Role, validateRequest, validateResponse } from "../../src/sip/Validate.ts"
import { readVector, readVectorJson } from "../support/vectors.ts"

interface TortureEntry {
  readonly file: string
  readonly expect: "valid" | "invalid" | "valid-but-app-should-reject" | "valid-app-behaviour"
  readonly parser: string
  readonly response: string | null
  readonly message: "request" | "response"
  readonly liberal_accept_allowed?: boolean
}

interface Rfc5118Entry {
  readonly file: string
  readonly expect: "valid" | "invalid" | "valid-tolerate"
  readonly content_length_header: number
  readonly body_octets_crlf: number
  readonly content_length_mismatch?: boolean
}

/**
 * What this library does with each message that is not plainly valid:
 * - `reject`: a SIPParseError;
 * - `{ code, role }`: parses, and `validateRequest` with that role answers `code`;
 * - `{ discard: true }`: a response that parses and `validateResponse` drops;
 * - `accept`: parses and validates (liberal acceptance the RFC allows).
 */
type Outcome = "reject" | "accept" | { readonly code: number; readonly role?: Role } | { readonly discard: true }

const outcomes: Readonly<Record<string, Outcome>> = {
  // 3.1.2 invalid messages
  "badinv01.dat": "reject",
  "clerr.dat": "reject",
  "ncl.dat": "reject",
  "scalar02.dat": "reject",
  "scalarlg.dat": "reject",
  "quotbal.dat": "reject",
  "ltgtruri.dat": "reject",
  "lwsruri.dat": "reject",
  "lwsstart.dat": "accept",
  "trws.dat": "accept",
  "escruri.dat": { code: 400 },
  "baddate.dat": "accept",
  "regbadct.dat": { code: 400, role: "registrar" },
  "badaspec.dat": "reject",
  "baddn.dat": "reject",
  "badvers.dat": { code: 505 },
  "mismatch01.dat": { code: 400 },
  "mismatch02.dat": { code: 501 },
  "bigcode.dat": "reject",
  // 3.2 transaction layer: a bare magic cookie cannot identify a transaction
  "badbranch.dat": { code: 400 },
  // 3.3 application layer
  "insuf.dat": { code: 400 },
  "unkscm.dat": { code: 416 },
  "novelsc.dat": { code: 416 },
  "unksm2.dat": { code: 400, role: "registrar" },
  "bext01.dat": { code: 420 },
  "invut.dat": { code: 415 },
  "regaut01.dat": { code: 405 },
  "multi01.dat": { code: 400 },
  "mcl01.dat": "reject",
  "bcast.dat": { discard: true },
  "sdp01.dat": { code: 406 },
  "intmeth.dat": { code: 501 },
  "esc02.dat": { code: 501 }
}

const torture = readVectorJson<ReadonlyArray<TortureEntry>>("sip-torture", "index.json")

const roleFor = (message: SIPMessage.SIPMessage): Role => message.method === "REGISTER" ? "registrar" : "endpoint"

/** parse(serialize(m)) gives m back, field by field (Content-Length is rewritten, so it is left out). */
const expectRoundTrip = (message: SIPMessage.SIPMessage): void => {
  const again = SIPMessage.parseResult(SIPMessage.serialize(message))
  expect(Result.isSuccess(again)).toBe(true)
  if (Result.isFailure(again)) return
  const copy = again.success
  const withoutLength = (m: SIPMessage.SIPMessage) => [...m.headers].filter(([name]) => name !== "Content-Length")
  expect(copy.heading).toBe(message.heading)
  expect(copy.type).toBe(message.type)
  expect(copy.method).toBe(message.method)
  expect(copy.version).toBe(message.version)
  expect(copy.requestUri).toEqual(message.requestUri)
  expect(copy.status).toEqual(message.status)
  expect(copy.reason).toBe(message.reason)
  expect(withoutLength(copy)).toEqual(withoutLength(message))
  expect(copy.via).toEqual(message.via)
  expect(copy.from).toEqual(message.from)
  expect(copy.to).toEqual(message.to)
  expect(copy.callId).toBe(message.callId)
  expect(copy.cseq).toEqual(message.cseq)
  expect(Buffer.from(copy.rawBody).equals(Buffer.from(message.rawBody))).toBe(true)
  expect(copy.trailing).toBe(0)
}

describe("RFC 4475 torture messages", () => {
  it("the index lists 49 messages and the table covers every one that is not plainly valid", () => {
    expect(torture).toHaveLength(49)
    for (const entry of torture) {
      if (entry.expect !== "valid" && !["cparam01.dat", "cparam02.dat", "regescrt.dat", "zeromf.dat"].includes(entry.file)) {
        expect(outcomes[entry.file], entry.file).toBeDefined()
      }
    }
  })

  for (const entry of torture) {
    const outcome: Outcome = outcomes[entry.file] ?? "accept"
    it(`${entry.file} (${entry.expect}, ${entry.parser})`, () => {
      const bytes = readVector("sip-torture", entry.file)
      const result = SIPMessage.parseResult(bytes)

      if (outcome === "reject") {
        expect(entry.expect).not.toBe("valid")
        expect(entry.parser).not.toBe("must-accept")
        expect(Result.isFailure(result)).toBe(true)
        if (Result.isFailure(result)) expect(result.failure._tag).toBe("SIPParseError")
        return
      }

      expect(Result.isSuccess(result), Result.isFailure(result) ? result.failure.message : "").toBe(true)
      if (Result.isFailure(result)) return
      const message = result.success
      expect(message.type).toBe(entry.message === "request" ? "REQUEST" : "RESPONSE")
      expectRoundTrip(message)

      if (outcome === "accept") {
        expect(entry.expect === "valid" || entry.expect === "valid-app-behaviour" || entry.liberal_accept_allowed).toBe(true)
        if (message.type === "REQUEST") expect(validateRequest(message, { role: roleFor(message) })).toBeUndefined()
        else expect(validateResponse(message)).toBeUndefined()
      } else if ("discard" in outcome) {
        expect(entry.response).toMatch(/discard|drop/)
        expect(validateResponse(message)).toBeDefined()
      } else {
        const rejection = validateRequest(message, { role: outcome.role ?? "endpoint" })
        expect(rejection?.status.value, rejection?.reason).toBe(outcome.code)
        expect(entry.response ?? "").toMatch(new RegExp(String(outcome.code)))
      }
    })
  }

  it("wsinv: folding, escapes and odd spellings give the documented values", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "wsinv.dat")))
    expect(m.via).toHaveLength(3)
    expect(m.from?.displayName).toBe("J Rosenberg \\\"")
    expect(m.to?.tag).toBe("1918181833n")
    expect(Result.getOrThrow(m.maxForwards)).toBe(68)
    expect(m.cseq).toEqual({ seq: 9, method: "INVITE" })
    expect(m.headers.get("Subject")).toBe("")
    expect(m.headers.get("UnknownHeaderWithUnusualValue")).toBe(";;,,;;,;")
    expect(m.headers.get("NewFangledHeader")).toBe("newfangled value continued newfangled value")
    expect(m.rawBody.length).toBe(150)
  })

  it("intmeth: raw control octets in a quoted pair and a UTF-8 BOM survive", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "intmeth.dat")))
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~")
    expect(m.to?.displayName).toBe("BEL:\x07 NUL:\x00 DEL:\x7f")
    expect(m.headers.get("extensionHeader-!.%*+_`'~")?.startsWith("\uFEFF")).toBe(true)
    expect(m.callId).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
  })

  it("longreq: 34 Via values under many spellings", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "longreq.dat")))
    expect(m.via).toHaveLength(34)
  })

  it("dblreq: the octets after the REGISTER are trailing noise", () => {
    const bytes = readVector("sip-torture", "dblreq.dat")
    const m = Result.getOrThrow(SIPMessage.parseResult(bytes))
    expect(m.method).toBe("REGISTER")
    expect(m.rawBody.length).toBe(0)
    expect(m.trailing).toBe(bytes.length - m.raw.length)
    expect(m.trailing).toBeGreaterThan(400)
  })

  it("esc02: C%6Fntact is an unknown header, so there are two Contact values", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "esc02.dat")))
    const contact = Result.getOrThrow(m.contact)
    expect(contact !== undefined && !contact.star && contact.contacts.length).toBe(2)
    expect(m.headers.has("C%6Fntact")).toBe(true)
  })

  it("mpart01: the binary body is framed by Content-Length only", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "mpart01.dat")))
    expect(m.rawBody.length).toBe(553)
    expect(m.rawBody.includes(0)).toBe(true)
  })

  it("inv2543: no Content-Length in a datagram means the rest of it", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "inv2543.dat")))
    expect(m.hasContentLength).toBe(false)
    expect(m.rawBody.length).toBe(105)
    expect(m.via[0]?.branch).toBeUndefined()
  })

  it("zeromf: an endpoint processes Max-Forwards 0, a proxy answers 483", () => {
    const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "zeromf.dat")))
    expect(validateRequest(m)).toBeUndefined()
    expect(validateRequest(m, { role: "proxy" })?.status.value).toBe(483)
  })

  it("cparam01/cparam02: a bare addr-spec's parameter is a contact parameter, a bracketed one a URI parameter", () => {
    const bare = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "cparam01.dat")))
    const bracketed = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "cparam02.dat")))
    const first = (m: SIPMessage.SIPMessage) => {
      const contact = Result.getOrThrow(m.contact)
      return contact !== undefined && !contact.star ? contact.contacts[0] : undefined
    }
    expect(first(bare)?.params.has("unknownparam")).toBe(true)
    expect(first(bare)?.uri.params.has("unknownparam")).toBe(false)
    expect(first(bracketed)?.uri.params.has("unknownparam")).toBe(true)
  })

  it("baddn is refused for its display names, not only for its missing empty line", () => {
    const bytes = readVector("sip-torture", "baddn.dat")
    const terminated = new Uint8Array([...bytes, 13, 10])
    const result = SIPMessage.parseResult(terminated)
    expect(Result.isFailure(result) && result.failure.reason).toMatch(/^From: /)
  })

  it("clerr on a stream is an incomplete message too", () => {
    const result = SIPMessage.parseResult(readVector("sip-torture", "clerr.dat"), { transport: "stream" })
    expect(Result.isFailure(result) && result.failure.reason).toMatch(/exceeds/)
  })
})

describe("RFC 5118 IPv6 torture messages", () => {
  const entries = readVectorJson<ReadonlyArray<Rfc5118Entry>>("sip-torture", "rfc5118", "index.json")

  it("has 12 messages", () => expect(entries).toHaveLength(12))

  /** The file with Content-Length set to the CRLF body length (the RFC's printed values are off). */
  const withTrueLength = (bytes: Uint8Array, entry: Rfc5118Entry): Uint8Array =>
    new TextEncoder().encode(
      Buffer.from(bytes).toString("latin1").replace(
        `Content-Length: ${entry.content_length_header}`,
        `Content-Length: ${entry.body_octets_crlf}`
      )
    )

  for (const entry of entries) {
    it(`${entry.file} (${entry.expect})`, () => {
      const bytes = readVector("sip-torture", "rfc5118", entry.file)
      const result = SIPMessage.parseResult(withTrueLength(bytes, entry))
      if (entry.expect === "invalid") {
        expect(Result.isFailure(result)).toBe(true)
        return
      }
      expect(Result.isSuccess(result), Result.isFailure(result) ? result.failure.message : "").toBe(true)
      if (Result.isFailure(result)) return
      const message = result.success
      expect(message.rawBody.length).toBe(entry.body_octets_crlf)
      expectRoundTrip(message)
      if (message.rawBody.length > 0) expect(Result.isSuccess(message.sdp)).toBe(true)

      const asPrinted = SIPMessage.parseResult(bytes)
      if (entry.content_length_header > entry.body_octets_crlf) {
        expect(Result.isFailure(asPrinted)).toBe(true)
      } else {
        expect(Result.isSuccess(asPrinted) && asPrinted.success.trailing).toBe(
          entry.body_octets_crlf - entry.content_length_header
        )
      }
    })
  }

  it("port-ambiguous has no port; port-unambiguous has 5070", () => {
    const host = (file: string) => {
      const m = Result.getOrThrow(SIPMessage.parseResult(readVector("sip-torture", "rfc5118", file)))
      return [m.requestUri?.host, m.requestUri?.port]
    }
    expect(host("port-ambiguous.dat")).toEqual(["2001:db8::10:5070", undefined])
    expect(host("port-unambiguous.dat")).toEqual(["2001:db8::10", 5070])
  })
})
