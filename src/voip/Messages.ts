/**
 * The SIP messages a phone writes beyond what the dialog and client
 * modules build: the capability headers (Allow, Accept, Supported), the
 * provisional and final responses to an INVITE, the answer to OPTIONS, and
 * the checks a UAS runs before it looks at a request (RFC 3261 §8.2.2.3:
 * Require).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { formatUri, type SIPURI } from "../sip/Uri.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import type { SIPParseError } from "../sip/SIPParseError.ts"
import { SIPStatus } from "../sip/SIPStatus.ts"

/**
 * The methods a phone handles, for Allow and for the 405 of anything else
 * (`UaCore.screen`). In a dialog, a call accepts the subset it has handlers
 * for.
 *
 * @category constants
 * @since 0.1.0
 */
export const ALLOWED_METHODS: ReadonlyArray<string> = [
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "MESSAGE",
  "INFO",
  "REFER",
  "NOTIFY",
  "UPDATE",
  "PRACK"
]

/**
 * The option tags (RFC 3261 §19.2) we implement: session timers (RFC 4028)
 * and reliable provisional responses (RFC 3262), both ways, and Replaces
 * (RFC 3891) as the recipient.
 *
 * @category constants
 * @since 0.1.0
 */
export const SUPPORTED_OPTIONS: ReadonlyArray<string> = ["timer", "100rel", "replaces"]

/**
 * The bodies we take: session descriptions, text for MESSAGE, DTMF for
 * INFO, sipfrag for the NOTIFYs of a transfer.
 *
 * @category constants
 * @since 0.1.0
 */
export const ACCEPTED_TYPES: ReadonlyArray<string> = [
  "application/sdp",
  "text/plain",
  "application/dtmf-relay",
  "application/dtmf",
  "message/sipfrag"
]

/**
 * The User-Agent and Server value.
 *
 * @category constants
 * @since 0.1.0
 */
export const PRODUCT = "effect-voip"

/**
 * Allow and Supported, written into every INVITE and its 2xx (RFC 3261
 * §13.2.1, §13.3.1.4) so the peer knows what it may send in the dialog.
 *
 * @category headers
 * @since 0.1.0
 */
export const capabilityHeaders = (
  allowed: ReadonlyArray<string> = ALLOWED_METHODS,
  supported: ReadonlyArray<string> = SUPPORTED_OPTIONS
): Array<readonly [string, string]> => [
  ["Allow", allowed.join(", ")],
  ["Supported", supported.join(", ")]
]

const contactHeader = (contact: SIPURI): readonly [string, string] => ["Contact", `<${formatUri(contact)}>`]

/**
 * A provisional response (180 Ringing, 183 Session Progress) to an INVITE
 * with our To tag and Contact: it creates the early dialog (§12.1.1). With
 * `sdp`, our answer for early media.
 *
 * @category responses
 * @since 0.1.0
 */
export const provisional = (
  invite: SIPMessage.SIPMessage,
  status: SIPStatus,
  toTag: string,
  contact: SIPURI,
  sdp?: string
): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  SIPMessage.response(invite, status, {
    toTag,
    headers: [contactHeader(contact)],
    ...(sdp === undefined ? {} : { body: sdp, contentType: "application/sdp" })
  })

/**
 * The 2xx that answers an INVITE with our session description (an answer,
 * or an offer when the INVITE had none), and `headers` (the session timer's).
 *
 * @category responses
 * @since 0.1.0
 */
export const accept = (
  invite: SIPMessage.SIPMessage,
  toTag: string,
  contact: SIPURI,
  sdp: string,
  headers: ReadonlyArray<readonly [string, string]> = []
): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  SIPMessage.response(invite, SIPStatus.OK, {
    toTag,
    headers: [contactHeader(contact), ...capabilityHeaders(), ["Server", PRODUCT], ...headers],
    body: sdp,
    contentType: "application/sdp"
  })

/**
 * A final response refusing a request, with our To tag when the request
 * has none, and `reason` instead of the registered phrase when given.
 *
 * @category responses
 * @since 0.1.0
 */
export const refuse = (
  request: SIPMessage.SIPMessage,
  status: SIPStatus | number,
  toTag: string,
  options: { readonly headers?: ReadonlyArray<readonly [string, string]>; readonly reason?: string } = {}
): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  SIPMessage.response(request, status, {
    toTag,
    headers: options.headers ?? [],
    ...(options.reason === undefined ? {} : { reason: options.reason })
  })

/**
 * The 200 to OPTIONS (RFC 3261 §11.2): what we allow, accept and support.
 *
 * @category responses
 * @since 0.1.0
 */
export const optionsAnswer = (request: SIPMessage.SIPMessage, toTag: string): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  SIPMessage.response(request, SIPStatus.OK, {
    toTag,
    headers: [
      ...capabilityHeaders(),
      ["Accept", ACCEPTED_TYPES.join(", ")],
      ["Accept-Encoding", "identity"],
      ["Accept-Language", "en"],
      ["Server", PRODUCT]
    ]
  })

/**
 * The option tags of `request`'s Require that we do not support; answered
 * 420 Bad Extension with them in Unsupported (RFC 3261 §8.2.2.3). ACK and
 * CANCEL are never refused this way.
 *
 * @category checks
 * @since 0.1.0
 */
export const unsupportedRequirements = (request: SIPMessage.SIPMessage): ReadonlyArray<string> => {
  if (request.method === "ACK" || request.method === "CANCEL") return []
  const required = request.require
  if (Result.isFailure(required) || required.success === undefined) return []
  return required.success.filter((option) => !SUPPORTED_OPTIONS.includes(option.toLowerCase()))
}

/**
 * The body of `message` as text and its Content-Type (`text/plain` when it
 * has none), for MESSAGE.
 *
 * @category accessors
 * @since 0.1.0
 */
export const textBody = (message: SIPMessage.SIPMessage): { readonly text: string; readonly contentType: string } => {
  const type = message.contentType
  const contentType = Result.isSuccess(type) && type.success !== undefined
    ? type.success.mediaType
    : "text/plain"
  return { text: new TextDecoder().decode(message.rawBody), contentType }
}
