import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import * as Dtmf from "../../src/rtp/Dtmf.ts"
import * as RTPMessage from "../../src/rtp/RTPMessage.ts"
import { readVectorJson } from "../support/vectors.ts"

interface EventVectors {
  readonly sequence: {
    readonly packets: ReadonlyArray<{ readonly hex: string; readonly payload_hex: string }>
  }
  readonly payloads: {
    readonly items: ReadonlyArray<
      { readonly event: number; readonly key: string; readonly end: boolean; readonly volume: number; readonly duration: number; readonly payload_hex: string }
    >
  }
  readonly edge_cases: {
    readonly items: ReadonlyArray<{
      readonly payload_hex: string
      readonly payload: { readonly event: number; readonly end: boolean; readonly reserved: number; readonly volume: number; readonly duration: number }
    }>
  }
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const vectors = readVectorJson<EventVectors>("rtp", "telephone_event.json")

const receiveAll = (packets: ReadonlyArray<Dtmf.TelephoneEventPacket>): Array<string> => {
  const receiver = new Dtmf.DtmfReceiver()
  return packets.flatMap((packet) => receiver.push(packet) ?? [])
}

describe("RFC 4733 telephone-event", () => {
  it("receives the vector digit 5 exactly once from its 7 packets", () => {
    const receiver = new Dtmf.DtmfReceiver()
    const results = vectors.sequence.packets.map((vector) =>
      receiver.push(Result.getOrThrow(RTPMessage.parseResult(fromHex(vector.hex))))
    )
    expect(results).toEqual(["5", undefined, undefined, undefined, undefined, undefined, undefined])
  })

  it("sends digit 5 exactly as the vector sequence (defaults: 100 ms, 20 ms packets, volume 10)", () => {
    const messages = vectors.sequence.packets.map((vector) => Result.getOrThrow(RTPMessage.parseResult(fromHex(vector.hex))))
    const packets = Dtmf.dtmfPackets("5", { startTimestamp: messages[0]!.timestamp })
    expect(packets.map((packet) => [packet.marker, packet.timestamp, toHex(packet.payload)])).toEqual(
      messages.map((message) => [message.marker, message.timestamp, toHex(message.payload)])
    )
    expect(packets.map((packet) => packet.offsetMs)).toEqual([0, 20, 40, 60, 80, 100, 120])
    expect(packets.map((packet) => packet.end)).toEqual([false, false, false, false, true, true, true])
  })

  it("decodes and encodes the 34 vector payloads; event 16 (flash) is the digit '!'", () => {
    for (const item of vectors.payloads.items) {
      const decoded = Result.getOrThrow(Dtmf.decodePayload(fromHex(item.payload_hex)))
      expect(decoded).toEqual({ event: item.event, end: item.end, volume: item.volume, duration: item.duration })
      expect(toHex(Dtmf.encodePayload(decoded))).toBe(item.payload_hex)
      expect(Dtmf.digitOfEvent(item.event)).toBe(item.key === "Flash" ? "!" : item.key)
      expect(Dtmf.eventOfDigit(Dtmf.digitOfEvent(item.event)!)).toBe(item.event)
    }
  })

  it("edge cases: the reserved bit is ignored, extreme volume and duration kept", () => {
    for (const { payload, payload_hex } of vectors.edge_cases.items) {
      const decoded = Result.getOrThrow(Dtmf.decodePayload(fromHex(payload_hex)))
      expect(decoded).toEqual({ event: payload.event, end: payload.end, volume: payload.volume, duration: payload.duration })
      const reencoded = Dtmf.encodePayload(decoded)
      expect(reencoded[1]).toBe(fromHex(payload_hex)[1]! & ~0x40)
    }
  })

  it("ignores unknown codes and short payloads without failing", () => {
    const receiver = new Dtmf.DtmfReceiver()
    expect(receiver.push({ timestamp: 1, marker: true, payload: Uint8Array.of(17, 10, 0, 160) })).toBeUndefined()
    expect(receiver.push({ timestamp: 2, marker: true, payload: Uint8Array.of(255, 10, 0, 160) })).toBeUndefined()
    expect(receiver.push({ timestamp: 3, marker: true, payload: Uint8Array.of(1, 10) })).toBeUndefined()
    expect(receiver.push({ timestamp: 4, marker: true, payload: Uint8Array.of(1, 10, 0, 160) })).toBe("1")
    const short = Dtmf.decodePayload(Uint8Array.of(1, 2, 3))
    expect(Result.isFailure(short) && short.failure.message).toBe("invalid telephone-event payload: 3 octets, expected 4")
  })

  it("toDigit accepts the keypad characters, lowercase a-d included", () => {
    expect(["0", "9", "*", "#", "a", "D", "!"].map(Dtmf.toDigit)).toEqual(["0", "9", "*", "#", "A", "D", "!"])
    expect(["E", "", "10", "x"].map(Dtmf.toDigit)).toEqual([undefined, undefined, undefined, undefined])
  })

  it("a long event's later segments do not repeat the digit, a new marked event does", () => {
    const payload = (duration: number, end = false) => Dtmf.encodePayload({ event: 7, end, volume: 10, duration })
    const start = 2 ** 32 - 100
    const segmentTwo = (start + 0xffff) >>> 0
    expect(receiveAll([
      { timestamp: start, marker: true, payload: payload(160) },
      { timestamp: start, marker: false, payload: payload(0xffff) },
      { timestamp: segmentTwo, marker: false, payload: payload(160) },
      { timestamp: segmentTwo, marker: false, payload: payload(800, true) },
      { timestamp: segmentTwo + 2000, marker: true, payload: payload(160) }
    ])).toEqual(["7", "7"])
  })

  it("a digit shorter than one packet is a single end packet, sent three times", () => {
    const packets = Dtmf.dtmfPackets("#", { durationMs: 10, startTimestamp: 2 ** 32 + 5, volume: 63 })
    expect(packets).toHaveLength(3)
    expect(packets.every((packet) => packet.end && packet.timestamp === 5)).toBe(true)
    expect(packets.map((packet) => packet.marker)).toEqual([true, false, false])
    expect(Result.getOrThrow(Dtmf.decodePayload(packets[0]!.payload))).toEqual({ event: 11, end: true, volume: 63, duration: 80 })
  })

  // A call's worth of digits, each sent as dtmfPackets would, events spaced by at least 20 ms of silence.
  const digitArbitrary = fc.constantFrom<Dtmf.DtmfDigit>(
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D", "!"
  )
  const eventsArbitrary: fc.Arbitrary<Call> = fc.record({
    firstTimestamp: fc.nat({ max: 0xffffffff }),
    events: fc.array(
      fc.record({ digit: digitArbitrary, durationMs: fc.integer({ min: 40, max: 400 }), gapMs: fc.integer({ min: 20, max: 500 }) }),
      { minLength: 1, maxLength: 20 }
    )
  })
  interface Call {
    readonly firstTimestamp: number
    readonly events: ReadonlyArray<{ readonly digit: Dtmf.DtmfDigit; readonly durationMs: number; readonly gapMs: number }>
  }
  const packetsOf = ({ events, firstTimestamp }: Call) => {
    let timestamp = firstTimestamp
    return events.map(({ digit, durationMs, gapMs }) => {
      const packets = Dtmf.dtmfPackets(digit, { startTimestamp: timestamp, durationMs })
      timestamp += 8 * (durationMs + gapMs)
      return packets
    })
  }
  // For each packet: 0 = lost, 1 = delivered, 2-3 = duplicated; every event keeps at least one packet.
  const impairments = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 200, maxLength: 200 })
  const impair = (perEvent: ReadonlyArray<ReadonlyArray<Dtmf.DtmfPacket>>, fates: ReadonlyArray<number>) => {
    let cursor = 0
    return perEvent.map((packets) => {
      const kept = packets.flatMap((packet) => Array<Dtmf.DtmfPacket>(fates[cursor++ % fates.length]!).fill(packet))
      return kept.length > 0 ? kept : [packets[packets.length - 1]!]
    })
  }

  it("property: one digit per event, in order, through loss of any packets (start, end) and duplicates", () => {
    fc.assert(fc.property(eventsArbitrary, impairments, (call, fates) => {
      expect(receiveAll(impair(packetsOf(call), fates).flat())).toEqual(call.events.map((event) => event.digit))
    }))
  })

  it("property: one digit per event under any reordering as well (same digits, any order)", () => {
    fc.assert(fc.property(
      eventsArbitrary,
      impairments,
      fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
      (call, fates, keys) => {
        const shuffled = impair(packetsOf(call), fates).flat()
          .map((packet, index) => ({ packet, key: keys[index % keys.length]! + index / 1000 }))
          .sort((a, b) => a.key - b.key)
          .map(({ packet }) => packet)
        expect(receiveAll(shuffled).sort()).toEqual(call.events.map((event) => event.digit).sort())
      }
    ))
  })

  it("property: local reordering (swaps of neighbours) keeps the digit order", () => {
    fc.assert(fc.property(eventsArbitrary, fc.array(fc.boolean(), { minLength: 100, maxLength: 100 }), (call, swaps) => {
      const packets = packetsOf(call).flat()
      for (let i = 0; i + 1 < packets.length; i += 2) {
        if (swaps[i % swaps.length]) [packets[i], packets[i + 1]] = [packets[i + 1]!, packets[i]!]
      }
      expect(receiveAll(packets)).toEqual(call.events.map((event) => event.digit))
    }))
  })
})
