import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { endpointMethods, knownMethods, validateRequest, validateResponse } from "../../src/sip/Validate.ts"
import { benchmarkInvite, kamailio401, registerOk, sippRegister } from "./SIPMessageFixtures.ts"

const message = (text: string): SIPMessage.SIPMessage => Result.getOrThrow(SIPMessage.parseResult(text))

const request = (
  method: string,
  extra: ReadonlyArray<string> = [],
  { body = "", cseqMethod = method, uri = "sip:bob@example.com" } = {}
): SIPMessage.SIPMessage =>
  message([
    `${method} ${uri} SIP/2.0`,
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK74bf9",
    "From: <sip:alice@example.com>;tag=1",
    "To: <sip:bob@example.com>",
    "Call-ID: v1",
    `CSeq: 1 ${cseqMethod}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body
  ].join("\r\n"))

const code = (m: SIPMessage.SIPMessage, options?: Parameters<typeof validateRequest>[1]) =>
  validateRequest(m, options)?.status.value

describe("validateRequest", () => {
  it("accepts well-formed requests from real user agents", () => {
    expect(validateRequest(message(benchmarkInvite))).toBeUndefined()
    expect(validateRequest(message(sippRegister), { role: "registrar" })).toBeUndefined()
    expect(validateRequest(request("OPTIONS"))).toBeUndefined()
  })

  it("answers 505 for another SIP version", () => {
    const rejection = validateRequest(message(benchmarkInvite.replace("SIP/2.0\r\n", "SIP/2.1\r\n")))
    expect(rejection?.status.value).toBe(505)
    expect(rejection?.reason).toContain("SIP/2.1")
  })

  it("answers 400 for missing or repeated mandatory headers", () => {
    const withoutCallId = Result.getOrThrow(SIPMessage.withoutHeader(request("OPTIONS"), "Call-ID"))
    expect(validateRequest(withoutCallId)).toMatchObject({ reason: "Missing Call-ID" })
    const withoutVia = Result.getOrThrow(SIPMessage.withoutHeader(request("OPTIONS"), "Via"))
    expect(code(withoutVia)).toBe(400)
    expect(validateRequest(request("OPTIONS", ["Max-Forwards: 70", "Max-Forwards: 69"]))?.reason).toBe(
      "More than one Max-Forwards"
    )
    expect(code(request("OPTIONS", ["t: <sip:x@y>"]))).toBe(400)
  })

  it("answers 400 for a branch that is only the magic cookie", () => {
    expect(code(message(benchmarkInvite.replace(/branch=[^\r]*/, "branch=z9hG4bK")))).toBe(400)
  })

  it("answers 501 for unknown and 405 for known but unserved methods, with Allow", () => {
    const unknown = validateRequest(request("FLY"))
    expect(unknown?.status.value).toBe(501)
    expect(unknown?.headers).toEqual([["Allow", endpointMethods.join(", ")]])
    expect(code(request("REGISTER"))).toBe(405)
    expect(code(request("PUBLISH"))).toBe(405)
    expect(code(request("REGISTER"), { role: "registrar" })).toBeUndefined()
    expect(code(request("FLY"), { methods: ["FLY"] })).toBeUndefined()
    expect(knownMethods.has("PUBLISH")).toBe(true)
  })

  it("answers 400 when the CSeq method differs from the request method", () => {
    expect(validateRequest(request("OPTIONS", [], { cseqMethod: "INVITE" }))?.reason).toMatch(/CSeq method/)
  })

  it("answers 416 for a Request-URI scheme the element does not serve", () => {
    expect(code(request("OPTIONS", [], { uri: "tel:+15551234" }))).toBe(416)
    expect(code(request("OPTIONS", [], { uri: "tel:+15551234" }), { schemes: ["sip", "tel"] })).toBeUndefined()
    expect(code(request("OPTIONS", [], { uri: "mailto:a@b" }))).toBe(416)
  })

  it("answers 400 for headers in the Request-URI and for From/To it cannot use", () => {
    expect(code(request("OPTIONS", [], { uri: "sip:bob@example.com?Subject=hi" }))).toBe(400)
    const foreignFrom = message(benchmarkInvite.replace("<sip:alice@127.0.0.2:5060>", "<http://example.com>"))
    expect(foreignFrom.from).toBeUndefined()
    expect(validateRequest(foreignFrom)?.reason).toMatch(/From/)
    const telAor = message(sippRegister.replace("To: <sip:alice@127.0.0.1>", "To: <tel:+15551234>"))
    expect(code(telAor, { role: "registrar" })).toBe(400)
  })

  it("answers 400 for a Contact or Content-Type that does not parse", () => {
    expect(code(request("INVITE", ["Contact: <sip:a@b"]))).toBe(400)
    expect(code(request("OPTIONS", ["Contact: <sip:a@b"]))).toBeUndefined()
    expect(code(request("OPTIONS", ["Content-Type: nonsense"]))).toBe(400)
  })

  it("answers 420 listing unsupported Require tags, except for ACK and CANCEL", () => {
    const rejection = validateRequest(request("OPTIONS", ["Require: 100rel, timer"]), { supported: ["TIMER"] })
    expect(rejection?.status.value).toBe(420)
    expect(rejection?.headers).toEqual([["Unsupported", "100rel"]])
    expect(code(request("OPTIONS", ["Require: timer"]), { supported: ["timer"] })).toBeUndefined()
    expect(code(request("ACK", ["Require: 100rel"]))).toBeUndefined()
    expect(code(request("CANCEL", ["Require: 100rel"]))).toBeUndefined()
  })

  it("answers 415 for bodies it cannot read, with Accept or Accept-Encoding", () => {
    const unknownType = validateRequest(request("MESSAGE", ["Content-Type: application/x-thing"], { body: "x" }))
    expect(unknownType?.status.value).toBe(415)
    expect(unknownType?.headers?.[0]?.[0]).toBe("Accept")
    expect(code(request("MESSAGE", [], { body: "no type" }))).toBe(415)
    expect(code(request("MESSAGE", ["Content-Type: text/plain", "Content-Encoding: gzip"], { body: "x" }))).toBe(415)
    expect(code(request("MESSAGE", ["Content-Type: text/plain", "Content-Encoding: identity"], { body: "x" })))
      .toBeUndefined()
    expect(code(request("MESSAGE", ["Content-Type: application/x-thing"], { body: "x" }), { accept: ["application/x-thing"] }))
      .toBeUndefined()
  })

  it("answers 406 when Accept rules out the SDP answer", () => {
    expect(code(request("INVITE", ["Accept: text/plain"]))).toBe(406)
    expect(code(request("INVITE", ["Accept: text/plain, application/*"]))).toBeUndefined()
    expect(code(request("INVITE", ["Accept: */*;q=0.5"]))).toBeUndefined()
    expect(code(request("MESSAGE", ["Accept: text/plain"]))).toBeUndefined()
  })

  it("as a proxy: 483 at Max-Forwards 0, 420 for Proxy-Require, 416 for schemes, other checks left to the next hop", () => {
    expect(code(request("INVITE", ["Max-Forwards: 0"]), { role: "proxy" })).toBe(483)
    expect(code(request("INVITE", ["Max-Forwards: 1"]), { role: "proxy" })).toBeUndefined()
    expect(code(request("INVITE", ["Max-Forwards: 0"]))).toBeUndefined()
    const proxyRequire = validateRequest(request("OPTIONS", ["Proxy-Require: sec-agree"]), { role: "proxy" })
    expect(proxyRequire?.headers).toEqual([["Unsupported", "sec-agree"]])
    expect(code(request("FLY"), { role: "proxy" })).toBeUndefined()
    expect(code(request("OPTIONS", [], { uri: "im:a@b" }), { role: "proxy" })).toBe(416)
  })

  it("leaves responses alone", () => {
    expect(validateRequest(message(registerOk))).toBeUndefined()
  })
})

describe("validateResponse", () => {
  it("accepts a response with one Via and its transaction headers", () => {
    expect(validateResponse(message(registerOk))).toBeUndefined()
    expect(validateResponse(message(kamailio401))).toBeUndefined()
  })

  it("drops responses with several Vias or without CSeq, Call-ID, From or To", () => {
    expect(validateResponse(message(registerOk.replace("Via:", "Via: SIP/2.0/UDP a;branch=z9hG4bKa\r\nVia:"))))
      .toMatch(/exactly one Via/)
    for (const name of ["CSeq", "Call-ID", "From"]) {
      const without = Result.getOrThrow(SIPMessage.withoutHeader(message(registerOk), name))
      expect(validateResponse(without)).toMatch(/missing/)
    }
  })

  it("leaves requests alone", () => {
    expect(validateResponse(message(benchmarkInvite))).toBeUndefined()
  })
})
