/**
 * The typed failures of calls and phones: an action the call's state does
 * not allow (pyVoIP's `InvalidStateError`), a call that could not be set up
 * or carried on, phone parameters that do not validate, and a phone that is
 * not running. Port exhaustion and bad port ranges are `NoPortsAvailableError`
 * and `InvalidRangeError` from `rtp/Ports.ts`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { CallState } from "./CallState.ts"

const stateSchema = Schema.Literals([
  CallState.DIALING,
  CallState.RINGING,
  CallState.PROGRESS,
  CallState.ANSWERED,
  CallState.CANCELING,
  CallState.ENDED
])

const describeAllowed = (allowed: ReadonlyArray<CallState>): string =>
  allowed.map((state) => state === CallState.PROGRESS ? "in progress" : state.toLowerCase()).join(" or ")

/**
 * A call action in a state that does not allow it, exactly as pyVoIP
 * refuses it: `answer` and `deny` need RINGING, `hangup` needs ANSWERED,
 * `cancel` needs DIALING or PROGRESS. `sendDtmf` needs ANSWERED too.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidStateError extends Schema.TaggedError<InvalidStateError>()("InvalidStateError", {
  /** The action refused (`"answer"`, `"hangup"`, ...). */
  action: Schema.String,
  /** The state the call was in. */
  state: stateSchema,
  /** The states that allow the action. */
  allowed: Schema.Array(stateSchema)
}) {
  override get message(): string {
    return `Call is not ${describeAllowed(this.allowed)}: cannot ${this.action} a call that is ${this.state}`
  }
}

/**
 * A call could not be set up or went wrong on our side: the target is not a
 * usable URI, the INVITE or a BYE could not be sent, our 2xx was never
 * acknowledged, the RTP session could not start.
 *
 * @category errors
 * @since 0.1.0
 */
export class CallError extends Schema.TaggedError<CallError>()("CallError", {
  /** What was being done (`"call"`, `"answer"`, `"hangup"`, ...). */
  action: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.action} failed: ${this.reason}`
  }
}

/**
 * A `VoIPPhoneParameter` field that does not validate: a port outside
 * 1-65535, a bind network that is not CIDR, an empty server.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidParameterError extends Schema.TaggedError<InvalidParameterError>()("InvalidParameterError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid phone parameters: ${this.reason}`
  }
}
