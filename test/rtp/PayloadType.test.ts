import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { DynamicPayloadType, PayloadType, RTPProtocol, TransmitType } from "../../src/rtp/PayloadType.ts"

// RFC 3551 §6, Tables 4 and 5: number, encoding name, clock rate, channels (0 for video).
const rfc3551: ReadonlyArray<readonly [number, string, number, number]> = [
  [0, "PCMU", 8000, 1],
  [3, "GSM", 8000, 1],
  [4, "G723", 8000, 1],
  [5, "DVI4", 8000, 1],
  [6, "DVI4", 16000, 1],
  [7, "LPC", 8000, 1],
  [8, "PCMA", 8000, 1],
  [9, "G722", 8000, 1],
  [10, "L16", 44100, 2],
  [11, "L16", 44100, 1],
  [12, "QCELP", 8000, 1],
  [13, "CN", 8000, 1],
  [14, "MPA", 90000, 1],
  [15, "G728", 8000, 1],
  [16, "DVI4", 11025, 1],
  [17, "DVI4", 22050, 1],
  [18, "G729", 8000, 1],
  [25, "CelB", 90000, 0],
  [26, "JPEG", 90000, 0],
  [28, "nv", 90000, 0],
  [31, "H261", 90000, 0],
  [32, "MPV", 90000, 0],
  [33, "MP2T", 90000, 0],
  [34, "H263", 90000, 0]
]

describe("PayloadType", () => {
  it("holds the whole RFC 3551 static table", () => {
    for (const [number, encoding, rate, channels] of rfc3551) {
      const pt = PayloadType.fromNumber(number)
      expect(pt, `payload ${number}`).toBeDefined()
      expect(pt?.value).toBe(number)
      expect(pt?.description).toBe(encoding)
      expect(pt?.rate).toBe(rate)
      expect(pt?.channels).toBe(channels)
      expect(pt?.kind).toBe(number >= 24 ? "video" : "audio")
    }
    const staticCount = PayloadType.all.filter((pt) => pt.value !== "dynamic").length
    expect(staticCount).toBe(rfc3551.length)
  })

  it("has no entry for unassigned, dynamic or out-of-range numbers", () => {
    for (const n of [1, 2, 19, 24, 27, 35, 96, 101, 127, 128, -1, 0.5]) {
      expect(PayloadType.fromNumber(n)).toBeUndefined()
    }
  })

  it("prints its encoding name like pyVoIP's str(pt) and keeps the member name", () => {
    expect(String(PayloadType.PCMU)).toBe("PCMU")
    expect(`${PayloadType.EVENT}`).toBe("telephone-event")
    expect(PayloadType.DVI4_16000.name).toBe("DVI4_16000")
    expect(String(PayloadType.DVI4_16000)).toBe("DVI4")
    for (const [key, pt] of Object.entries(PayloadType)) {
      if (typeof pt === "object" && "name" in pt) expect(pt.name).toBe(key)
    }
  })

  it("finds a payload type from an rtpmap encoding, case-insensitively", () => {
    expect(PayloadType.fromEncoding("PCMU", 8000)).toBe(PayloadType.PCMU)
    expect(PayloadType.fromEncoding("pcma", 8000, 1)).toBe(PayloadType.PCMA)
    expect(PayloadType.fromEncoding("telephone-event", 8000)).toBe(PayloadType.EVENT)
    expect(PayloadType.fromEncoding("DVI4", 22050)).toBe(PayloadType.DVI4_22050)
    expect(PayloadType.fromEncoding("L16", 44100, 2)).toBe(PayloadType.L16_2)
    expect(PayloadType.fromEncoding("L16", 44100)).toBe(PayloadType.L16)
    expect(PayloadType.fromEncoding("H263", 90000)).toBe(PayloadType.H263)
    expect(PayloadType.fromEncoding("PCMU", 16000)).toBeUndefined()
    expect(PayloadType.fromEncoding("opus", 48000, 2)).toBeUndefined()
    expect(PayloadType.fromEncoding("telephone-event", 48000)).toBeUndefined()
  })

  it("describes dynamic types outside the table and matches formats by encoding, rate and channels", () => {
    const opus = PayloadType.dynamic("opus", 48000, 2)
    expect([opus.name, opus.value, String(opus), opus.rate, opus.channels, opus.kind])
      .toEqual(["OPUS", "dynamic", "opus", 48000, 2, "audio"])
    expect(PayloadType.dynamic("VP8", 90000, 2, "video").channels).toBe(0)
    expect(PayloadType.equivalent(PayloadType.dynamic("OPUS", 48000, 2), opus)).toBe(true)
    expect(PayloadType.equivalent(PayloadType.dynamic("opus", 48000, 1), opus)).toBe(false)
    expect(PayloadType.equivalent(PayloadType.dynamic("pcmu", 8000), PayloadType.PCMU)).toBe(true)
    expect(PayloadType.equivalent(PayloadType.DVI4_8000, PayloadType.DVI4_16000)).toBe(false)
    expect(PayloadType.equivalent(PayloadType.dynamic("telephone-event", 8000), PayloadType.EVENT)).toBe(true)
  })

  it("gives static numbers and refuses dynamic ones (Result form)", () => {
    expect(PayloadType.toNumberResult(PayloadType.G729)).toEqual(Result.succeed(18))
    const dynamic = PayloadType.toNumberResult(PayloadType.EVENT)
    expect(Result.isFailure(dynamic) && dynamic.failure._tag).toBe("DynamicPayloadType")
  })

  it.effect("gives static numbers and refuses dynamic ones (Effect form)", () =>
    Effect.gen(function*() {
      expect(yield* PayloadType.toNumber(PayloadType.PCMA)).toBe(8)
      const error = yield* Effect.flip(PayloadType.toNumber(PayloadType.EVENT))
      expect(error).toBeInstanceOf(DynamicPayloadType)
      expect(error.message).toBe("the payload type telephone-event is dynamic: its number comes from the SDP")
    }))
})

describe("RTPProtocol", () => {
  it("has pyVoIP's values and reads m= line protocols", () => {
    expect([RTPProtocol.UDP, RTPProtocol.AVP, RTPProtocol.SAVP]).toEqual(["udp", "RTP/AVP", "RTP/SAVP"])
    expect(RTPProtocol.fromString("RTP/AVP")).toBe(RTPProtocol.AVP)
    expect(RTPProtocol.fromString("UDP")).toBe(RTPProtocol.UDP)
    expect(RTPProtocol.fromString("UDP/TLS/RTP/SAVPF")).toBeUndefined()
  })
})

describe("TransmitType", () => {
  it("has pyVoIP's values and reads direction attributes", () => {
    expect([TransmitType.RECVONLY, TransmitType.SENDRECV, TransmitType.SENDONLY, TransmitType.INACTIVE])
      .toEqual(["recvonly", "sendrecv", "sendonly", "inactive"])
    expect(TransmitType.fromString("sendonly")).toBe(TransmitType.SENDONLY)
    expect(TransmitType.fromString("SendRecv")).toBe(TransmitType.SENDRECV)
    expect(TransmitType.fromString("rtcp-mux")).toBeUndefined()
  })

  it("mirrors an offered direction as RFC 3264 §6.1 answers it", () => {
    expect(TransmitType.mirror(TransmitType.SENDONLY)).toBe(TransmitType.RECVONLY)
    expect(TransmitType.mirror(TransmitType.RECVONLY)).toBe(TransmitType.SENDONLY)
    expect(TransmitType.mirror(TransmitType.SENDRECV)).toBe(TransmitType.SENDRECV)
    expect(TransmitType.mirror(TransmitType.INACTIVE)).toBe(TransmitType.INACTIVE)
  })
})
