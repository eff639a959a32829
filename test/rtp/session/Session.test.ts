/**
 * Real sessions on 127.0.0.1: who may send us media (foreign sources,
 * latching), re-targeting, direction and codec changes mid-call, DTMF both
 * ways, malformed input, pyVoIP's read/write and barge-in.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Audio from "../../../src/rtp/Audio.ts"
import * as Dtmf from "../../../src/rtp/Dtmf.ts"
import * as Linear8 from "../../../src/rtp/Linear8.ts"
import { PayloadType } from "../../../src/rtp/PayloadType.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import * as RTPMessage from "../../../src/rtp/RTPMessage.ts"
import { bestOffset, chirp, concat, connect, mediaTo, missingFrames, negotiate, rawSocket, sessionsLayer } from "./helpers.ts"

const session = (options: RTPClient.RTPClientOptions = {}) => RTPClient.make({ address: "127.0.0.1", ...options })

const rtpPacket = (fields: Partial<RTPMessage.RTPPacketFields> & { readonly payload: Uint8Array }) =>
  RTPMessage.encode({ marker: false, payloadType: 0, sequence: 1, timestamp: 0, ssrc: 0x1234, ...fields })

const tone = (samples: number, amplitude = 8000, hz = 440) => Audio.tone(hz, samples / 8, amplitude)

const packetsReceived = (client: RTPClient.RTPClient) => Effect.map(client.stats, (stats) => stats.packetsReceived)

describe("RTP session", () => {
  it.live("packets from a foreign port are dropped and counted; the peer's audio is unaffected", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      yield* connect(a, b)
      const intruder = yield* rawSocket()
      const loud = RTPMessage.encode({
        marker: false,
        payloadType: 0,
        sequence: 0,
        timestamp: 0,
        ssrc: 7,
        payload: new Uint8Array(160).fill(0x80)
      })
      const recording = yield* b.audio.pipe(Stream.take(40), Stream.runCollect, Effect.forkChild)
      for (let i = 0; i < 50; i++) {
        loud[3] = i
        yield* intruder.send(loud, b.localPort)
        yield* Effect.sleep("10 millis")
      }
      const heard = concat(yield* Fiber.join(recording))
      expect(heard.every((sample) => sample === 0)).toBe(true)
      const stats = yield* b.stats
      expect(stats.foreignPackets).toBe(50)
      expect(stats.remoteSsrc).toBe(a.ssrc)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("latching 'host': a NATed peer on another port becomes the peer; 'off' keeps ignoring it", () =>
    Effect.gen(function*() {
      const natted = yield* session()
      const strict = yield* session()
      const latching = yield* session({ latching: "host" })
      const nowhere = yield* rawSocket()
      // The SDP of `natted` names a port it does not use (its NAT's), so both see it as foreign at first.
      yield* natted.update(mediaTo(latching.localPort))
      yield* latching.update(mediaTo(nowhere.port))
      yield* Effect.sleep("300 millis")
      const latched = yield* latching.stats
      expect(latched.foreignPackets).toBe(0)
      expect(latched.packetsReceived).toBeGreaterThan(5)
      // Once latched, our packets go where the peer's come from.
      expect(yield* packetsReceived(natted)).toBeGreaterThan(5)
      expect(nowhere.received.length).toBeLessThanOrEqual(1)

      yield* natted.update(mediaTo(strict.localPort))
      yield* strict.update(mediaTo(nowhere.port))
      const before = (yield* strict.stats).foreignPackets
      yield* Effect.sleep("300 millis")
      const ignored = yield* strict.stats
      expect(ignored.foreignPackets - before).toBeGreaterThan(5)
      expect(ignored.packetsReceived).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("latching 'any' accepts another host; 'host' does not", () =>
    Effect.gen(function*() {
      const elsewhere = yield* session({ address: "127.0.0.2" })
      const any = yield* session({ latching: "any" })
      const host = yield* session({ latching: "host" })
      const nowhere = yield* rawSocket()
      yield* any.update(mediaTo(nowhere.port))
      yield* host.update(mediaTo(nowhere.port))
      yield* elsewhere.update(mediaTo(any.localPort))
      yield* Effect.sleep("200 millis")
      expect((yield* any.stats).packetsReceived).toBeGreaterThan(3)
      yield* elsewhere.update(mediaTo(host.localPort))
      yield* Effect.sleep("200 millis")
      const refused = yield* host.stats
      expect(refused.packetsReceived).toBe(0)
      expect(refused.foreignPackets).toBeGreaterThan(3)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("update re-targets mid-call without a new socket: the old peer stops receiving, the new one starts", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      const c = yield* session()
      yield* connect(a, b)
      yield* Effect.sleep("200 millis")
      const port = a.localPort
      const retargeted = negotiate(a, c)
      yield* a.update(retargeted.offerer)
      yield* c.update(retargeted.answerer)
      yield* Effect.sleep("100 millis")
      const atB = yield* packetsReceived(b)
      const atC = yield* packetsReceived(c)
      yield* Effect.sleep("300 millis")
      expect(yield* packetsReceived(b)).toBe(atB)
      expect((yield* packetsReceived(c)) - atC).toBeGreaterThan(10)
      expect(a.localPort).toBe(port)
      // b still sends to a, which now counts it as foreign.
      expect((yield* a.stats).foreignPackets).toBeGreaterThan(10)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("direction and codec change mid-call: recvonly stops our packets, PCMA audio still arrives intact", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      const media = yield* connect(a, b)
      yield* a.update({ ...media.offerer, direction: "recvonly" })
      yield* Effect.sleep("100 millis")
      const silentFrom = yield* packetsReceived(b)
      const hearing = yield* packetsReceived(a)
      yield* Effect.sleep("200 millis")
      expect(yield* packetsReceived(b)).toBe(silentFrom)
      expect((yield* packetsReceived(a)) - hearing).toBeGreaterThan(5)

      yield* a.update({ ...media.offerer, codec: { number: 8, type: PayloadType.PCMA } })
      const signal = chirp(0.6)
      const recording = yield* b.audio.pipe(Stream.take(60), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("60 millis")
      yield* a.play(Audio.fromSamples(signal))
      expect(missingFrames(signal, concat(yield* Fiber.join(recording)))).toEqual([])
      expect((yield* b.stats).unknownPayloadPackets).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("the sink form sends a stream like play", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      yield* connect(a, b)
      const signal = chirp(0.6)
      const recording = yield* b.audio.pipe(Stream.take(60), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("60 millis")
      yield* Stream.run(Audio.fromSamples(signal), a.sink)
      expect(missingFrames(signal, concat(yield* Fiber.join(recording)))).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("DTMF both ways: each side reads exactly the digits the other sent", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      yield* connect(a, b)
      const atB = yield* b.dtmf.pipe(Stream.take(6), Stream.runCollect, Effect.forkChild)
      const atA = yield* a.dtmf.pipe(Stream.take(3), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("50 millis")
      yield* Effect.all([a.sendDtmf("1234#*"), b.sendDtmf("9AD")], { concurrency: 2 })
      expect((yield* Fiber.join(atB)).join("")).toBe("1234#*")
      expect((yield* Fiber.join(atA)).join("")).toBe("9AD")
      expect((yield* a.stats).dtmfSent).toBe(6)
      expect((yield* b.stats).dtmfReceived).toBe(6)
      const refused = yield* Effect.flip(a.sendDtmf("12x"))
      expect(refused.message).toBe(`cannot send DTMF: "x" is not a DTMF digit`)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("malformed packets are counted and dropped; the receiver keeps working", () =>
    Effect.gen(function*() {
      const peer = yield* rawSocket()
      const b = yield* session({ media: mediaTo(peer.port) })
      const digits = yield* b.dtmf.pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("30 millis")
      const garbage = [
        new Uint8Array([0x80]),
        new Uint8Array(12),
        Uint8Array.of(0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1),
        Uint8Array.of(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0),
        Uint8Array.of(0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9)
      ]
      for (const bytes of garbage) yield* peer.send(bytes, b.localPort)
      yield* peer.send(rtpPacket({ payloadType: 99, payload: new Uint8Array(4) }), b.localPort)
      for (let i = 0; i < 10; i++) {
        yield* peer.send(rtpPacket({ sequence: 100 + i, timestamp: 160 * i, payload: new Uint8Array(160).fill(0x10) }), b.localPort)
      }
      const event = Dtmf.encodePayload({ event: 7, end: true, volume: 10, duration: 800 })
      yield* peer.send(rtpPacket({ payloadType: 101, sequence: 110, timestamp: 1600, marker: true, payload: event }), b.localPort)
      expect((yield* Fiber.join(digits)).join("")).toBe("7")
      const stats = yield* b.stats
      expect(stats.malformedPackets).toBe(garbage.length)
      expect(stats.unknownPayloadPackets).toBe(1)
      expect(stats.bytesReceived).toBe(10 * 160 + 4)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("pyVoIP's write and read: 8-bit linear audio goes through; a non-blocking read of nothing is silence", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      yield* connect(a, b)
      expect(yield* b.read(160, false)).toEqual(new Uint8Array(160).fill(0x80))
      const sent = Linear8.fromInt16(tone(4000))
      yield* a.write(sent)
      const chunks: Array<Uint8Array> = []
      for (let i = 0; i < 50; i++) chunks.push(yield* b.read(160))
      const heard = concat(chunks.map((chunk) => Linear8.toInt16(chunk)))
      const { correlation } = bestOffset(Linear8.toInt16(sent).subarray(800, 3200), heard)
      expect(correlation).toBeGreaterThan(0.98)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.live("barge-in: a digit interrupts playback and the queued audio is dropped at once", () =>
    Effect.gen(function*() {
      const a = yield* session()
      const b = yield* session()
      yield* connect(a, b)
      const started = Date.now()
      const pressLater = yield* Effect.forkChild(Effect.andThen(Effect.sleep("300 millis"), b.sendDtmf("5")))
      const during = yield* Effect.forkChild(
        Effect.andThen(Effect.sleep("100 millis"), b.audio.pipe(Stream.take(10), Stream.runCollect))
      )
      yield* Effect.raceFirst(
        a.play(Audio.fromSamples(tone(80_000))),
        a.dtmf.pipe(Stream.take(1), Stream.runDrain)
      )
      yield* Fiber.join(pressLater)
      expect(Date.now() - started).toBeLessThan(2000)
      expect(concat(yield* Fiber.join(during)).some((sample) => Math.abs(sample) > 4000)).toBe(true)
      yield* Effect.sleep("200 millis")
      const after = concat(yield* b.audio.pipe(Stream.take(10), Stream.runCollect))
      expect(after.every((sample) => sample === 0)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))
})
