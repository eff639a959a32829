/**
 * RTCP and statistics of two sessions joined by an in-memory network under
 * `TestClock`: report types and timing, CNAME, report blocks, round-trip
 * time, BYE, and the per-session metrics.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Metric, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Rtcp from "../../../src/rtp/Rtcp.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import { mediaTo, memoryNetwork, sessionsLayer } from "./helpers.ts"

const reportsFrom = (network: Effect.Success<typeof memoryNetwork>, rtcpPort: number) =>
  network.sent.filter((datagram) => datagram.port === rtcpPort).map((datagram) => {
    const parsed = Rtcp.parseResult(datagram.payload)
    if (parsed._tag === "Failure") throw parsed.failure
    return { at: datagram.at, packets: parsed.success }
  })

describe("RTCP", () => {
  it.effect("SR while sending, RR once not, SDES CNAME, randomized interval, report blocks, RTT and BYE", () =>
    Effect.gen(function*() {
      const network = yield* memoryNetwork
      const make = (options: RTPClient.RTPClientOptions) =>
        RTPClient.make({ address: "127.0.0.1", ...options }).pipe(
          Effect.provideService(RTPClient.RTPSocketFactory, network.factory)
        )
      const bob = yield* make({ cname: "bob@test" })
      const aliceScope = yield* Scope.make()
      const alice = yield* make({ cname: "alice@test", media: mediaTo(bob.localPort) }).pipe(Scope.provide(aliceScope))
      const bobMedia = mediaTo(alice.localPort)
      yield* bob.update(bobMedia)
      yield* TestClock.adjust("60 seconds")

      const fromAlice = reportsFrom(network, alice.localPort + 1)
      expect(fromAlice.length).toBeGreaterThanOrEqual(9)
      expect(fromAlice.length).toBeLessThanOrEqual(30)
      // RFC 3550 A.7: 2.5 s (first report) or 5 s, times [0.5, 1.5), over e - 3/2.
      const gaps = fromAlice.map((report, i) => report.at - (i === 0 ? 0 : fromAlice[i - 1]!.at))
      expect(gaps[0]).toBeGreaterThanOrEqual(1026)
      expect(gaps[0]).toBeLessThan(3079)
      expect(gaps.slice(1).every((gap) => gap >= 2052 && gap < 6157)).toBe(true)
      for (const { packets } of fromAlice) {
        expect(packets.map((packet) => packet._tag)).toEqual(["SR", "SDES"])
        expect(packets[1]).toEqual({
          _tag: "SDES",
          chunks: [{ ssrc: alice.ssrc, items: [{ type: Rtcp.SdesItemType.CNAME, text: "alice@test" }] }]
        })
      }
      const last = fromAlice[fromAlice.length - 1]!.packets[0] as Rtcp.SenderReport
      expect(last.ssrc).toBe(alice.ssrc)
      expect(last.reports).toEqual([expect.objectContaining({ ssrc: bob.ssrc, fractionLost: 0, cumulativeLost: 0 })])
      expect(last.packetCount).toBeGreaterThan(2000)
      expect(last.octetCount).toBe(160 * last.packetCount)

      const aliceStats = yield* alice.stats
      expect(aliceStats.roundTripMs).toBeDefined()
      expect(aliceStats.roundTripMs!).toBeLessThan(1)
      expect(aliceStats.remote).toEqual({ packetsLost: 0, fractionLost: 0, jitterMs: 0 })
      expect(aliceStats).toMatchObject({ packetsLost: 0, fractionLost: 0, remoteSsrc: bob.ssrc })
      // A network without delay: no jitter (up to floating-point noise).
      expect(aliceStats.jitterMs).toBeCloseTo(0, 6)

      // Bob stops sending: after the report that covers his last packets, his reports are RRs.
      yield* bob.update({ ...bobMedia, direction: "recvonly" })
      yield* TestClock.adjust("20 seconds")
      const fromBob = reportsFrom(network, bob.localPort + 1)
      expect(fromBob.slice(-2).map((report) => report.packets[0]!._tag)).toEqual(["RR", "RR"])

      yield* Scope.close(aliceScope, Exit.void)
      const bye = reportsFrom(network, alice.localPort + 1).at(-1)!
      expect(bye.packets.map((packet) => packet._tag)).toEqual(["SR", "SDES", "BYE"])
      yield* TestClock.adjust("10 millis")
      expect((yield* bob.stats).remoteBye).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())))

  it.effect("statistics are Metric series labelled by session, removed when the session ends", () =>
    Effect.gen(function*() {
      const network = yield* memoryNetwork
      const scope = yield* Scope.make()
      const session = yield* RTPClient.make({ address: "127.0.0.1", id: "call-42", media: mediaTo(30000) }).pipe(
        Effect.provideService(RTPClient.RTPSocketFactory, network.factory),
        Scope.provide(scope)
      )
      yield* TestClock.adjust("1 second")
      const ours = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>) =>
        snapshots.filter((snapshot) => snapshot.attributes?.["session"] === "call-42")
      const series = ours(yield* Metric.snapshot)
      const sent = series.find((snapshot) => snapshot.id === "rtp_packets_sent")
      expect(sent?.state).toEqual({ count: (yield* session.stats).packetsSent, incremental: true })
      expect(series.map((snapshot) => snapshot.id).sort()).toEqual([
        "rtp_bytes_received",
        "rtp_bytes_sent",
        "rtp_dropped_packets",
        "rtp_fraction_lost",
        "rtp_jitter_ms",
        "rtp_packets_lost",
        "rtp_packets_received",
        "rtp_packets_sent",
        "rtp_round_trip_ms"
      ])
      yield* Scope.close(scope, Exit.void)
      expect(ours(yield* Metric.snapshot)).toEqual([])
    }).pipe(Effect.provide(sessionsLayer())))
})
