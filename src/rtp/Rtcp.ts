/**
 * RTCP (RFC 3550 §6): SR, RR, SDES and BYE packets and compound packets, the
 * per-source reception statistics of Appendix A (sequence validation, loss,
 * interarrival jitter, LSR/DLSR and round-trip time) and the report interval
 * of §6.3 / A.7.
 *
 * Everything here is pure: times and random numbers come in as arguments.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { readUint32, writeUint32 } from "./internal/bigEndian.ts"

/**
 * A datagram that is not a valid (compound) RTCP packet.
 *
 * @category errors
 * @since 0.1.0
 */
export class RTCPParseError extends Schema.TaggedError<RTCPParseError>()("RTCPParseError", {
  reason: Schema.String,
  offset: Schema.Number
}) {
  override get message(): string {
    return `invalid RTCP packet: ${this.reason} (at octet ${this.offset})`
  }
}

/**
 * A reception report block (§6.4.1). `fractionLost` is in 1/256ths;
 * `cumulativeLost` is signed (duplicates can make it negative);
 * `lastSenderReport` is the middle 32 bits of the last SR's NTP time and
 * `delaySinceLastSenderReport` is in 1/65536 s.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReportBlock {
  readonly ssrc: number
  readonly fractionLost: number
  readonly cumulativeLost: number
  readonly extendedHighestSequence: number
  readonly jitter: number
  readonly lastSenderReport: number
  readonly delaySinceLastSenderReport: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SenderReport {
  readonly _tag: "SR"
  readonly ssrc: number
  /** NTP timestamp: seconds since 1900 and fraction of a second in 1/2^32. */
  readonly ntpSeconds: number
  readonly ntpFraction: number
  readonly rtpTimestamp: number
  readonly packetCount: number
  readonly octetCount: number
  readonly reports: ReadonlyArray<ReportBlock>
  /** Profile-specific extension after the report blocks (usually empty). */
  readonly extension: Uint8Array
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ReceiverReport {
  readonly _tag: "RR"
  readonly ssrc: number
  readonly reports: ReadonlyArray<ReportBlock>
  readonly extension: Uint8Array
}

/**
 * SDES item types (§6.5).
 *
 * @category models
 * @since 0.1.0
 */
export const SdesItemType = {
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8
} as const

/**
 * @category models
 * @since 0.1.0
 */
export interface SdesItem {
  readonly type: number
  readonly text: string
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SdesChunk {
  readonly ssrc: number
  readonly items: ReadonlyArray<SdesItem>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SourceDescription {
  readonly _tag: "SDES"
  readonly chunks: ReadonlyArray<SdesChunk>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Goodbye {
  readonly _tag: "BYE"
  readonly sources: ReadonlyArray<number>
  readonly reason: string | undefined
}

/**
 * A packet type this module does not decode (APP, feedback, XR...), kept
 * whole: the 5-bit count field and the body after the 4-octet header.
 *
 * @category models
 * @since 0.1.0
 */
export interface OtherPacket {
  readonly _tag: "Other"
  readonly packetType: number
  readonly count: number
  readonly body: Uint8Array
}

/**
 * @category models
 * @since 0.1.0
 */
export type RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | OtherPacket

/**
 * RTCP packet type numbers.
 *
 * @category models
 * @since 0.1.0
 */
export const PacketType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204 } as const

const utf8Decoder = new TextDecoder()
const utf8Encoder = new TextEncoder()
const reportBlockLength = 24

class Failure {
  readonly reason: string
  readonly offset: number
  constructor(reason: string, offset: number) {
    this.reason = reason
    this.offset = offset
  }
}

const readReportBlocks = (bytes: Uint8Array, start: number, count: number): Array<ReportBlock> => {
  const reports = new Array<ReportBlock>(count)
  for (let i = 0; i < count; i++) {
    const at = start + i * reportBlockLength
    reports[i] = {
      ssrc: readUint32(bytes, at),
      fractionLost: bytes[at + 4]!,
      cumulativeLost: (((bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) | bytes[at + 7]!) << 8) >> 8,
      extendedHighestSequence: readUint32(bytes, at + 8),
      jitter: readUint32(bytes, at + 12),
      lastSenderReport: readUint32(bytes, at + 16),
      delaySinceLastSenderReport: readUint32(bytes, at + 20)
    }
  }
  return reports
}

const parseReport = (
  bytes: Uint8Array,
  start: number,
  end: number,
  count: number,
  sender: boolean
): SenderReport | ReceiverReport | Failure => {
  const fixed = sender ? 24 : 4
  const needed = fixed + count * reportBlockLength
  if (end - start < needed) {
    return new Failure(`${sender ? "SR" : "RR"} with ${count} report blocks needs ${needed} octets, has ${end - start}`, start)
  }
  const reports = readReportBlocks(bytes, start + fixed, count)
  const extension = bytes.subarray(start + needed, end)
  const ssrc = readUint32(bytes, start)
  return sender
    ? {
      _tag: "SR",
      ssrc,
      ntpSeconds: readUint32(bytes, start + 4),
      ntpFraction: readUint32(bytes, start + 8),
      rtpTimestamp: readUint32(bytes, start + 12),
      packetCount: readUint32(bytes, start + 16),
      octetCount: readUint32(bytes, start + 20),
      reports,
      extension
    }
    : { _tag: "RR", ssrc, reports, extension }
}

const parseSourceDescription = (
  bytes: Uint8Array,
  packetStart: number,
  end: number,
  count: number
): SourceDescription | Failure => {
  const chunks: Array<SdesChunk> = []
  let at = packetStart + 4
  for (let chunk = 0; chunk < count; chunk++) {
    if (at + 4 > end) return new Failure(`SDES chunk ${chunk + 1} of ${count} is missing`, at)
    const ssrc = readUint32(bytes, at)
    at += 4
    const items: Array<SdesItem> = []
    for (;;) {
      if (at >= end) return new Failure("SDES chunk ends without an END item", at)
      const type = bytes[at]!
      if (type === 0) break
      if (at + 2 > end || at + 2 + bytes[at + 1]! > end) return new Failure(`SDES item ${type} overruns the packet`, at)
      const length = bytes[at + 1]!
      items.push({ type, text: utf8Decoder.decode(bytes.subarray(at + 2, at + 2 + length)) })
      at += 2 + length
    }
    // The END item and the null octets after it fill the chunk to a 32-bit boundary.
    at += 4 - ((at - packetStart) % 4)
    chunks.push({ ssrc, items })
  }
  return { _tag: "SDES", chunks }
}

const parseGoodbye = (bytes: Uint8Array, start: number, end: number, count: number): Goodbye | Failure => {
  if (end - start < 4 * count) return new Failure(`BYE for ${count} sources needs ${4 * count} octets`, start)
  const sources = Array.from({ length: count }, (_, i) => readUint32(bytes, start + 4 * i))
  const reasonAt = start + 4 * count
  if (reasonAt >= end) return { _tag: "BYE", sources, reason: undefined }
  const length = bytes[reasonAt]!
  if (reasonAt + 1 + length > end) return new Failure("BYE reason overruns the packet", reasonAt)
  return { _tag: "BYE", sources, reason: utf8Decoder.decode(bytes.subarray(reasonAt + 1, reasonAt + 1 + length)) }
}

/**
 * Parses a compound RTCP packet into its packets, checking (RFC 3550 A.2)
 * that every packet is version 2, that the length fields add up to the
 * datagram, and that only the last packet is padded, with a padding count
 * that fits. It does not insist on an SR or RR first, so reduced-size RTCP
 * (RFC 5506) parses too.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseResult = (bytes: Uint8Array): Result.Result<ReadonlyArray<RtcpPacket>, RTCPParseError> => {
  const packets: Array<RtcpPacket> = []
  const fail = (failure: Failure) =>
    Result.fail(new RTCPParseError({ reason: failure.reason, offset: failure.offset }))
  if (bytes.length === 0) return fail(new Failure("empty datagram", 0))
  let at = 0
  while (at < bytes.length) {
    if (bytes.length - at < 4) return fail(new Failure(`${bytes.length - at} trailing octets after the last packet`, at))
    const first = bytes[at]!
    if (first >> 6 !== 2) return fail(new Failure(`version ${first >> 6}, expected 2`, at))
    const count = first & 0x1f
    const packetType = bytes[at + 1]!
    const size = 4 * (((bytes[at + 2]! << 8) | bytes[at + 3]!) + 1)
    const packetEnd = at + size
    if (packetEnd > bytes.length) {
      return fail(new Failure(`length field says ${size} octets, ${bytes.length - at} remain`, at))
    }
    let bodyEnd = packetEnd
    if (first & 0x20) {
      if (packetEnd !== bytes.length) return fail(new Failure("padding on a packet that is not the last", at))
      const padding = bytes[packetEnd - 1]!
      if (padding === 0 || padding > size - 4) return fail(new Failure(`padding count ${padding} does not fit`, at))
      bodyEnd -= padding
    }
    const bodyStart = at + 4
    const packet = packetType === PacketType.SR || packetType === PacketType.RR
      ? parseReport(bytes, bodyStart, bodyEnd, count, packetType === PacketType.SR)
      : packetType === PacketType.SDES
      ? parseSourceDescription(bytes, at, bodyEnd, count)
      : packetType === PacketType.BYE
      ? parseGoodbye(bytes, bodyStart, bodyEnd, count)
      : { _tag: "Other" as const, packetType, count, body: bytes.subarray(bodyStart, bodyEnd) }
    if (packet instanceof Failure) return fail(packet)
    packets.push(packet)
    at = packetEnd
  }
  return Result.succeed(packets)
}

/**
 * {@link parseResult} as an Effect.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parse = (bytes: Uint8Array): Effect.Effect<ReadonlyArray<RtcpPacket>, RTCPParseError> =>
  Effect.fromResult(parseResult(bytes))

const padTo4 = (length: number): number => (length + 3) & ~3

const encodeText = (text: string): Uint8Array => {
  const encoded = utf8Encoder.encode(text)
  // SDES items and BYE reasons carry a one-octet length.
  return encoded.length > 255 ? encoded.subarray(0, 255) : encoded
}

const bodyLength = (packet: RtcpPacket): number => {
  switch (packet._tag) {
    case "SR":
      return 24 + reportBlockLength * Math.min(packet.reports.length, 31) + padTo4(packet.extension.length)
    case "RR":
      return 4 + reportBlockLength * Math.min(packet.reports.length, 31) + padTo4(packet.extension.length)
    case "SDES":
      return packet.chunks.slice(0, 31).reduce(
        (sum, chunk) => sum + 4 + padTo4(chunk.items.reduce((items, item) => items + 2 + encodeText(item.text).length, 0) + 1),
        0
      )
    case "BYE":
      return 4 * Math.min(packet.sources.length, 31) +
        (packet.reason === undefined ? 0 : padTo4(1 + encodeText(packet.reason).length))
    case "Other":
      return padTo4(packet.body.length)
  }
}

const writeReportBlocks = (bytes: Uint8Array, at: number, reports: ReadonlyArray<ReportBlock>): number => {
  for (const block of reports.slice(0, 31)) {
    writeUint32(bytes, at, block.ssrc)
    writeUint32(bytes, at + 4, block.cumulativeLost & 0xffffff)
    bytes[at + 4] = block.fractionLost
    writeUint32(bytes, at + 8, block.extendedHighestSequence)
    writeUint32(bytes, at + 12, block.jitter)
    writeUint32(bytes, at + 16, block.lastSenderReport)
    writeUint32(bytes, at + 20, block.delaySinceLastSenderReport)
    at += reportBlockLength
  }
  return at
}

const countOf = (packet: RtcpPacket): number => {
  switch (packet._tag) {
    case "SR":
    case "RR":
      return Math.min(packet.reports.length, 31)
    case "SDES":
      return Math.min(packet.chunks.length, 31)
    case "BYE":
      return Math.min(packet.sources.length, 31)
    case "Other":
      return packet.count & 0x1f
  }
}

const packetTypeOf = (packet: RtcpPacket): number =>
  packet._tag === "Other" ? packet.packetType : PacketType[packet._tag]

/** Writes `packet` at `at` (the buffer is zero-filled) and returns the offset after it. */
const writePacket = (bytes: Uint8Array, at: number, packet: RtcpPacket): number => {
  const size = 4 + bodyLength(packet)
  bytes[at] = 0x80 | countOf(packet)
  bytes[at + 1] = packetTypeOf(packet)
  bytes[at + 2] = (size / 4 - 1) >>> 8
  bytes[at + 3] = size / 4 - 1
  let cursor = at + 4
  switch (packet._tag) {
    case "SR":
      writeUint32(bytes, cursor, packet.ssrc)
      writeUint32(bytes, cursor + 4, packet.ntpSeconds)
      writeUint32(bytes, cursor + 8, packet.ntpFraction)
      writeUint32(bytes, cursor + 12, packet.rtpTimestamp)
      writeUint32(bytes, cursor + 16, packet.packetCount)
      writeUint32(bytes, cursor + 20, packet.octetCount)
      bytes.set(packet.extension, writeReportBlocks(bytes, cursor + 24, packet.reports))
      break
    case "RR":
      writeUint32(bytes, cursor, packet.ssrc)
      bytes.set(packet.extension, writeReportBlocks(bytes, cursor + 4, packet.reports))
      break
    case "SDES":
      for (const chunk of packet.chunks.slice(0, 31)) {
        writeUint32(bytes, cursor, chunk.ssrc)
        const chunkStart = cursor + 4
        cursor = chunkStart
        for (const item of chunk.items) {
          const text = encodeText(item.text)
          bytes[cursor] = item.type
          bytes[cursor + 1] = text.length
          bytes.set(text, cursor + 2)
          cursor += 2 + text.length
        }
        cursor = chunkStart + padTo4(cursor - chunkStart + 1)
      }
      break
    case "BYE": {
      const sources = packet.sources.slice(0, 31)
      sources.forEach((source, i) => writeUint32(bytes, cursor + 4 * i, source))
      if (packet.reason !== undefined) {
        const text = encodeText(packet.reason)
        bytes[cursor + 4 * sources.length] = text.length
        bytes.set(text, cursor + 4 * sources.length + 1)
      }
      break
    }
    case "Other":
      bytes.set(packet.body, cursor)
      break
  }
  return at + size
}

/**
 * Writes packets back to back as one compound packet. Lists are cut to the
 * 31 entries the count field holds, texts to 255 octets; SDES chunks end with
 * END and null octets to a 32-bit boundary, BYE reasons are null-padded.
 *
 * @category encoding
 * @since 0.1.0
 */
export const serializeCompound = (packets: ReadonlyArray<RtcpPacket>): Uint8Array => {
  const bytes = new Uint8Array(packets.reduce((sum, packet) => sum + 4 + bodyLength(packet), 0))
  packets.reduce((at, packet) => writePacket(bytes, at, packet), 0)
  return bytes
}

/**
 * @category encoding
 * @since 0.1.0
 */
export const serialize = (packet: RtcpPacket): Uint8Array => serializeCompound([packet])

// ---------------------------------------------------------------------------
// Time

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const ntpUnixOffset = 2_208_988_800

/**
 * An NTP timestamp (seconds since 1900, fraction in 1/2^32 s).
 *
 * @category time
 * @since 0.1.0
 */
export interface NtpTime {
  readonly seconds: number
  readonly fraction: number
}

/**
 * @category time
 * @since 0.1.0
 */
export const ntpFromUnixMillis = (millis: number): NtpTime => {
  const seconds = Math.floor(millis / 1000)
  return {
    seconds: (seconds + ntpUnixOffset) >>> 0,
    fraction: Math.min(0xffffffff, Math.round(((millis - seconds * 1000) / 1000) * 2 ** 32))
  }
}

/**
 * The middle 32 bits of an NTP timestamp (16.16 fixed point seconds): the
 * form of LSR and of round-trip arithmetic.
 *
 * @category time
 * @since 0.1.0
 */
export const ntpMiddle32 = (time: NtpTime): number => (((time.seconds & 0xffff) << 16) | (time.fraction >>> 16)) >>> 0

/**
 * The round-trip time in seconds that a report block gives its sender
 * (§6.4.1): arrival time − LSR − DLSR, all in 1/65536 s. `undefined` when the
 * reporter has had no SR from us (LSR 0); 0 when clock error makes it negative.
 *
 * @category statistics
 * @since 0.1.0
 */
export const roundTripSeconds = (block: ReportBlock, arrival: NtpTime): number | undefined => {
  if (block.lastSenderReport === 0) return undefined
  const units = (ntpMiddle32(arrival) - block.lastSenderReport - block.delaySinceLastSenderReport) | 0
  return Math.max(0, units) / 65536
}

// ---------------------------------------------------------------------------
// Reception statistics (RFC 3550 A.1, A.3, A.8)

const sequenceModulo = 65536
const maxDropout = 3000
const maxMisorder = 100
const minSequential = 2

/**
 * Reception statistics for one source, as RFC 3550 Appendix A computes
 * them: feed every packet to {@link receive} and, at report time, take a
 * {@link ReceptionStatistics.reportBlock}.
 *
 * `arrivalSeconds` is the local clock in seconds (any origin; only
 * differences matter); `clockRate` converts it to RTP units for jitter.
 *
 * @category statistics
 * @since 0.1.0
 */
export class ReceptionStatistics {
  readonly ssrc: number
  private readonly clockRate: number
  private maxSequence = 0
  private cycles = 0
  private baseSequence = 0
  private badSequence = sequenceModulo + 1
  private probation = minSequential
  private receivedCount = 0
  private expectedPrior = 0
  private receivedPrior = 0
  private jitterUnits = 0
  private lastArrival: number | undefined
  private lastTimestamp = 0
  private lastSenderReport = 0
  private lastSenderReportArrival: number | undefined
  private started = false

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc >>> 0
    this.clockRate = clockRate
  }

  /** Packets counted as received (after probation). */
  get received(): number {
    return this.receivedCount
  }

  /** Whether the source has passed probation (A.1: two packets in sequence). */
  get valid(): boolean {
    return this.started && this.probation === 0
  }

  /** Interarrival jitter in RTP timestamp units (A.8), unrounded. */
  get jitter(): number {
    return this.jitterUnits
  }

  get extendedHighestSequence(): number {
    return (this.cycles + this.maxSequence) >>> 0
  }

  /** Cumulative packets lost (A.3), before clamping to 24 bits. */
  get cumulativeLost(): number {
    return this.expected() - this.receivedCount
  }

  /**
   * Accounts one RTP packet; returns whether it is valid (A.1's
   * `update_seq`): false during probation and for a large jump in sequence
   * numbers, until the next packet confirms the jump (the sender restarted).
   * An untimed packet counts for loss but not for jitter: every packet of
   * an RFC 4733 event carries the event's start timestamp, so its transit
   * time says nothing about the network.
   */
  receive(sequence: number, rtpTimestamp: number, arrivalSeconds: number, timed = true): boolean {
    const seq = sequence & 0xffff
    if (!this.started) {
      this.started = true
      this.initSequence(seq)
      this.maxSequence = (seq - 1) & 0xffff
      this.probation = minSequential
    }
    const valid = this.updateSequence(seq)
    if (valid && timed) this.updateJitter(rtpTimestamp >>> 0, arrivalSeconds)
    return valid
  }

  /** Records an SR from this source, for LSR and DLSR in our next report block. */
  senderReport(ntp: NtpTime, arrivalSeconds: number): void {
    this.lastSenderReport = ntpMiddle32(ntp)
    this.lastSenderReportArrival = arrivalSeconds
  }

  /**
   * The report block about this source at `nowSeconds`, and the start of the
   * next reporting interval (A.3: fraction lost covers the packets since the
   * previous block).
   */
  reportBlock(nowSeconds: number): ReportBlock {
    const expected = this.expected()
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.receivedCount))
    const expectedInterval = expected - this.expectedPrior
    const receivedInterval = this.receivedCount - this.receivedPrior
    this.expectedPrior = expected
    this.receivedPrior = this.receivedCount
    const lostInterval = expectedInterval - receivedInterval
    const fractionLost = expectedInterval === 0 || lostInterval <= 0
      ? 0
      : Math.floor((lostInterval * 256) / expectedInterval)
    return {
      ssrc: this.ssrc,
      fractionLost,
      cumulativeLost: lost,
      extendedHighestSequence: this.extendedHighestSequence,
      jitter: Math.floor(this.jitterUnits) >>> 0,
      lastSenderReport: this.lastSenderReport,
      delaySinceLastSenderReport: this.lastSenderReportArrival === undefined
        ? 0
        : Math.max(0, Math.round((nowSeconds - this.lastSenderReportArrival) * 65536)) >>> 0
    }
  }

  private expected(): number {
    return this.started ? this.cycles + this.maxSequence - this.baseSequence + 1 : 0
  }

  private initSequence(seq: number): void {
    this.baseSequence = seq
    this.maxSequence = seq
    this.badSequence = sequenceModulo + 1
    this.cycles = 0
    this.receivedCount = 0
    this.receivedPrior = 0
    this.expectedPrior = 0
  }

  private updateSequence(seq: number): boolean {
    const delta = (seq - this.maxSequence) & 0xffff
    if (this.probation > 0) {
      if (seq === ((this.maxSequence + 1) & 0xffff)) {
        this.probation--
        this.maxSequence = seq
        if (this.probation === 0) {
          this.initSequence(seq)
          this.receivedCount++
          return true
        }
      } else {
        this.probation = minSequential - 1
        this.maxSequence = seq
      }
      return false
    }
    if (delta < maxDropout) {
      if (seq < this.maxSequence) this.cycles += sequenceModulo
      this.maxSequence = seq
    } else if (delta <= sequenceModulo - maxMisorder) {
      if (seq !== this.badSequence) {
        this.badSequence = (seq + 1) & 0xffff
        return false
      }
      this.initSequence(seq)
    }
    this.receivedCount++
    return true
  }

  private updateJitter(rtpTimestamp: number, arrivalSeconds: number): void {
    if (this.lastArrival !== undefined) {
      // D(i-1, i) of A.8, with the timestamp difference taken across the 2^32 wrap.
      const spacing = (arrivalSeconds - this.lastArrival) * this.clockRate - ((rtpTimestamp - this.lastTimestamp) | 0)
      this.jitterUnits += (Math.abs(spacing) - this.jitterUnits) / 16
    }
    this.lastArrival = arrivalSeconds
    this.lastTimestamp = rtpTimestamp
  }
}

// ---------------------------------------------------------------------------
// Transmission interval (RFC 3550 §6.3.1, A.7)

const reconsiderationCompensation = 2.71828 - 1.5

/**
 * The inputs of the RTCP interval computation.
 *
 * @category interval
 * @since 0.1.0
 */
export interface IntervalInputs {
  /** Session members, ourselves included. */
  readonly members: number
  /** Members that sent RTP since the last two reports, ourselves included if we did. */
  readonly senders: number
  /** RTCP bandwidth in octets per second (5 % of the session bandwidth). */
  readonly rtcpBandwidth: number
  readonly weSent: boolean
  /** Average compound RTCP packet size in octets, UDP and IP headers included. */
  readonly averageRtcpSize: number
  /** Before our first report: the minimum is halved. */
  readonly initial: boolean
}

/**
 * The time in seconds until the next RTCP report (A.7 `rtcp_interval`): the
 * deterministic interval (at least 5 s, 2.5 s before the first report; a
 * quarter of the bandwidth for senders when they are under a quarter of the
 * members), multiplied by a factor uniform in [0.5, 1.5) drawn from `random`
 * (a number in [0, 1)), divided by A.7's `COMPENSATION` (2.71828 − 1.5, e − 3/2
 * rounded) to compensate for timer reconsideration.
 *
 * @category interval
 * @since 0.1.0
 */
export const rtcpInterval = (inputs: IntervalInputs, random: number): number => {
  const minimum = inputs.initial ? 2.5 : 5
  let bandwidth = inputs.rtcpBandwidth
  let members = inputs.members
  if (inputs.senders <= inputs.members * 0.25) {
    if (inputs.weSent) {
      bandwidth *= 0.25
      members = inputs.senders
    } else {
      bandwidth *= 0.75
      members -= inputs.senders
    }
  }
  const deterministic = Math.max(minimum, bandwidth > 0 ? (inputs.averageRtcpSize * members) / bandwidth : minimum)
  return (deterministic * (random + 0.5)) / reconsiderationCompensation
}

/**
 * The running average of compound RTCP packet sizes (§6.3.3): each packet
 * sent or received weighs 1/16.
 *
 * @category interval
 * @since 0.1.0
 */
export const updateAverageRtcpSize = (average: number, packetSize: number): number =>
  packetSize / 16 + (average * 15) / 16
