import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { type PayloadMapping, PayloadType, type TransmitType } from "../../src/rtp/PayloadType.ts"
import {
  createAnswer,
  createAnswerEffect,
  createOffer,
  type LocalMedia,
  nextVersion,
  readAnswer,
  readAnswerEffect
} from "../../src/sdp/OfferAnswer.ts"
import { parse, type SessionDescription, serialize } from "../../src/sdp/Sdp.ts"
import { readVector, readVectorJson } from "../support/vectors.ts"

const parseOk = (text: string | Uint8Array): SessionDescription => {
  const result = parse(text)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}
const vector = (file: string): SessionDescription => parseOk(readVector("sdp", file))

const answerOk = (offer: SessionDescription, local: LocalMedia) => {
  const result = createAnswer(offer, local)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const local: LocalMedia = { address: "192.0.2.50", port: 50000, sessionId: 77n }

const offerText = (media: string, session = "c=IN IP4 198.51.100.7\r\n") =>
  `v=0\r\no=remote 10 10 IN IP4 198.51.100.7\r\ns=-\r\n${session}t=0 0\r\n${media}`

const mappingNames = (mappings: ReadonlyArray<PayloadMapping>) => mappings.map((m) => [m.number, m.type.name])

describe("createOffer", () => {
  it("offers PCMU, PCMA and telephone-event 101 by default, 20 ms, sendrecv", () => {
    const offer = createOffer({ address: "192.0.2.1", port: 40000, sessionId: 123n })
    expect(serialize(offer)).toBe(
      [
        "v=0",
        "o=- 123 123 IN IP4 192.0.2.1",
        "s=-",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "m=audio 40000 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
        ""
      ].join("\r\n")
    )
    const audio = offer.media[0]
    expect(audio?.payloads.map((p) => [p.number, p.type?.name])).toEqual([[0, "PCMU"], [8, "PCMA"], [101, "EVENT"]])
  })

  it("numbers dynamic codecs from 96, keeps given mappings, and writes channels", () => {
    const opus = PayloadType.dynamic("opus", 48000, 2)
    const ilbc = PayloadType.dynamic("iLBC", 8000)
    const offer = createOffer({
      ...local,
      codecs: [opus, { number: 101, type: ilbc }, PayloadType.PCMU, PayloadType.EVENT],
      direction: "sendonly",
      ptime: 30,
      username: "effect-voip",
      sessionName: "call"
    })
    const text = serialize(offer)
    expect(text).toContain("o=effect-voip 77 77 IN IP4 192.0.2.50\r\ns=call\r\n")
    expect(text).toContain("m=audio 50000 RTP/AVP 96 101 0 97\r\n")
    expect(text).toContain("a=rtpmap:96 opus/48000/2\r\n")
    expect(text).toContain("a=rtpmap:97 telephone-event/8000\r\na=fmtp:97 0-16\r\n")
    expect(text).toContain("a=ptime:30\r\na=sendonly\r\n")
    expect(parseOk(text).media[0]?.payloads.map((p) => p.type?.name)).toEqual(["OPUS", "ILBC", "PCMU", "EVENT"])
  })

  it("puts video codecs on their own m= line two ports up", () => {
    const offer = createOffer({ ...local, codecs: [PayloadType.PCMU, PayloadType.H261] })
    expect(offer.media.map((m) => `${m.kind} ${m.port} ${m.formats.join(" ")}`)).toEqual([
      "audio 50000 0",
      "video 50002 31"
    ])
    expect(offer.media[1]?.ptime).toBeUndefined()
  })

  it("writes IPv6 addresses as IP6", () => {
    const offer = createOffer({ ...local, address: "2001:db8::5" })
    expect(offer.origin.addressType).toBe("IP6")
    expect(serialize(offer)).toContain("c=IN IP6 2001:db8::5\r\n")
  })

  it("picks a random positive session id when none is given", () => {
    const a = createOffer({ address: "192.0.2.1", port: 4000 })
    const b = createOffer({ address: "192.0.2.1", port: 4000 })
    expect(a.origin.sessionId).toMatch(/^\d+$/)
    expect(a.origin.sessionId).not.toBe(b.origin.sessionId)
    expect(a.origin.sessionVersion).toBe(a.origin.sessionId)
  })
})

describe("nextVersion", () => {
  it("increments the version as RFC 4317 §2.2's second offer does", () => {
    const first = vector("rfc4317/2.2-offer.sdp")
    const second = vector("rfc4317/2.2-second-offer.sdp")
    expect(nextVersion(first).toString()).toBe(second.origin.sessionVersion)
  })

  it("gives a re-offer with the same session id and the next version, beyond 2^53", () => {
    const first = createOffer({ ...local, sessionId: 4611731400430051336n, sessionVersion: 9007199254740993n })
    const reOffer = createOffer({
      ...local,
      sessionId: BigInt(first.origin.sessionId),
      sessionVersion: nextVersion(first),
      direction: "sendonly"
    })
    expect(serialize(reOffer)).toContain("o=- 4611731400430051336 9007199254740994 IN IP4")
  })
})

describe("createAnswer", () => {
  it("answers the Avaya offer with the common codecs in the offerer's order and its DTMF number", () => {
    const offer = vector("real-world/sipsorcery-avaya-invite-offer.sdp")
    const { description, media } = answerOk(offer, local)
    const text = serialize(description)
    expect(text).toContain("m=audio 50000 RTP/AVP 8 0 101\r\n")
    expect(text).toContain("a=fmtp:101 0-15\r\n")
    expect(text).not.toContain("G729")
    expect(media).toHaveLength(1)
    const stream = media[0]
    expect(stream?.codec).toEqual({ number: 8, type: PayloadType.PCMA })
    expect(stream?.dtmf).toBe(101)
    expect(mappingNames(stream?.receive ?? [])).toEqual([[8, "PCMA"], [0, "PCMU"], [101, "EVENT"]])
    expect(stream).toMatchObject({
      mediaIndex: 0,
      kind: "audio",
      localPort: 50000,
      remoteAddressType: "IP4",
      remoteAddress: "10.1.1.241",
      remotePort: 20026,
      remoteRtcpPort: 20027,
      direction: "sendrecv",
      ptime: 20
    })
  })

  it("follows our codec list, not the offer's extras", () => {
    const offer = vector("real-world/sipsorcery-avaya-invite-offer.sdp")
    const { media } = answerOk(offer, { ...local, codecs: [PayloadType.PCMU] })
    expect(media[0]?.codec).toEqual({ number: 0, type: PayloadType.PCMU })
    expect(media[0]?.dtmf).toBeUndefined()
  })

  it("keeps the offer's telephone-event number and narrows its events to 0-16", () => {
    const cases: ReadonlyArray<readonly [string, string | undefined]> = [
      ["a=fmtp:96 0-15,66\r\n", "0-15"],
      ["a=fmtp:96 0-255\r\n", "0-16"],
      ["a=fmtp:96 0-11,16\r\n", "0-11,16"],
      ["", "0-15"],
      ["a=fmtp:96 66\r\n", undefined]
    ]
    for (const [fmtp, events] of cases) {
      const offer = parseOk(offerText(`m=audio 6000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n${fmtp}`))
      const { description, media } = answerOk(offer, local)
      const answered = description.media[0]
      if (events === undefined) {
        expect(answered?.formats, fmtp).toEqual(["0"])
        expect(media[0]?.dtmf).toBeUndefined()
      } else {
        expect(answered?.formats, fmtp).toEqual(["0", "96"])
        expect(answered?.payloads[1]?.fmtp, fmtp).toBe(events)
        expect(media[0]?.dtmf).toBe(96)
      }
    }
  })

  it("sends at the offerer's ptime", () => {
    const offer = parseOk(offerText("m=audio 6000 RTP/AVP 8\r\na=ptime:30\r\n"))
    expect(answerOk(offer, local).media[0]?.ptime).toBe(30)
  })

  it("mirrors the offered direction, narrowed by ours (RFC 3264 §6.1)", () => {
    const cases: ReadonlyArray<readonly [TransmitType, TransmitType, TransmitType]> = [
      ["sendrecv", "sendrecv", "sendrecv"],
      ["sendonly", "sendrecv", "recvonly"],
      ["recvonly", "sendrecv", "sendonly"],
      ["inactive", "sendrecv", "inactive"],
      ["sendrecv", "sendonly", "sendonly"],
      ["sendrecv", "recvonly", "recvonly"],
      ["sendonly", "sendonly", "inactive"],
      ["recvonly", "inactive", "inactive"]
    ]
    for (const [offered, ours, expected] of cases) {
      const offer = parseOk(offerText(`m=audio 6000 RTP/AVP 0\r\na=${offered}\r\n`))
      const { description, media } = answerOk(offer, { ...local, direction: ours })
      expect(description.media[0]?.direction, `${offered} / ${ours}`).toBe(expected)
      expect(serialize(description), `${offered} / ${ours}`).toContain(`a=${expected}\r\n`)
      expect(media[0]?.direction, `${offered} / ${ours}`).toBe(expected)
    }
  })

  it("applies a session-level direction of the offer", () => {
    const offer = parseOk(offerText("m=audio 6000 RTP/AVP 0\r\n", "c=IN IP4 198.51.100.7\r\na=sendonly\r\n"))
    expect(answerOk(offer, local).description.media[0]?.direction).toBe("recvonly")
  })

  it("recognises RFC 2543 hold (c=0.0.0.0): answers sendrecv but does not send", () => {
    const offer = parseOk(offerText("m=audio 6000 RTP/AVP 0\r\n", "c=IN IP4 0.0.0.0\r\n"))
    const { description, media } = answerOk(offer, local)
    expect(description.media[0]?.direction).toBe("sendrecv")
    expect(media[0]?.remoteAddress).toBe("0.0.0.0")
    expect(media[0]?.direction).toBe("recvonly")
  })

  it("rejects streams it cannot take with port 0 and keeps the m= line count", () => {
    const offer = parseOk(offerText(
      "m=audio 6000 RTP/SAVP 0\r\nm=image 6002 udptl t38\r\nm=audio 6004 RTP/AVP 8\r\nm=audio 0 RTP/AVP 0\r\n"
    ))
    const { description, media } = answerOk(offer, local)
    expect(description.media.map((m) => `${m.kind} ${m.port} ${m.transport} ${m.formats.join(" ")}`)).toEqual([
      "audio 0 RTP/SAVP 0",
      "image 0 udptl t38",
      "audio 50000 RTP/AVP 8",
      "audio 0 RTP/AVP 0"
    ])
    expect(media.map((m) => [m.mediaIndex, m.localPort])).toEqual([[2, 50000]])
    expect(Result.isSuccess(parse(serialize(description)))).toBe(true)
  })

  it("fails with NoCompatibleCodec when nothing matches (a UAS answers 488)", () => {
    const offer = parseOk(offerText("m=audio 6000 RTP/AVP 18 96\r\na=rtpmap:96 opus/48000/2\r\n"))
    const result = createAnswer(offer, local)
    expect(Result.isFailure(result) && result.failure._tag).toBe("NoCompatibleCodec")
    expect(Result.isFailure(result) && result.failure.message).toBe(
      "no offered codec is supported: offered G729/8000, opus/48000, " +
        "supported PCMU/8000, PCMA/8000, telephone-event/8000"
    )
  })

  it("does not take a stream whose only common codec is telephone-event", () => {
    const offer = parseOk(offerText("m=audio 6000 RTP/AVP 18 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
    expect(Result.isFailure(createAnswer(offer, local))).toBe(true)
  })

  it.effect("createAnswerEffect fails in the error channel", () =>
    Effect.gen(function*() {
      const offer = parseOk(offerText("m=audio 6000 RTP/AVP 18\r\n"))
      const error = yield* Effect.flip(createAnswerEffect(offer, local))
      expect(error._tag).toBe("NoCompatibleCodec")
      const answer = yield* createAnswerEffect(vector("rfc4317/4.2-offer.sdp"), local)
      expect(answer.media[0]?.codec.type).toBe(PayloadType.PCMU)
    }))
})

// RFC 4317: for each exchange, answer its offer with the answerer's codecs
// (the ones its answer uses) and compare with the RFC's answer.
describe("createAnswer against RFC 4317", () => {
  interface Entry {
    readonly file: string
    readonly section: string
    readonly step: string
  }
  const entries = readVectorJson<{ rfc4317: ReadonlyArray<Entry> }>("sdp", "index.json").rfc4317
  const exchanges = entries
    .filter((e) => e.step === "offer" || e.step === "second-offer")
    .map((offer) => ({
      name: `${offer.section} ${offer.step}`,
      offer: offer.file,
      answer: offer.file.replace("offer.sdp", "answer.sdp")
    }))

  // §3.1: Bob's first answer puts Alice on hold.
  const answererDirection: Readonly<Record<string, TransmitType>> = { "3.1 offer": "sendonly" }
  // §3.2's second answer repeats Alice's first description: its first stream,
  // offered sendonly with iLBC only, comes back sendrecv and with PCMU too.
  // RFC 3264 §6.1 wants recvonly (or inactive) and only offered formats; RFC
  // 4317 has no erratum for it. Our answer: recvonly, iLBC.
  const rfcDefects: Readonly<Record<string, ReadonlyArray<number>>> = { "3.2 second-offer": [0] }

  const codecsOf = (sd: SessionDescription): ReadonlyArray<PayloadType> => {
    const types: Array<PayloadType> = []
    for (const media of sd.media) {
      if (media.port === 0) continue
      for (const payload of media.payloads) {
        const type = payload.type
        if (type !== undefined && !types.some((t) => PayloadType.equivalent(t, type))) types.push(type)
      }
    }
    return types
  }

  it("covers the 16 sections' 27 exchanges", () => {
    expect(exchanges).toHaveLength(27)
  })

  for (const exchange of exchanges) {
    it(`§${exchange.name}: same streams, rejections, codecs and directions`, () => {
      const offer = vector(exchange.offer)
      const rfcAnswer = vector(exchange.answer)
      const [first, ...rest] = codecsOf(rfcAnswer)
      const ours = answerOk(offer, {
        ...local,
        ...(first === undefined ? {} : { codecs: [first, ...rest] }),
        direction: answererDirection[exchange.name] ?? "sendrecv"
      })
      const answer = ours.description
      expect(answer.media).toHaveLength(rfcAnswer.media.length)
      answer.media.forEach((media, i) => {
        const rfc = rfcAnswer.media[i]
        expect(media.port === 0, `m-line ${i} rejected`).toBe(rfc?.port === 0)
        if (media.port === 0) return
        const encodings = media.payloads.map((p) => p.encoding)
        const rfcEncodings = rfc?.payloads.map((p) => p.encoding)
        if (rfcDefects[exchange.name]?.includes(i) ?? false) {
          expect([rfc?.direction, rfcEncodings]).toEqual(["sendrecv", ["PCMU", "iLBC"]])
          expect([media.direction, encodings]).toEqual(["recvonly", ["iLBC"]])
          return
        }
        expect(encodings, `m-line ${i} codecs`).toEqual(rfcEncodings)
        expect(media.direction, `m-line ${i} direction`).toBe(rfc?.direction)
      })
      // Our answer read back by the offerer sets up the streams we negotiated.
      const seenByOfferer = readAnswer(offer, parseOk(serialize(answer)))
      expect(Result.isSuccess(seenByOfferer)).toBe(true)
      if (Result.isSuccess(seenByOfferer)) {
        expect(seenByOfferer.success.map((m) => [m.mediaIndex, m.codec.type.description, m.remotePort])).toEqual(
          ours.media.map((m) => [m.mediaIndex, m.codec.type.description, m.localPort])
        )
      }
    })
  }

  it("§2.3: answers iLBC with the offer's number 97 where the RFC's answer renumbers it 99", () => {
    const ours = answerOk(vector("rfc4317/2.3-offer.sdp"), { ...local, codecs: [PayloadType.dynamic("iLBC", 8000)] })
    expect(ours.description.media[0]?.formats).toEqual(["97"])
    expect(vector("rfc4317/2.3-answer.sdp").media[0]?.formats).toEqual(["99"])
  })

  it("§2.4: takes the telephone-event-only stream as its own receive-only stream", () => {
    const ours = answerOk(vector("rfc4317/2.4-offer.sdp"), {
      ...local,
      codecs: [PayloadType.dynamic("iLBC", 8000), PayloadType.EVENT]
    })
    expect(ours.media.map((m) => [m.localPort, m.codec.type.name, m.dtmf, m.direction])).toEqual([
      [50000, "ILBC", undefined, "sendrecv"],
      [50002, "EVENT", 98, "recvonly"]
    ])
  })

  it("§5.1: answers an offer without media with an answer without media", () => {
    const ours = answerOk(vector("rfc4317/5.1-offer.sdp"), local)
    expect(ours.description.media).toEqual([])
    expect(ours.media).toEqual([])
  })

  it("§5.2: does not send to the 0.0.0.0 of a 3pcc offer", () => {
    const ours = answerOk(vector("rfc4317/5.2-offer.sdp"), { ...local, codecs: [PayloadType.dynamic("iLBC", 8000)] })
    expect(ours.media[0]?.direction).toBe("recvonly")
  })
})

describe("readAnswer", () => {
  const offer = createOffer({ ...local, sessionId: 1n })
  const answerText = (media: string, connection = "198.51.100.9") =>
    `v=0\r\no=b 5 5 IN IP4 ${connection}\r\ns=-\r\nc=IN IP4 ${connection}\r\nt=0 0\r\n${media}`

  it("sends with the answer's numbers and receives with ours", () => {
    const answer = parseOk(answerText(
      "m=audio 7000 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\na=ptime:40\r\na=rtcp:7005\r\n"
    ))
    const result = readAnswer(offer, answer)
    expect(Result.isSuccess(result)).toBe(true)
    const stream = Result.isSuccess(result) ? result.success[0] : undefined
    expect(stream?.codec).toEqual({ number: 8, type: PayloadType.PCMA })
    expect(stream?.dtmf).toBe(96)
    expect(mappingNames(stream?.receive ?? [])).toEqual([[8, "PCMA"], [101, "EVENT"]])
    expect(stream).toMatchObject({
      localPort: 50000,
      remoteAddress: "198.51.100.9",
      remotePort: 7000,
      remoteRtcpPort: 7005,
      direction: "sendrecv",
      ptime: 40
    })
  })

  it("mirrors the answer's direction and honours 0.0.0.0", () => {
    const held = (media: string, connection?: string) => {
      const result = readAnswer(offer, parseOk(answerText(media, connection)))
      return Result.isSuccess(result) ? result.success[0]?.direction : undefined
    }
    expect(held("m=audio 7000 RTP/AVP 0\r\na=sendonly\r\n")).toBe("recvonly")
    expect(held("m=audio 7000 RTP/AVP 0\r\na=recvonly\r\n")).toBe("sendonly")
    expect(held("m=audio 7000 RTP/AVP 0\r\na=inactive\r\n")).toBe("inactive")
    expect(held("m=audio 7000 RTP/AVP 0\r\n", "0.0.0.0")).toBe("recvonly")
  })

  it("fails when the answer's m= lines do not match the offer's", () => {
    const result = readAnswer(offer, parseOk(answerText("m=audio 7000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n")))
    expect(Result.isFailure(result) && result.failure._tag).toBe("AnswerMismatch")
    expect(Result.isFailure(result) && result.failure.message).toBe("the answer has 2 m= lines for 1 offered streams")
  })

  it("fails when the answer rejects every stream or answers codecs we did not offer", () => {
    for (const media of ["m=audio 0 RTP/AVP 0\r\n", "m=audio 7000 RTP/AVP 18\r\n"]) {
      const result = readAnswer(offer, parseOk(answerText(media)))
      expect(Result.isFailure(result) && result.failure._tag, media).toBe("NoCompatibleCodec")
    }
  })

  it.effect("readAnswerEffect fails in the error channel", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(readAnswerEffect(offer, parseOk(answerText("m=audio 0 RTP/AVP 0\r\n"))))
      expect(error._tag).toBe("NoCompatibleCodec")
    }))
})
