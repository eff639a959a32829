import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import * as Rtcp from "../../src/rtp/Rtcp.ts"
import { readVectorJson } from "../support/vectors.ts"

interface VectorBlock {
  readonly ssrc: number
  readonly fraction_lost: number
  readonly cumulative_lost: number
  readonly ext_highest_seq: number
  readonly jitter: number
  readonly lsr: number
  readonly dlsr: number
}
interface VectorPacket {
  readonly type: "SR" | "RR" | "SDES" | "BYE"
  readonly ssrc?: number
  readonly ntp_msw?: number
  readonly ntp_lsw?: number
  readonly rtp_timestamp?: number
  readonly sender_packet_count?: number
  readonly sender_octet_count?: number
  readonly reports?: ReadonlyArray<VectorBlock>
  readonly chunks?: ReadonlyArray<{ readonly ssrc: number; readonly items: ReadonlyArray<{ readonly type: number; readonly text: string }> }>
  readonly sources?: ReadonlyArray<number>
  readonly reason?: string
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const { packets: vectors } = readVectorJson<{
  packets: ReadonlyArray<{ readonly id: string; readonly hex: string; readonly packets: ReadonlyArray<VectorPacket> }>
}>("rtp", "rtcp_packets.json")

const block = (b: VectorBlock): Rtcp.ReportBlock => ({
  ssrc: b.ssrc,
  fractionLost: b.fraction_lost,
  cumulativeLost: b.cumulative_lost,
  extendedHighestSequence: b.ext_highest_seq,
  jitter: b.jitter,
  lastSenderReport: b.lsr,
  delaySinceLastSenderReport: b.dlsr
})

const expectedPacket = (p: VectorPacket): Rtcp.RtcpPacket => {
  switch (p.type) {
    case "SR":
      return {
        _tag: "SR",
        ssrc: p.ssrc!,
        ntpSeconds: p.ntp_msw!,
        ntpFraction: p.ntp_lsw!,
        rtpTimestamp: p.rtp_timestamp!,
        packetCount: p.sender_packet_count!,
        octetCount: p.sender_octet_count!,
        reports: p.reports!.map(block),
        extension: new Uint8Array(0)
      }
    case "RR":
      return { _tag: "RR", ssrc: p.ssrc!, reports: p.reports!.map(block), extension: new Uint8Array(0) }
    case "SDES":
      return { _tag: "SDES", chunks: p.chunks! }
    case "BYE":
      return { _tag: "BYE", sources: p.sources!, reason: p.reason }
  }
}

const parseOk = (bytes: Uint8Array) => Result.getOrThrow(Rtcp.parseResult(bytes))
const failure = (bytes: Uint8Array): Rtcp.RTCPParseError => {
  const result = Rtcp.parseResult(bytes)
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

describe("RTCP packets", () => {
  for (const vector of vectors) {
    it(`vector ${vector.id}: parses to the listed packets and serializes back to the same octets`, () => {
      const parsed = parseOk(fromHex(vector.hex))
      expect(parsed).toEqual(vector.packets.map(expectedPacket))
      expect(toHex(Rtcp.serializeCompound(parsed))).toBe(vector.hex)
    })
  }

  it("rejects bad versions, lengths, padding and truncated bodies", () => {
    expect(failure(new Uint8Array(0)).reason).toBe("empty datagram")
    expect(failure(fromHex("40c90001deadbeef")).message).toBe("invalid RTCP packet: version 1, expected 2 (at octet 0)")
    expect(failure(fromHex("80c90002deadbeef")).reason).toBe("length field says 12 octets, 8 remain")
    expect(failure(fromHex("80c90001deadbeef00")).reason).toBe("1 trailing octets after the last packet")
    expect(failure(fromHex("81c90001deadbeef")).reason).toBe("RR with 1 report blocks needs 28 octets, has 4")
    expect(failure(fromHex("a0c90001deadbeef80c90001deadbeef")).reason).toBe("padding on a packet that is not the last")
    expect(failure(fromHex("a0c90002deadbeef00000000")).reason).toBe("padding count 0 does not fit")
    expect(failure(fromHex("a0c90002deadbeef0000000c")).reason).toBe("padding count 12 does not fit")
    expect(failure(fromHex("81ca0002deadbeef0105ab00")).reason).toBe("SDES item 1 overruns the packet")
    expect(failure(fromHex("81cb0000")).reason).toBe("BYE for 1 sources needs 4 octets")
    expect(failure(fromHex("81cb0002deadbeef09616263")).reason).toBe("BYE reason overruns the packet")
  })

  it("strips valid padding on the last packet and keeps unknown packet types whole", () => {
    expect(parseOk(fromHex("a0c90002deadbeef00000004"))).toEqual([
      { _tag: "RR", ssrc: 0xdeadbeef, reports: [], extension: new Uint8Array(0) }
    ])
    const app = parseOk(fromHex("85cc00020000000161626364"))
    expect(app).toEqual([{ _tag: "Other", packetType: 204, count: 5, body: fromHex("0000000161626364") }])
  })

  it.effect("parse is the Effect form", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Rtcp.parse(fromHex("80")))
      expect(error._tag).toBe("RTCPParseError")
      expect(yield* Rtcp.parse(fromHex(vectors[0]!.hex))).toHaveLength(3)
    }))

  const u32 = fc.nat({ max: 0xffffffff })
  const reportBlock = fc.record({
    ssrc: u32,
    fractionLost: fc.integer({ min: 0, max: 255 }),
    cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
    extendedHighestSequence: u32,
    jitter: u32,
    lastSenderReport: u32,
    delaySinceLastSenderReport: u32
  })
  const words = fc.integer({ min: 0, max: 3 }).map((n) => new Uint8Array(4 * n).fill(7))
  const text = fc.string({ maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 255 && !s.includes("\uFFFD"))
  const rtcpPacket: fc.Arbitrary<Rtcp.RtcpPacket> = fc.oneof(
    fc.record({
      _tag: fc.constant("SR" as const),
      ssrc: u32,
      ntpSeconds: u32,
      ntpFraction: u32,
      rtpTimestamp: u32,
      packetCount: u32,
      octetCount: u32,
      reports: fc.array(reportBlock, { maxLength: 4 }),
      extension: words
    }),
    fc.record({ _tag: fc.constant("RR" as const), ssrc: u32, reports: fc.array(reportBlock, { maxLength: 4 }), extension: words }),
    fc.record({
      _tag: fc.constant("SDES" as const),
      chunks: fc.array(
        fc.record({ ssrc: u32, items: fc.array(fc.record({ type: fc.integer({ min: 1, max: 8 }), text }), { maxLength: 3 }) }),
        { maxLength: 3 }
      )
    }),
    fc.record({
      _tag: fc.constant("BYE" as const),
      sources: fc.array(u32, { maxLength: 4 }),
      reason: fc.option(text, { nil: undefined })
    }),
    fc.record({
      _tag: fc.constant("Other" as const),
      packetType: fc.integer({ min: 204, max: 207 }),
      count: fc.integer({ min: 0, max: 31 }),
      body: words
    })
  )

  it("property: serialize then parse gives the packets back", () => {
    fc.assert(fc.property(fc.array(rtcpPacket, { minLength: 1, maxLength: 5 }), (packets) => {
      const bytes = Rtcp.serializeCompound(packets)
      expect(bytes.length % 4).toBe(0)
      expect(parseOk(bytes)).toEqual(packets)
    }))
  })

  it("property: arbitrary bytes give a Result and never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      const result = Rtcp.parseResult(bytes)
      expect(Result.isSuccess(result) || result.failure._tag === "RTCPParseError").toBe(true)
    }), { numRuns: 5000 })
    // Mostly-valid headers reach the body parsers.
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 120 }), fc.integer({ min: 200, max: 204 }), (bytes, type) => {
      bytes[0] = 0x80 | (bytes[0]! & 0x3f)
      bytes[1] = type
      bytes[2] = 0
      bytes[3] = Math.floor(bytes.length / 4) - 1
      const result = Rtcp.parseResult(bytes)
      expect(Result.isSuccess(result) || result.failure._tag === "RTCPParseError").toBe(true)
    }), { numRuns: 5000 })
  })
})

describe("RTCP reception statistics (RFC 3550 appendix A)", () => {
  it("A.1: a source is valid after two packets in sequence; then counts from the second", () => {
    const stats = new Rtcp.ReceptionStatistics(1, 8000)
    expect(stats.receive(1000, 0, 0)).toBe(false)
    expect(stats.valid).toBe(false)
    expect(stats.receive(1001, 160, 0.02)).toBe(true)
    expect(stats.valid).toBe(true)
    expect(stats.received).toBe(1)
    expect(stats.extendedHighestSequence).toBe(1001)
  })

  it("A.3: cumulative and fractional loss over report intervals", () => {
    const stats = new Rtcp.ReceptionStatistics(0x11223344, 8000)
    const lost = new Set([1010, 1011, 1020, 1030, 1031, 1032, 1040, 1050, 1060, 1061, 1062, 1063, 1070, 1071, 1080, 1081, 1090, 1091, 1095, 1099])
    for (let seq = 1000; seq <= 1100; seq++) if (!lost.has(seq)) stats.receive(seq, seq * 160, seq * 0.02)
    // Valid from 1001: expected 1100 - 1001 + 1 = 100, received 80.
    expect(stats.reportBlock(30)).toMatchObject({ ssrc: 0x11223344, cumulativeLost: 20, fractionLost: 51, extendedHighestSequence: 1100 })
    for (let seq = 1101; seq <= 1200; seq++) stats.receive(seq, seq * 160, seq * 0.02)
    expect(stats.reportBlock(35)).toMatchObject({ cumulativeLost: 20, fractionLost: 0, extendedHighestSequence: 1200 })
  })

  it("A.1: counts sequence cycles across 65535 → 0", () => {
    const stats = new Rtcp.ReceptionStatistics(1, 8000)
    for (const seq of [65533, 65534, 65535, 0, 1]) stats.receive(seq, 0, 0)
    expect(stats.extendedHighestSequence).toBe(65536 + 1)
    expect(stats.reportBlock(0).cumulativeLost).toBe(0)
  })

  it("duplicates make the cumulative loss negative, carried as signed 24 bits", () => {
    const stats = new Rtcp.ReceptionStatistics(1, 8000)
    for (const seq of [10, 11, 12, 12, 13]) stats.receive(seq, 0, 0)
    const report = stats.reportBlock(0)
    expect(report.cumulativeLost).toBe(-1)
    const [parsed] = parseOk(Rtcp.serialize({ _tag: "RR", ssrc: 9, reports: [report], extension: new Uint8Array(0) }))
    expect(parsed).toMatchObject({ reports: [{ cumulativeLost: -1 }] })
  })

  it("A.1: a large jump is confirmed by the next packet in sequence (sender restart)", () => {
    const stats = new Rtcp.ReceptionStatistics(1, 8000)
    for (const seq of [100, 101, 102]) stats.receive(seq, 0, 0)
    expect(stats.receive(40000, 0, 0)).toBe(false)
    expect(stats.receive(40001, 0, 0)).toBe(true)
    expect(stats.received).toBe(1)
    expect(stats.extendedHighestSequence).toBe(40001)
  })

  it("A.8: interarrival jitter, hand-computed", () => {
    const steady = new Rtcp.ReceptionStatistics(1, 8000)
    for (let i = 0; i < 50; i++) steady.receive(i, 2 ** 32 - 800 + 160 * i, 7 + 0.02 * i)
    expect(steady.jitter).toBeCloseTo(0, 9)
    // Every other packet 10 ms late: |D| = 80 units each time, J = 80 (1 - (15/16)^k) after k differences.
    const bumpy = new Rtcp.ReceptionStatistics(1, 8000)
    const arrival = (i: number) => 0.02 * i + (i % 2 === 1 ? 0.01 : 0)
    bumpy.receive(0, 0, arrival(0))
    bumpy.receive(1, 160, arrival(1))
    bumpy.receive(2, 320, arrival(2))
    expect(bumpy.jitter).toBeCloseTo(5, 9)
    bumpy.receive(3, 480, arrival(3))
    expect(bumpy.jitter).toBeCloseTo(80 * (1 - (15 / 16) ** 2), 9)
    expect(bumpy.reportBlock(1).jitter).toBe(9)
  })

  it("RFC 4733 event packets (untimed) count for loss, not for jitter", () => {
    // 30 packets 20 ms apart; 10 to 19 are an event's, all stamped with its start
    const timestamp = (i: number) => (i >= 10 && i < 20 ? 1600 : 160 * i)
    const untimed = new Rtcp.ReceptionStatistics(1, 8000)
    const timed = new Rtcp.ReceptionStatistics(1, 8000)
    for (let i = 0; i < 30; i++) {
      untimed.receive(i, timestamp(i), 0.02 * i, i < 10 || i >= 20)
      timed.receive(i, timestamp(i), 0.02 * i)
    }
    expect(untimed.jitter).toBeCloseTo(0, 9)
    expect(timed.jitter).toBeGreaterThan(50)
    expect(untimed.received).toBe(timed.received)
    expect(untimed.extendedHighestSequence).toBe(29)
    expect(untimed.cumulativeLost).toBe(timed.cumulativeLost)
  })

  it("LSR / DLSR from a received SR, and the sender's round-trip time from them", () => {
    const stats = new Rtcp.ReceptionStatistics(1, 8000)
    stats.receive(1, 0, 0)
    stats.receive(2, 160, 0.02)
    const srTime = { seconds: 0xe6a1b2c3, fraction: 0x80000000 }
    stats.senderReport(srTime, 10)
    const report = stats.reportBlock(11.5)
    expect(report.lastSenderReport).toBe(0xb2c38000)
    expect(report.delaySinceLastSenderReport).toBe(98304)
    // Our SR left at srTime; the report comes back 1.5 s (DLSR) + 0.25 s (network) later.
    const arrival = { seconds: 0xe6a1b2c3 + 2, fraction: 0x40000000 }
    expect(Rtcp.roundTripSeconds(report, arrival)).toBe(0.25)
    expect(Rtcp.roundTripSeconds({ ...report, lastSenderReport: 0 }, arrival)).toBeUndefined()
    expect(new Rtcp.ReceptionStatistics(2, 8000).reportBlock(1)).toMatchObject({ lastSenderReport: 0, delaySinceLastSenderReport: 0 })
  })

  it("NTP time from the Unix clock", () => {
    expect(Rtcp.ntpFromUnixMillis(0)).toEqual({ seconds: 2_208_988_800, fraction: 0 })
    expect(Rtcp.ntpFromUnixMillis(1500)).toEqual({ seconds: 2_208_988_801, fraction: 2 ** 31 })
    expect(Rtcp.ntpMiddle32(Rtcp.ntpFromUnixMillis(1500))).toBe(((2_208_988_801 & 0xffff) << 16 | 0x8000) >>> 0)
  })
})

describe("RTCP transmission interval (A.7)", () => {
  const twoParty = { members: 2, senders: 2, rtcpBandwidth: 500, weSent: true, averageRtcpSize: 100, initial: false }

  it("is at least 5 s (2.5 s initially), times [0.5, 1.5), over e - 3/2", () => {
    expect(Rtcp.rtcpInterval(twoParty, 0)).toBeCloseTo(2.5 / 1.21828, 4)
    expect(Rtcp.rtcpInterval(twoParty, 0.5)).toBeCloseTo(5 / 1.21828, 4)
    expect(Rtcp.rtcpInterval(twoParty, 0.999999)).toBeCloseTo(7.5 / 1.21828, 4)
    expect(Rtcp.rtcpInterval({ ...twoParty, initial: true }, 0.5)).toBeCloseTo(2.5 / 1.21828, 4)
  })

  it("scales with members, splitting the bandwidth when senders are under a quarter", () => {
    const large = { members: 1000, senders: 1, rtcpBandwidth: 500, weSent: false, averageRtcpSize: 100, initial: false }
    // Receivers share 75 %: 100 × 999 / 375 s.
    expect(Rtcp.rtcpInterval(large, 0.5)).toBeCloseTo((100 * 999) / 375 / 1.21828, 6)
    // The one sender gets 25 % to itself: 100 × 1 / 125 = 0.8 s, raised to the 5 s minimum.
    expect(Rtcp.rtcpInterval({ ...large, weSent: true }, 0.5)).toBeCloseTo(5 / 1.21828, 6)
    // Many senders: everyone shares the whole bandwidth: 100 × 1000 / 500 s.
    expect(Rtcp.rtcpInterval({ ...large, senders: 600 }, 0.5)).toBeCloseTo(200 / 1.21828, 6)
  })

  it("averages packet sizes with weight 1/16", () => {
    expect(Rtcp.updateAverageRtcpSize(100, 200)).toBe(106.25)
  })
})
