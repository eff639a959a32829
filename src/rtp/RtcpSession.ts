/**
 * The RTCP side of an RTP session (RFC 3550 §6) on its own socket (RTP port
 * + 1): compound reports on the randomized interval (SR when we sent RTP
 * since the last report, RR otherwise, with SDES CNAME), reports from the
 * peer read for loss, jitter and round-trip time (LSR/DLSR), and BYE when
 * the session ends.
 *
 * Reports go to where the peer's RTCP last came from (symmetric RTCP), else
 * to the address the session names. RTCP is accepted only from the peer's
 * host. All timing is on `Clock`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, type Latch, Random, Result, type Scope } from "effect"
import { NetAddress } from "effect/net"
import type { DatagramSocket } from "effect/socket"
import type { SessionCounters } from "./Metrics.ts"
import {
  type IntervalInputs,
  ntpFromUnixMillis,
  parseResult,
  type ReportBlock,
  roundTripSeconds,
  type RtcpPacket,
  rtcpInterval,
  SdesItemType,
  serializeCompound,
  updateAverageRtcpSize
} from "./Rtcp.ts"

/**
 * What the RTCP side needs of its RTP session.
 *
 * @category models
 * @since 0.1.0
 */
export interface RtcpPeer {
  readonly ssrc: number
  readonly cname: string
  readonly counters: SessionCounters
  /** Open once the session has a peer; reports wait for it. */
  readonly configured: Latch.Latch
  /** Where reports go when the peer has sent us no RTCP yet; undefined before the session has a peer. */
  readonly destination: () => NetAddress.InetAddress | undefined
  /** Whether RTCP from this address is the peer's. */
  readonly accepts: (source: NetAddress.InetAddress) => boolean
  /** The RTP timestamp of our stream at the moment `monotonicMillis` (for SR). */
  readonly rtpTimestampAt: (monotonicMillis: number) => number
  /** RTP session bandwidth in octets per second (RTCP gets 5 % of it). */
  readonly sessionBandwidth: () => number
}

/**
 * The RTCP socket of a session, its reader and writer acquired.
 *
 * @category models
 * @since 0.1.0
 */
export interface RtcpSocket {
  readonly reader: DatagramSocket.Reader
  readonly writer: DatagramSocket.Writer
}

// IPv4 + UDP headers, counted in the RTCP packet size average (§6.3.3).
const lowerHeaders = 28
const byeTimeout = Duration.millis(200)
const noExtension = new Uint8Array(0)

/**
 * Runs RTCP for `peer` on `socket` until the current scope closes, then
 * sends BYE.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (socket: RtcpSocket, peer: RtcpPeer): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const monotonicMillis = () => Number(clock.monotonicTimeNanosUnsafe()) / 1e6
    const counters = peer.counters
    let heardFrom: NetAddress.InetAddress | undefined
    let heardFromTarget: NetAddress.InetAddress | undefined
    let averageSize = 128
    let packetsAtLastReport = 0
    let peerSentSinceReport = false

    const target = (): NetAddress.InetAddress | undefined => {
      const destination = peer.destination()
      // A re-targeted session forgets where the previous peer's RTCP came from.
      if (heardFrom !== undefined && heardFromTarget === destination) return heardFrom
      return destination
    }

    const report = (bye: boolean): Uint8Array => {
      const now = monotonicMillis()
      const reception = counters.reception
      const reports: Array<ReportBlock> = []
      if (reception?.valid) {
        const block = reception.reportBlock(now / 1000)
        counters.lastReportBlock = block
        reports.push(block)
      }
      const weSent = counters.packetsSent > packetsAtLastReport
      packetsAtLastReport = counters.packetsSent
      const ntp = ntpFromUnixMillis(clock.currentTimeMillisUnsafe())
      const packets: Array<RtcpPacket> = [
        weSent
          ? {
            _tag: "SR",
            ssrc: peer.ssrc,
            ntpSeconds: ntp.seconds,
            ntpFraction: ntp.fraction,
            rtpTimestamp: peer.rtpTimestampAt(now),
            packetCount: counters.packetsSent >>> 0,
            octetCount: counters.bytesSent >>> 0,
            reports,
            extension: noExtension
          }
          : { _tag: "RR", ssrc: peer.ssrc, reports, extension: noExtension },
        { _tag: "SDES", chunks: [{ ssrc: peer.ssrc, items: [{ type: SdesItemType.CNAME, text: peer.cname }] }] }
      ]
      if (bye) packets.push({ _tag: "BYE", sources: [peer.ssrc], reason: undefined })
      return serializeCompound(packets)
    }

    const send = (bytes: Uint8Array, destination: NetAddress.InetAddress) =>
      socket.writer.write({ payload: bytes, address: destination }).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            counters.rtcpSent++
            averageSize = updateAverageRtcpSize(averageSize, bytes.length + lowerHeaders)
          })
        ),
        Effect.catch(() => Effect.sync(() => void counters.sendErrors++))
      )

    const receive = (datagram: DatagramSocket.Datagram) => {
      const source = datagram.address
      if (!peer.accepts(source)) {
        counters.foreignPackets++
        return
      }
      const parsed = parseResult(datagram.payload)
      if (Result.isFailure(parsed)) {
        counters.malformedPackets++
        return
      }
      counters.rtcpReceived++
      averageSize = updateAverageRtcpSize(averageSize, datagram.payload.length + lowerHeaders)
      heardFrom = source
      heardFromTarget = peer.destination()
      const arrival = monotonicMillis() / 1000
      for (const packet of parsed.success) {
        if (packet._tag === "BYE") {
          counters.remoteBye = true
          continue
        }
        if (packet._tag !== "SR" && packet._tag !== "RR") continue
        if (packet._tag === "SR") {
          peerSentSinceReport = true
          const reception = counters.reception
          if (reception?.ssrc === packet.ssrc) {
            reception.senderReport({ seconds: packet.ntpSeconds, fraction: packet.ntpFraction }, arrival)
          }
        }
        for (const block of packet.reports) {
          if (block.ssrc !== peer.ssrc) continue
          counters.remoteReport = block
          const roundTrip = roundTripSeconds(block, ntpFromUnixMillis(clock.currentTimeMillisUnsafe()))
          if (roundTrip !== undefined) counters.roundTripSeconds = roundTrip
        }
      }
    }

    const interval = (initial: boolean, random: number): number => {
      const weSent = counters.packetsSent > packetsAtLastReport
      const peerSent = peerSentSinceReport || (counters.reception?.received ?? 0) > 0
      const inputs: IntervalInputs = {
        members: 2,
        senders: (weSent ? 1 : 0) + (peerSent ? 1 : 0),
        rtcpBandwidth: 0.05 * peer.sessionBandwidth(),
        weSent,
        averageRtcpSize: averageSize,
        initial
      }
      return rtcpInterval(inputs, random)
    }

    yield* Effect.forkScoped(Effect.gen(function*() {
      while (true) for (const datagram of yield* socket.reader.pull) receive(datagram)
    }).pipe(Effect.ignore))

    yield* Effect.forkScoped(Effect.gen(function*() {
      let initial = true
      while (true) {
        yield* peer.configured.await
        const seconds = interval(initial, yield* Random.next)
        yield* Effect.sleep(Duration.millis(seconds * 1000))
        const destination = target()
        if (destination === undefined) continue
        yield* send(report(false), destination)
        peerSentSinceReport = false
        initial = false
      }
    }))

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const destination = target()
        if (destination === undefined) return Effect.void
        return send(report(true), destination).pipe(Effect.timeoutOption(byeTimeout), Effect.asVoid)
      })
    )
  })

/**
 * Whether `source` is on the same host as `peer` (any port): RTCP from a
 * NATed peer comes from a port of its own choosing.
 *
 * @category helpers
 * @since 0.1.0
 */
export const sameHost = (source: NetAddress.InetAddress, peer: NetAddress.InetAddress): boolean =>
  source._tag === peer._tag && NetAddress.formatIp(source.address) === NetAddress.formatIp(peer.address)
