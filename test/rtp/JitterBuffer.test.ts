import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { JitterBuffer, type JitterPacket, RTPPacketManager } from "../../src/rtp/JitterBuffer.ts"

const muLawSilence = 0xff
const frameSize = 160

/** Packet `index` of a stream: 20 ms of one repeated octet that names it (never the silence code). */
const mark = (index: number): number => 1 + (index % 250)
const packetOf = (index: number, stream: { ssrc: number; firstSequence: number; firstTimestamp: number }): JitterPacket => ({
  ssrc: stream.ssrc,
  sequence: (stream.firstSequence + index) & 0xffff,
  timestamp: (stream.firstTimestamp + index * frameSize) >>> 0,
  payload: new Uint8Array(frameSize).fill(mark(index))
})

interface Delivery {
  readonly packet: JitterPacket
  readonly arrivalMs: number
}

/**
 * Delivers packets at their arrival times and pulls one frame every 20 ms
 * (arrivals at the same instant come first); each frame is reported as the
 * octet it is filled with, or -1 when it mixes octets.
 */
const simulate = (buffer: JitterBuffer, deliveries: ReadonlyArray<Delivery>, pulls: number): Array<number> => {
  const queue = [...deliveries].sort((a, b) => a.arrivalMs - b.arrivalMs)
  const frames: Array<number> = []
  let next = 0
  for (let tick = 0; tick < pulls; tick++) {
    while (next < queue.length && queue[next]!.arrivalMs <= tick * 20) buffer.push(queue[next++]!.packet)
    const frame = buffer.pull()
    expect(frame).toHaveLength(frameSize)
    frames.push(frame.every((octet) => octet === frame[0]) ? frame[0]! : -1)
  }
  return frames
}

const played = (frames: ReadonlyArray<number>): Array<number> => frames.filter((frame) => frame !== muLawSilence)
const stream = { ssrc: 0x1234, firstSequence: 100, firstTimestamp: 5000 }

describe("JitterBuffer", () => {
  it("plays an in-order stream after the playout delay, frame for packet", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence, playoutDelayMs: 60 })
    const deliveries = Array.from({ length: 50 }, (_, i) => ({ packet: packetOf(i, stream), arrivalMs: 20 * i + 1 }))
    const frames = simulate(buffer, deliveries, 56)
    // Packet 0 arrives at 1 ms; the pulls at 20, 40 and 60 ms prefetch; packet 0 plays at 80 ms.
    expect(frames.slice(0, 4)).toEqual([muLawSilence, muLawSilence, muLawSilence, muLawSilence])
    expect(frames.slice(4, 54)).toEqual(Array.from({ length: 50 }, (_, i) => mark(i)))
    expect(buffer.stats).toEqual({
      received: 50, late: 0, lost: 0, duplicates: 0, reordered: 0, played: 52, concealed: 2, dropped: 0, resyncs: 0
    })
  })

  it("undoes reordering and drops duplicates within the delay", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence, playoutDelayMs: 60 })
    // Every pair arrives swapped, 35 ms late at most, and every fifth packet twice.
    const deliveries = Array.from({ length: 40 }, (_, i) => {
      const arrivalMs = 20 * (i % 2 === 0 ? i + 1 : i - 1) + 15
      return i % 5 === 0
        ? [{ packet: packetOf(i, stream), arrivalMs }, { packet: packetOf(i, stream), arrivalMs: arrivalMs + 3 }]
        : [{ packet: packetOf(i, stream), arrivalMs }]
    }).flat()
    const frames = simulate(buffer, deliveries, 50)
    expect(played(frames)).toEqual(Array.from({ length: 40 }, (_, i) => mark(i)))
    const stats = buffer.stats
    expect([stats.received, stats.duplicates, stats.reordered, stats.late, stats.lost]).toEqual([40, 8, 20, 0, 0])
  })

  it("plays silence for lost packets and counts them", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence })
    const lost = new Set([3, 4, 10, 25])
    const deliveries = Array.from({ length: 30 }, (_, i) => ({ packet: packetOf(i, stream), arrivalMs: 20 * i }))
      .filter((_, i) => !lost.has(i))
    const frames = simulate(buffer, deliveries, 33)
    expect(frames.slice(3, 33)).toEqual(Array.from({ length: 30 }, (_, i) => lost.has(i) ? muLawSilence : mark(i)))
    expect(buffer.stats.lost).toBe(4)
    expect(buffer.stats.concealed).toBe(4)
  })

  it("drops a packet that comes after its audio was played, and counts it late", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence, playoutDelayMs: 40 })
    const deliveries = Array.from({ length: 10 }, (_, i) => ({ packet: packetOf(i, stream), arrivalMs: i === 5 ? 200 : 20 * i }))
    const frames = simulate(buffer, deliveries, 13)
    expect(frames.slice(2, 12)).toEqual(Array.from({ length: 10 }, (_, i) => i === 5 ? muLawSilence : mark(i)))
    expect(buffer.stats.late).toBe(1)
    expect(buffer.stats.lost).toBe(0)
  })

  it("follows sequence numbers across 65535 → 0 and timestamps across 2^32", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence })
    const wrapping = { ssrc: 7, firstSequence: 65530, firstTimestamp: 2 ** 32 - 3 * frameSize }
    const deliveries = Array.from({ length: 20 }, (_, i) => ({ packet: packetOf(i, wrapping), arrivalMs: 20 * i + (i % 3) * 7 }))
    expect(played(simulate(buffer, deliveries, 30))).toEqual(Array.from({ length: 20 }, (_, i) => mark(i)))
    expect(buffer.stats.lost).toBe(0)
    expect(buffer.stats.resyncs).toBe(0)
  })

  it("an SSRC change resyncs without losing the old stream's buffered audio or the new one's", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence })
    const second = { ssrc: 99, firstSequence: 40000, firstTimestamp: 123 }
    const deliveries = [
      ...Array.from({ length: 10 }, (_, i) => ({ packet: packetOf(i, stream), arrivalMs: 20 * i })),
      // The new source starts right after, with unrelated numbering.
      ...Array.from({ length: 10 }, (_, i) => ({ packet: packetOf(i + 10, { ...second, firstSequence: second.firstSequence - 10, firstTimestamp: second.firstTimestamp - 10 * frameSize }), arrivalMs: 200 + 20 * i })),
      // A straggler of the old source is dropped.
      { packet: packetOf(3, stream), arrivalMs: 205 }
    ]
    expect(played(simulate(buffer, deliveries, 40))).toEqual(Array.from({ length: 20 }, (_, i) => mark(i)))
    expect(buffer.stats.resyncs).toBe(1)
    expect(buffer.stats.late).toBe(1)
    expect(buffer.stats.lost).toBe(0)
  })

  it("packets reordered before playout starts move the start back (pyVoIP's rebuild)", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence })
    const deliveries = [2, 0, 1, 3, 4].map((index, order) => ({ packet: packetOf(index, stream), arrivalMs: order * 5 }))
    expect(played(simulate(buffer, deliveries, 10))).toEqual([0, 1, 2, 3, 4].map(mark))
  })

  it("keeps the delay bounded when the sender's clock runs fast, and recovers when it runs slow", () => {
    // Three minutes each; 1 % clock error is far beyond real oscillators and makes the effect quick.
    for (const periodMs of [19.8, 20.2]) {
      const buffer = new JitterBuffer({ silence: muLawSilence, playoutDelayMs: 60, maxDelayMs: 120 })
      const packets = 9_000
      const deliveries = Array.from({ length: packets }, (_, i) => ({ packet: packetOf(i, stream), arrivalMs: periodMs * i }))
      const frames = simulate(buffer, deliveries, Math.ceil((packets * periodMs) / 20) + 10)
      expect(buffer.buffered).toBeLessThanOrEqual(120 * 8)
      const heard = played(frames).length
      if (periodMs < 20) {
        expect(buffer.stats.dropped).toBeGreaterThan(0)
        expect(heard + buffer.stats.dropped).toBeGreaterThanOrEqual(packets - 10)
      } else {
        expect(buffer.stats.resyncs).toBeGreaterThan(0)
        expect(heard).toBeGreaterThanOrEqual(packets * 0.98)
      }
    }
  })

  it("resyncs on a timestamp jump beyond the ring, then plays on", () => {
    const buffer = new JitterBuffer({ silence: muLawSilence })
    const jumped = { ...stream, firstTimestamp: stream.firstTimestamp + 50_000 }
    const deliveries = Array.from({ length: 20 }, (_, i) => ({ packet: packetOf(i, i < 10 ? stream : jumped), arrivalMs: 20 * i }))
    expect(played(simulate(buffer, deliveries, 30))).toEqual(Array.from({ length: 20 }, (_, i) => mark(i)))
    expect(buffer.stats.resyncs).toBe(1)
  })

  it("pullInto writes a frame in place and says whether it held audio", () => {
    const buffer = new JitterBuffer({ silence: 0xd5, playoutDelayMs: 0 })
    const target = new Uint8Array(frameSize + 4).fill(1)
    expect(buffer.pullInto(target, 4)).toBe(false)
    expect(target.subarray(4).every((octet) => octet === 0xd5)).toBe(true)
    expect(target.subarray(0, 4)).toEqual(Uint8Array.of(1, 1, 1, 1))
    buffer.push(packetOf(0, stream))
    expect(buffer.pullInto(target, 4)).toBe(true)
    expect(target[4]).toBe(mark(0))
  })

  it("property: with jitter under the delay, every packet not lost plays once, in order; stats add up", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ jitterMs: fc.integer({ min: 0, max: 39 }), copies: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 150 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.nat({ max: 0xffffffff }),
      (fates, firstSequence, firstTimestamp) => {
        const source = { ssrc: 5, firstSequence, firstTimestamp }
        // The first packet always arrives on time, so playout is anchored on it.
        const copies = fates.map((fate, i) => i === 0 ? 1 : fate.copies)
        const deliveries = fates.flatMap((fate, i) =>
          Array.from({ length: copies[i]! }, (_, copy) => ({ packet: packetOf(i, source), arrivalMs: 20 * i + (i === 0 ? 0 : fate.jitterMs) + copy }))
        )
        const buffer = new JitterBuffer({ silence: muLawSilence, playoutDelayMs: 60 })
        const frames = simulate(buffer, deliveries, fates.length + 6)
        const expected = fates.map((_, i) => copies[i]! > 0 ? mark(i) : muLawSilence)
        expect(frames.slice(3, 3 + fates.length)).toEqual(expected)
        const lastReceived = copies.findLastIndex((count) => count > 0)
        const stats = buffer.stats
        expect(stats.lost).toBe(copies.slice(0, lastReceived + 1).filter((count) => count === 0).length)
        expect(stats.duplicates).toBe(copies.reduce((sum, count) => sum + Math.max(0, count - 1), 0))
        expect(stats.received).toBe(copies.filter((count) => count > 0).length)
        expect(stats.late).toBe(0)
      }
    ), { numRuns: 200 })
  })
})

describe("RTPPacketManager (pyVoIP semantics)", () => {
  const bytes = (...values: Array<number>) => Uint8Array.from(values)

  it("reads what was written, padded with 0x80 silence", () => {
    const manager = new RTPPacketManager()
    manager.write(1000, bytes(1, 2, 3))
    expect(manager.read(5)).toEqual(bytes(1, 2, 3, 0x80, 0x80))
    expect(manager.read(2)).toEqual(bytes(0x80, 0x80))
  })

  it("places writes by offset and fills holes when their data comes", () => {
    const manager = new RTPPacketManager({ silence: 0xff })
    manager.write(10, bytes(1, 2))
    manager.write(14, bytes(5, 6))
    manager.write(12, bytes(3, 4))
    expect(manager.read(6)).toEqual(bytes(1, 2, 3, 4, 5, 6))
  })

  it("an earlier offset before any read moves the start back; after reading, only the unread part is kept", () => {
    const manager = new RTPPacketManager()
    manager.write(500, bytes(3, 4))
    manager.write(498, bytes(1, 2))
    expect(manager.read(4)).toEqual(bytes(1, 2, 3, 4))
    manager.write(504, bytes(7))
    manager.write(500, bytes(9, 9, 5, 6))
    expect(manager.read(3)).toEqual(bytes(5, 6, 7))
  })

  it("resets when a write lands 100,000 octets or more before the read position", () => {
    const manager = new RTPPacketManager()
    manager.write(200_000, bytes(1, 2))
    manager.write(50_000, bytes(8, 9))
    expect(manager.read(3)).toEqual(bytes(8, 9, 0x80))
    manager.write(52_000 - 99_999, bytes(4))
    expect(manager.read(1)).toEqual(bytes(0x80))
  })

  it("handles timestamp wrap and a whole file written at once", () => {
    const manager = new RTPPacketManager({ initialCapacity: 16 })
    const file = Uint8Array.from({ length: 48_000 }, (_, i) => i % 251)
    manager.write(2 ** 32 - 100, file.subarray(0, 100))
    manager.write(0, file.subarray(100))
    expect(manager.buffered).toBe(48_000)
    const chunks = Array.from({ length: 300 }, () => manager.read(160))
    expect(Uint8Array.from(chunks.flatMap((chunk) => Array.from(chunk)))).toEqual(file)
    expect(manager.buffered).toBe(0)
  })
})
