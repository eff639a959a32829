/**
 * The error every SIP parsing function fails with: what is wrong and the byte
 * offset in the input where it was found.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A SIP message, URI or header value that does not follow RFC 3261's grammar.
 *
 * @category errors
 * @since 0.1.0
 */
export class SIPParseError extends Schema.TaggedError<SIPParseError>()("SIPParseError", {
  reason: Schema.String,
  offset: Schema.Number
}) {
  override get message(): string {
    return `${this.reason} (at byte ${this.offset})`
  }
}
