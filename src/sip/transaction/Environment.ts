/**
 * What a transaction state machine needs from the layer that runs it: the
 * timer values, the timer wheel, a way to send, and a way to be forgotten
 * when it terminates. The machines change state synchronously and hand back
 * the sends as an effect, so a state change and the timers it starts or
 * stops can never interleave with another event for the same transaction.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { SIPMessage } from "../SIPMessage.ts"
import type { SendTarget, SipTransportError } from "../../transport/SipTransport.ts"
import type { TimerWheel } from "./TimerWheel.ts"
import type { TimerValues } from "./Timers.ts"

/**
 * A message to send and where (`undefined`: where its top Via says, for a
 * response).
 *
 * @category models
 * @since 0.1.0
 */
export interface Outgoing {
  readonly message: SIPMessage
  readonly target: SendTarget | undefined
}

/**
 * Something that ends when a send for it fails (§17.1.4, §17.2.4).
 *
 * @category models
 * @since 0.1.0
 */
export interface TransportErrorSink {
  readonly onTransportError: (error: SipTransportError) => void
}

/**
 * @category models
 * @since 0.1.0
 */
export interface TransactionEnvironment<Self> {
  readonly timers: TimerValues
  readonly wheel: TimerWheel
  /** Sends in order; the first failure is reported to `owner` and returned. */
  readonly transmit: (owner: TransportErrorSink, outgoing: ReadonlyArray<Outgoing>) => Effect.Effect<void, SipTransportError>
  /** `Clock` time in milliseconds. */
  readonly now: () => number
  /** Called once, when the transaction enters Terminated. */
  readonly release: (transaction: Self) => void
}
