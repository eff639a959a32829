/**
 * Audio of an RTP session in the telephone format (8 kHz mono 16-bit
 * samples): the queue between playback and the paced send fiber, pyVoIP's
 * 8-bit `read`, and streams from and to WAV files.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, type PlatformError, PubSub, Stream } from "effect"
import * as Linear8 from "./Linear8.ts"
import * as Wav from "./Wav.ts"

/**
 * Samples in 20 ms at 8 kHz: the frame size of every audio stream here.
 *
 * @category constants
 * @since 0.1.0
 */
export const frameSamples = 160

/**
 * Samples waiting for the send fiber. Producers either push (pyVoIP's
 * `write`: any amount, never waits) or offer (playback: waits while
 * `highWater` samples are queued, so a stream is read only as fast as it is
 * sent). The send fiber takes one packet's worth per slot; `drained` waits
 * until what was queued so far has been taken; `flush` drops everything
 * (barge-in).
 *
 * @category models
 * @since 0.1.0
 */
export class Outbox {
  readonly highWater: number
  private chunks: Array<Int16Array> = []
  private head = 0
  private offset = 0
  private queuedSamples = 0
  // Totals since the start: `drained` waits for `taken` to reach a `written` mark.
  private written = 0
  private taken = 0
  private drainWaiters: Array<{ readonly at: number; readonly resume: () => void }> = []
  private roomWaiters: Array<() => void> = []

  constructor(highWater: number) {
    this.highWater = highWater
  }

  /** Samples queued. */
  get size(): number {
    return this.queuedSamples
  }

  push(samples: Int16Array): void {
    if (samples.length === 0) return
    this.chunks.push(samples)
    this.queuedSamples += samples.length
    this.written += samples.length
  }

  /** Queues `samples` once fewer than `highWater` samples wait. */
  offer(samples: Int16Array): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.queuedSamples < this.highWater) return Effect.sync(() => this.push(samples))
      return Effect.andThen(this.waitFor(this.roomWaiters), this.offer(samples))
    })
  }

  /** Completes when every sample queued before the call has been taken or flushed. */
  get drained(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const at = this.written
      if (this.taken >= at) return Effect.void
      return Effect.callback<void>((resume) => {
        const waiter = { at, resume: () => resume(Effect.void) }
        this.drainWaiters.push(waiter)
        return Effect.sync(() => {
          this.drainWaiters = this.drainWaiters.filter((other) => other !== waiter)
        })
      })
    })
  }

  /**
   * Fills `target` with the next samples, padding with zeros when fewer are
   * queued; returns whether any queued audio went in.
   */
  takeInto(target: Int16Array): boolean {
    if (this.queuedSamples === 0) return false
    let filled = 0
    while (filled < target.length && this.head < this.chunks.length) {
      const chunk = this.chunks[this.head]!
      const count = Math.min(target.length - filled, chunk.length - this.offset)
      target.set(chunk.subarray(this.offset, this.offset + count), filled)
      filled += count
      this.offset += count
      if (this.offset === chunk.length) {
        this.head++
        this.offset = 0
      }
    }
    target.fill(0, filled)
    this.queuedSamples -= filled
    this.taken += filled
    this.compact()
    this.wake()
    return true
  }

  /** Drops every queued sample; waiting producers and `drained` resume. */
  flush(): void {
    this.chunks = []
    this.head = 0
    this.offset = 0
    this.taken += this.queuedSamples
    this.queuedSamples = 0
    this.wake()
  }

  private compact(): void {
    if (this.head === this.chunks.length) {
      this.chunks = []
      this.head = 0
    } else if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }

  private wake(): void {
    if (this.drainWaiters.length > 0) {
      const due = this.drainWaiters.filter((waiter) => waiter.at <= this.taken)
      if (due.length > 0) {
        this.drainWaiters = this.drainWaiters.filter((waiter) => waiter.at > this.taken)
        for (const waiter of due) waiter.resume()
      }
    }
    if (this.queuedSamples < this.highWater && this.roomWaiters.length > 0) {
      const waiters = this.roomWaiters
      this.roomWaiters = []
      for (const resume of waiters) resume()
    }
  }

  private waitFor(list: Array<() => void>): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const waiter = () => resume(Effect.void)
      list.push(waiter)
      return Effect.sync(() => {
        const index = list.indexOf(waiter)
        if (index !== -1) list.splice(index, 1)
      })
    })
  }
}

/**
 * pyVoIP's `read(length, blocking)` over a subscription to a session's
 * received frames: 8-bit unsigned linear octets. A blocking read waits until
 * `length` octets have been played out (so reading 160 at a time follows the
 * 20 ms playout clock); a non-blocking read returns what has arrived,
 * padded with silence (0x80) to `length`. Once the audio has ended (an
 * empty frame, or `end()`: the session ended), reads return what is left,
 * then silence, without waiting.
 *
 * @category models
 * @since 0.1.0
 */
export class Linear8Reader {
  private readonly frames: PubSub.Subscription<Int16Array>
  private pending: Uint8Array = new Uint8Array(0)
  private ended = false

  constructor(frames: PubSub.Subscription<Int16Array>) {
    this.frames = frames
  }

  /** No more frames will come: later reads do not touch the subscription. */
  end(): void {
    this.ended = true
  }

  read(length: number, blocking: boolean): Effect.Effect<Uint8Array> {
    const self = this
    return Effect.gen(function*() {
      if (!self.ended) self.append(yield* PubSub.takeUpTo(self.frames, Number.MAX_SAFE_INTEGER))
      while (blocking && !self.ended && self.pending.length < length) self.append(yield* PubSub.takeAll(self.frames))
      const out = new Uint8Array(length).fill(Linear8.silence)
      const count = Math.min(length, self.pending.length)
      out.set(self.pending.subarray(0, count))
      self.pending = self.pending.subarray(count)
      return out
    })
  }

  private append(frames: ReadonlyArray<Int16Array>): void {
    const end = frames.findIndex((frame) => frame.length === 0)
    if (end !== -1) {
      this.ended = true
      frames = frames.slice(0, end)
    }
    if (frames.length === 0) return
    const total = frames.reduce((sum, frame) => sum + frame.length, this.pending.length)
    const joined = new Uint8Array(total)
    joined.set(this.pending)
    let at = this.pending.length
    for (const frame of frames) {
      joined.set(Linear8.fromInt16(frame), at)
      at += frame.length
    }
    this.pending = joined
  }
}

/**
 * `samples` as a stream of `frameSize`-sample frames (views, not copies);
 * the last one may be shorter.
 *
 * @category streams
 * @since 0.1.0
 */
export const fromSamples = (samples: Int16Array, frameSize = frameSamples): Stream.Stream<Int16Array> =>
  Stream.fromIterable(
    Array.from(
      { length: Math.ceil(samples.length / frameSize) },
      (_, i) => samples.subarray(i * frameSize, Math.min(samples.length, (i + 1) * frameSize))
    )
  )

/**
 * A sine tone: `millis` of `frequency` Hz at 8 kHz, peaking at `amplitude`
 * (of 32767): beeps, test signals, a placeholder prompt.
 *
 * @category constructors
 * @since 0.1.0
 */
export const tone = (frequency: number, millis: number, amplitude = 8000): Int16Array =>
  Int16Array.from({ length: Math.round(millis * 8) }, (_, n) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * n) / 8000)))

/**
 * `chunks` one after the other in one array, e.g. the frames of a recording.
 *
 * @category constructors
 * @since 0.1.0
 */
export const concat = (chunks: ReadonlyArray<Int16Array>): Int16Array => {
  const out = new Int16Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * A WAV file (any format `Wav.decode` reads) as 20 ms frames of 8 kHz mono
 * audio, e.g. to `play` a prompt.
 *
 * @category streams
 * @since 0.1.0
 */
export const fromWavFile = (
  path: string
): Stream.Stream<Int16Array, Wav.WavFormatError | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const audio = yield* Wav.decode(yield* fs.readFile(path))
      return fromSamples(audio.samples)
    })
  )

const wavHeaderLength = 44

/**
 * Writes `audio` to a mono 16-bit 8 kHz WAV file as it comes (a frame at a
 * time, so a long call never sits in memory) and gives the number of samples
 * written. The sizes in the header are fixed when the stream ends, fails or
 * is interrupted (the call hung up), so the file is always complete. Take
 * what you need first, e.g. `session.audio.pipe(Stream.take(500))` for 10 s.
 *
 * @category streams
 * @since 0.1.0
 */
export const recordWav = <E, R>(
  path: string,
  audio: Stream.Stream<Int16Array, E, R>
): Effect.Effect<number, E | PlatformError.PlatformError, R | FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.open(path, { flag: "w" })
      let samples = 0
      const header = () => {
        const bytes = Wav.encode(new Int16Array(0))
        const view = new DataView(bytes.buffer)
        view.setUint32(4, 36 + 2 * samples, true)
        view.setUint32(40, 2 * samples, true)
        return bytes
      }
      yield* file.writeAll(header())
      yield* Effect.addFinalizer(() =>
        file.seek(0n, "start").pipe(Effect.andThen(file.writeAll(header())), Effect.ignore)
      )
      yield* Stream.runForEach(audio, (frame) => {
        samples += frame.length
        return file.writeAll(Wav.encode(frame).subarray(wavHeaderLength))
      })
      return samples
    })
  )
