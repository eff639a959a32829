/**
 * The RTP session of one call, pyVoIP's `RTPClient`: a port pair from
 * {@link RTPPorts}, one UDP socket for sending and receiving (symmetric RTP)
 * and one for RTCP, configured from the SDP's `NegotiatedMedia` and
 * re-configured with `update` (new peer address or port, direction, codec,
 * packet time) without touching the sockets.
 *
 * - Sending: the session's slots run on the {@link RTPPacer} shared by all
 *   sessions, on absolute deadlines from `Clock` (packet n at t0 + n·ptime,
 *   so there is no drift). A late slot sends one packet at once and skips the
 *   slots it missed instead of bursting a backlog; the RTP timestamp still
 *   counts the skipped time. When nothing is queued, the codec's silence goes
 *   out. DTMF (RFC 4733) takes the place of audio packets while it is sent.
 * - Receiving: each datagram is handled at once in the socket's callback
 *   (`RtpSocket.ts`), no fiber or queue per packet. Packets from anyone
 *   but the peer are counted and dropped; with latching, the first valid
 *   packet from elsewhere (a NATed peer) becomes the peer. Audio goes
 *   through a jitter buffer played out every 20 ms in the same slots as
 *   sending, while someone listens (`audio`, `read`); telephone-events become
 *   digits. Malformed packets are counted and never stop anything.
 * - The direction decides what runs: a session that neither sends nor has a
 *   listener for received audio (inactive, or no peer yet) is not on the
 *   pacer's schedule at all; only its sockets' receive callbacks remain.
 *
 * pyVoIP's `TRANSMIT_DELAY_REDUCTION` (`VoIPSettings.transmitDelayReduction`)
 * shortens the packet interval by that fraction, as pyVoIP's shortened sleep
 * did (it made up for Python's late wake-ups; with absolute deadlines there is
 * nothing to make up, so leave it at 0). It is capped at 0.9.
 *
 * @since 0.1.0
 */
import {
  Context,
  Effect,
  Exit,
  Latch,
  Layer,
  Option,
  PubSub,
  Result,
  Schema,
  Scope,
  Semaphore,
  Sink,
  Stream
} from "effect"
import { NetAddress } from "effect/net"
import { NodeDatagramSocket } from "@effect/platform-node"
import type { DatagramSocket } from "effect/socket"
import { VoIPSettings } from "../Config.ts"
import type { NegotiatedMedia } from "../sdp/OfferAnswer.ts"
import { frameSamples, Linear8Reader, Outbox } from "./Audio.ts"
import { type DtmfDigit, type DtmfPacket, DtmfReceiver, dtmfPackets, toDigit } from "./Dtmf.ts"
import { JitterBuffer } from "./JitterBuffer.ts"
import * as Linear8 from "./Linear8.ts"
import * as Metrics from "./Metrics.ts"
import { type PacedRun, type PacedTask, type Pacer, RTPPacer } from "./Pacer.ts"
import { PayloadType } from "./PayloadType.ts"
import * as PCMA from "./PCMA.ts"
import * as PCMU from "./PCMU.ts"
import type { InvalidRangeError, NoPortsAvailableError, PortRange } from "./Ports.ts"
import { defaultRange, RTPPorts } from "./Ports.ts"
import { ReceptionStatistics } from "./Rtcp.ts"
import * as RtcpSession from "./RtcpSession.ts"
import { parseResult, writeHeader } from "./RTPMessage.ts"
import * as RtpSocket from "./RtpSocket.ts"

/**
 * The peer's address in the SDP cannot be used: not an IP address, or of
 * the other IP family than our socket.
 *
 * @category errors
 * @since 0.1.0
 */
export class RemoteAddressError extends Schema.TaggedError<RemoteAddressError>()("RemoteAddressError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot send RTP to ${this.address}: ${this.reason}`
  }
}

/**
 * DTMF could not be sent: a character that is no DTMF digit, no
 * telephone-event negotiated, or the session does not send.
 *
 * @category errors
 * @since 0.1.0
 */
export class DtmfSendError extends Schema.TaggedError<DtmfSendError>()("DtmfSendError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot send DTMF: ${this.reason}`
  }
}

/**
 * Which other addresses may take over as the peer (symmetric RTP latching,
 * for peers behind NAT whose SDP names an address we never hear from):
 * - `off`: only the address in the SDP, the default; nothing else can inject media.
 * - `host`: the first valid packet from the SDP's host on another port.
 * - `any`: the first valid packet from anywhere.
 *
 * Latching happens once per peer: `update` with a new address starts over.
 * "Valid" means an RTP version 2 packet of a negotiated payload type.
 *
 * @category models
 * @since 0.1.0
 */
export type LatchingMode = "off" | "host" | "any"

/**
 * @category models
 * @since 0.1.0
 */
export interface RTPClientOptions {
  /** Local address to bind, default `0.0.0.0`. */
  readonly address?: string
  /** The stream to run at once; without it the session is bound and idle until `update`. */
  readonly media?: NegotiatedMedia
  /** Default `off`. */
  readonly latching?: LatchingMode
  /** RTCP CNAME; default random (RFC 7022). */
  readonly cname?: string
  /** The `session` attribute of the session's metrics; default the SSRC in hex. */
  readonly id?: string
  /** Jitter buffer playout delay, default 60 ms. */
  readonly playoutDelayMs?: number
  /** Tone length of each sent DTMF digit, default 100 ms. */
  readonly dtmfDurationMs?: number
}

/**
 * A running session. Everything stops, and RTCP BYE is sent, when the scope
 * it was made in closes.
 *
 * @category models
 * @since 0.1.0
 */
export interface RTPClient {
  /** The bound address (the `address` option). */
  readonly localAddress: string
  /** Our RTP port; RTCP is on `localPort + 1`. */
  readonly localPort: number
  readonly ssrc: number
  /** Re-targets, changes direction, codec or packet time; the sockets stay. */
  readonly update: (media: NegotiatedMedia) => Effect.Effect<void, RemoteAddressError>
  /**
   * Received audio, one 20 ms frame (160 samples) per playout tick, silence
   * included; only while the direction receives. Ends when the session ends.
   */
  readonly audio: Stream.Stream<Int16Array>
  /** Received DTMF digits, one per key press. Ends when the session ends. */
  readonly dtmf: Stream.Stream<DtmfDigit>
  /**
   * Sends `audio` and completes once its last sample has gone out.
   * Interrupting it (barge-in) drops what is still queued at once. Plays run
   * one after another.
   */
  readonly play: <E, R>(audio: Stream.Stream<Int16Array, E, R>) => Effect.Effect<void, E, R>
  /** `play` as a sink, for `Stream.run(audio, session.sink)`. */
  readonly sink: Sink.Sink<void, Int16Array>
  /**
   * pyVoIP's `read`: `length` octets of received audio as 8-bit unsigned
   * linear. Blocking waits until that much has been played out; non-blocking
   * returns what is there padded with silence (0x80). Audio is kept from the
   * first read on (at most 1 s of it).
   */
  readonly read: (length?: number, blocking?: boolean) => Effect.Effect<Uint8Array>
  /** pyVoIP's `write`: queues 8-bit unsigned linear audio, however much, without waiting. */
  readonly write: (linear8: Uint8Array) => Effect.Effect<void>
  /** Drops all queued outgoing audio. */
  readonly flush: Effect.Effect<void>
  /**
   * Sends digits (`0-9 * # A-D`, `!` for flash) as RFC 4733 events with the
   * negotiated payload type, paced like audio, which pauses meanwhile;
   * completes when the last one has been sent.
   */
  readonly sendDtmf: (digits: string) => Effect.Effect<void, DtmfSendError>
  readonly stats: Effect.Effect<Metrics.RTPStats>
}

/**
 * Where a session binds, for {@link RTPSocketFactory}.
 *
 * @category models
 * @since 0.1.0
 */
export type SocketBinding = RtpSocket.SocketBinding

const nodeSockets = (binding: SocketBinding): Effect.Effect<DatagramSocket.DatagramSocket> =>
  NodeDatagramSocket.make({ bind: binding, receiveBuffer: { capacity: 16, strategy: "sliding" } })

/**
 * How sessions open their sockets. By default Node's UDP: the RTP socket
 * is `node:dgram` driven directly (`RtpSocket.openNode`), the RTCP
 * socket Node's `DatagramSocket`, keeping at most 16 received datagrams.
 * Tests provide their own (e.g. an in-memory network under `TestClock`);
 * then both sockets are theirs, the RTP one read by a fiber and written
 * with effects (`RtpSocket.fromDatagramSocket`).
 *
 * @category services
 * @since 0.1.0
 */
export const RTPSocketFactory = Context.Reference<(binding: SocketBinding) => Effect.Effect<DatagramSocket.DatagramSocket>>(
  "effect-voip/rtp/RTPSocketFactory",
  { defaultValue: () => nodeSockets }
)

interface AudioCodec {
  readonly silence: number
  readonly encodeInto: (samples: Int16Array, target: Uint8Array, offset: number) => number
  readonly decodeInto: (codes: Uint8Array, target: Int16Array, offset: number) => number
}

// What a received payload type number is for, as an index into `receivers`.
const receivers: ReadonlyArray<AudioCodec | "dtmf" | undefined> = [undefined, PCMU, PCMA, "dtmf"]
const receiverIndex = (type: PayloadType): number =>
  PayloadType.equivalent(type, PayloadType.PCMU)
    ? 1
    : PayloadType.equivalent(type, PayloadType.PCMA)
    ? 2
    : PayloadType.equivalent(type, PayloadType.EVENT)
    ? 3
    : 0

const codecOf = (type: PayloadType): AudioCodec | undefined => {
  const receiver = receivers[receiverIndex(type)]
  return receiver === "dtmf" ? undefined : receiver
}

const clockRate = 8000
const samplesPerMs = clockRate / 1000
const playoutMs = 20
// Frames played out at once after a stall; beyond that the jitter buffer resynchronises.
const maxPlayoutCatchUp = 50
// Playback may run this far ahead of the sender.
const playbackHighWater = 3 * frameSamples
const dtmfGapMs = 60
const maxDelayReduction = 0.9
// Received frames kept per subscriber (1 s) before the oldest are dropped.
const audioBacklog = 50
const endOfAudio = new Int16Array(0)

const sends = (direction: string) => direction === "sendrecv" || direction === "sendonly"
const receives = (direction: string) => direction === "sendrecv" || direction === "recvonly"

const isAddressInUse = (error: DatagramSocket.DatagramSocketError): boolean =>
  error.reason._tag === "DatagramSocketOpenError" && error.reason.kind === "AddressInUse"

const randomUint32 = (): number => crypto.getRandomValues(new Uint32Array(1))[0]!

const randomCname = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64")

interface DtmfJob {
  readonly digits: Array<DtmfDigit>
  readonly done: (exit: Exit.Exit<void, DtmfSendError>) => void
}

const idle: PacedRun = { effect: undefined, again: false }
const ticked: PacedRun = { effect: undefined, again: true }

/**
 * A session's state, shared by its socket's receive callback and the pacer,
 * which runs its send and playout slots; hot paths are plain methods.
 */
class Engine implements PacedTask, RtpSocket.RtpReceiver {
  readonly ssrc = randomUint32()
  readonly counters = new Metrics.SessionCounters(this.ssrc, clockRate)
  readonly outbox = new Outbox(playbackHighWater)
  readonly configured = Latch.makeUnsafe(false)
  // Per payload type number (7 bits): its index in `receivers`, 0 when not negotiated.
  readonly payloadReceivers = new Uint8Array(128)
  readonly dtmfReceiver = new DtmfReceiver()
  readonly playoutCodes = new Uint8Array(frameSamples)
  audioListeners = 0

  media: NegotiatedMedia | undefined
  sending = false
  receiving = false
  sendCodec: AudioCodec | undefined
  sendPayloadType = 0
  // The SDP's address, the current peer (latched or not), and the RTCP address that goes with it.
  negotiated: NetAddress.InetAddress | undefined
  peer: NetAddress.InetAddress | undefined
  // The peer's host as sockets format it (`NetAddress.formatHost`), and its port: the per-packet source check.
  peerHost = ""
  peerPort = 0
  rtcpTarget: NetAddress.InetAddress | undefined
  latched = false

  // Made by the first audio packet heard while someone listens: until then playout is silence.
  jitter: JitterBuffer | undefined = undefined
  jitterCodec: AudioCodec | undefined = undefined

  // Pacing: slot k runs at base + k·interval; sent slot k carries timestampBase + k·samplesPerPacket.
  deadline = 0
  scheduled = false
  closed = false
  base = 0
  interval = playoutMs
  slot = 0
  timestampBase = randomUint32()
  samplesPerPacket = frameSamples
  regridNeeded = true
  playoutBase = 0
  framesPlayed = 0
  sequence = randomUint32() & 0xffff
  firstPacket = true
  packet = new Uint8Array(12 + frameSamples)
  samples = new Int16Array(frameSamples)

  dtmfJobs: Array<DtmfJob> = []
  dtmfPackets: ReadonlyArray<DtmfPacket> | undefined
  dtmfIndex = 0
  dtmfGap = 0
  dtmfFinishing: DtmfJob | undefined

  readonly latching: LatchingMode
  readonly delayReduction: number
  readonly playoutDelayMs: number
  readonly dtmfDurationMs: number
  readonly audioFrames: PubSub.PubSub<Int16Array>
  readonly digits: PubSub.PubSub<DtmfDigit | undefined>
  readonly pacer: Pacer
  // Set as soon as it is open, before the session can be configured to send.
  socket: RtpSocket.RtpSocket | undefined = undefined
  // `packet` cut to the length last sent, kept for the next packet of that length, and the buffer it views.
  sendView = this.packet.subarray(0, 0)
  sendViewOf = this.packet
  // How many octets after the header are the send codec's silence already (a silent packet is not rewritten).
  silentPayload = 0

  constructor(
    options: RTPClientOptions,
    delayReduction: number,
    audioFrames: PubSub.PubSub<Int16Array>,
    digits: PubSub.PubSub<DtmfDigit | undefined>,
    pacer: Pacer
  ) {
    this.pacer = pacer
    this.latching = options.latching ?? "off"
    this.delayReduction = Math.min(Math.max(delayReduction, 0), maxDelayReduction)
    this.playoutDelayMs = options.playoutDelayMs ?? 60
    this.dtmfDurationMs = options.dtmfDurationMs ?? 100
    this.audioFrames = audioFrames
    this.digits = digits
  }

  /** Forgets buffered audio: playout is silence until the next audio packet starts a new buffer. */
  restartPlayout() {
    this.jitter = undefined
    this.jitterCodec = undefined
  }

  configure(media: NegotiatedMedia, negotiated: NetAddress.InetAddress | undefined, rtcp: NetAddress.InetAddress | undefined) {
    this.media = media
    this.sendCodec = codecOf(media.codec.type)
    this.silentPayload = 0
    this.sendPayloadType = media.codec.number
    this.payloadReceivers.fill(0)
    for (const mapping of media.receive) this.payloadReceivers[mapping.number & 0x7f] = receiverIndex(mapping.type)
    const samePeer = negotiated !== undefined && this.negotiated !== undefined &&
      negotiated.port === this.negotiated.port && RtcpSession.sameHost(negotiated, this.negotiated)
    if (!samePeer) {
      this.negotiated = negotiated
      this.setPeer(negotiated)
      this.rtcpTarget = rtcp
      this.latched = false
    }
    const wasSending = this.sending
    const wasReceiving = this.receiving
    this.sending = sends(media.direction) && negotiated !== undefined && this.sendCodec !== undefined
    this.receiving = receives(media.direction)
    const samplesPerPacket = Math.max(1, Math.round(media.ptime * samplesPerMs))
    const interval = this.sending ? media.ptime * (1 - this.delayReduction) : playoutMs
    if (
      samplesPerPacket !== this.samplesPerPacket || interval !== this.interval || wasSending !== this.sending ||
      wasReceiving !== this.receiving
    ) {
      this.samplesPerPacket = samplesPerPacket
      this.interval = interval
      this.regridNeeded = true
      if (this.packet.length < 12 + samplesPerPacket) this.packet = new Uint8Array(12 + samplesPerPacket)
      this.samples = new Int16Array(samplesPerPacket)
    }
    if (!this.sending) this.failDtmf("the session no longer sends")
    this.reschedule()
    this.configured.openUnsafe()
  }

  /** Slots are needed while we send, or receive for someone listening. */
  get needsSlots(): boolean {
    return !this.closed && (this.sending || (this.receiving && this.audioListeners > 0))
  }

  /** Puts the session on the pacer's schedule (at once if the grid changed) or takes it off. */
  reschedule() {
    if (!this.needsSlots) {
      if (this.scheduled) this.pacer.cancel(this)
      this.scheduled = false
      return
    }
    if (this.scheduled && !this.regridNeeded) return
    if (!this.scheduled) this.regridNeeded = true
    this.deadline = this.pacer.now()
    this.scheduled = true
    this.pacer.schedule(this)
  }

  run(now: number): PacedRun {
    if (!this.needsSlots) {
      this.scheduled = false
      return idle
    }
    if (this.regridNeeded) this.regrid(now)
    const length = this.tick(now)
    this.deadline = this.base + this.slot * this.interval
    if (length === 0) return ticked
    let view = this.sendView
    if (view.length !== length || this.sendViewOf !== this.packet) {
      this.sendViewOf = this.packet
      view = this.sendView = this.packet.subarray(0, length)
    }
    const effect = this.socket!.send(view, this.peerHost, this.peer!)
    return effect === undefined ? ticked : { effect, again: true }
  }

  /** Starts a new grid at `now`, keeping the RTP timestamp running with the time that passed. */
  regrid(now: number) {
    const nextTimestamp = this.timestampBase + this.slot * this.samplesPerPacket
    const idleMs = Math.max(0, now - (this.base + this.slot * this.interval))
    this.timestampBase = (nextTimestamp + Math.round(idleMs * samplesPerMs)) >>> 0
    this.base = now
    this.slot = 0
    this.playoutBase = now
    this.framesPlayed = 0
    this.regridNeeded = false
  }

  /** The RTP timestamp our stream has at `now`. */
  timestampAt(now: number): number {
    return (this.timestampBase + Math.round(((now - this.base) / this.interval) * this.samplesPerPacket)) >>> 0
  }

  /** Runs the slot due at `now`: playout, then the packet to send, if any; gives its length (0: none). */
  tick(now: number): number {
    const due = Math.floor((now - this.base) / this.interval)
    if (due > this.slot) {
      this.counters.skippedSlots += due - this.slot
      this.slot = due
    }
    if (this.receiving) this.playout(now)
    const length = this.sending ? this.nextPacket() : 0
    this.slot++
    return length
  }

  playout(now: number) {
    const due = Math.floor((now - this.playoutBase) / playoutMs) + 1
    if (this.audioListeners === 0 || due - this.framesPlayed > maxPlayoutCatchUp) {
      this.framesPlayed = this.audioListeners === 0 ? due : due - maxPlayoutCatchUp
    }
    while (this.framesPlayed < due) {
      this.framesPlayed++
      const frame = new Int16Array(frameSamples)
      if (this.jitter !== undefined && this.jitterCodec !== undefined) {
        this.jitter.pullInto(this.playoutCodes, 0)
        this.jitterCodec.decodeInto(this.playoutCodes, frame, 0)
      }
      PubSub.publishUnsafe(this.audioFrames, frame)
    }
  }

  /** Writes the next packet into `packet` and gives its length. */
  nextPacket(): number {
    const timestamp = (this.timestampBase + this.slot * this.samplesPerPacket) >>> 0
    const dtmf = this.nextDtmf(timestamp)
    // The last packet still waits in the socket's queue: this one gets a buffer of its own.
    if (this.socket!.busy()) {
      this.packet = new Uint8Array(this.packet.length)
      this.silentPayload = 0
    }
    const packet = this.packet
    let payloadLength: number
    if (dtmf !== undefined && dtmf !== "gap") {
      packet.set(dtmf.payload, 12)
      this.silentPayload = 0
      payloadLength = dtmf.payload.length
      writeHeader(packet, 0, {
        marker: dtmf.marker,
        payloadType: this.media!.dtmf!,
        sequence: this.sequence,
        timestamp: dtmf.timestamp,
        ssrc: this.ssrc
      })
    } else {
      const codec = this.sendCodec!
      payloadLength = this.samplesPerPacket
      if (dtmf === undefined && this.outbox.takeInto(this.samples)) {
        codec.encodeInto(this.samples, packet, 12)
        this.silentPayload = 0
      } else if (this.silentPayload < payloadLength) {
        packet.fill(codec.silence, 12, 12 + payloadLength)
        this.silentPayload = payloadLength
      }
      writeHeader(packet, 0, {
        marker: this.firstPacket,
        payloadType: this.sendPayloadType,
        sequence: this.sequence,
        timestamp,
        ssrc: this.ssrc
      })
      this.firstPacket = false
    }
    this.sequence = (this.sequence + 1) & 0xffff
    this.counters.packetsSent++
    this.counters.bytesSent += payloadLength
    return 12 + payloadLength
  }

  /** The DTMF packet for this slot, "gap" for silence between digits, or undefined for audio. */
  nextDtmf(timestamp: number): DtmfPacket | "gap" | undefined {
    if (this.dtmfPackets !== undefined) {
      const packet = this.dtmfPackets[this.dtmfIndex++]!
      if (this.dtmfIndex === this.dtmfPackets.length) {
        this.dtmfPackets = undefined
        this.dtmfGap = Math.ceil(dtmfGapMs / this.media!.ptime)
        this.counters.dtmfSent++
      }
      return packet
    }
    if (this.dtmfGap > 0) {
      this.dtmfGap--
      if (this.dtmfGap === 0 && this.dtmfFinishing !== undefined) {
        this.dtmfFinishing.done(Exit.void)
        this.dtmfFinishing = undefined
      }
      return "gap"
    }
    const job = this.dtmfJobs[0]
    if (job === undefined) return undefined
    const digit = job.digits.shift()!
    if (job.digits.length === 0) {
      this.dtmfJobs.shift()
      this.dtmfFinishing = job
    }
    this.dtmfPackets = dtmfPackets(digit, {
      startTimestamp: timestamp,
      durationMs: this.dtmfDurationMs,
      packetMs: this.media!.ptime,
      clockRate
    })
    this.dtmfIndex = 0
    return this.nextDtmf(timestamp)
  }

  failDtmf(reason: string) {
    const jobs = this.dtmfFinishing === undefined ? this.dtmfJobs : [this.dtmfFinishing, ...this.dtmfJobs]
    this.dtmfJobs = []
    this.dtmfFinishing = undefined
    this.dtmfPackets = undefined
    this.dtmfGap = 0
    for (const job of jobs) job.done(Exit.fail(new DtmfSendError({ reason })))
  }

  setPeer(peer: NetAddress.InetAddress | undefined) {
    this.peer = peer
    this.peerHost = peer === undefined ? "" : NetAddress.formatHost(peer)
    this.peerPort = peer === undefined ? 0 : peer.port
  }

  isPeer(source: NetAddress.InetAddress): boolean {
    const peer = this.peer
    return peer !== undefined && source.port === peer.port && source._tag === peer._tag &&
      NetAddress.formatIp(source.address) === NetAddress.formatIp(peer.address)
  }

  mayLatch(source: NetAddress.InetAddress): boolean {
    if (this.latched || this.negotiated === undefined) return false
    return this.latching === "any" ||
      (this.latching === "host" && source._tag === this.negotiated._tag &&
        NetAddress.formatIp(source.address) === NetAddress.formatIp(this.negotiated.address))
  }

  latch(source: NetAddress.InetAddress) {
    this.setPeer(source)
    this.latched = true
    // RTCP goes to the port above the peer's RTP port, when there is one.
    const rtcp = NetAddress.inetAddress(source.address, source.port + 1)
    if (Result.isSuccess(rtcp)) this.rtcpTarget = rtcp.success
  }

  onSendError() {
    this.counters.sendErrors++
  }

  onPacket(payload: Uint8Array, host: string, port: number) {
    this.receive(payload, host, port)
    // a burst of received packets must not hold back the sends that came due meanwhile
    this.pacer.poll()
  }

  private receive(payload: Uint8Array, host: string, port: number) {
    // The peer's packets match its host string as sockets format it; anything else is looked at closely.
    let latchTo: NetAddress.InetAddress | undefined
    if (port !== this.peerPort || host !== this.peerHost || this.peer === undefined) {
      const source = sourceAddress(host, port)
      if (source === undefined || !this.isPeer(source)) {
        if (source === undefined || !this.mayLatch(source)) {
          this.counters.foreignPackets++
          return
        }
        latchTo = source
      }
    }
    const parsed = parseResult(payload)
    if (Result.isFailure(parsed)) {
      this.counters.malformedPackets++
      return
    }
    const message = parsed.success
    const receiver = receivers[this.payloadReceivers[message.payloadTypeNumber]!]
    if (receiver === undefined) {
      this.counters.unknownPayloadPackets++
      return
    }
    if (latchTo !== undefined) this.latch(latchTo)
    let reception = this.counters.reception
    if (reception === undefined || reception.ssrc !== message.ssrc) {
      reception = new ReceptionStatistics(message.ssrc, clockRate)
      this.counters.reception = reception
      this.counters.lastReportBlock = undefined
    }
    reception.receive(message.sequence, message.timestamp, this.pacer.now() / 1000, receiver !== "dtmf")
    this.counters.bytesReceived += message.payload.length
    if (!this.receiving) return
    if (receiver === "dtmf") {
      const digit = this.dtmfReceiver.push(message)
      if (digit !== undefined) {
        this.counters.dtmfReceived++
        PubSub.publishUnsafe(this.digits, digit)
      }
      return
    }
    // Audio is buffered only while someone listens.
    if (this.audioListeners === 0) return
    if (this.jitter === undefined || receiver !== this.jitterCodec) {
      // The buffer holds codec octets: a codec change starts a new one.
      this.jitter = new JitterBuffer({ silence: receiver.silence, frameSize: frameSamples, playoutDelayMs: this.playoutDelayMs })
      this.jitterCodec = receiver
    }
    this.jitter.push(message)
  }
}

const sourceAddress = (host: string, port: number): NetAddress.InetAddress | undefined => {
  try {
    return NetAddress.inetAddressFromNativeUnsafe(host, port)
  } catch {
    // an IPv6 zone by name: not the address of any peer we were given
    return undefined
  }
}

const parseRemote = (
  media: NegotiatedMedia,
  local: NetAddress.InetAddress
): Result.Result<{ readonly rtp: NetAddress.InetAddress; readonly rtcp: NetAddress.InetAddress } | undefined, RemoteAddressError> => {
  if (media.remotePort === 0) return Result.succeed(undefined)
  const fail = (reason: string) => Result.fail(new RemoteAddressError({ address: media.remoteAddress, reason }))
  const rtp = NetAddress.inetAddressFromIpString(media.remoteAddress, media.remotePort)
  if (Result.isFailure(rtp)) return fail("not an IP address")
  if (rtp.success._tag !== local._tag) {
    return fail(`the socket is ${local._tag === "InetAddressV4" ? "IPv4" : "IPv6"} only`)
  }
  const rtcp = NetAddress.inetAddress(rtp.success.address, media.remoteRtcpPort)
  if (Result.isFailure(rtcp)) return fail(`invalid RTCP port ${media.remoteRtcpPort}`)
  return Result.succeed({ rtp: rtp.success, rtcp: rtcp.success })
}

/**
 * Opens a session on a port pair from {@link RTPPorts}, bound to
 * `options.address`, and starts it with `options.media` if given. Its slots
 * run on the {@link RTPPacer} shared by all sessions.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: RTPClientOptions = {}
): Effect.Effect<
  RTPClient,
  NoPortsAvailableError | DatagramSocket.DatagramSocketError | RemoteAddressError,
  Scope.Scope | RTPPorts | RTPPacer
> =>
  Effect.gen(function*() {
    const scope = yield* Scope.Scope
    const ports = yield* RTPPorts
    const pacer = yield* RTPPacer
    const openSocket = yield* RTPSocketFactory
    const settings = yield* Effect.serviceOption(VoIPSettings)
    const address = options.address ?? "0.0.0.0"

    const audioFrames = yield* PubSub.sliding<Int16Array>(audioBacklog)
    const digits = yield* PubSub.sliding<DtmfDigit | undefined>(audioBacklog)
    const engine = new Engine(
      options,
      Option.match(settings, { onNone: () => 0, onSome: (s) => s.transmitDelayReduction }),
      audioFrames,
      digits,
      pacer
    )
    const openRtp = openSocket === nodeSockets
      ? (binding: SocketBinding) => RtpSocket.openNode(binding, engine)
      : (binding: SocketBinding) => Effect.flatMap(openSocket(binding), (socket) => RtpSocket.fromDatagramSocket(socket, engine))

    const sockets = yield* ports.acquireWith((port) =>
      Effect.gen(function*() {
        const rtp = yield* openRtp({ address, port })
        const rtcp = yield* openSocket({ address, port: port + 1 })
        const rtcpReader = yield* rtcp.reader
        return { port, rtp, rtcp: { reader: rtcpReader, writer: yield* rtcp.writer } }
      }), isAddressInUse)
    engine.socket = sockets.rtp
    const local = sockets.rtp.address
    // Closed after the finalizer below has ended the audio, so a blocked `read` sees the end and returns.
    const readScope = yield* Scope.fork(scope, "sequential")
    let linear8: Linear8Reader | undefined

    const update = (media: NegotiatedMedia): Effect.Effect<void, RemoteAddressError> =>
      Effect.suspend(() => {
        const remote = parseRemote(media, local)
        if (Result.isFailure(remote)) return Effect.fail(remote.failure)
        engine.configure(media, remote.success?.rtp, remote.success?.rtcp)
        return Effect.void
      })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        engine.closed = true
        engine.reschedule()
        engine.outbox.flush()
        engine.failDtmf("the session ended")
        linear8?.end()
        yield* PubSub.end(audioFrames, endOfAudio)
        yield* PubSub.end(digits, undefined)
      })
    )
    yield* Metrics.register(
      options.id ?? engine.ssrc.toString(16).padStart(8, "0"),
      () => Metrics.snapshot(engine.counters, engine.jitter?.stats)
    )

    yield* RtcpSession.start(sockets.rtcp, {
      ssrc: engine.ssrc,
      cname: options.cname ?? randomCname(),
      counters: engine.counters,
      configured: engine.configured,
      destination: () => engine.rtcpTarget,
      accepts: (source) =>
        (engine.peer !== undefined && RtcpSession.sameHost(source, engine.peer)) ||
        (engine.negotiated !== undefined && RtcpSession.sameHost(source, engine.negotiated)),
      rtpTimestampAt: (now) => engine.timestampAt(now),
      sessionBandwidth: () => {
        const ptime = engine.media?.ptime ?? playoutMs
        // G.711 payload plus RTP, UDP and IPv4 headers, per second.
        return ((ptime * samplesPerMs + 40) * 1000) / ptime
      }
    })

    if (options.media !== undefined) yield* update(options.media)

    // Audio is buffered and played out only while someone listens.
    const listening = (change: number) =>
      Effect.sync(() => {
        engine.audioListeners += change
        // Audio buffered for earlier listeners is stale by now: the first new one starts afresh.
        if (change > 0 && engine.audioListeners === 1) engine.restartPlayout()
        engine.reschedule()
      })
    const subscribeAudio = Effect.acquireRelease(listening(1), () => listening(-1)).pipe(
      Effect.andThen(PubSub.subscribe(audioFrames))
    )

    const audio: Stream.Stream<Int16Array> = Stream.unwrap(Effect.map(subscribeAudio, Stream.fromSubscription)).pipe(
      Stream.takeWhile((frame) => frame !== endOfAudio)
    )
    const dtmf: Stream.Stream<DtmfDigit> = Stream.unwrap(Effect.map(PubSub.subscribe(digits), Stream.fromSubscription))
      .pipe(Stream.takeWhile((digit): digit is DtmfDigit => digit !== undefined))

    const linear8Reader = yield* Effect.cached(
      subscribeAudio.pipe(Scope.provide(readScope), Effect.map((frames) => (linear8 = new Linear8Reader(frames))))
    )

    const playLock = yield* Semaphore.make(1)
    const offerFrame = (frame: Int16Array) => engine.outbox.offer(frame)
    const flushOnInterrupt = <A, E>(exit: Exit.Exit<A, E>) =>
      Exit.hasInterrupts(exit) ? Effect.sync(() => engine.outbox.flush()) : Effect.void
    const sink: Sink.Sink<void, Int16Array> = Sink.forEach(offerFrame).pipe(
      Sink.mapEffect(() => engine.outbox.drained),
      Sink.onExit(flushOnInterrupt)
    )

    const sendDtmf = (text: string): Effect.Effect<void, DtmfSendError> =>
      Effect.suspend(() => {
        const parsed = Array.from(text, (character) => ({ character, digit: toDigit(character) }))
        const invalid = parsed.find((entry) => entry.digit === undefined)
        if (invalid !== undefined) {
          return Effect.fail(new DtmfSendError({ reason: `${JSON.stringify(invalid.character)} is not a DTMF digit` }))
        }
        if (engine.media?.dtmf === undefined) {
          return Effect.fail(new DtmfSendError({ reason: "the peer did not negotiate telephone-event" }))
        }
        if (!engine.sending) return Effect.fail(new DtmfSendError({ reason: "the session does not send" }))
        if (parsed.length === 0) return Effect.void
        return Effect.callback<void, DtmfSendError>((resume) => {
          const job: DtmfJob = { digits: parsed.map((entry) => entry.digit!), done: (exit) => resume(exit) }
          engine.dtmfJobs.push(job)
          return Effect.sync(() => {
            engine.dtmfJobs = engine.dtmfJobs.filter((other) => other !== job)
          })
        })
      })

    return {
      localAddress: address,
      localPort: sockets.port,
      ssrc: engine.ssrc,
      update,
      audio,
      dtmf,
      play: (stream) =>
        playLock.withPermits(1)(
          Stream.runForEach(stream, offerFrame).pipe(Effect.andThen(engine.outbox.drained), Effect.onExit(flushOnInterrupt))
        ),
      sink,
      read: (length = frameSamples, blocking = true) =>
        Effect.suspend(() =>
          engine.closed && linear8 === undefined
            ? Effect.succeed(new Uint8Array(length).fill(Linear8.silence))
            : Effect.flatMap(linear8Reader, (reader) => reader.read(length, blocking))
        ),
      write: (linear8) => Effect.sync(() => engine.outbox.push(Linear8.toInt16(linear8))),
      flush: Effect.sync(() => engine.outbox.flush()),
      sendDtmf,
      stats: Effect.sync(() => Metrics.snapshot(engine.counters, engine.jitter?.stats))
    } satisfies RTPClient
  })

/**
 * What sessions run on: the port range and the shared pacer. Provide it once
 * per phone (or process).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (range: PortRange = defaultRange): Layer.Layer<RTPPorts | RTPPacer, InvalidRangeError> =>
  Layer.merge(RTPPorts.layer(range), RTPPacer.layer)
