import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Linear8 from "../../src/rtp/Linear8.ts"
import * as PCMA from "../../src/rtp/PCMA.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import { readVector } from "../support/vectors.ts"

const everyValue = Uint8Array.from({ length: 256 }, (_, i) => i)
const int16At = (bytes: Uint8Array, index: number): number =>
  new DataView(bytes.buffer, bytes.byteOffset).getInt16(2 * index, true)

describe("Linear8 (pyVoIP's 8-bit unsigned audio)", () => {
  it("encodes as pyVoIP does: audioop.lin2ulaw/lin2alaw(bias(data, 1, -128), 1)", () => {
    // audioop's width-1 encoder sees the sample as (value - 128) << 8 in 16 bits.
    const audioopMuLaw = readVector("g711", "lin2ulaw.bin")
    const audioopALaw = readVector("g711", "lin2alaw.bin")
    const expectedMuLaw = everyValue.map((value) => audioopMuLaw[((value - 128) << 8) + 32768]!)
    const expectedALaw = everyValue.map((value) => audioopALaw[((value - 128) << 8) + 32768]!)
    expect(Linear8.toPCMU(everyValue)).toEqual(expectedMuLaw)
    expect(Linear8.toPCMA(everyValue)).toEqual(expectedALaw)
  })

  it("decodes as pyVoIP does: bias(audioop.ulaw2lin/alaw2lin(codes, 1), 1, 128)", () => {
    const muLaw = readVector("g711", "ulaw2lin.bin")
    const aLaw = readVector("g711", "alaw2lin.bin")
    expect(Linear8.fromPCMU(everyValue)).toEqual(everyValue.map((code) => (int16At(muLaw, code) >> 8) + 128))
    expect(Linear8.fromPCMA(everyValue)).toEqual(everyValue.map((code) => (int16At(aLaw, code) >> 8) + 128))
  })

  it("maps silence to silence", () => {
    expect(Linear8.toPCMU(Uint8Array.of(Linear8.silence))).toEqual(Uint8Array.of(PCMU.silence))
    expect(Linear8.toPCMA(Uint8Array.of(Linear8.silence))).toEqual(Uint8Array.of(PCMA.silence))
    expect(Linear8.fromPCMU(Uint8Array.of(PCMU.silence))).toEqual(Uint8Array.of(Linear8.silence))
    expect(Linear8.fromPCMA(Uint8Array.of(PCMA.silence))).toEqual(Uint8Array.of(Linear8.silence))
    expect(Linear8.fromInt16(Int16Array.of(0, -1, 255, 256, -32768, 32767))).toEqual(Uint8Array.of(128, 127, 128, 129, 0, 255))
  })

  it("Int16 ↔ Linear8 round-trips every 8-bit value and agrees with the G.711 paths", () => {
    expect(Linear8.fromInt16(Linear8.toInt16(everyValue))).toEqual(everyValue)
    expect(Linear8.toPCMU(everyValue)).toEqual(PCMU.encode(Linear8.toInt16(everyValue)))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 50 }), (codes) => {
      expect(Linear8.fromPCMA(codes)).toEqual(Linear8.fromInt16(PCMA.decode(codes)))
    }))
  })
})
