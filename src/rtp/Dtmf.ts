/**
 * DTMF over RTP as RFC 4733 telephone-events: the 4-octet payload, a receiver
 * that turns a packet stream into digits, and the packet sequence a sender
 * emits for one digit.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"

/**
 * A key of the telephone keypad, plus `"!"` for flash (hook flash, event 16).
 *
 * @category models
 * @since 0.1.0
 */
export type DtmfDigit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "*" | "#" | "A" | "B" | "C" | "D" | "!"

/**
 * One telephone-event payload (RFC 4733 §2.3). `volume` is the power level
 * in -dBm0 (0-63); `duration` is in RTP timestamp units since the event's
 * timestamp.
 *
 * @category models
 * @since 0.1.0
 */
export interface TelephoneEvent {
  readonly event: number
  readonly end: boolean
  readonly volume: number
  readonly duration: number
}

/**
 * A telephone-event payload shorter than its 4 octets.
 *
 * @category errors
 * @since 0.1.0
 */
export class TelephoneEventError extends Schema.TaggedError<TelephoneEventError>()("TelephoneEventError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid telephone-event payload: ${this.reason}`
  }
}

// Event codes 0-16 in order (RFC 4733 §3.2, Table 7).
const digits: ReadonlyArray<DtmfDigit> = [
  "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D", "!"
]

/**
 * The digit of an event code, or `undefined` for codes past 16 (tones and
 * line events this library does not map).
 *
 * @category digits
 * @since 0.1.0
 */
export const digitOfEvent = (event: number): DtmfDigit | undefined => digits[event]

/**
 * @category digits
 * @since 0.1.0
 */
export const eventOfDigit = (digit: DtmfDigit): number => digits.indexOf(digit)

/**
 * The digit a character names (`a`-`d` accepted as `A`-`D`), or `undefined`.
 *
 * @category digits
 * @since 0.1.0
 */
export const toDigit = (text: string): DtmfDigit | undefined => {
  const upper = text.toUpperCase()
  return digits.find((digit) => digit === upper)
}

/**
 * Reads the first 4 octets; the reserved bit is ignored, later octets too.
 *
 * @category payload
 * @since 0.1.0
 */
export const decodePayload = (payload: Uint8Array): Result.Result<TelephoneEvent, TelephoneEventError> =>
  payload.length < 4
    ? Result.fail(new TelephoneEventError({ reason: `${payload.length} octets, expected 4` }))
    : Result.succeed({
      event: payload[0]!,
      end: payload[1]! >= 0x80,
      volume: payload[1]! & 0x3f,
      duration: (payload[2]! << 8) | payload[3]!
    })

/**
 * Writes the 4-octet payload at `offset` and returns the offset after it.
 * Fields are cut to their widths (volume 6 bits, duration 16 bits).
 *
 * @category payload
 * @since 0.1.0
 */
export const encodePayloadInto = (bytes: Uint8Array, offset: number, event: TelephoneEvent): number => {
  bytes[offset] = event.event
  bytes[offset + 1] = (event.end ? 0x80 : 0) | (event.volume & 0x3f)
  bytes[offset + 2] = event.duration >>> 8
  bytes[offset + 3] = event.duration
  return offset + 4
}

/**
 * @category payload
 * @since 0.1.0
 */
export const encodePayload = (event: TelephoneEvent): Uint8Array => {
  const bytes = new Uint8Array(4)
  encodePayloadInto(bytes, 0, event)
  return bytes
}

/**
 * What {@link DtmfReceiver} needs of an RTP packet.
 *
 * @category models
 * @since 0.1.0
 */
export interface TelephoneEventPacket {
  readonly timestamp: number
  readonly marker: boolean
  readonly payload: Uint8Array
}

// How many past event timestamps are remembered to recognise late duplicates.
const rememberedEvents = 32

/**
 * Turns received telephone-event packets into digits, one per event.
 *
 * RFC 4733 gives every packet of an event the event's start timestamp, so an
 * event is recognised by its timestamp: the first packet seen for a new
 * timestamp yields the digit, whichever it is (the marked start, a later
 * update or an end packet when the others were lost), and every other packet
 * with that timestamp (updates, the repeated end packets, duplicates, packets
 * arriving late after a later event) yields nothing. The last 32 event
 * timestamps are remembered. A segment of a long event (§2.5.1.3: unmarked,
 * same code, timestamp = previous segment's timestamp + its duration, the
 * previous one not ended) continues the event. Payloads that are too short and
 * codes above 16 are ignored.
 *
 * Packets are expected to come from one payload type and SSRC; a timestamp
 * reused by a new source within 32 events would be taken as a duplicate.
 *
 * @category receiving
 * @since 0.1.0
 */
export class DtmfReceiver {
  private readonly seen = new Float64Array(rememberedEvents).fill(-1)
  private seenNext = 0
  private lastTimestamp = -1
  private lastEvent = -1
  private lastEnded = true
  private lastDuration = 0

  push(packet: TelephoneEventPacket): DtmfDigit | undefined {
    const decoded = decodePayload(packet.payload)
    if (Result.isFailure(decoded)) return undefined
    const { duration, end, event } = decoded.success
    const digit = digitOfEvent(event)
    if (digit === undefined) return undefined
    const timestamp = packet.timestamp >>> 0
    if (timestamp === this.lastTimestamp) {
      this.lastEnded ||= end
      this.lastDuration = Math.max(this.lastDuration, duration)
      return undefined
    }
    if (this.seen.includes(timestamp)) return undefined
    const continues = !packet.marker && !this.lastEnded && event === this.lastEvent &&
      ((timestamp - this.lastTimestamp) >>> 0) === this.lastDuration
    this.seen[this.seenNext] = timestamp
    this.seenNext = (this.seenNext + 1) % rememberedEvents
    this.lastTimestamp = timestamp
    this.lastEvent = event
    this.lastEnded = end
    this.lastDuration = duration
    return continues ? undefined : digit
  }
}

/**
 * How {@link dtmfPackets} shapes an event.
 *
 * @category sending
 * @since 0.1.0
 */
export interface DtmfSendOptions {
  /** RTP timestamp of the event start, shared by all its packets. Default 0. */
  readonly startTimestamp?: number
  /**
   * Tone length. Default 100 ms, the usual choice of SIP phones and PBXes
   * (ITU-T Q.24 asks for at least 40 ms). Cut at 65535 timestamp units.
   */
  readonly durationMs?: number
  /** Time between packets. Default 20 ms. */
  readonly packetMs?: number
  /** Power level in -dBm0, 0-63. Default 10. */
  readonly volume?: number
  /** RTP clock rate of telephone-event. Default 8000 Hz. */
  readonly clockRate?: number
}

/**
 * One packet of a telephone event, for the session to number and send
 * `offsetMs` after the first one.
 *
 * @category sending
 * @since 0.1.0
 */
export interface DtmfPacket {
  readonly marker: boolean
  readonly timestamp: number
  readonly payload: Uint8Array
  readonly end: boolean
  readonly offsetMs: number
}

/**
 * The packets that send one digit (RFC 4733 §2.5.1): every packet carries the
 * start timestamp; the first has the marker bit; the duration grows by one
 * packet time per packet up to the tone length; the last (E bit set, final
 * duration) is sent three times in all. With the defaults that is 7 packets,
 * 20 ms apart, durations 160, 320, 480, 640, 800, 800, 800.
 *
 * @category sending
 * @since 0.1.0
 */
export const dtmfPackets = (digit: DtmfDigit, options: DtmfSendOptions = {}): ReadonlyArray<DtmfPacket> => {
  const clockRate = options.clockRate ?? 8000
  const packetMs = options.packetMs ?? 20
  const unitsPerPacket = Math.max(1, Math.round((packetMs * clockRate) / 1000))
  const total = Math.min(0xffff, Math.max(1, Math.round(((options.durationMs ?? 100) * clockRate) / 1000)))
  const updates = Math.ceil(total / unitsPerPacket)
  const timestamp = (options.startTimestamp ?? 0) >>> 0
  const event = eventOfDigit(digit)
  const volume = options.volume ?? 10
  const packets: Array<DtmfPacket> = []
  for (let index = 0; index < updates + 2; index++) {
    const end = index >= updates - 1
    packets.push({
      marker: index === 0,
      timestamp,
      payload: encodePayload({ event, end, volume, duration: end ? total : (index + 1) * unitsPerPacket }),
      end,
      offsetMs: index * packetMs
    })
  }
  return packets
}
