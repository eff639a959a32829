import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { canonicalName, compactForms, compactFormOf, headerId, nameOfId, sameHeader } from "../../src/sip/HeaderNames.ts"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { SIPStatus } from "../../src/sip/SIPStatus.ts"
import { formatVia } from "../../src/sip/HeaderValues.ts"
import {
  baresipInvite,
  benchmarkInvite,
  benchmarkSdp,
  kamailio401,
  kamailio407,
  registerOk,
  sippInvite,
  sippRegister,
  trying
} from "./SIPMessageFixtures.ts"

const parsed = (input: string | Uint8Array, options?: SIPMessage.ParseOptions): SIPMessage.SIPMessage => {
  const result = SIPMessage.parseResult(input, options)
  if (Result.isFailure(result)) throw new Error(`expected a message: ${result.failure.message}`)
  return result.success
}

const parseError = (input: string | Uint8Array, options?: SIPMessage.ParseOptions) => {
  const result = SIPMessage.parseResult(input, options)
  if (Result.isSuccess(result)) throw new Error(`expected a SIPParseError for ${JSON.stringify(input)}`)
  return result.failure
}

const ok = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) throw new Error(`expected success: ${String(result.failure)}`)
  return result.success
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8")

const minimal = (extra: ReadonlyArray<string> = [], body = ""): string =>
  [
    "OPTIONS sip:bob@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx",
    "From: <sip:alice@example.com>;tag=a",
    "To: <sip:bob@example.com>",
    "Call-ID: c1",
    "CSeq: 1 OPTIONS",
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body
  ].join("\r\n")

describe("SIPMessage.parse", () => {
  it("types the benchmark INVITE's start line and mandatory headers", () => {
    const m = parsed(benchmarkInvite)
    expect(m.type).toBe(SIPMessage.SIPMessageType.REQUEST)
    expect(m.heading).toBe("INVITE sip:bob@127.0.0.1:5060 SIP/2.0")
    expect(m.method).toBe("INVITE")
    expect(m.status).toBe(0)
    expect(m.requestUri).toMatchObject({ scheme: "sip", user: "bob", host: "127.0.0.1", port: 5060 })
    expect(m.via).toHaveLength(1)
    expect(m.via[0]).toMatchObject({ transport: "UDP", host: "127.0.0.2", port: 5060, branch: `z9hG4bK.${"a".repeat(32)}` })
    expect(m.from).toMatchObject({ displayName: "Alice", tag: "1928301774", uri: { user: "alice" } })
    expect(m.to).toMatchObject({ displayName: "Bob", tag: undefined, uri: { user: "bob" } })
    expect(m.callId).toBe("gotest-1700000000000000000")
    expect(m.cseq).toEqual({ seq: 1, method: "INVITE" })
    expect(m.rawBody.length).toBe(129)
    expect(text(m.rawBody)).toBe(benchmarkSdp)
    expect(m.trailing).toBe(0)
    expect(m.hasContentLength).toBe(true)
    expect(text(m.raw)).toBe(benchmarkInvite)
  })

  it("parses strings and bytes alike, and as an Effect", () =>
    Effect.gen(function*() {
      const fromBytes = yield* SIPMessage.parse(new TextEncoder().encode(benchmarkInvite))
      expect(fromBytes.callId).toBe(parsed(benchmarkInvite).callId)
      const error = yield* Effect.flip(SIPMessage.parse("garbage"))
      expect(error._tag).toBe("SIPParseError")
    }).pipe(Effect.runPromise))

  it("keeps headers in wire order with canonical names and case-insensitive lookup", () => {
    const m = parsed(minimal(["cOnTaCt: <sip:a@b>", "X-Custom: one", "x-custom: two", "k: 100rel", "Supported: timer"]))
    expect([...m.headers].map(([name]) => name)).toEqual([
      "Via",
      "From",
      "To",
      "Call-ID",
      "CSeq",
      "Contact",
      "X-Custom",
      "x-custom",
      "Supported",
      "Supported",
      "Content-Length"
    ])
    expect(m.headers.get("CONTACT")).toBe("<sip:a@b>")
    expect(m.headers.get("m")).toBe("<sip:a@b>")
    expect(m.headers.getAll("X-CUSTOM")).toEqual(["one", "two"])
    expect(m.headers.getAll("k")).toEqual(["100rel", "timer"])
    expect(m.headers.has("Route")).toBe(false)
    expect(m.headers.count("supported")).toBe(2)
    expect(ok(m.supported)).toEqual(["100rel", "timer"])
  })

  it("expands every compact form", () => {
    const typedValues: Record<string, string> = { l: "0", v: "SIP/2.0/TCP h;branch=z9hG4bK2" }
    for (const [letter, long] of compactForms) {
      const value = typedValues[letter] ?? `v-${letter}`
      const m = parsed(minimal([`${letter.toUpperCase()}: ${value}`]))
      expect(m.headers.getAll(long).at(-1)).toBe(value)
      expect(m.headers.get(letter)).toBe(m.headers.get(long))
    }
  })

  it("names every known header in any case, and no other name", () => {
    const typedValues: Record<string, string> = {
      Via: "SIP/2.0/TCP h;branch=z9hG4bK2",
      From: "<sip:a@b>",
      To: "<sip:a@b>",
      "Call-ID": "c1",
      CSeq: "1 OPTIONS",
      "Content-Length": "0"
    }
    for (let id = 0; nameOfId(id) !== undefined; id++) {
      const name = nameOfId(id)!
      const value = typedValues[name] ?? "v"
      for (const written of [name, name.toUpperCase(), name.toLowerCase()]) {
        const m = parsed(minimal([`${written}: ${value}`]))
        expect(m.headers.names.at(-2), written).toBe(name)
        expect(m.headers.ids.at(-2), written).toBe(id)
      }
      for (const near of [`${name}x`, `${name.slice(0, -1)}-`, `x${name}`]) {
        const m = parsed(minimal([`${near}: v`]))
        expect(m.headers.names.at(-2), near).toBe(near)
        expect(m.headers.ids.at(-2), near).toBe(-1)
      }
    }
  })

  it("unfolds continuation lines into one space and trims values", () => {
    const m = parsed(minimal(["Subject:   first \r\n\t second\r\n   third   ", "X-Empty:", "X-Folded-Start:\r\n value"]))
    expect(m.headers.get("Subject")).toBe("first second third")
    expect(m.headers.get("X-Empty")).toBe("")
    expect(m.headers.get("X-Folded-Start")).toBe("value")
  })

  it("decodes non-ASCII values and reason phrases as UTF-8, keeping a byte-order mark", () => {
    const bytes = new TextEncoder().encode(
      "SIP/2.0 480 Временно недоступен\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
        "To: \"Ünïcode\" <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nX-Bom: \uFEFFdata\r\nContent-Length: 0\r\n\r\n"
    )
    const m = parsed(bytes)
    expect(m.reason).toBe("Временно недоступен")
    expect(m.status).toMatchObject({ value: 480 })
    expect(m.to?.displayName).toBe("Ünïcode")
    expect(m.headers.get("X-Bom")).toBe("\uFEFFdata")
    expect(m.method).toBe("INVITE")
  })

  it("tolerates leading CRLFs and bare LF line ends", () => {
    const m = parsed("\r\n\r\n" + minimal().replaceAll("\r\n", "\n"))
    expect(m.callId).toBe("c1")
    expect(m.headers.get("Content-Length")).toBe("0")
  })

  it("reads a status line without reason phrase, and unknown codes in range", () => {
    const m = parsed("SIP/2.0 299\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 5 BYE\r\n\r\n")
    expect(m.type).toBe(SIPMessage.SIPMessageType.RESPONSE)
    expect(m.status).toMatchObject({ value: 299, registered: false })
    expect(m.reason).toBe("")
    expect(m.method).toBe("BYE")
    expect(m.from).toBeUndefined()
  })

  it("frames datagrams and streams by Content-Length", () => {
    const two = minimal([], "hello") + minimal()
    const first = parsed(two, { transport: "stream" })
    expect(text(first.rawBody)).toBe("hello")
    expect(first.trailing).toBe(Buffer.byteLength(minimal()))
    const datagram = parsed(two)
    expect(datagram.trailing).toBe(first.trailing)

    const noLength = "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 MESSAGE\r\n\r\nbody text"
    const viaDatagram = parsed(noLength)
    expect(text(viaDatagram.rawBody)).toBe("body text")
    expect(viaDatagram.hasContentLength).toBe(false)
    const viaStream = parsed(noLength, { transport: "stream" })
    expect(viaStream.rawBody.length).toBe(0)
    expect(viaStream.hasContentLength).toBe(false)
    expect(viaStream.trailing).toBe("body text".length)
  })

  it("parses typed headers lazily and reports broken ones as errors", () => {
    const m = parsed(minimal([
      "Contact: \"A\" <sip:a@192.0.2.1>;expires=60;q=0.5, <sip:b@192.0.2.2>",
      "Max-Forwards: 70",
      "Expires: 3600",
      "Route: <sip:p1@example.com;lr>, <sip:p2@example.com;lr>",
      "Route: <sip:p3@example.com;lr>",
      "Record-Route: <sip:rr@example.com;lr>",
      "Allow: INVITE, ACK , BYE",
      "Require: timer",
      "Session-Expires: 1800;refresher=uac",
      "Min-SE: 90",
      "Event: refer;id=7",
      "Subscription-State: active;expires=60",
      "Refer-To: <sip:carol@example.com>",
      "Referred-By: <sip:alice@example.com>",
      "Min-Expires: 60",
      "Authorization: Digest username=\"alice\", realm=\"r\", nonce=\"n\", uri=\"sip:b\", response=\"x\"",
      "Content-Type: text/plain;charset=UTF-8"
    ], "hi"))
    const contact = ok(m.contact)
    expect(contact?.star).toBe(false)
    if (contact !== undefined && !contact.star) {
      expect(contact.contacts.map((c) => [c.uri.user, c.expires, c.q])).toEqual([["a", 60, 0.5], ["b", undefined, undefined]])
    }
    expect(ok(m.maxForwards)).toBe(70)
    expect(ok(m.expires)).toBe(3600)
    expect(ok(m.minExpires)).toBe(60)
    expect(ok(m.route).map((r) => r.uri.user)).toEqual(["p1", "p2", "p3"])
    expect(ok(m.recordRoute).map((r) => r.uri.user)).toEqual(["rr"])
    expect(ok(m.allow)).toEqual(["INVITE", "ACK", "BYE"])
    expect(ok(m.require)).toEqual(["timer"])
    expect(ok(m.proxyRequire)).toBeUndefined()
    expect(ok(m.unsupported)).toBeUndefined()
    expect(ok(m.sessionExpires)).toMatchObject({ deltaSeconds: 1800, refresher: "uac" })
    expect(ok(m.minSE)).toBe(90)
    expect(ok(m.event)).toMatchObject({ event: "refer", id: "7" })
    expect(ok(m.subscriptionState)).toMatchObject({ state: "active", expires: 60 })
    expect(ok(m.referTo)?.uri.user).toBe("carol")
    expect(ok(m.referredBy)?.uri.user).toBe("alice")
    expect(ok(m.authorization)[0]?.params.get("username")).toBe("alice")
    expect(m.authentication?.scheme).toBe("Digest")
    expect(ok(m.wwwAuthenticate)).toEqual([])
    expect(ok(m.contentType)).toMatchObject({ mediaType: "text/plain" })
    expect(m.body).toBe("hi")
    expect(ok(m.sdp)).toBeUndefined()
    expect(m.contact).toBe(m.contact)

    const broken = parsed(minimal(["Max-Forwards: 300", "Contact: <sip:a@b", "Expires: soon", "Contact: *"]))
    expect(Result.isFailure(broken.maxForwards)).toBe(true)
    expect(Result.isFailure(broken.expires)).toBe(true)
    const contactError = broken.contact
    expect(Result.isFailure(contactError) && contactError.failure.message).toMatch(/^Contact: /)
  })

  it("rejects a star Contact mixed with addresses", () => {
    const m = parsed(minimal(["Contact: *", "Contact: <sip:a@b>"]))
    expect(Result.isFailure(m.contact)).toBe(true)
    expect(ok(parsed(minimal(["Contact: *"])).contact)).toEqual({ star: true })
  })

  it("parses an SDP body on first access only", () => {
    const m = parsed(benchmarkInvite)
    const sdp = ok(m.sdp)
    expect(sdp?.media[0]?.port).toBe(6000)
    expect(m.body).toBe(sdp)
    expect(m.summary()).toContain("m=audio 6000 RTP/AVP 0")
    expect(m.summary()).toContain("Call-ID: gotest-1700000000000000000")
  })

  it("keeps a malformed SDP body as text", () => {
    const m = parsed(minimal(["Content-Type: application/sdp"], "not sdp"))
    expect(Result.isFailure(m.sdp)).toBe(true)
    expect(m.body).toBe("not sdp")
  })

  it("leaves From/To with a foreign URI scheme untyped instead of failing", () => {
    const m = parsed(minimal().replace("To: <sip:bob@example.com>", "To: isbn:2983792873"))
    expect(m.to).toBeUndefined()
    expect(m.headers.get("To")).toBe("isbn:2983792873")
  })

  it("accepts a Request-URI with a foreign scheme but leaves it untyped", () => {
    const m = parsed(minimal().replace("OPTIONS sip:bob@example.com", "OPTIONS urn:service:sos"))
    expect(m.requestUri).toBeUndefined()
    expect(m.requestUriText).toBe("urn:service:sos")
  })

  it("keeps a request's unsupported version for a 505", () => {
    const m = parsed(minimal().replace("SIP/2.0\r\n", "sip/3.1\r\n"))
    expect(m.version).toBe("SIP/3.1")
    expect(m.heading).toBe("OPTIONS sip:bob@example.com SIP/3.1")
  })
})

describe("SIPMessage.parse errors", () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["empty", "", /empty message/],
    ["only CRLF", "\r\n\r\n", /empty message/],
    ["no line end", "OPTIONS sip:a@b SIP/2.0", /start line/],
    ["no empty line", "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n", /not terminated/],
    ["bare CR in start line", "OPTIONS sip:a@b\rSIP/2.0\r\n\r\n", /bare CR/],
    ["bare CR in a value", minimal(["X: a\rb"]), /bare CR/],
    ["header without colon", minimal(["NoColon"]), /expected ':'/],
    ["first header line folded", "OPTIONS sip:a@b SIP/2.0\r\n Via: x\r\n\r\n", /header name/],
    ["fold into CSeq", minimal([" leading: x"]), /^CSeq: /],
    ["empty header name", minimal([": x"]), /header name/],
    ["method not a token", "OPT<IONS sip:a@b SIP/2.0\r\n\r\n", /SP after the method/],
    ["no version", "OPTIONS sip:a@b\r\n\r\n", /SIP-Version/],
    ["no URI", "OPTIONS  SIP/2.0\r\n\r\n", /Request-URI|SIP-Version/],
    ["URI with space", "OPTIONS sip:a@b ;lr SIP/2.0\r\n\r\n", /Request-URI/],
    ["foreign URI with a control", "OPTIONS urn:a\x01b SIP/2.0\r\n\r\n", /inside the Request-URI/],
    ["bad URI", "OPTIONS sip:@@ SIP/2.0\r\n\r\n", /Request-URI/],
    ["response version", "SIP/3.0 200 OK\r\n\r\n", /unsupported SIP version/],
    ["two-digit code", "SIP/2.0 20 OK\r\n\r\n", /three digits/],
    ["code out of range", "SIP/2.0 700 Big\r\n\r\n", /outside 100-699/],
    ["status without code", "SIP/2.0\r\n\r\n", /status code/],
    ["Content-Length letters", minimal().replace("Content-Length: 0", "Content-Length: five"), /decimal/],
    ["Content-Length too big", minimal().replace("Content-Length: 0", "Content-Length: 99999999999"), /decimal/],
    ["Content-Length beyond data", minimal().replace("Content-Length: 0", "Content-Length: 10"), /exceeds/],
    ["conflicting Content-Length", minimal(["l: 3"]), /conflicting/],
    ["broken Via", minimal().replace("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx", "Via: nonsense"), /^Via: /],
    ["broken From", minimal().replace("From: <sip:alice@example.com>;tag=a", "From: <sip:alice@example.com"), /^From: /],
    ["broken CSeq", minimal().replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS"), /^CSeq: /],
    ["empty Call-ID", minimal().replace("Call-ID: c1", "Call-ID:"), /Call-ID/],
    ["Call-ID with space", minimal().replace("Call-ID: c1", "Call-ID: a b"), /Call-ID/]
  ]
  for (const [name, input, reason] of cases) {
    it(name, () => {
      const error = parseError(input)
      expect(error._tag).toBe("SIPParseError")
      expect(error.reason).toMatch(reason)
      expect(error.offset).toBeGreaterThanOrEqual(0)
    })
  }

  it("tells an input that ends too early from a malformed one", () => {
    const full = minimal([], "hello")
    for (const cut of [0, 4, 20, full.indexOf("\r\n\r\n") + 2, full.length - 1]) {
      const part = full.slice(0, cut)
      expect(SIPMessage.isIncomplete(parseError(part, { transport: "stream" }), part), `cut at ${cut}`).toBe(true)
    }
    const malformed = minimal().replace("CSeq: 1 OPTIONS", "CSeq: x")
    expect(SIPMessage.isIncomplete(parseError(malformed), malformed)).toBe(false)
    expect(SIPMessage.isIncomplete(parseError("\r\n\r\n"), "\r\n\r\n")).toBe(true)
  })

  it("accepts identical repeated Content-Length values", () => {
    expect(parsed(minimal(["l: 0"])).hasContentLength).toBe(true)
  })

  it("points offsets into the input", () => {
    const input = minimal().replace("CSeq: 1 OPTIONS", "CSeq: 1 OPT<ONS")
    const error = parseError(input)
    expect(input.slice(error.offset, error.offset + 3)).toBe("<ON")
  })

  it("points offsets into the input for values read apart from the octets (UTF-8) too", () => {
    const input = minimal().replace("To: <sip:bob@example.com>", "To: <sip:bob@example.com> x \"Zoë\"")
    const error = parseError(Buffer.from(input, "utf8"))
    expect(error.reason).toMatch(/^To: /)
    expect(input.slice(error.offset, error.offset + 3)).toBe("x \"")
    const lazy = parsed(minimal(["Max-Forwards: 7x ü"])).maxForwards
    expect(Result.isFailure(lazy) && minimal(["Max-Forwards: 7x ü"]).slice(lazy.failure.offset, lazy.failure.offset + 2)).toBe("x ")
  })
})

describe("SIPMessage from real user agents", () => {
  it("sipp INVITE", () => {
    const m = parsed(sippInvite)
    expect(m.from).toMatchObject({ displayName: "sipp lab", tag: "2871SIPpTag001" })
    expect(ok(m.contact)).toMatchObject({ star: false, contacts: [{ uri: { params: new Map([["transport", "UDP"]]) } }] })
    expect(ok(m.allow)).toEqual(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"])
    expect(ok(m.sdp)?.media[0]?.port).toBe(16100)
  })

  it("sipp REGISTER with digest credentials", () => {
    const m = parsed(sippRegister)
    expect(m.method).toBe("REGISTER")
    expect(ok(m.expires)).toBe(60)
    expect(m.authentication).toMatchObject({ scheme: "Digest" })
    expect(m.authentication?.params.get("nc")).toBe("00000001")
    expect(m.authentication?.params.get("uri")).toBe("sip:127.0.0.1:15080")
  })

  it("baresip INVITE with SDP", () => {
    const m = parsed(baresipInvite)
    expect(m.via[0]?.rport).toBeNull()
    expect(ok(m.supported)).toEqual(["replaces", "norefersub"])
    expect(ok(m.allow)).toHaveLength(10)
    expect(ok(m.sdp)?.media[0]?.port).toBe(16250)
  })

  it("kamailio 401 and 407 challenges", () => {
    const challenge = parsed(kamailio401)
    expect(challenge.status).toBe(SIPStatus.UNAUTHORIZED)
    expect(challenge.method).toBe("REGISTER")
    expect(challenge.via[0]).toMatchObject({ rport: 15092, received: "127.0.0.1" })
    expect(challenge.authentication?.params.get("realm")).toBe("kamailio.lab")
    expect(challenge.authentication?.params.get("qop")).toBe("auth")
    const proxy = parsed(kamailio407)
    expect(proxy.status).toBe(SIPStatus.PROXY_AUTHENTICATION_REQUIRED)
    expect(proxy.authentication?.params.get("nonce")).toBe("Z8xrA2fMcNTgpEmqKCSQ8PTf1L8=")
    expect(ok(proxy.wwwAuthenticate)).toEqual([])
  })

  it("registrar 200 OK and 100 Trying", () => {
    const m = parsed(registerOk)
    expect(m.via[0]).toMatchObject({ received: "127.0.0.1", rport: 15072 })
    expect(ok(m.contact)).toMatchObject({ contacts: [{ expires: 60 }] })
    expect(ok(m.expires)).toBe(60)
    expect(m.authentication).toBeUndefined()
    const t = parsed(trying)
    expect(t.status).toBe(SIPStatus.TRYING)
    expect(t.reason).toBe("trying -- your call is important to us")
  })
})

describe("SIPMessage.serialize", () => {
  it("writes canonical names, CRLF and a correct Content-Length where the old one was", () => {
    const m = parsed(
      "MESSAGE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\n" +
        "i: x\r\ncseq: 1 MESSAGE\r\nl: 2\r\nc: text/plain\r\nX-Thing:  folded\r\n  value\r\n\r\nhi"
    )
    expect(text(SIPMessage.serialize(m))).toBe(
      "MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\n" +
        "Call-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nX-Thing: folded value\r\n\r\nhi"
    )
  })

  it("adds Content-Length when the message had none, and writes UTF-8", () => {
    const m = parsed("SIP/2.0 200 Très bien\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Note: ünï\r\n\r\nbody")
    const out = text(SIPMessage.serialize(m))
    expect(out).toBe("SIP/2.0 200 Très bien\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Note: ünï\r\nContent-Length: 4\r\n\r\nbody")
  })

  it("round-trips the fixtures byte for byte when they are already canonical", () => {
    for (const fixture of [benchmarkInvite, sippInvite, sippRegister, baresipInvite, kamailio401, kamailio407, registerOk]) {
      expect(text(SIPMessage.serialize(parsed(fixture)))).toBe(fixture)
    }
  })
})

describe("SIPMessage builders", () => {
  const invite = () => parsed(benchmarkInvite.replace("Contact:", "Record-Route: <sip:p@proxy;lr>\r\nContact:"))

  it("request() builds a typed message with a computed Content-Length", () => {
    const built = ok(SIPMessage.request({
      method: "MESSAGE",
      uri: "sip:bob@example.com",
      headers: [
        ["Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK77"],
        ["From", "<sip:alice@example.com>;tag=9"],
        ["To", "<sip:bob@example.com>"],
        ["Call-ID", "m1"],
        ["CSeq", "1 MESSAGE"],
        ["Content-Length", "999"]
      ],
      body: "héllo",
      contentType: "text/plain;charset=utf-8"
    }))
    expect(built.cseq).toEqual({ seq: 1, method: "MESSAGE" })
    expect(built.rawBody.length).toBe(6)
    expect(built.trailing).toBe(0)
    const wire = text(built.raw)
    expect(wire).toContain("Content-Type: text/plain;charset=utf-8\r\nContent-Length: 6\r\n\r\nhéllo")
    expect(wire).not.toContain("999")
    expect(parsed(built.raw).callId).toBe("m1")
  })

  it("request() takes a typed URI and a header record", () => {
    const uri = ok(SIPMessage.parseResult(benchmarkInvite)).requestUri!
    const built = ok(SIPMessage.request({
      method: "OPTIONS",
      uri,
      headers: { Via: ["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b;branch=z9hG4bK2"], "Call-ID": "x", CSeq: "2 OPTIONS" }
    }))
    expect(built.heading).toBe("OPTIONS sip:bob@127.0.0.1:5060 SIP/2.0")
    expect(built.via.map((v) => v.host)).toEqual(["a", "b"])
  })

  it("request() refuses header injection and bad names", () => {
    const base = { method: "OPTIONS", uri: "sip:a@b" }
    expect(Result.isFailure(SIPMessage.request({ ...base, headers: [["X", "a\r\nVia: evil"]] }))).toBe(true)
    expect(Result.isFailure(SIPMessage.request({ ...base, headers: [["Bad Name", "x"]] }))).toBe(true)
    expect(Result.isFailure(SIPMessage.request({ ...base, method: "OP TIONS" }))).toBe(true)
    expect(Result.isFailure(SIPMessage.request({ ...base, uri: "sip:a@b SIP/2.0" }))).toBe(true)
    expect(Result.isFailure(SIPMessage.request({ ...base, uri: "urn:a\u0001b" }))).toBe(true)
    expect(Result.isFailure(SIPMessage.request({ ...base, headers: [["CSeq", "x"]] }))).toBe(true)
  })

  it("response() copies Via, From, To (+tag), Call-ID, CSeq and Record-Route for dialog-creating 2xx", () => {
    const request = ok(SIPMessage.parseResult(
      benchmarkInvite.replace("Via:", "Via: SIP/2.0/UDP proxy;branch=z9hG4bKp\r\nVia:")
        .replace("Contact:", "Record-Route: <sip:p@proxy;lr>\r\nContact:")
    ))
    const answer = ok(SIPMessage.response(request, SIPStatus.OK, {
      toTag: "t1",
      headers: [["Contact", "<sip:bob@127.0.0.1>"]],
      body: benchmarkSdp,
      contentType: "application/sdp"
    }))
    expect(answer.heading).toBe("SIP/2.0 200 OK")
    expect(answer.via.map((v) => v.host)).toEqual(["proxy", "127.0.0.2"])
    expect(answer.to?.tag).toBe("t1")
    expect(answer.from?.tag).toBe("1928301774")
    expect(answer.callId).toBe(request.callId)
    expect(answer.cseq).toEqual(request.cseq)
    expect(answer.method).toBe("INVITE")
    expect(ok(answer.recordRoute).map((r) => r.uri.host)).toEqual(["proxy"])
    expect(ok(answer.sdp)?.media[0]?.port).toBe(6000)
    expect([...answer.headers].map(([name]) => name)).toEqual([
      "Via",
      "Via",
      "Record-Route",
      "From",
      "To",
      "Call-ID",
      "CSeq",
      "Contact",
      "Content-Type"
    ])
  })

  it("response() leaves out Record-Route for 100 and for non-dialog requests, and keeps an existing To tag", () => {
    const request = invite()
    expect(ok(SIPMessage.response(request, 100)).headers.has("Record-Route")).toBe(false)
    expect(ok(SIPMessage.response(request, 180, { toTag: "x" })).headers.has("Record-Route")).toBe(true)
    const bye = ok(SIPMessage.parseResult(minimal(["Record-Route: <sip:p@proxy;lr>"]).replace(
      "To: <sip:bob@example.com>",
      "To: <sip:bob@example.com>;tag=old"
    )))
    const ok200 = ok(SIPMessage.response(bye, 200, { toTag: "new", reason: "Fine" }))
    expect(ok200.headers.has("Record-Route")).toBe(false)
    expect(ok200.to?.tag).toBe("old")
    expect(ok200.reason).toBe("Fine")
    expect(Result.isFailure(SIPMessage.response(bye, 99))).toBe(true)
    expect(Result.isFailure(SIPMessage.response(bye, 200, { reason: "a\r\nb" }))).toBe(true)
  })

  it("response() lets given headers replace copied ones", () => {
    const answer = ok(SIPMessage.response(invite(), 486, { headers: [["To", "<sip:x@y>;tag=z"]] }))
    expect(answer.headers.getAll("To")).toEqual(["<sip:x@y>;tag=z"])
    expect(answer.status).toBe(SIPStatus.BUSY_HERE)
  })
})

describe("SIPMessage edits", () => {
  const m = () => parsed(benchmarkInvite)

  it("withHeader replaces in place; appendHeader and prependHeader add", () => {
    const replaced = ok(SIPMessage.withHeader(m(), "contact", "<sip:new@192.0.2.9>"))
    expect([...replaced.headers].map(([n]) => n)).toEqual([...m().headers].map(([n]) => n))
    expect(ok(replaced.contact)).toMatchObject({ contacts: [{ uri: { user: "new" } }] })
    const appended = ok(SIPMessage.appendHeader(m(), "X-Trace", ["1", "2"]))
    expect(appended.headers.getAll("x-trace")).toEqual(["1", "2"])
    const onTop = ok(SIPMessage.prependHeader(m(), "Via", "SIP/2.0/TCP proxy;branch=z9hG4bKtop"))
    expect(onTop.via.map((v) => v.host)).toEqual(["proxy", "127.0.0.2"])
    const first = ok(SIPMessage.prependHeader(m(), "Record-Route", "<sip:rr@proxy;lr>"))
    expect([...first.headers][0]![0]).toBe("Record-Route")
    expect(m().headers.has("X-Trace")).toBe(false)
  })

  it("withoutHeader removes every line; a removed mandatory header becomes undefined", () => {
    const without = ok(SIPMessage.withoutHeader(m(), "From"))
    expect(without.from).toBeUndefined()
    expect(without.headers.has("f")).toBe(false)
  })

  it("edits are checked like builders", () => {
    expect(Result.isFailure(SIPMessage.withHeader(m(), "CSeq", "bad"))).toBe(true)
    expect(Result.isFailure(SIPMessage.appendHeader(m(), "X", "a\nb"))).toBe(true)
  })

  it("withBody replaces the body and Content-Type; serialize follows", () => {
    const edited = ok(SIPMessage.withBody(m(), "hello", "text/plain"))
    expect(edited.body).toBe("hello")
    expect(text(edited.raw)).toContain("Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
  })

  it("mapTopVia adds received and rport to the top Via only", () => {
    const twoOnOneLine = parsed(benchmarkInvite.replace(
      `branch=z9hG4bK.${"a".repeat(32)}`,
      `branch=z9hG4bK.${"a".repeat(32)};rport, SIP/2.0/TCP second:5070;branch=z9hG4bK2`
    ))
    const edited = ok(SIPMessage.mapTopVia(twoOnOneLine, (via) => ({ ...via, received: "198.51.100.7", rport: 40000 })))
    expect(edited.via[0]).toMatchObject({ received: "198.51.100.7", rport: 40000, host: "127.0.0.2" })
    expect(edited.via[1]).toEqual(twoOnOneLine.via[1])
    expect(edited.headers.get("Via")).toBe(`${formatVia(edited.via[0]!)}, SIP/2.0/TCP second:5070;branch=z9hG4bK2`)
    const noVia = ok(SIPMessage.withoutHeader(m(), "Via"))
    expect(Result.isFailure(SIPMessage.mapTopVia(noVia, (via) => via))).toBe(true)
  })

  it("withTopViaParams stamps received and rport, keeping every other line and typed header", () => {
    const request = parsed(benchmarkInvite.replace("Call-ID:", `Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp\r\nCall-ID:`)
      .replace(`branch=z9hG4bK.${"a".repeat(32)}`, `branch=z9hG4bK.${"a".repeat(32)};rport;received=10.0.0.9`))
    const stamped = ok(SIPMessage.withTopViaParams(request, { received: "198.51.100.7", rport: 40000 }))
    expect(stamped.via[0]).toEqual({ ...request.via[0], received: "198.51.100.7", rport: 40000 })
    expect(stamped.via[1]).toBe(request.via[1])
    expect(stamped.from).toBe(request.from)
    expect(stamped.to).toBe(request.to)
    expect(stamped.cseq).toBe(request.cseq)
    expect(stamped.requestUri).toBe(request.requestUri)
    expect(stamped.headers.get("Via")).toBe(formatVia(stamped.via[0]!))
    expect([...stamped.headers].filter(([, value]) => !value.includes("z9hG4bK."))).toEqual(
      [...request.headers].filter(([, value]) => !value.includes("z9hG4bK."))
    )
    const again = parsed(stamped.raw)
    expect(again.via).toEqual(stamped.via)
    expect(text(again.rawBody)).toBe(benchmarkSdp)
  })

  it("withTopViaParams asks for rport and refuses what is not a Via", () => {
    const asked = ok(SIPMessage.withTopViaParams(parsed(benchmarkInvite), { rport: null }))
    expect(asked.via[0]).toMatchObject({ rport: null, received: undefined })
    expect(asked.headers.get("Via")).toContain(";rport;")
    const failure = SIPMessage.withTopViaParams(parsed(benchmarkInvite), { received: "not an address" })
    expect(Result.isFailure(failure) && failure.failure.reason).toMatch(/^Via: received must be an IP address/)
    const noVia = ok(SIPMessage.withoutHeader(m(), "Via"))
    expect(Result.isFailure(SIPMessage.withTopViaParams(noVia, { rport: null }))).toBe(true)
  })
})

describe("Headers", () => {
  it("builds from pairs or a record and edits immutably", () => {
    const fromRecord = SIPMessage.Headers.from({ v: ["a", "b"], "x-one": "1", CSEQ: "1 BYE" })
    expect([...fromRecord]).toEqual([["Via", "a"], ["Via", "b"], ["x-one", "1"], ["CSeq", "1 BYE"]])
    const replaced = fromRecord.with("via", ["c"])
    expect([...replaced]).toEqual([["Via", "c"], ["x-one", "1"], ["CSeq", "1 BYE"]])
    expect([...fromRecord.with("Route", ["<sip:r>"])].at(-1)).toEqual(["Route", "<sip:r>"])
    expect([...fromRecord.without("X-ONE")].map(([n]) => n)).toEqual(["Via", "Via", "CSeq"])
    expect([...fromRecord.insert(1, "i", ["id"])][1]).toEqual(["Call-ID", "id"])
    expect(fromRecord.concat(SIPMessage.Headers.from([["To", "<sip:t>"]])).size).toBe(5)
    expect(fromRecord.size).toBe(4)
    expect(fromRecord.indexOf("x-ONE", 0)).toBe(2)
    expect(fromRecord.indexOf("via", 2)).toBe(-1)
  })
})

describe("HeaderNames", () => {
  it("canonicalises known names and compact forms, keeps unknown names", () => {
    expect(canonicalName("call-id")).toBe("Call-ID")
    expect(canonicalName("I")).toBe("Call-ID")
    expect(canonicalName("www-authenticate")).toBe("WWW-Authenticate")
    expect(canonicalName("X-Foo")).toBe("X-Foo")
    expect(compactFormOf("session-expires")).toBe("x")
    expect(compactFormOf("Max-Forwards")).toBeUndefined()
    expect(sameHeader("v", "VIA")).toBe(true)
    expect(sameHeader("x-a", "X-A")).toBe(true)
    expect(sameHeader("x-a", "x-b")).toBe(false)
    expect(headerId("nope")).toBe(-1)
    expect(compactForms.size).toBe(20)
  })
})
