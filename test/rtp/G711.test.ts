import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as G711 from "../../src/rtp/G711.ts"
import * as PCMA from "../../src/rtp/PCMA.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import { readVector, readVectorJson } from "../support/vectors.ts"

const everySample = Int16Array.from({ length: 65536 }, (_, i) => i - 32768)

const decodeTable = (file: string): Int16Array => {
  const bytes = readVector("g711", file)
  return Int16Array.from({ length: 256 }, (_, code) => new DataView(bytes.buffer, bytes.byteOffset).getInt16(2 * code, true))
}

describe("G.711", () => {
  it("μ-law encodes every int16 exactly as the ITU-T G.191 reference", () => {
    expect(PCMU.encode(everySample)).toEqual(new Uint8Array(readVector("g711", "lin2ulaw_g191.bin")))
  })

  it("A-law encodes every int16 exactly as G.191 and audioop (they agree)", () => {
    expect(PCMA.encode(everySample)).toEqual(new Uint8Array(readVector("g711", "lin2alaw.bin")))
  })

  it("follows G.191, not audioop, at the 508 inputs where they differ", () => {
    const { count, diffs } = readVectorJson<{ count: number; diffs: Array<[number, number, number]> }>(
      "g711",
      "lin2ulaw_audioop_vs_g191.json"
    )
    expect(diffs).toHaveLength(count)
    for (const [input, audioopCode, g191Code] of diffs) {
      expect(input).toBeLessThan(0)
      expect(PCMU.encodeSample(input)).toBe(g191Code)
      expect(PCMU.encodeSample(input)).not.toBe(audioopCode)
    }
  })

  it("decodes all 256 codes as both reference tables", () => {
    const tables = readVectorJson<{ ulaw2lin: ReadonlyArray<number>; alaw2lin: ReadonlyArray<number> }>(
      "g711",
      "decode_tables.json"
    )
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(PCMU.decode(codes)).toEqual(decodeTable("ulaw2lin.bin"))
    expect(PCMA.decode(codes)).toEqual(decodeTable("alaw2lin.bin"))
    expect(Array.from(PCMU.decode(codes))).toEqual(tables.ulaw2lin)
    expect(Array.from(PCMA.decode(codes))).toEqual(tables.alaw2lin)
  })

  it("has the README's spot values and silence codes", () => {
    expect(PCMU.encodeSample(0)).toBe(PCMU.silence)
    expect(PCMA.encodeSample(0)).toBe(PCMA.silence)
    expect([PCMU.encodeSample(-1), PCMU.encodeSample(32767), PCMU.encodeSample(-32768)]).toEqual([0x7f, 0x80, 0x00])
    expect([PCMA.encodeSample(-1), PCMA.encodeSample(32767), PCMA.encodeSample(-32768)]).toEqual([0x55, 0xaa, 0x2a])
    expect([PCMU.decodeSample(0x00), PCMU.decodeSample(0x80), PCMU.decodeSample(0x7f)]).toEqual([-32124, 32124, 0])
    expect([PCMA.decodeSample(0xd5), PCMA.decodeSample(0xaa), PCMA.decodeSample(0x2a)]).toEqual([8, 32256, -32256])
  })

  it("the encode tables are the reference functions, and decode∘encode∘decode is stable", () => {
    for (let sample = -32768; sample < 32768; sample += 7) {
      expect(G711.muLawTables.encode[sample & 0xffff]).toBe(G711.linearToMuLaw(sample))
      expect(G711.aLawTables.encode[sample & 0xffff]).toBe(G711.linearToALaw(sample))
    }
    for (let code = 0; code < 256; code++) {
      expect(PCMU.decodeSample(PCMU.encodeSample(PCMU.decodeSample(code)))).toBe(PCMU.decodeSample(code))
      expect(PCMA.encodeSample(PCMA.decodeSample(code))).toBe(code)
    }
  })

  it("encodeInto / decodeInto write at an offset without touching the rest", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 64 }), fc.nat(8), (values, offset) => {
      const samples = Int16Array.from(values)
      const codes = new Uint8Array(offset + samples.length + 2).fill(0x11)
      expect(PCMA.encodeInto(samples, codes, offset)).toBe(offset + samples.length)
      expect(codes.subarray(offset, offset + samples.length)).toEqual(PCMA.encode(samples))
      expect(codes[offset + samples.length]).toBe(0x11)
      const decoded = new Int16Array(offset + samples.length)
      expect(PCMU.decodeInto(codes.subarray(offset, offset + samples.length), decoded, offset)).toBe(decoded.length)
      expect(decoded.subarray(offset)).toEqual(PCMU.decode(codes.subarray(offset, offset + samples.length)))
    }))
  })
})
