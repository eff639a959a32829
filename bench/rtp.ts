/**
 * RTP hot paths: parsing and writing a 172-octet G.711 packet, and G.711
 * coding of one 20 ms frame and of one second of audio (8000 samples, 16 000
 * octets of 16-bit PCM, the unit of the MB/s figures in bench/README.md).
 */
import { bench, do_not_optimize, group, summary } from "mitata"
import * as Audio from "../src/rtp/Audio.ts"
import * as PCMA from "../src/rtp/PCMA.ts"
import * as PCMU from "../src/rtp/PCMU.ts"
import * as RTPMessage from "../src/rtp/RTPMessage.ts"

const second = Audio.tone(440, 1000, 12000)
const frame = second.subarray(0, 160)
const secondPCMU = PCMU.encode(second)
const secondPCMA = PCMA.encode(second)
const codes = new Uint8Array(8000)
const samples = new Int16Array(8000)

const packet = RTPMessage.encode({
  marker: false,
  payloadType: 0,
  sequence: 4711,
  timestamp: 123_456,
  ssrc: 0xdeadbeef,
  payload: secondPCMU.subarray(0, 160)
})
const sendBuffer = new Uint8Array(172)

group("RTP packet (172 octets)", () => {
  summary(() => {
    bench("parse (RTPMessage.parseResult)", () => do_not_optimize(RTPMessage.parseResult(packet)))
    bench("write header + PCMU payload in place (writeHeader + encodeInto)", () => {
      RTPMessage.writeHeader(sendBuffer, 0, {
        marker: false,
        payloadType: 0,
        sequence: 4712,
        timestamp: 123_616,
        ssrc: 0xdeadbeef
      })
      do_not_optimize(PCMU.encodeInto(frame, sendBuffer, 12))
    })
    bench("encode a new packet (RTPMessage.encode)", () =>
      do_not_optimize(RTPMessage.encode({
        marker: false,
        payloadType: 0,
        sequence: 4712,
        timestamp: 123_616,
        ssrc: 0xdeadbeef,
        payload: secondPCMU.subarray(0, 160)
      })))
  })
})

group("G.711, 1 s of audio (16 000 octets of PCM)", () => {
  bench("PCMU encodeInto", () => do_not_optimize(PCMU.encodeInto(second, codes, 0)))
  bench("PCMU decodeInto", () => do_not_optimize(PCMU.decodeInto(secondPCMU, samples, 0)))
  bench("PCMA encodeInto", () => do_not_optimize(PCMA.encodeInto(second, codes, 0)))
  bench("PCMA decodeInto", () => do_not_optimize(PCMA.decodeInto(secondPCMA, samples, 0)))
  bench("PCMU encode (allocating)", () => do_not_optimize(PCMU.encode(second)))
})
