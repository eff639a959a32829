/**
 * Statistics of one RTP session: what was sent and received, loss, jitter
 * and round-trip time (RFC 3550 §6.4), and what the session refused.
 *
 * The session counts in plain fields ({@link SessionCounters}), so a packet
 * costs a few increments. {@link register} exposes those fields as Effect
 * `Metric` series labelled with the session, read only when metrics are
 * snapshotted or exported, and removed when the session's scope closes: ten
 * thousand calls leave no series behind.
 *
 * @since 0.1.0
 */
import { Context, Effect, Metric, type Scope } from "effect"
import type { JitterBufferStats } from "./JitterBuffer.ts"
import type { ReceptionStatistics, ReportBlock } from "./Rtcp.ts"

/**
 * What the other side's RTCP reports say about the packets we sent.
 *
 * @category models
 * @since 0.1.0
 */
export interface RemoteReception {
  readonly packetsLost: number
  /** 0 to 1, over the peer's last report interval. */
  readonly fractionLost: number
  readonly jitterMs: number
}

/**
 * A session's statistics at one moment.
 *
 * @category models
 * @since 0.1.0
 */
export interface RTPStats {
  readonly ssrc: number
  /** The SSRC of the media being received, once a packet came. */
  readonly remoteSsrc: number | undefined
  readonly packetsSent: number
  /** Payload octets sent (the SR octet count). */
  readonly bytesSent: number
  readonly packetsReceived: number
  /** Payload octets received. */
  readonly bytesReceived: number
  /** Cumulative packets lost (RFC 3550 A.3): expected minus received. */
  readonly packetsLost: number
  /** 0 to 1: loss over the interval of our last RTCP report. */
  readonly fractionLost: number
  /** Interarrival jitter (RFC 3550 A.8) in milliseconds. */
  readonly jitterMs: number
  /** From the peer's last report on our SR (LSR/DLSR); undefined until there is one. */
  readonly roundTripMs: number | undefined
  /** The peer's view of our stream, from its last RTCP report block about us. */
  readonly remote: RemoteReception | undefined
  /** Packets from addresses other than the peer's, dropped. */
  readonly foreignPackets: number
  /** Datagrams that are not RTP (or RTCP on the RTCP port), dropped. */
  readonly malformedPackets: number
  /** RTP packets of payload types that were not negotiated, dropped. */
  readonly unknownPayloadPackets: number
  /** Send slots skipped because the sender woke up later than a whole packet interval. */
  readonly skippedSlots: number
  /** Sends the socket refused. */
  readonly sendErrors: number
  readonly rtcpSent: number
  readonly rtcpReceived: number
  /** Whether the peer said BYE over RTCP. */
  readonly remoteBye: boolean
  readonly dtmfReceived: number
  readonly dtmfSent: number
  /** The receive buffer's counters; zeros while nobody listens to the audio (nothing is buffered then). */
  readonly jitterBuffer: JitterBufferStats
}

/**
 * The mutable counters a session keeps, turned into {@link RTPStats} by
 * {@link snapshot}.
 *
 * @category models
 * @since 0.1.0
 */
export class SessionCounters {
  readonly ssrc: number
  readonly clockRate: number
  packetsSent = 0
  bytesSent = 0
  bytesReceived = 0
  foreignPackets = 0
  malformedPackets = 0
  unknownPayloadPackets = 0
  skippedSlots = 0
  sendErrors = 0
  rtcpSent = 0
  rtcpReceived = 0
  remoteBye = false
  dtmfReceived = 0
  dtmfSent = 0
  /** Reception statistics of the source being received (replaced when its SSRC changes). */
  reception: ReceptionStatistics | undefined = undefined
  /** The block of our last RTCP report about that source. */
  lastReportBlock: ReportBlock | undefined = undefined
  /** The peer's last report block about our SSRC. */
  remoteReport: ReportBlock | undefined = undefined
  roundTripSeconds: number | undefined = undefined

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc
    this.clockRate = clockRate
  }
}

const noJitterBuffer: JitterBufferStats = {
  received: 0,
  late: 0,
  lost: 0,
  duplicates: 0,
  reordered: 0,
  played: 0,
  concealed: 0,
  dropped: 0,
  resyncs: 0
}

/**
 * The statistics now; `jitterBuffer` is the receive buffer's own counters,
 * if there is a buffer.
 *
 * @category constructors
 * @since 0.1.0
 */
export const snapshot = (counters: SessionCounters, jitterBuffer: JitterBufferStats | undefined): RTPStats => {
  const reception = counters.reception
  const remoteReport = counters.remoteReport
  const toMs = (units: number) => (units / counters.clockRate) * 1000
  return {
    ssrc: counters.ssrc,
    remoteSsrc: reception?.ssrc,
    packetsSent: counters.packetsSent,
    bytesSent: counters.bytesSent,
    packetsReceived: reception?.received ?? 0,
    bytesReceived: counters.bytesReceived,
    packetsLost: reception === undefined ? 0 : Math.max(0, reception.cumulativeLost),
    fractionLost: (counters.lastReportBlock?.fractionLost ?? 0) / 256,
    jitterMs: reception === undefined ? 0 : toMs(reception.jitter),
    roundTripMs: counters.roundTripSeconds === undefined ? undefined : counters.roundTripSeconds * 1000,
    remote: remoteReport === undefined ? undefined : {
      packetsLost: Math.max(0, remoteReport.cumulativeLost),
      fractionLost: remoteReport.fractionLost / 256,
      jitterMs: toMs(remoteReport.jitter)
    },
    foreignPackets: counters.foreignPackets,
    malformedPackets: counters.malformedPackets,
    unknownPayloadPackets: counters.unknownPayloadPackets,
    skippedSlots: counters.skippedSlots,
    sendErrors: counters.sendErrors,
    rtcpSent: counters.rtcpSent,
    rtcpReceived: counters.rtcpReceived,
    remoteBye: counters.remoteBye,
    dtmfReceived: counters.dtmfReceived,
    dtmfSent: counters.dtmfSent,
    jitterBuffer: jitterBuffer ?? noJitterBuffer
  }
}

/**
 * The metrics every session reports, each series labelled `session`.
 * Counters only grow during a session; gauges hold the latest value.
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics = {
  packetsSent: Metric.counter("rtp_packets_sent", { description: "RTP packets sent", incremental: true }),
  bytesSent: Metric.counter("rtp_bytes_sent", { description: "RTP payload octets sent", incremental: true }),
  packetsReceived: Metric.counter("rtp_packets_received", {
    description: "RTP packets received from the peer",
    incremental: true
  }),
  bytesReceived: Metric.counter("rtp_bytes_received", {
    description: "RTP payload octets received from the peer",
    incremental: true
  }),
  packetsLost: Metric.gauge("rtp_packets_lost", { description: "cumulative RTP packets lost (RFC 3550 A.3)" }),
  fractionLost: Metric.gauge("rtp_fraction_lost", { description: "fraction of packets lost in the last RTCP interval" }),
  jitterMs: Metric.gauge("rtp_jitter_ms", { description: "interarrival jitter in milliseconds (RFC 3550 A.8)" }),
  roundTripMs: Metric.gauge("rtp_round_trip_ms", { description: "round-trip time from RTCP LSR/DLSR, in milliseconds" }),
  droppedPackets: Metric.counter("rtp_dropped_packets", {
    description: "datagrams dropped: foreign source, malformed or unknown payload type",
    incremental: true
  })
} as const

type StatsField = (stats: RTPStats) => number

// Series read from the session: updates do not apply.
const ignoreUpdate = () => {}

const counterHooks = (read: StatsField, stats: () => RTPStats): Metric.Metric.Hooks<number, Metric.CounterState<number>> => ({
  get: () => ({ count: read(stats()), incremental: true }),
  update: ignoreUpdate,
  modify: ignoreUpdate
})

const gaugeHooks = (read: StatsField, stats: () => RTPStats): Metric.Metric.Hooks<number, Metric.GaugeState<number>> => ({
  get: () => ({ value: read(stats()) }),
  update: ignoreUpdate,
  modify: ignoreUpdate
})

/**
 * Publishes the session's statistics as the {@link metrics} series with the
 * attribute `session` (added to the current metric attributes), for as long
 * as the current scope is open. `stats` is called whenever a series is read.
 *
 * @category metrics
 * @since 0.1.0
 */
export const register = (session: string, stats: () => RTPStats): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const attributes = Context.get(context, Metric.CurrentMetricAttributes)
    const labelled = Context.add(context, Metric.CurrentMetricAttributes, { ...attributes, session })
    yield* Effect.acquireRelease(
      Effect.sync(() => [
        Metric.registerUnsafe(metrics.packetsSent, labelled, counterHooks((s) => s.packetsSent, stats)),
        Metric.registerUnsafe(metrics.bytesSent, labelled, counterHooks((s) => s.bytesSent, stats)),
        Metric.registerUnsafe(metrics.packetsReceived, labelled, counterHooks((s) => s.packetsReceived, stats)),
        Metric.registerUnsafe(metrics.bytesReceived, labelled, counterHooks((s) => s.bytesReceived, stats)),
        Metric.registerUnsafe(
          metrics.droppedPackets,
          labelled,
          counterHooks((s) => s.foreignPackets + s.malformedPackets + s.unknownPayloadPackets, stats)
        ),
        Metric.registerUnsafe(metrics.packetsLost, labelled, gaugeHooks((s) => s.packetsLost, stats)),
        Metric.registerUnsafe(metrics.fractionLost, labelled, gaugeHooks((s) => s.fractionLost, stats)),
        Metric.registerUnsafe(metrics.jitterMs, labelled, gaugeHooks((s) => s.jitterMs, stats)),
        Metric.registerUnsafe(metrics.roundTripMs, labelled, gaugeHooks((s) => s.roundTripMs ?? 0, stats))
      ]),
      (registrations) => Effect.sync(() => registrations.forEach((registration) => registration.remove()))
    )
  })
