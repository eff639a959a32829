import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import { parse, parseEffect, type SessionDescription, serialize } from "../../src/sdp/Sdp.ts"
import { readVector, readVectorJson } from "../support/vectors.ts"

interface Rfc4317Entry {
  readonly file: string
  readonly sender: string
  readonly origin_session_version: string
  readonly media: ReadonlyArray<string>
}
interface RealWorldEntry {
  readonly file: string
  readonly ends_with_crlf: boolean
}
const index = readVectorJson<{ rfc4317: ReadonlyArray<Rfc4317Entry>; real_world: ReadonlyArray<RealWorldEntry> }>(
  "sdp",
  "index.json"
)

const parseOk = (body: string | Uint8Array): SessionDescription => {
  const result = parse(body)
  if (Result.isFailure(result)) throw new Error(`expected a description, got: ${result.failure.message}`)
  return result.success
}

const parseVector = (file: string): SessionDescription => parseOk(readVector("sdp", file))

// Plain data for comparisons: payload types by member name, without sdp-transform's objects.
const viewOf = (sd: SessionDescription) => ({
  origin: sd.origin,
  sessionName: sd.sessionName,
  connection: sd.connection,
  direction: sd.direction,
  media: sd.media.map(({ raw: _raw, payloads, ...media }) => ({
    ...media,
    payloads: payloads.map((p) => ({ ...p, type: p.type?.name }))
  }))
})

const mediaLineOf = (m: SessionDescription["media"][number]): string =>
  `${m.kind} ${m.port} ${m.transport} ${m.formats.join(" ")}`

describe("parse: RFC 4317 vectors", () => {
  it("has the 54 bodies the README lists", () => {
    expect(index.rfc4317).toHaveLength(54)
  })

  it("parses every body into the view index.json describes", () => {
    for (const entry of index.rfc4317) {
      const sd = parseVector(entry.file)
      expect(sd.origin.username, entry.file).toBe(entry.sender)
      expect(sd.origin.sessionVersion, entry.file).toBe(entry.origin_session_version)
      expect(sd.media.map(mediaLineOf), entry.file).toEqual(entry.media)
      expect(sd.sessionName, entry.file).toBe(" ")
      for (const media of sd.media) {
        expect(media.protocol).toBe("RTP/AVP")
        expect(media.connection, entry.file).toBeDefined()
        expect(media.payloads.map((p) => p.number)).toEqual(media.formats.map(Number))
        for (const payload of media.payloads) expect(payload.type, `${entry.file} ${payload.number}`).toBeDefined()
      }
    }
  })

  it("maps static and dynamic payloads and renumbered iLBC", () => {
    const offer = parseVector("rfc4317/2.3-offer.sdp")
    expect(offer.media[0]?.payloads.map((p) => [p.number, p.type?.name, p.encoding, p.rate])).toEqual([
      [0, "PCMU", "PCMU", 8000],
      [8, "PCMA", "PCMA", 8000],
      [97, "ILBC", "iLBC", 8000]
    ])
    const answer = parseVector("rfc4317/2.3-answer.sdp")
    const ilbc97 = offer.media[0]?.payloads[2]?.type
    const ilbc99 = answer.media[0]?.payloads[0]?.type
    expect(ilbc97 !== undefined && ilbc99 !== undefined && PayloadType.equivalent(ilbc97, ilbc99)).toBe(true)
    expect(answer.media[1]?.payloads[0]?.type).toBe(PayloadType.H261)
  })

  it("reads telephone-event as PayloadType.EVENT with its SDP number", () => {
    const sd = parseVector("rfc4317/2.6-offer.sdp")
    const event = sd.media[1]?.payloads[1]
    expect(event?.number).toBe(101)
    expect(event?.type).toBe(PayloadType.EVENT)
  })

  it("applies a media-level c= over the session one (2.8)", () => {
    const sd = parseVector("rfc4317/2.8-answer.sdp")
    expect(sd.connection).toEqual({ addressType: "IP4", address: "host.biloxi.example.com" })
    expect(sd.media[0]?.connection?.address).toBe("host.biloxi.example.com")
    expect(sd.media[1]?.connection?.address).toBe("otherhost.biloxi.example.com")
  })

  it("reads directions: media attribute, else sendrecv", () => {
    const sd = parseVector("rfc4317/3.2-second-offer.sdp")
    expect(sd.media.map((m) => m.direction)).toEqual(["sendonly", "recvonly"])
    expect(parseVector("rfc4317/3.1-second-offer.sdp").media[0]?.direction).toBe("sendrecv")
  })

  it("reads port 0 streams and descriptions without m= lines", () => {
    const declined = parseVector("rfc4317/2.2-answer.sdp").media[1]
    expect(declined?.port).toBe(0)
    expect(parseVector("rfc4317/5.1-offer.sdp").media).toEqual([])
  })

  it("reads the 0.0.0.0 connection of 3pcc (5.2)", () => {
    expect(parseVector("rfc4317/5.2-offer.sdp").media[0]?.connection).toEqual({
      addressType: "IP4",
      address: "0.0.0.0"
    })
  })
})

describe("parse: real-world vectors", () => {
  it("has the three bodies the README lists, line ends as recorded", () => {
    expect(index.real_world).toHaveLength(3)
    for (const entry of index.real_world) {
      const text = new TextDecoder().decode(readVector("sdp", entry.file))
      expect(text.endsWith("\r\n"), entry.file).toBe(entry.ends_with_crlf)
      expect(Result.isSuccess(parse(text)), entry.file).toBe(true)
    }
  })

  it("reads the Avaya-style offer: codecs, fmtp, ptime, a=rtcp, session-level direction", () => {
    const sd = parseVector("real-world/sipsorcery-avaya-invite-offer.sdp")
    expect(sd.origin).toEqual({
      username: "xxxxx",
      sessionId: "1174909600",
      sessionVersion: "1174909601",
      netType: "IN",
      addressType: "IP4",
      address: "10.1.1.241"
    })
    expect(sd.direction).toBe("sendrecv")
    const audio = sd.media[0]
    expect(audio?.payloads.map((p) => [p.number, p.type?.name, p.fmtp])).toEqual([
      [8, "PCMA", undefined],
      [0, "PCMU", undefined],
      [18, "G729", "annexb=no"],
      [101, "EVENT", "0-15"]
    ])
    expect(audio?.ptime).toBe(20)
    expect(audio?.rtcpPort).toBe(20027)
    expect(audio?.rtcpMux).toBe(false)
    expect(audio?.direction).toBe("sendrecv")
    expect(audio?.connection).toEqual({ addressType: "IP4", address: "10.1.1.241" })
  })

  it("reads the MSC answer", () => {
    const sd = parseVector("real-world/sipsorcery-msc-200ok-answer.sdp")
    expect(sd.media.map(mediaLineOf)).toEqual(["audio 8002 RTP/AVP 0 101"])
    expect(sd.media[0]?.payloads.map((p) => p.type?.name)).toEqual(["PCMU", "EVENT"])
    expect(sd.media[0]?.payloads[1]?.fmtp).toBeUndefined()
    expect(sd.media[0]?.ptime).toBe(20)
  })

  it("reads the Asterisk answer despite its five-field o= line", () => {
    const sd = parseVector("real-world/sipsorcery-asterisk-200ok-malformed-origin.sdp")
    expect(sd.origin).toEqual({
      username: "-",
      sessionId: "1307081803",
      sessionVersion: "2",
      netType: "IN",
      addressType: "IP4",
      address: "172.17.2.10"
    })
    expect(sd.sessionName).toBe("Asterisk")
    const audio = sd.media[0]
    expect(audio?.payloads.map((p) => [p.number, p.type?.name, p.fmtp])).toEqual([
      [0, "PCMU", undefined],
      [8, "PCMA", undefined],
      [101, "EVENT", "0-16"]
    ])
    expect(audio?.ptime).toBe(20)
    expect(audio?.maxptime).toBe(150)
    // The written form repairs the origin.
    expect(serialize(sd)).toContain("\r\no=- 1307081803 2 IN IP4 172.17.2.10\r\n")
  })
})

describe("serialize", () => {
  const allFiles = [...index.rfc4317, ...index.real_world].map((e) => e.file)

  it("round-trips every vector: parse(serialize(x)) has the same view", () => {
    for (const file of allFiles) {
      const sd = parseVector(file)
      const written = serialize(sd)
      expect(written.endsWith("\r\n"), file).toBe(true)
      expect(written.replaceAll("\r\n", "").includes("\n"), file).toBe(false)
      expect(viewOf(parseOk(written)), file).toEqual(viewOf(sd))
    }
  })

  it("writes RFC 4317 bodies back byte for byte", () => {
    for (const entry of index.rfc4317) {
      const original = new TextDecoder().decode(readVector("sdp", entry.file))
      expect(serialize(parseVector(entry.file)), entry.file).toBe(original)
    }
  })

  it("keeps 64-bit session ids and versions and port counts exact", () => {
    const text = [
      "v=0",
      "o=- 4611731400430051336 18446744073709551615 IN IP6 2001:db8::1",
      "s=-",
      "c=IN IP6 2001:db8::1",
      "t=0 0",
      "m=audio 49170/2 RTP/AVP 0",
      "a=rtcp-mux",
      ""
    ].join("\r\n")
    const sd = parseOk(text)
    expect(sd.origin.sessionId).toBe("4611731400430051336")
    expect(sd.origin.sessionVersion).toBe("18446744073709551615")
    expect(sd.media[0]?.port).toBe(49170)
    expect(sd.media[0]?.portCount).toBe(2)
    expect(sd.media[0]?.rtcpMux).toBe(true)
    expect(sd.media[0]?.connection).toEqual({ addressType: "IP6", address: "2001:db8::1" })
    expect(serialize(sd)).toBe(text)
  })

  it("keeps attributes the view does not model", () => {
    const crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
    const text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
      `m=audio 4000 RTP/SAVP 0\r\n${crypto}a=x-vendor-thing:42\r\n`
    const written = serialize(parseOk(text))
    expect(written).toContain(crypto)
    expect(written).toContain("a=x-vendor-thing:42\r\n")
    expect(parseOk(text).media[0]?.protocol).toBe("RTP/SAVP")
  })
})

describe("parse: what a user agent rejects and what it lets through", () => {
  const session = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

  const rejected: ReadonlyArray<readonly [string, string, string]> = [
    ["empty body", "", "empty session description"],
    ["blank body", "\r\n\r\n", "empty session description"],
    ["wrong version", session.replace("v=0", "v=1"), "starts with v=0"],
    ["v= not first", session.replace("v=0\r\n", "") + "v=0\r\n", "starts with v=0"],
    ["a second v=", session + "v=\r\n", "a second v= line"],
    ["no o=", session.replace("o=- 1 1 IN IP4 192.0.2.1\r\n", ""), "no o= line"],
    ["no s=", session.replace("s=-\r\n", ""), "no s= line"],
    ["no t=", session.replace("t=0 0\r\n", ""), "no t= line"],
    ["bad t=", session.replace("t=0 0", "t=now"), "t= line"],
    ["not a line", session + "hello\r\n", "is not a <type>=<value> line"],
    ["upper-case type", session + "M=audio 1 RTP/AVP 0\r\n", "is not a <type>=<value> line"],
    ["o= too short", session.replace("o=- 1 1 IN IP4 192.0.2.1", "o=1 IN IP4 x"), "o= line needs"],
    ["o= bad version", session.replace("o=- 1 1 IN", "o=- 1 x IN"), "session version"],
    ["o= bad address type", session.replace("o=- 1 1 IN IP4", "o=- 1 1 IN IPX"), "address type"],
    ["bad c=", session.replace("c=IN IP4", "c=IN IP9"), "c= line"],
    ["m= without formats", session + "m=audio 4000 RTP/AVP\r\n", "m= line needs"],
    ["m= port not a number", session + "m=audio x RTP/AVP 0\r\n", "m= line needs"],
    ["m= port too large", session + "m=audio 70000 RTP/AVP 0\r\n", "out of range"],
    ["m= RTP format not a number", session + "m=audio 4000 RTP/AVP PCMU\r\n", "payload type numbers"],
    ["m= RTP format above 127", session + "m=audio 4000 RTP/AVP 128\r\n", "payload type numbers"],
    [
      "no connection anywhere",
      session.replace("c=IN IP4 192.0.2.1\r\n", "") + "m=audio 4000 RTP/AVP 0\r\n",
      "without c="
    ]
  ]

  for (const [name, text, reason] of rejected) {
    it(`rejects: ${name}`, () => {
      const result = parse(text)
      expect(Result.isFailure(result) && result.failure._tag).toBe("SDPParseError")
      expect(Result.isFailure(result) && result.failure.reason).toContain(reason)
    })
  }

  it("reports the line of the problem", () => {
    const result = parse(session + "m=audio 4000 RTP/AVP\r\n")
    expect(Result.isFailure(result) && result.failure.line).toBe(6)
    expect(Result.isFailure(result) && result.failure.message).toBe(
      "m= line needs <media> <port> <proto> <format>... (SDP line 6)"
    )
  })

  it("accepts bare LF, blank lines, an empty s=, and port 0 streams without c=", () => {
    const lenient = "v=0\no=- 1 1 IN IP4 192.0.2.1\n\ns=\nt=0 0\nm=audio 0 RTP/AVP 0\nm=image 0 udptl t38\n"
    const sd = parseOk(lenient)
    expect(sd.sessionName).toBe("")
    expect(sd.media.map((m) => [m.kind, m.port, m.connection])).toEqual([
      ["audio", 0, undefined],
      ["image", 0, undefined]
    ])
    expect(sd.media[1]?.payloads).toEqual([])
    expect(sd.media[1]?.formats).toEqual(["t38"])
  })

  it("accepts UTF-8 bytes", () => {
    const sd = parseOk(new TextEncoder().encode(session.replace("s=-", "s=Café")))
    expect(sd.sessionName).toBe("Café")
  })

  it.effect("parseEffect fails in the error channel", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parseEffect("v=0\r\n"))
      expect(error._tag).toBe("SDPParseError")
      const sd = yield* parseEffect(session)
      expect(sd.origin.address).toBe("192.0.2.1")
    }))
})

describe("parse: properties", () => {
  const sdpLine = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(
      "v=0",
      "o=- 1 2 IN IP4 192.0.2.1",
      "o=-1 2 IN IP6 ::1",
      "s=-",
      "s=",
      "t=0 0",
      "c=IN IP4 192.0.2.1",
      "c=IN IP6 ::",
      "m=audio 4000 RTP/AVP 0 8 101",
      "m=video 0 RTP/AVP 31",
      "m=audio 5/2 RTP/AVP 96",
      "m=image 4002 udptl t38",
      "a=rtpmap:101 telephone-event/8000",
      "a=rtpmap:96 opus/48000/2",
      "a=rtpmap:96 PCMU/",
      "a=rtpmap:8 123/8000",
      "a=fmtp:101 0-16",
      "a=fmtp:101 15",
      "a=ptime:20",
      "a=ptime:",
      "a=rtcp:4001",
      "a=rtcp-mux",
      "a=sendonly",
      "a=inactive"
    ) },
    { weight: 1, arbitrary: fc.string().map((s) => s.replace(/[\r\n]/g, "")) },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.constantFrom("a=", "m=", "o=", "c=", "t=", "b=", "k="), fc.string())
        .map(([type, value]) => type + value.replace(/[\r\n]/g, ""))
    }
  )

  it("never throws on arbitrary text and returns a Result", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const result = parse(text)
        expect(Result.isSuccess(result) || Result.isFailure(result)).toBe(true)
      })
    )
  })

  it("round-trips whatever it accepts among SDP-shaped bodies", () => {
    let acceptedWithMedia = 0
    fc.assert(
      fc.property(fc.array(sdpLine, { maxLength: 14 }), fc.constantFrom("\r\n", "\n"), (lines, eol) => {
        const text = ["v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", ...lines].join(eol)
        const result = parse(text)
        if (Result.isFailure(result)) {
          expect(result.failure.reason.length).toBeGreaterThan(0)
          return
        }
        if (result.success.media.length > 0) acceptedWithMedia++
        const again = parse(serialize(result.success))
        expect(Result.isSuccess(again) && viewOf(again.success)).toEqual(viewOf(result.success))
      }),
      { numRuns: 2000 }
    )
    // The generator is only useful if many bodies get through to serialize.
    expect(acceptedWithMedia).toBeGreaterThan(200)
  })
})
