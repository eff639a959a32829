/**
 * The typed failures of the SIP client: credentials a server refused
 * (pyVoIP's `InvalidAccountInfoError`) and a registrar that refused to
 * register us for another reason.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The server refused our credentials: it challenged again (without
 * `stale=true`) a request that answered its challenge, or answered 403
 * Forbidden. Retrying with the same credentials will not help.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidAccountInfoError extends Schema.TaggedError<InvalidAccountInfoError>()("InvalidAccountInfoError", {
  /** The realm that refused them, or the server's host when no realm was involved. */
  realm: Schema.String,
  /** The username we authenticated as. */
  user: Schema.String,
  status: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `credentials rejected by ${this.realm}: ${this.status} ${this.reason} (user "${this.user}")`
  }
}

/**
 * The registrar answered REGISTER with a final response other than 2xx,
 * 401/407 and 403 (a 5xx, 404, ...), or with one we cannot act on (a 423
 * without a usable Min-Expires, a 2xx that grants no time).
 *
 * @category errors
 * @since 0.1.0
 */
export class RegistrationRejectedError extends Schema.TaggedError<RegistrationRejectedError>()(
  "RegistrationRejectedError",
  {
    /** The registrar's Request-URI. */
    registrar: Schema.String,
    status: Schema.Number,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `${this.registrar} refused the registration: ${this.status} ${this.reason}`
  }
}
