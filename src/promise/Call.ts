/**
 * A call for code that does not use Effect: every action of `VoIPCall` as
 * a method returning a `Promise`, every stream as an `AsyncIterable`.
 *
 * The promises run the call's own effects, which need no service: they
 * settle by the call's rules whatever happens to the phone (closing the
 * phone ends the call, so `ended()` resolves, the iterables end and
 * `play()` returns). A typed failure rejects with the library's error
 * itself (`InvalidStateError`, `CallError`, ...: `Error`s with a `_tag`).
 * Leaving a `for await` loop early releases the stream's subscription.
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"
import * as Audio from "../rtp/Audio.ts"
import type { RTPStats } from "../rtp/Metrics.ts"
import type { NameAddr } from "../sip/HeaderValues.ts"
import type * as SIPMessage from "../sip/SIPMessage.ts"
import { bridge, type BridgeOptions } from "../voip/Bridge.ts"
import type { CallState, EndReason } from "../voip/CallState.ts"
import type { CallDirection, CallEvent as VoIPCallEvent, DenyStatus, VoIPCall } from "../voip/VoIPCall.ts"

/**
 * Audio to send: samples (8 kHz, 16-bit, mono), or frames as they come.
 *
 * @category models
 * @since 0.1.0
 */
export type AudioSource = Int16Array | AsyncIterable<Int16Array>

const audioStream = (audio: AudioSource): Stream.Stream<Int16Array, unknown> =>
  audio instanceof Int16Array ? Audio.fromSamples(audio) : Stream.fromAsyncIterable(audio, (error) => error)

/**
 * What happens to a call, as `VoIPCall`'s events, with the calls a transfer
 * or a Replaces brings wrapped as {@link Call}s.
 *
 * @category models
 * @since 0.1.0
 */
export type CallEvent =
  | Exclude<VoIPCallEvent, { readonly _tag: "Transferred" | "Replaced" }>
  | { readonly _tag: "Transferred" | "Replaced"; readonly call: Call }

/**
 * One call, incoming or outgoing. The phone makes them: `phone.call()`,
 * `phone.incomingCalls()`, the `onIncomingCall` option.
 *
 * @category models
 * @since 0.1.0
 */
export class Call {
  readonly #call: VoIPCall
  readonly callId: string
  readonly direction: CallDirection
  /** The peer: From of an incoming call, To of an outgoing one. */
  readonly remote: NameAddr | undefined
  /** The INVITE that started the call: as received, or as we first sent it. */
  readonly request: SIPMessage.SIPMessage

  /** Wraps a call of the Effect API. */
  constructor(call: VoIPCall) {
    this.#call = call
    this.callId = call.callId
    this.direction = call.direction
    this.remote = call.remote
    this.request = call.request
  }

  state(): Promise<CallState> {
    return Effect.runPromise(this.#call.state)
  }

  /** The current state, then every change, ending with ENDED. */
  states(): AsyncIterable<CallState> {
    return Stream.toAsyncIterable(this.#call.states)
  }

  /** Resolves with why the call ended, once it has. */
  ended(): Promise<EndReason> {
    return Effect.runPromise(this.#call.ended)
  }

  /**
   * RINGING (incoming): accepts the call; resolves once it is ANSWERED (or
   * ended meanwhile). Rejects with `InvalidStateError`,
   * `NoPortsAvailableError` or `CallError`.
   */
  answer(): Promise<void> {
    return Effect.runPromise(this.#call.answer)
  }

  /**
   * RINGING (incoming): early media. Sends 183 with our answer and starts
   * the audio, so `play()` is heard before the call is answered; the call
   * stays RINGING. Rejects with `CallError` when the INVITE has no offer.
   */
  progress(): Promise<void> {
    return Effect.runPromise(this.#call.progress)
  }

  /** RINGING (incoming): refuses the call with 486 Busy Here (default) or 603 Decline. */
  deny(status?: DenyStatus): Promise<void> {
    return Effect.runPromise(this.#call.deny(status))
  }

  /** ANSWERED: ends the call with BYE. */
  hangup(): Promise<void> {
    return Effect.runPromise(this.#call.hangup)
  }

  /** DIALING or PROGRESS (outgoing): gives up before the answer. */
  cancel(): Promise<void> {
    return Effect.runPromise(this.#call.cancel)
  }

  /** ANSWERED: puts the peer on hold (a=sendonly); resolves once the peer accepted it. */
  hold(): Promise<void> {
    return Effect.runPromise(this.#call.hold)
  }

  /** ANSWERED: resumes a held call (a=sendrecv). */
  unhold(): Promise<void> {
    return Effect.runPromise(this.#call.unhold)
  }

  /**
   * ANSWERED: REFERs the peer to `uri`, else to `user` at our server.
   * Blind (the default): `true` once the REFER is accepted, and the call
   * ends. Otherwise waits for the outcome: `true` on success (the call
   * ends), `false` on failure (the call goes on).
   */
  transfer(user?: string, uri?: string, blind?: boolean): Promise<boolean> {
    return Effect.runPromise(this.#call.transfer(user, uri, blind))
  }

  /**
   * ANSWERED, with `consultation` (another answered call of the same phone):
   * attended transfer. REFERs this call's peer to the consultation's peer
   * with Replaces: `true` once it connected them (both calls end), `false`
   * when it failed (both go on).
   */
  transferTo(consultation: Call): Promise<boolean> {
    return Effect.runPromise(this.#call.transferTo(consultation.#call))
  }

  /**
   * ANSWERED, with `other` ANSWERED too: joins the two calls through this
   * phone (audio both ways, digits forwarded) until one ends; resolves with
   * the one that ended first, the other hung up unless `hangupBoth` is false.
   * Rejects with `InvalidStateError` when either is not answered.
   */
  async bridgeWith(other: Call, options?: BridgeOptions): Promise<Call> {
    const first = await Effect.runPromise(bridge(this.#call, other.#call, options))
    return first === this.#call ? this : other
  }

  /**
   * The events from now on, ending with `Ended`: states, provisional
   * responses, digits, hold and resume, and the new call of a transfer
   * (`Transferred`) or of an INVITE that replaced this one (`Replaced`).
   */
  events(): AsyncIterable<CallEvent> {
    return Stream.toAsyncIterable(Stream.map(this.#call.events, (event): CallEvent =>
      event._tag === "Transferred" || event._tag === "Replaced" ? { _tag: event._tag, call: new Call(event.call) } : event))
  }

  /** ANSWERED: sends RFC 4733 digits (`0-9 * # A-D`). */
  sendDtmf(digits: string): Promise<void> {
    return Effect.runPromise(this.#call.sendDtmf(digits))
  }

  /** pyVoIP's `get_dtmf(length = 1)`: buffered digits from the front, `""` if none, all for a negative length. */
  getDtmf(length?: number): Promise<string> {
    return Effect.runPromise(this.#call.getDtmf(length))
  }

  /** Received digits as they arrive, from the start of the iteration until the call ends. */
  dtmf(): AsyncIterable<string> {
    return Stream.toAsyncIterable(this.#call.dtmf)
  }

  /** Received audio, 20 ms frames of 8 kHz 16-bit samples, until the call ends. */
  audio(): AsyncIterable<Int16Array> {
    return Stream.toAsyncIterable(this.#call.audio)
  }

  /**
   * Sends audio; resolves when it has gone out, or at once when the call
   * ends. Rejects with what an iterable source throws.
   */
  play(audio: AudioSource): Promise<void> {
    return Effect.runPromise(this.#call.play(audioStream(audio)))
  }

  /** `play`, cut short by a received digit (left in the `getDtmf` buffer): `true` when one did. */
  playUntilDtmf(audio: AudioSource): Promise<boolean> {
    return Effect.runPromise(this.#call.playUntilDtmf(audioStream(audio)))
  }

  /** Drops the audio queued to send. */
  flush(): Promise<void> {
    return Effect.runPromise(this.#call.flush)
  }

  /** pyVoIP's `read_audio(length = 160, blocking = true)`: 8-bit unsigned linear audio. */
  readAudio(length?: number, blocking?: boolean): Promise<Uint8Array> {
    return Effect.runPromise(this.#call.readAudio(length, blocking))
  }

  /** pyVoIP's `write_audio(data)`: queues 8-bit unsigned linear audio. */
  writeAudio(data: Uint8Array): Promise<void> {
    return Effect.runPromise(this.#call.writeAudio(data))
  }

  /** The RTP session's counters; `undefined` before the call has a session; after the end, as they were when it closed. */
  stats(): Promise<RTPStats | undefined> {
    return Effect.runPromise(Effect.map(this.#call.stats, Option.getOrUndefined))
  }
}
