import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import * as PCMA from "../../src/rtp/PCMA.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import * as RTPMessage from "../../src/rtp/RTPMessage.ts"
import { readVectorJson } from "../support/vectors.ts"

interface PacketVector {
  readonly id: string
  readonly hex: string
  readonly expect: "valid" | "invalid-version"
  readonly decoded: {
    readonly padding: boolean
    readonly extension: boolean
    readonly csrc_count: number
    readonly marker: boolean
    readonly payload_type: number
    readonly sequence_number: number
    readonly timestamp: number
    readonly ssrc: number
    readonly csrc: ReadonlyArray<number>
    readonly header_extension: { readonly profile: number; readonly length_words: number; readonly data_hex: string } | null
    readonly payload_hex: string
    readonly padding_octets: number
  }
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const { packets } = readVectorJson<{ packets: ReadonlyArray<PacketVector> }>("rtp", "rtp_packets.json")
const toneSamples = Int16Array.from({ length: 160 }, (_, n) => Math.round(10000 * Math.sin((2 * Math.PI * 1000 * n) / 8000)))

const failureReason = (bytes: Uint8Array): string => {
  const result = RTPMessage.parseResult(bytes)
  if (Result.isSuccess(result)) throw new Error("expected a parse failure")
  return result.failure.reason
}

describe("RTPMessage", () => {
  for (const vector of packets) {
    it(`vector ${vector.id}`, () => {
      const bytes = fromHex(vector.hex)
      const result = RTPMessage.parseResult(bytes)
      if (vector.expect === "invalid-version") {
        expect(Result.isFailure(result)).toBe(true)
        expect(failureReason(bytes)).toContain("version 0")
        return
      }
      const message = Result.getOrThrow(result)
      const expected = vector.decoded
      expect({
        padding: message.padding,
        extension: message.extension,
        csrcCount: message.csrcCount,
        marker: message.marker,
        payloadTypeNumber: message.payloadTypeNumber,
        sequence: message.sequence,
        timestamp: message.timestamp,
        ssrc: message.ssrc,
        csrc: message.csrc,
        payload: toHex(message.payload),
        paddingLength: message.paddingLength,
        extensionProfile: message.headerExtension?.profile,
        extensionData: message.headerExtension === undefined ? undefined : toHex(message.headerExtension.data)
      }).toEqual({
        padding: expected.padding,
        extension: expected.extension,
        csrcCount: expected.csrc_count,
        marker: expected.marker,
        payloadTypeNumber: expected.payload_type,
        sequence: expected.sequence_number,
        timestamp: expected.timestamp,
        ssrc: expected.ssrc,
        csrc: expected.csrc,
        payload: expected.payload_hex,
        paddingLength: expected.padding_octets,
        extensionProfile: expected.header_extension?.profile,
        extensionData: expected.header_extension?.data_hex
      })
      expect(message.payload.buffer).toBe(bytes.buffer)
      expect(message.raw).toBe(bytes)
      expect(toHex(RTPMessage.serialize(message))).toBe(vector.hex)
    })
  }

  it("the G.711 vector payloads are our encoder's output for the 1 kHz tone", () => {
    const pcmu = Result.getOrThrow(RTPMessage.parseResult(fromHex(packets.find((p) => p.id === "constructed-pcmu-20ms")!.hex)))
    const pcma = Result.getOrThrow(RTPMessage.parseResult(fromHex(packets.find((p) => p.id === "constructed-pcma-20ms")!.hex)))
    expect(pcmu.payloadType).toBe(PayloadType.PCMU)
    expect(pcma.payloadType).toBe(PayloadType.PCMA)
    // audioop made these; the tone has no sample on a G.191/audioop decision boundary.
    expect(pcmu.payload).toEqual(PCMU.encode(toneSamples))
    expect(pcma.payload).toEqual(PCMA.encode(toneSamples))
  })

  it("resolves payload types through the association, then the static table, else keeps the number", () => {
    const bytes = fromHex(packets.find((p) => p.id === "pion-rtp-basic-ext")!.hex)
    expect(Result.getOrThrow(RTPMessage.parseResult(bytes)).payloadType).toBe(96)
    const association = RTPMessage.association([{ number: 96, type: PayloadType.EVENT }])
    const message = Result.getOrThrow(RTPMessage.parseResult(bytes, association))
    expect(message.payloadType).toBe(PayloadType.EVENT)
    expect(message.summary()).toBe(
      "Version: 2\nPadding: false\nExtension: true\nCC: 0\nMarker: true\nPayload Type: telephone-event (96)\n" +
        "Sequence Number: 27023\nTimestamp: 3653407706\nSSRC: 476325762\n"
    )
  })

  it("rejects short, truncated and badly padded packets with a reason", () => {
    expect(failureReason(new Uint8Array(11))).toContain("shorter than the 12-octet header")
    expect(failureReason(fromHex("82000001000000000000000100000001"))).toContain("CSRC count 2")
    expect(failureReason(fromHex("900000010000000000000001"))).toContain("no room for the extension header")
    expect(failureReason(fromHex("90000001000000000000000100010002ffffffff"))).toContain("overruns")
    expect(failureReason(fromHex("a0000001000000000000000100aa0000"))).toContain("padding count of 0")
    expect(failureReason(fromHex("a0000001000000000000000100aa0005"))).toContain("padding count 5 exceeds")
    // Padding that eats the whole payload is allowed (count = octets after the header).
    expect(Result.getOrThrow(RTPMessage.parseResult(fromHex("a0000001000000000000000100aa0004"))).payload).toHaveLength(0)
  })

  it.effect("parse is the Effect form and fails with RTPParseError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RTPMessage.parse(new Uint8Array(4)))
      expect(error._tag).toBe("RTPParseError")
      expect(error.message).toBe("invalid RTP packet: 4 octets is shorter than the 12-octet header")
      const message = yield* RTPMessage.parse(fromHex(packets[0]!.hex))
      expect(message.sequence).toBe(27023)
    }))

  it("writeHeader writes the fixed header in place, fields taken modulo their width", () => {
    const buffer = new Uint8Array(40).fill(0xee)
    const end = RTPMessage.writeHeader(buffer, 4, {
      marker: true,
      payloadType: 8,
      sequence: 65536 + 7,
      timestamp: 2 ** 32 + 160,
      ssrc: 0xdeadbeef,
      csrc: [1]
    })
    expect(end).toBe(4 + 16)
    expect(toHex(buffer.subarray(0, end + 1))).toBe("eeeeeeee" + "81880007" + "000000a0" + "deadbeef" + "00000001" + "ee")
  })

  it("pyVoIP helpers byteToBits and addBytes", () => {
    expect(RTPMessage.byteToBits(0x80)).toBe("10000000")
    expect(RTPMessage.byteToBits(5)).toBe("00000101")
    expect(RTPMessage.addBytes(Uint8Array.of(0x12, 0x34))).toBe(0x1234)
    expect(RTPMessage.addBytes(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff))).toBe(2 ** 40 - 1)
  })

  const arbitraryFields = fc.record({
    marker: fc.boolean(),
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequence: fc.integer({ min: 0, max: 0xffff }),
    timestamp: fc.nat({ max: 0xffffffff }),
    ssrc: fc.nat({ max: 0xffffffff }),
    csrc: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 15 }),
    headerExtension: fc.option(
      fc.record({ profile: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 12 }) }),
      { nil: undefined }
    ),
    payload: fc.uint8Array({ maxLength: 200 }),
    paddingLength: fc.integer({ min: 0, max: 255 })
  })

  it("property: encode then parse gives the fields back, and make agrees with parse", () => {
    fc.assert(fc.property(arbitraryFields, (fields) => {
      const bytes = RTPMessage.encode(fields)
      expect(bytes).toHaveLength(RTPMessage.encodedLength(fields))
      const message = Result.getOrThrow(RTPMessage.parseResult(bytes))
      expect(message.marker).toBe(fields.marker)
      expect(message.payloadTypeNumber).toBe(fields.payloadType)
      expect([message.sequence, message.timestamp, message.ssrc]).toEqual([fields.sequence, fields.timestamp, fields.ssrc])
      expect(message.csrc).toEqual(fields.csrc)
      expect(message.payload).toEqual(fields.payload)
      expect(message.paddingLength).toBe(fields.paddingLength)
      expect(message.headerExtension?.profile).toBe(fields.headerExtension?.profile)
      if (fields.headerExtension !== undefined) {
        const data = message.headerExtension!.data
        expect(data.length % 4).toBe(0)
        expect(data.subarray(0, fields.headerExtension.data.length)).toEqual(fields.headerExtension.data)
      }
      expect(RTPMessage.serialize(message)).toEqual(bytes)
      const made = RTPMessage.make(fields)
      expect(made.raw).toEqual(bytes)
      expect({ ...made, raw: undefined, payloadType: undefined }).toEqual({ ...message, raw: undefined, payloadType: undefined })
    }))
  })

  it("property: arbitrary bytes give a Result and never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const result = RTPMessage.parseResult(bytes)
      if (Result.isSuccess(result)) {
        const message = result.success
        expect(bytes[0]! >> 6).toBe(2)
        expect(message.payload.byteOffset + message.payload.length + message.paddingLength).toBe(bytes.byteOffset + bytes.length)
      } else {
        expect(result.failure._tag).toBe("RTPParseError")
      }
    }), { numRuns: 5000 })
  })

  it("property: every well-formed packet with the version bits forced to 2 parses", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 12, maxLength: 80 }), (bytes) => {
      bytes[0] = (bytes[0]! & 0x0f) | 0x80
      const csrcEnd = 12 + 4 * (bytes[0]! & 0x0f)
      expect(Result.isSuccess(RTPMessage.parseResult(bytes))).toBe(csrcEnd <= bytes.length)
    }))
  })
})
