/**
 * Shared pieces of the session tests: SDP negotiation between two sessions,
 * test signals, alignment of received audio, and the in-memory RTP network
 * of effect-voip/testing with stalled writes (for `TestClock`).
 */
import * as Dgram from "node:dgram"
import { type Duration, Effect, Layer } from "effect"
import { DatagramSocket } from "effect/socket"
import type { NegotiatedMedia } from "../../../src/sdp/OfferAnswer.ts"
import * as OfferAnswer from "../../../src/sdp/OfferAnswer.ts"
import type { RTPPacer } from "../../../src/rtp/Pacer.ts"
import { PayloadType } from "../../../src/rtp/PayloadType.ts"
import type { RTPPorts } from "../../../src/rtp/Ports.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import { MemoryRtpNetwork } from "../../../src/testing/MemoryRtp.ts"
import type { Endpoint } from "../../../src/transport/SipTransport.ts"

/**
 * A pacer and ports below Linux's ephemeral range, away from the lab's
 * 15000-16999 and from the ranges Ports.test.ts holds on to (21500-21799).
 */
export const sessionsLayer = (low = 24000, high = 24999): Layer.Layer<RTPPorts | RTPPacer> =>
  Layer.orDie(RTPClient.layer({ low, high }))

/** The media each side runs after `offerer` offers and `answerer` answers (the real offer/answer code). */
export const negotiate = (
  offerer: RTPClient.RTPClient,
  answerer: RTPClient.RTPClient,
  answererDirection: "sendrecv" | "sendonly" | "recvonly" | "inactive" = "sendrecv"
): { readonly offerer: NegotiatedMedia; readonly answerer: NegotiatedMedia } => {
  const offer = OfferAnswer.createOffer({ address: "127.0.0.1", port: offerer.localPort })
  const answer = OfferAnswer.createAnswer(offer, {
    address: "127.0.0.1",
    port: answerer.localPort,
    direction: answererDirection
  })
  if (answer._tag === "Failure") throw answer.failure
  const read = OfferAnswer.readAnswer(offer, answer.success.description)
  if (read._tag === "Failure") throw read.failure
  return { offerer: read.success[0]!, answerer: answer.success.media[0]! }
}

/** Connects two sessions both ways. */
export const connect = (a: RTPClient.RTPClient, b: RTPClient.RTPClient) =>
  Effect.gen(function*() {
    const media = negotiate(a, b)
    yield* a.update(media.offerer)
    yield* b.update(media.answerer)
    return media
  })

/** A linear chirp from `f0` to `f1` Hz, 8 kHz, amplitude 12000. */
export const chirp = (seconds: number, f0 = 300, f1 = 3000): Int16Array => {
  const n = Math.round(seconds * 8000)
  const out = new Int16Array(n)
  for (let i = 0; i < n; i++) {
    const t = i / 8000
    out[i] = Math.round(12000 * Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) / (2 * seconds)) * t * t)))
  }
  return out
}

export { concat } from "../../../src/rtp/Audio.ts"

/** Normalised correlation of `a` with `b` starting at `offset` in `b`. */
export const correlationAt = (a: Int16Array, b: Int16Array, offset: number): number => {
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[offset + i] ?? 0
    ab += x * y
    aa += x * x
    bb += y * y
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb)
}

/** The offset of `signal` in `recording` with the highest correlation. */
export const bestOffset = (signal: Int16Array, recording: Int16Array): { readonly offset: number; readonly correlation: number } => {
  let best = { offset: 0, correlation: -1 }
  for (let offset = 0; offset + signal.length <= recording.length; offset++) {
    const correlation = correlationAt(signal, recording, offset)
    if (correlation > best.correlation) best = { offset, correlation }
  }
  return best
}

/**
 * The 20 ms frames of `signal` that are missing from `recording`: each frame
 * must appear (correlation ≥ 0.99) within one frame of where the whole
 * signal fits best. A sender that woke up a slot late on a loaded machine
 * shifts the rest of the audio by one frame; nothing may be lost or garbled.
 * Near-silent frames (pauses in speech) prove nothing and are not checked.
 */
export const missingFrames = (signal: Int16Array, recording: Int16Array): ReadonlyArray<number> => {
  const { offset } = bestOffset(signal, recording)
  return frameAlignment(signal, recording, offset).flatMap((frame, index) => {
    const audible = signal.subarray(index * 160, (index + 1) * 160).some((sample) => Math.abs(sample) > 500)
    return audible && frame.correlation < 0.99 ? [index] : []
  })
}

/**
 * For each 20 ms frame of `signal`: its offset in `recording` relative to
 * `offset` (searched within ±one frame) and the correlation there.
 */
export const frameAlignment = (signal: Int16Array, recording: Int16Array, offset: number) => {
  const frames: Array<{ readonly shift: number; readonly correlation: number }> = []
  for (let start = 0; start + 160 <= signal.length; start += 160) {
    const frame = signal.subarray(start, start + 160)
    let best = { shift: 0, correlation: -1 }
    for (let shift = -160; shift <= 160; shift++) {
      const at = offset + start + shift
      if (at < 0) continue
      const correlation = correlationAt(frame, recording, at)
      if (correlation > best.correlation) best = { shift, correlation }
    }
    frames.push(best)
  }
  return frames
}

/** A datagram a session's socket sent: the `Clock` time, the sending port, where it went. */
export interface SentDatagram {
  readonly at: number
  readonly port: number
  readonly payload: Uint8Array
  readonly address: Endpoint
}

/**
 * The in-memory RTP network of effect-voip/testing for sessions under
 * `TestClock`, with a record of what was sent. `delayWrite` makes the n-th
 * write (from 0) on a port take that long, as a stalled event loop would.
 */
export const memoryNetwork = Effect.gen(function*() {
  const network = yield* MemoryRtpNetwork.make
  const writeDelays = new Map<string, Duration.Input>()
  const writes = new Map<number, number>()
  const stalled = (port: number) =>
    Effect.suspend(() => {
      const index = writes.get(port) ?? 0
      writes.set(port, index + 1)
      const delay = writeDelays.get(`${port}/${index}`)
      return delay === undefined ? Effect.void : Effect.sleep(delay)
    })
  const factory = (binding: RTPClient.SocketBinding) =>
    Effect.map(network.factory(binding), (socket) =>
      DatagramSocket.make({
        reader: socket.reader,
        writer: Effect.map(socket.writer, (writer) => ({
          write: (datagram: DatagramSocket.OutgoingDatagram) => Effect.andThen(writer.write(datagram), stalled(binding.port)),
          writeAll: writer.writeAll
        }))
      }))
  return {
    factory,
    get sent(): ReadonlyArray<SentDatagram> {
      return network.sent.map((datagram) => ({ at: datagram.at, port: datagram.from.port, payload: datagram.payload, address: datagram.to }))
    },
    delayWrite: (port: number, index: number, delay: Duration.Input) =>
      Effect.sync(() => void writeDelays.set(`${port}/${index}`, delay))
  }
})

/** Media towards `port` on 127.0.0.1, as if negotiated: PCMU, telephone-event 101, sendrecv, 20 ms. */
export const mediaTo = (port: number, overrides: Partial<NegotiatedMedia> = {}): NegotiatedMedia => ({
  mediaIndex: 0,
  kind: "audio",
  localPort: 0,
  remoteAddressType: "IP4",
  remoteAddress: "127.0.0.1",
  remotePort: port,
  remoteRtcpPort: port + 1,
  codec: { number: 0, type: PayloadType.PCMU },
  dtmf: 101,
  receive: [
    { number: 0, type: PayloadType.PCMU },
    { number: 8, type: PayloadType.PCMA },
    { number: 101, type: PayloadType.EVENT }
  ],
  direction: "sendrecv",
  ptime: 20,
  ...overrides
})

/** A plain UDP socket on 127.0.0.1 that records what it receives: a peer we control byte for byte. */
export const rawSocket = (address = "127.0.0.1", port = 0) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly socket: Dgram.Socket; readonly port: number; readonly received: Array<Uint8Array> }>(
      (resume) => {
        const socket = Dgram.createSocket("udp4")
        const received: Array<Uint8Array> = []
        socket.on("message", (message) => received.push(new Uint8Array(message)))
        socket.bind(port, address, () => resume(Effect.succeed({ socket, port: socket.address().port, received })))
      }
    ),
    ({ socket }) => Effect.sync(() => socket.close())
  ).pipe(Effect.map(({ port: bound, received, socket }) => ({
    port: bound,
    received,
    send: (payload: Uint8Array, toPort: number) =>
      Effect.callback<void>((resume) => socket.send(payload, toPort, "127.0.0.1", () => resume(Effect.void)))
  })))
