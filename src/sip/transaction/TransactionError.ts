/**
 * The typed failures of the transaction layer: a transaction that timed out
 * (Timer B, F, H or L, or an INVITE abandoned after CANCEL), a response the
 * state of a server transaction does not allow, and a request that cannot
 * start a client transaction.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * No final response came in time (B, F, or an INVITE given up 64·T1 after
 * its CANCEL, §9.1), no ACK came for a final response we sent (H for a
 * non-2xx, L or the UA core's 64·T1 for a 2xx). The UA core turns the client
 * side into a 408 for its user (§8.1.3.1) and ends a dialog whose 2xx was
 * never acknowledged with BYE (§13.3.1.4).
 *
 * @category errors
 * @since 0.1.0
 */
export class TransactionTimeoutError extends Schema.TaggedError<TransactionTimeoutError>()("TransactionTimeoutError", {
  /** "B", "F", "H", "L", "ack" (2xx never acknowledged) or "cancel" (INVITE abandoned after CANCEL). */
  timer: Schema.Literals(["B", "F", "H", "L", "ack", "cancel"]),
  method: Schema.String,
  branch: Schema.String,
  /** How long the transaction waited, in milliseconds. */
  afterMillis: Schema.Number
}) {
  override get message(): string {
    const what = this.timer === "ack" || this.timer === "H" || this.timer === "L"
      ? "no ACK arrived for the final response"
      : this.timer === "cancel"
      ? "no final response arrived after CANCEL"
      : "no final response arrived"
    return `${this.method} transaction ${this.branch} timed out (${this.timer === "ack" || this.timer === "cancel" ? this.timer : `Timer ${this.timer}`}): ${what} within ${this.afterMillis} ms`
  }
}

/**
 * A response the server transaction cannot send in its state: a second final
 * response (a 2xx after a 2xx is fine for INVITE, RFC 6026), or any response
 * after the transaction ended.
 *
 * @category errors
 * @since 0.1.0
 */
export class TransactionStateError extends Schema.TaggedError<TransactionStateError>()("TransactionStateError", {
  method: Schema.String,
  branch: Schema.String,
  state: Schema.String,
  status: Schema.Number
}) {
  override get message(): string {
    return `cannot send ${this.status} on the ${this.method} server transaction ${this.branch} in state ${this.state}`
  }
}

/**
 * A request that cannot start a client transaction: an ACK (it never has
 * one, §17) or a request without CSeq.
 *
 * @category errors
 * @since 0.1.0
 */
export class TransactionRequestError extends Schema.TaggedError<TransactionRequestError>()("TransactionRequestError", {
  method: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot start a ${this.method} client transaction: ${this.reason}`
  }
}
