/**
 * The send fiber under `TestClock`, through an in-memory socket that notes
 * the virtual instant of every write.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as Dtmf from "../../../src/rtp/Dtmf.ts"
import { TestClock } from "effect/testing"
import { VoIPSettings } from "../../../src/Config.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import { parseResult } from "../../../src/rtp/RTPMessage.ts"
import { mediaTo, memoryNetwork, sessionsLayer } from "./helpers.ts"

const peerPort = 30000

const sendsOf = (network: Effect.Success<typeof memoryNetwork>, port: number) =>
  network.sent.filter((datagram) => datagram.port === port && datagram.address.port === peerPort)

const headerOf = (payload: Uint8Array) => {
  const parsed = parseResult(payload)
  if (parsed._tag === "Failure") throw parsed.failure
  return parsed.success
}

/** A session sending to `peerPort` on a fresh in-memory network. */
const pacedSession = Effect.gen(function*() {
  const network = yield* memoryNetwork
  const session = yield* RTPClient.make({ address: "127.0.0.1", media: mediaTo(peerPort) }).pipe(
    Effect.provideService(RTPClient.RTPSocketFactory, network.factory)
  )
  return { network, session }
})

describe("pacing", () => {
  it.effect("packet n goes out at t0 + n·20 ms for 10 virtual minutes, with no drift", () =>
    Effect.gen(function*() {
      const { network, session } = yield* pacedSession
      yield* TestClock.adjust("10 minutes")
      const sends = sendsOf(network, session.localPort)
      expect(sends.length).toBe(30_001)
      const t0 = sends[0]!.at
      expect(sends.map((datagram) => datagram.at - t0)).toEqual(Array.from({ length: 30_001 }, (_, n) => n * 20))
      const headers = sends.map((datagram) => headerOf(datagram.payload))
      const first = headers[0]!
      expect(first.marker).toBe(true)
      expect(headers.every((header, n) =>
        header.sequence === ((first.sequence + n) & 0xffff) &&
        header.timestamp === ((first.timestamp + 160 * n) >>> 0) &&
        header.ssrc === session.ssrc && header.payload.length === 160 && header.payloadTypeNumber === 0
      )).toBe(true)
      expect((yield* session.stats).skippedSlots).toBe(0)
    }).pipe(Effect.provide(sessionsLayer())), { timeout: 120_000 })

  it.effect("TRANSMIT_DELAY_REDUCTION shortens the interval by its fraction, still without drift", () =>
    Effect.gen(function*() {
      const { network, session } = yield* pacedSession
      yield* TestClock.adjust("10 minutes")
      const sends = sendsOf(network, session.localPort)
      expect(sends.length).toBe(40_001)
      const t0 = sends[0]!.at
      expect(sends.every((datagram, n) => datagram.at - t0 === n * 15)).toBe(true)
      const headers = sends.map((datagram) => headerOf(datagram.payload))
      expect(headers.every((header, n) => header.timestamp === ((headers[0]!.timestamp + 160 * n) >>> 0))).toBe(true)
    }).pipe(Effect.provide(Layer.merge(sessionsLayer(), VoIPSettings.layerWith({ transmitDelayReduction: 0.25 })))), {
      timeout: 120_000
    })

  it.effect("a late wake-up sends one packet at once and skips the missed slots instead of bursting", () =>
    Effect.gen(function*() {
      const { network, session } = yield* pacedSession
      // The 10th send (at 200 ms) blocks the fiber for 70 ms.
      yield* network.delayWrite(session.localPort, 10, "70 millis")
      yield* TestClock.adjust("400 millis")
      const sends = sendsOf(network, session.localPort)
      const t0 = sends[0]!.at
      expect(sends.map((datagram) => datagram.at - t0)).toEqual([
        0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 270, 280, 300, 320, 340, 360, 380, 400
      ])
      const headers = sends.map((datagram) => headerOf(datagram.payload))
      // Consecutive sequence numbers; timestamps count the skipped slots 11 and 12.
      expect(headers.map((header) => (header.sequence - headers[0]!.sequence) & 0xffff)).toEqual(
        Array.from({ length: 19 }, (_, n) => n)
      )
      expect(headers.map((header) => ((header.timestamp - headers[0]!.timestamp) >>> 0) / 160)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20
      ])
      expect((yield* session.stats).skippedSlots).toBe(2)
    }).pipe(Effect.provide(sessionsLayer())))

  it.effect("sendDtmf takes the place of audio in the same slots: one timestamp, growing duration, three ends", () =>
    Effect.gen(function*() {
      const { network, session } = yield* pacedSession
      yield* TestClock.adjust("100 millis")
      const sending = yield* Effect.forkChild(session.sendDtmf("5"))
      yield* TestClock.adjust("400 millis")
      yield* Fiber.join(sending)
      const sends = sendsOf(network, session.localPort)
      const t0 = sends[0]!.at
      const packets = sends.map((datagram) => ({ at: datagram.at - t0, header: headerOf(datagram.payload) }))
      const events = packets.filter((packet) => packet.header.payloadTypeNumber === 101)
      // 100 ms of tone in 20 ms packets, the end packet three times, all in consecutive slots.
      expect(events.map((packet) => packet.at)).toEqual([120, 140, 160, 180, 200, 220, 240])
      expect(events.map((packet) => packet.header.marker)).toEqual([true, false, false, false, false, false, false])
      expect(new Set(events.map((packet) => packet.header.timestamp)).size).toBe(1)
      const first = packets.find((packet) => packet.at === 120)!.header
      const before = packets.find((packet) => packet.at === 100)!.header
      expect(first.timestamp).toBe((before.timestamp + 160) >>> 0)
      const decoded = events.map((packet) => {
        const event = Dtmf.decodePayload(packet.header.payload)
        if (event._tag === "Failure") throw event.failure
        return event.success
      })
      expect(decoded).toEqual(
        [160, 320, 480, 640, 800, 800, 800].map((duration, i) => ({ event: 5, end: i >= 4, volume: 10, duration }))
      )
      // Audio slots go on after a 60 ms gap of silence; sequence numbers never skip.
      const after = packets.filter((packet) => packet.at > 240)
      expect(after.every((packet) => packet.header.payloadTypeNumber === 0)).toBe(true)
      expect(packets.every((packet, n) => packet.header.sequence === ((packets[0]!.header.sequence + n) & 0xffff))).toBe(
        true
      )
      expect((yield* session.stats).dtmfSent).toBe(1)
    }).pipe(Effect.provide(sessionsLayer())))

  it.effect("refuses what it cannot do: a peer named by host name, the other IP family, DTMF without telephone-event", () =>
    Effect.gen(function*() {
      const network = yield* memoryNetwork
      const session = yield* RTPClient.make({ address: "127.0.0.1" }).pipe(
        Effect.provideService(RTPClient.RTPSocketFactory, network.factory)
      )
      const byName = yield* Effect.flip(session.update(mediaTo(peerPort, { remoteAddress: "pbx.example" })))
      expect(byName.message).toBe("cannot send RTP to pbx.example: not an IP address")
      const v6 = yield* Effect.flip(session.update(mediaTo(peerPort, { remoteAddress: "::1", remoteAddressType: "IP6" })))
      expect(v6.message).toBe("cannot send RTP to ::1: the socket is IPv4 only")
      yield* session.update(mediaTo(peerPort, { dtmf: undefined }))
      expect((yield* Effect.flip(session.sendDtmf("1"))).message).toBe(
        "cannot send DTMF: the peer did not negotiate telephone-event"
      )
      yield* session.update(mediaTo(peerPort, { direction: "recvonly" }))
      expect((yield* Effect.flip(session.sendDtmf("1"))).message).toBe("cannot send DTMF: the session does not send")
    }).pipe(Effect.provide(sessionsLayer())))

  it.effect("a session without a peer, or inactive, sends nothing and is off the pacer's schedule", () =>
    Effect.gen(function*() {
      const network = yield* memoryNetwork
      const idle = yield* RTPClient.make({ address: "127.0.0.1" }).pipe(
        Effect.provideService(RTPClient.RTPSocketFactory, network.factory)
      )
      const inactive = yield* RTPClient.make({ address: "127.0.0.1", media: mediaTo(peerPort, { direction: "inactive" }) })
        .pipe(Effect.provideService(RTPClient.RTPSocketFactory, network.factory))
      yield* TestClock.adjust("1 minute")
      expect(sendsOf(network, idle.localPort)).toEqual([])
      expect(sendsOf(network, inactive.localPort)).toEqual([])
      expect((yield* inactive.stats).skippedSlots).toBe(0)
    }).pipe(Effect.provide(sessionsLayer())))

  it.effect("reads wait for the playout clock while the session runs and return silence once it ended", () =>
    Effect.gen(function*() {
      const network = yield* memoryNetwork
      const scope = yield* Scope.make()
      const session = yield* RTPClient.make({ address: "127.0.0.1", media: mediaTo(peerPort) }).pipe(
        Effect.provideService(RTPClient.RTPSocketFactory, network.factory),
        Scope.provide(scope)
      )
      const reading = yield* Effect.forkChild(session.read(480))
      yield* TestClock.adjust("40 millis")
      expect(reading.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("20 millis")
      expect(yield* Fiber.join(reading)).toEqual(new Uint8Array(480).fill(0x80))
      const waiting = yield* Effect.forkChild(session.read(800))
      yield* TestClock.adjust("20 millis")
      yield* Scope.close(scope, Exit.void)
      expect(yield* Fiber.join(waiting)).toEqual(new Uint8Array(800).fill(0x80))
      expect(yield* session.read(320)).toEqual(new Uint8Array(320).fill(0x80))
    }).pipe(Effect.provide(sessionsLayer())))
})
