/**
 * Receive-side audio buffering, for codecs with one octet per RTP timestamp
 * unit (G.711, pyVoIP's 8-bit linear audio):
 *
 * - {@link RTPPacketManager}: pyVoIP's byte buffer keyed by timestamp, read
 *   in fixed-size chunks padded with silence.
 * - {@link JitterBuffer}: packets in, one frame out per 20 ms tick, with a
 *   bounded playout delay, loss concealment by silence and statistics.
 *
 * Both keep their audio in a ring, so a call of any length uses the same
 * memory.
 *
 * @since 0.1.0
 */

// pyVoIP forgets everything when a write lands this far (in octets) from the buffered audio.
const pyVoIPResetDistance = 100_000

/** Where absolute `position` (possibly negative: before the first packet) falls in a ring of `length`. */
const slotOf = (position: number, length: number): number => ((position % length) + length) % length

/** `source` into the ring `ring` at absolute `position` (wrapping); `source` must fit in the ring. */
const ringWrite = (ring: Uint8Array, position: number, source: Uint8Array): void => {
  const start = slotOf(position, ring.length)
  const first = Math.min(source.length, ring.length - start)
  ring.set(first === source.length ? source : source.subarray(0, first), start)
  if (first < source.length) ring.set(source.subarray(first), 0)
}

const ringRead = (ring: Uint8Array, position: number, target: Uint8Array, offset: number, length: number): void => {
  const start = slotOf(position, ring.length)
  const first = Math.min(length, ring.length - start)
  target.set(ring.subarray(start, start + first), offset)
  if (first < length) target.set(ring.subarray(0, length - first), offset + first)
}

const ringFill = (ring: Uint8Array, position: number, length: number, value: number): void => {
  const start = slotOf(position, ring.length)
  const first = Math.min(length, ring.length - start)
  ring.fill(value, start, start + first)
  if (first < length) ring.fill(value, 0, length - first)
}

const ringAny = (ring: Uint8Array, position: number, length: number): boolean => {
  const start = slotOf(position, ring.length)
  for (let i = 0; i < length; i++) if (ring[(start + i) % ring.length] !== 0) return true
  return false
}

/** The signed distance from `from` to `to` on a 2^32 circle: timestamps that wrapped compare right. */
const serialDistance = (to: number, from: number): number => (to - from) | 0

/**
 * Options of {@link RTPPacketManager}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RTPPacketManagerOptions {
  /** The octet that pads reads and fills holes. Default 0x80, pyVoIP's 8-bit silence. */
  readonly silence?: number
  /** Initial ring size in octets (grows to hold what is written and not yet read). Default 4096. */
  readonly initialCapacity?: number
}

/**
 * pyVoIP's `RTPPacketManager`: `write(offset, data)` puts audio at its
 * timestamp (holes are filled when their packets come), `read(length)` takes
 * the next `length` octets, padded with silence when less is buffered.
 *
 * As in pyVoIP: a write before everything written so far moves the start back
 * while nothing has been read (reordered first packets), and a write 100,000
 * octets or more before the read position resets the buffer to that write.
 * Unlike pyVoIP: holes are silence (not 0x00), a write after reading started
 * drops only what was already read past, a write 100,000 octets or more after
 * the buffered audio also resets, offsets compare modulo 2^32 (timestamp
 * wrap), and the ring only grows while written audio waits to be read (a
 * whole file handed to `write` at once), never with the call's length.
 *
 * @category buffers
 * @since 0.1.0
 */
export class RTPPacketManager {
  private readonly silence: number
  private ring: Uint8Array
  private readPosition = 0
  private writtenEnd = 0
  private empty = true
  private readSinceStart = false

  constructor(options: RTPPacketManagerOptions = {}) {
    this.silence = options.silence ?? 0x80
    this.ring = new Uint8Array(Math.max(16, options.initialCapacity ?? 4096)).fill(this.silence)
  }

  /** Octets from the read position to the end of the latest audio written. */
  get buffered(): number {
    return this.writtenEnd - this.readPosition
  }

  write(offset: number, data: Uint8Array): void {
    if (
      this.empty || serialDistance(offset, this.readPosition) <= -pyVoIPResetDistance ||
      serialDistance(offset, this.writtenEnd) >= pyVoIPResetDistance
    ) {
      this.restart(offset)
    }
    let position = this.readPosition + serialDistance(offset, this.readPosition)
    if (position < this.readPosition && !this.readSinceStart) {
      // Grow first: the ring must hold [position, writtenEnd) before the start moves back.
      this.ensureCapacity(this.writtenEnd - position)
      this.readPosition = position
    }
    let chunk = data
    if (position < this.readPosition) {
      chunk = chunk.subarray(Math.min(chunk.length, this.readPosition - position))
      position = this.readPosition
    }
    const end = position + chunk.length
    this.ensureCapacity(Math.max(end, this.writtenEnd) - this.readPosition)
    ringWrite(this.ring, position, chunk)
    this.writtenEnd = Math.max(this.writtenEnd, end)
  }

  read(length = 160): Uint8Array {
    const out = new Uint8Array(length).fill(this.silence)
    const available = Math.min(length, this.buffered)
    if (available > 0) {
      ringRead(this.ring, this.readPosition, out, 0, available)
      ringFill(this.ring, this.readPosition, available, this.silence)
      this.readPosition += available
      this.readSinceStart = true
    }
    return out
  }

  private restart(offset: number): void {
    this.ring.fill(this.silence)
    this.readPosition = offset >>> 0
    this.writtenEnd = this.readPosition
    this.empty = false
    this.readSinceStart = false
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.ring.length) return
    let capacity = this.ring.length
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity).fill(this.silence)
    const buffered = this.buffered
    const copy = new Uint8Array(buffered)
    ringRead(this.ring, this.readPosition, copy, 0, buffered)
    ringWrite(grown, this.readPosition, copy)
    this.ring = grown
  }
}

/**
 * Options of {@link JitterBuffer}. Durations are converted to octets with
 * `clockRate` (one octet per timestamp unit).
 *
 * @category models
 * @since 0.1.0
 */
export interface JitterBufferOptions {
  /** The codec's code for silence: 0xFF for PCMU, 0xD5 for PCMA. */
  readonly silence: number
  /** Octets per pulled frame. Default 160 (20 ms at 8 kHz). */
  readonly frameSize?: number
  /** Audio held back before playout starts, and restored after a resync. Default 60 ms. */
  readonly playoutDelayMs?: number
  /** Past this much buffered audio, playout skips ahead to `playoutDelayMs`. Default `playoutDelayMs` + 60 ms. */
  readonly maxDelayMs?: number
  /** Ring size. Default 1000 ms; at least `maxDelayMs` plus two frames. */
  readonly capacityMs?: number
  /** RTP clock rate. Default 8000 Hz. */
  readonly clockRate?: number
}

/**
 * What the session hands {@link JitterBuffer.push}; an `RTPMessage` fits.
 *
 * @category models
 * @since 0.1.0
 */
export interface JitterPacket {
  readonly sequence: number
  readonly timestamp: number
  readonly ssrc: number
  readonly payload: Uint8Array
}

/**
 * What {@link JitterBuffer.push} did with a packet.
 *
 * @category models
 * @since 0.1.0
 */
export type PushOutcome = "buffered" | "duplicate" | "late" | "resynced"

/**
 * Counters since the buffer was made.
 *
 * @category models
 * @since 0.1.0
 */
export interface JitterBufferStats {
  /** Packets accepted (not duplicates). */
  readonly received: number
  /** Packets that came after their audio had been played, dropped. */
  readonly late: number
  /** Packets never received: gaps in the sequence numbers (RFC 3550 A.3 style; late ones count as received). */
  readonly lost: number
  /** Packets received twice or more (same SSRC and sequence number), dropped. */
  readonly duplicates: number
  /** Packets that arrived after one with a higher sequence number, put in place. */
  readonly reordered: number
  /** Frames pulled while the stream was playing. */
  readonly played: number
  /** Of those, frames that had no audio (lost, late, or the sender was silent) and were played as silence. */
  readonly concealed: number
  /** Frames skipped to bring the delay back under `maxDelayMs`. */
  readonly dropped: number
  /** Times the timeline was re-anchored: SSRC change, timestamp jump, or audio resuming after an underrun. */
  readonly resyncs: number
}

// Sequence numbers remembered for duplicate detection; older packets count as late.
const sequenceWindow = 128
// Marks a free slot of the window; extended sequence numbers never get this low.
const unseen = -0x80000000
// RFC 3550 A.1: a larger sequence jump means the sender restarted its numbering.
const maxDropout = 3000

/**
 * A fixed-delay, pull-driven jitter buffer for G.711 (one octet per timestamp
 * unit).
 *
 * The session pushes every received packet and pulls one frame per 20 ms
 * tick. After the first packet, `playoutDelayMs` of ticks give silence while
 * audio accumulates; from then on each pull plays the next frame of the
 * timeline, audio or silence, so the delay stays put whatever the network
 * does. Packets are placed by timestamp (reordering is undone, gaps stay
 * silent); duplicates are recognised by sequence number; packets whose audio
 * was already played are dropped as late. When more than `maxDelayMs` is
 * buffered (the sender's clock runs fast, or a burst after a stall), playout
 * skips ahead to `playoutDelayMs`. The timeline is re-anchored `playoutDelayMs`
 * ahead, after any audio still buffered (so none is lost), when the SSRC
 * changes, when the timestamp jumps beyond the ring or 100,000 units back,
 * and when a late packet comes while nothing is buffered (the sender's clock
 * runs slow, or a long stall). For one ring's length after an SSRC change,
 * packets of the previous SSRC are dropped as late stragglers; after that
 * they count as a new change. Sequence numbers wrap at 65536, timestamps at
 * 2^32. Before playout starts, a packet earlier than the first moves the
 * start back, as in pyVoIP.
 *
 * @category buffers
 * @since 0.1.0
 */
export class JitterBuffer {
  private readonly silence: number
  private readonly frameSize: number
  private readonly delay: number
  private readonly maxDelay: number
  private readonly ring: Uint8Array
  private readonly filled: Uint8Array
  private readonly seenSequences = new Int32Array(sequenceWindow).fill(unseen)

  private started = false
  private prefetchTicks = 0
  private readonly delayTicks: number
  private playhead = 0
  private bufferedEnd = 0
  private ssrc = 0
  private previousSsrc: number | undefined
  // Ticks during which packets of the previous SSRC are stragglers, not a switch back.
  private stragglerTicks = 0
  // Timeline position = extended timestamp + timelineOffset.
  private timelineOffset = 0
  private highestTimestamp = 0
  private highestTimestampExtended = 0
  private highestSequence = 0
  private highestSequenceExtended = 0
  private firstSequenceExtended = 0
  private uniqueInPeriod = 0
  private lostBefore = 0

  private received = 0
  private late = 0
  private duplicates = 0
  private reordered = 0
  private played = 0
  private concealed = 0
  private dropped = 0
  private resyncs = 0

  constructor(options: JitterBufferOptions) {
    const clockRate = options.clockRate ?? 8000
    const units = (ms: number) => Math.round((ms * clockRate) / 1000)
    this.silence = options.silence
    this.frameSize = Math.max(1, options.frameSize ?? 160)
    this.delay = units(options.playoutDelayMs ?? 60)
    this.delayTicks = Math.ceil(this.delay / this.frameSize)
    this.maxDelay = Math.max(this.delay + this.frameSize, units(options.maxDelayMs ?? (options.playoutDelayMs ?? 60) + 60))
    const capacity = Math.max(units(options.capacityMs ?? 1000), this.maxDelay + 2 * this.frameSize)
    this.ring = new Uint8Array(capacity).fill(this.silence)
    this.filled = new Uint8Array(capacity)
  }

  get stats(): JitterBufferStats {
    return {
      received: this.received,
      late: this.late,
      lost: this.lostBefore + this.lostInPeriod(),
      duplicates: this.duplicates,
      reordered: this.reordered,
      played: this.played,
      concealed: this.concealed,
      dropped: this.dropped,
      resyncs: this.resyncs
    }
  }

  /** Timestamp units of audio buffered ahead of the next frame to play. */
  get buffered(): number {
    return Math.max(0, this.bufferedEnd - this.playhead)
  }

  push(packet: JitterPacket): PushOutcome {
    const ssrc = packet.ssrc >>> 0
    if (this.started && ssrc !== this.ssrc && ssrc === this.previousSsrc && this.stragglerTicks > 0) {
      this.late++
      return "late"
    }
    if (!this.started || ssrc !== this.ssrc) {
      const first = !this.started
      this.startSource(packet, ssrc)
      this.anchor(packet.timestamp)
      if (first) {
        this.prefetchTicks = this.delayTicks
        this.playhead = this.timelinePosition(packet.timestamp)
        this.bufferedEnd = this.playhead
      }
      this.place(packet.payload, this.timelinePosition(packet.timestamp))
      this.received++
      return first ? "buffered" : "resynced"
    }

    const sequenceOutcome = this.trackSequence(packet.sequence & 0xffff)
    if (sequenceOutcome !== undefined) return sequenceOutcome
    this.received++

    const position = this.timelinePosition(packet.timestamp)
    const end = position + packet.payload.length
    if (position - this.playhead >= this.ring.length - this.frameSize || this.playhead - position >= pyVoIPResetDistance) {
      return this.resync(packet)
    }
    if (position < this.playhead && this.prefetchTicks > 0 && this.bufferedEnd - position <= this.ring.length - this.frameSize) {
      // Nothing played yet: an earlier packet moves the start back (pyVoIP's rebuild).
      this.playhead = position
    } else if (end <= this.playhead) {
      if (this.bufferedEnd <= this.playhead) return this.resync(packet)
      this.late++
      return "late"
    }
    this.place(packet.payload, position)
    return "buffered"
  }

  /** The next frame: audio, or silence when there is none (yet). */
  pull(): Uint8Array {
    const frame = new Uint8Array(this.frameSize)
    this.pullInto(frame, 0)
    return frame
  }

  /**
   * Writes the next frame into `target` at `offset` without allocating;
   * returns whether it held any received audio.
   */
  pullInto(target: Uint8Array, offset = 0): boolean {
    const size = this.frameSize
    if (this.stragglerTicks > 0) this.stragglerTicks--
    if (!this.started || this.prefetchTicks > 0) {
      if (this.started) this.prefetchTicks--
      target.fill(this.silence, offset, offset + size)
      return false
    }
    if (this.bufferedEnd - this.playhead > this.maxDelay) {
      const skip = Math.floor((this.bufferedEnd - this.delay - this.playhead) / size) * size
      this.clear(this.playhead, skip)
      this.playhead += skip
      this.dropped += skip / size
    }
    const hadAudio = ringAny(this.filled, this.playhead, size)
    ringRead(this.ring, this.playhead, target, offset, size)
    this.clear(this.playhead, size)
    this.playhead += size
    this.played++
    if (!hadAudio) this.concealed++
    return hadAudio
  }

  private clear(position: number, length: number): void {
    const span = Math.min(length, this.ring.length)
    ringFill(this.ring, position, span, this.silence)
    ringFill(this.filled, position, span, 0)
  }

  private place(payload: Uint8Array, position: number): void {
    let start = position
    let chunk = payload
    if (start < this.playhead) {
      chunk = chunk.subarray(this.playhead - start)
      start = this.playhead
    }
    const room = this.playhead + this.ring.length - start
    if (chunk.length > room) chunk = chunk.subarray(0, Math.max(0, room))
    if (chunk.length === 0) return
    ringWrite(this.ring, start, chunk)
    ringFill(this.filled, start, chunk.length, 1)
    this.bufferedEnd = Math.max(this.bufferedEnd, start + chunk.length)
  }

  private timelinePosition(timestamp: number): number {
    const extended = this.highestTimestampExtended + serialDistance(timestamp >>> 0, this.highestTimestamp)
    if (extended > this.highestTimestampExtended) {
      this.highestTimestampExtended = extended
      this.highestTimestamp = timestamp >>> 0
    }
    return extended + this.timelineOffset
  }

  /** Maps `timestamp` to `playoutDelay` ahead of the playhead, or just after the buffered audio if later. */
  private anchor(timestamp: number): void {
    this.highestTimestamp = timestamp >>> 0
    this.highestTimestampExtended = 0
    this.timelineOffset = this.started ? Math.max(this.bufferedEnd, this.playhead + this.delay) : 0
    this.started = true
  }

  private resync(packet: JitterPacket): PushOutcome {
    this.resyncs++
    this.anchor(packet.timestamp)
    this.place(packet.payload, this.timelinePosition(packet.timestamp))
    return "resynced"
  }

  private startSource(packet: JitterPacket, ssrc: number): void {
    if (this.started) {
      this.resyncs++
      this.previousSsrc = this.ssrc
      this.stragglerTicks = Math.ceil(this.ring.length / this.frameSize)
    }
    this.ssrc = ssrc
    this.startSequencePeriod(packet.sequence & 0xffff)
  }

  private startSequencePeriod(sequence: number): void {
    this.lostBefore += this.lostInPeriod()
    this.seenSequences.fill(unseen)
    this.highestSequence = sequence
    this.highestSequenceExtended = 0
    this.firstSequenceExtended = 0
    this.seenSequences[0] = 0
    this.uniqueInPeriod = 1
  }

  private lostInPeriod(): number {
    if (this.uniqueInPeriod === 0) return 0
    return Math.max(0, this.highestSequenceExtended - this.firstSequenceExtended + 1 - this.uniqueInPeriod)
  }

  /** Records the sequence number; a duplicate or too old a packet gives its outcome. */
  private trackSequence(sequence: number): PushOutcome | undefined {
    const step = ((sequence - this.highestSequence) << 16) >> 16
    if (step > maxDropout || step < -maxDropout) {
      this.startSequencePeriod(sequence)
      return undefined
    }
    const extended = this.highestSequenceExtended + step
    if (extended <= this.highestSequenceExtended - sequenceWindow) {
      this.late++
      return "late"
    }
    const slot = extended & (sequenceWindow - 1)
    if (this.seenSequences[slot] === extended) {
      this.duplicates++
      return "duplicate"
    }
    this.seenSequences[slot] = extended
    this.uniqueInPeriod++
    if (step > 0) {
      this.highestSequence = sequence
      this.highestSequenceExtended = extended
    } else {
      this.reordered++
      if (extended < this.firstSequenceExtended) this.firstSequenceExtended = extended
    }
    return undefined
  }
}
