/**
 * SIP response codes: every code in IANA's "Response Codes" registry
 * (RFC 3261 §21 and the RFCs that registered codes since), as pyVoIP's
 * `SIPStatus` enum.
 *
 * Member names follow the registry phrase in upper snake case (pyVoIP names
 * a few differently: its `INTERNAL_SERVER_ERROR` is `SERVER_INTERNAL_ERROR`
 * here, `FORWARDED` is `CALL_IS_BEING_FORWARDED`, `UNSUPPORTED_CERTIFICATE` is
 * `UNSUPPORTED_CREDENTIAL` after RFC 8224). 409 and 411 came from RFC 2543
 * and were never registered, so `fromCode` answers them with their class.
 *
 * @since 0.1.0
 */

/**
 * One response code. `registered` is false for a well-formed code missing
 * from the registry, whose phrase is then its class name.
 *
 * @category models
 * @since 0.1.0
 */
export interface SIPStatus {
  readonly value: number
  /** The registry's reason phrase, the one to put on the status line. */
  readonly phrase: string
  readonly description: string
  readonly registered: boolean
  /** `"486 Busy Here"`, as pyVoIP's `str(status)`. */
  toString(): string
}

const status = (value: number, phrase: string, description: string, registered = true): SIPStatus =>
  Object.freeze({ value, phrase, description, registered, toString: () => `${value} ${phrase}` })

const members = {
  TRYING: status(100, "Trying", "The next hop has the request and is working on it; it stops INVITE retransmissions."),
  RINGING: status(180, "Ringing", "The callee's user agent is alerting the user."),
  CALL_IS_BEING_FORWARDED: status(181, "Call Is Being Forwarded", "The call is being sent on to other destinations."),
  QUEUED: status(182, "Queued", "The callee cannot take the call yet and the server has put it in a queue."),
  SESSION_PROGRESS: status(
    183,
    "Session Progress",
    "The call is still being set up; the response may carry early media in its SDP."
  ),
  EARLY_DIALOG_TERMINATED: status(
    199,
    "Early Dialog Terminated",
    "A user agent server tells the caller that one of its early dialogs has ended (RFC 6228)."
  ),
  OK: status(200, "OK", "The request succeeded."),
  ACCEPTED: status(
    202,
    "Accepted",
    "The request was accepted for later processing; RFC 6665 deprecated it, but the registry still lists it."
  ),
  NO_NOTIFICATION: status(
    204,
    "No Notification",
    "The subscription succeeded but no NOTIFY will follow, since nothing changed (RFC 5839)."
  ),
  MULTIPLE_CHOICES: status(300, "Multiple Choices", "The address resolved to several locations, listed in Contact."),
  MOVED_PERMANENTLY: status(301, "Moved Permanently", "The user has moved for good to the address in Contact."),
  MOVED_TEMPORARILY: status(302, "Moved Temporarily", "The user is reachable for now at the address in Contact."),
  USE_PROXY: status(305, "Use Proxy", "The request has to go through the proxy named in Contact."),
  ALTERNATIVE_SERVICE: status(
    380,
    "Alternative Service",
    "The call failed, but the body describes other services that might work."
  ),
  BAD_REQUEST: status(400, "Bad Request", "The request was malformed."),
  UNAUTHORIZED: status(401, "Unauthorized", "The user agent or registrar wants credentials (WWW-Authenticate)."),
  PAYMENT_REQUIRED: status(402, "Payment Required", "Reserved for future use."),
  FORBIDDEN: status(403, "Forbidden", "The server understood the request and refuses it; credentials will not help."),
  NOT_FOUND: status(404, "Not Found", "The user does not exist in the domain of the Request-URI."),
  METHOD_NOT_ALLOWED: status(405, "Method Not Allowed", "The method is known but not allowed here; see Allow."),
  NOT_ACCEPTABLE: status(
    406,
    "Not Acceptable",
    "The resource can only answer with content the Accept header rules out."
  ),
  PROXY_AUTHENTICATION_REQUIRED: status(
    407,
    "Proxy Authentication Required",
    "A proxy wants credentials (Proxy-Authenticate) before it forwards the request."
  ),
  REQUEST_TIMEOUT: status(408, "Request Timeout", "No final response came in time; the request may be retried later."),
  GONE: status(410, "Gone", "The user used to exist here and has no forwarding address."),
  CONDITIONAL_REQUEST_FAILED: status(
    412,
    "Conditional Request Failed",
    "The entity tag in a PUBLISH refresh did not match any current state (RFC 3903)."
  ),
  REQUEST_ENTITY_TOO_LARGE: status(413, "Request Entity Too Large", "The body is larger than the server will take."),
  REQUEST_URI_TOO_LONG: status(414, "Request-URI Too Long", "The Request-URI is longer than the server will read."),
  UNSUPPORTED_MEDIA_TYPE: status(
    415,
    "Unsupported Media Type",
    "The body's format, encoding or language is not supported; see Accept."
  ),
  UNSUPPORTED_URI_SCHEME: status(
    416,
    "Unsupported URI Scheme",
    "The Request-URI uses a scheme the server does not know."
  ),
  UNKNOWN_RESOURCE_PRIORITY: status(
    417,
    "Unknown Resource-Priority",
    "No Resource-Priority namespace or value in the request was understood (RFC 4412)."
  ),
  BAD_EXTENSION: status(420, "Bad Extension", "An option tag in Proxy-Require or Require is not supported."),
  EXTENSION_REQUIRED: status(
    421,
    "Extension Required",
    "The server needs an extension the request did not list in Supported."
  ),
  SESSION_INTERVAL_TOO_SMALL: status(
    422,
    "Session Interval Too Small",
    "The Session-Expires value is below the server's minimum (RFC 4028)."
  ),
  INTERVAL_TOO_BRIEF: status(
    423,
    "Interval Too Brief",
    "The requested expiration is shorter than the server allows; see Min-Expires."
  ),
  BAD_LOCATION_INFORMATION: status(
    424,
    "Bad Location Information",
    "The location information in the request was malformed or unsatisfactory (RFC 6442)."
  ),
  BAD_ALERT_MESSAGE: status(
    425,
    "Bad Alert Message",
    "The emergency alert message in the request was malformed or unacceptable (RFC 8876)."
  ),
  USE_IDENTITY_HEADER: status(
    428,
    "Use Identity Header",
    "The server wants the request signed with an Identity header (RFC 8224)."
  ),
  PROVIDE_REFERRER_IDENTITY: status(
    429,
    "Provide Referrer Identity",
    "The REFER target wants a valid Referred-By token (RFC 3892)."
  ),
  FLOW_FAILED: status(
    430,
    "Flow Failed",
    "One flow to the user agent failed though others may work; meant for proxies (RFC 5626)."
  ),
  ANONYMITY_DISALLOWED: status(433, "Anonymity Disallowed", "The callee refuses anonymous requests (RFC 5079)."),
  BAD_IDENTITY_INFO: status(
    436,
    "Bad Identity Info",
    "The certificate reference in the Identity header could not be used (RFC 8224)."
  ),
  UNSUPPORTED_CREDENTIAL: status(
    437,
    "Unsupported Credential",
    "The credential behind the Identity signature is not trusted (RFC 8224)."
  ),
  INVALID_IDENTITY_HEADER: status(
    438,
    "Invalid Identity Header",
    "The Identity header's signature did not verify (RFC 8224)."
  ),
  FIRST_HOP_LACKS_OUTBOUND_SUPPORT: status(
    439,
    "First Hop Lacks Outbound Support",
    "The registrar supports SIP outbound but the first proxy does not (RFC 5626)."
  ),
  MAX_BREADTH_EXCEEDED: status(
    440,
    "Max-Breadth Exceeded",
    "Forking would exceed the request's Max-Breadth (RFC 5393)."
  ),
  BAD_INFO_PACKAGE: status(
    469,
    "Bad Info Package",
    "The INFO request uses a package the peer did not agree to (RFC 6086)."
  ),
  CONSENT_NEEDED: status(470, "Consent Needed", "The relay needs the target's consent first (RFC 5360)."),
  TEMPORARILY_UNAVAILABLE: status(
    480,
    "Temporarily Unavailable",
    "The callee was reached but cannot be contacted right now."
  ),
  CALL_OR_TRANSACTION_DOES_NOT_EXIST: status(
    481,
    "Call/Transaction Does Not Exist",
    "The request matches no dialog or transaction the server knows."
  ),
  LOOP_DETECTED: status(482, "Loop Detected", "The request came back to a server it had already passed."),
  TOO_MANY_HOPS: status(483, "Too Many Hops", "Max-Forwards reached zero."),
  ADDRESS_INCOMPLETE: status(484, "Address Incomplete", "The Request-URI is incomplete, e.g. too few dialled digits."),
  AMBIGUOUS: status(485, "Ambiguous", "The Request-URI matches several users."),
  BUSY_HERE: status(486, "Busy Here", "The callee is reachable but busy at this end system."),
  REQUEST_TERMINATED: status(487, "Request Terminated", "The request was ended by a CANCEL or BYE."),
  NOT_ACCEPTABLE_HERE: status(
    488,
    "Not Acceptable Here",
    "Something in the request, typically the offered media, is not acceptable to this user agent."
  ),
  BAD_EVENT: status(489, "Bad Event", "The event package in SUBSCRIBE or NOTIFY is not understood (RFC 6665)."),
  REQUEST_PENDING: status(
    491,
    "Request Pending",
    "Another request on the same dialog is still in progress, e.g. crossing re-INVITEs."
  ),
  UNDECIPHERABLE: status(493, "Undecipherable", "An S/MIME body could not be decrypted."),
  SECURITY_AGREEMENT_REQUIRED: status(
    494,
    "Security Agreement Required",
    "The server wants a security mechanism agreed first (RFC 3329)."
  ),
  SERVER_INTERNAL_ERROR: status(500, "Server Internal Error", "The server hit an unexpected condition."),
  NOT_IMPLEMENTED: status(501, "Not Implemented", "The server does not implement the method."),
  BAD_GATEWAY: status(502, "Bad Gateway", "A gateway or proxy got an invalid response from the next server."),
  SERVICE_UNAVAILABLE: status(
    503,
    "Service Unavailable",
    "The server is overloaded or down for maintenance; Retry-After may say when to come back."
  ),
  SERVER_TIME_OUT: status(504, "Server Time-out", "A server further along did not answer in time."),
  VERSION_NOT_SUPPORTED: status(505, "Version Not Supported", "The server does not speak the request's SIP version."),
  MESSAGE_TOO_LARGE: status(513, "Message Too Large", "The message is longer than the server can process."),
  PUSH_NOTIFICATION_SERVICE_NOT_SUPPORTED: status(
    555,
    "Push Notification Service Not Supported",
    "The proxy does not support the push service named in the request (RFC 8599)."
  ),
  PRECONDITION_FAILURE: status(
    580,
    "Precondition Failure",
    "The session's preconditions, such as resource reservation, cannot be met (RFC 3312)."
  ),
  BUSY_EVERYWHERE: status(600, "Busy Everywhere", "The callee is busy and no other location will take the call."),
  DECLINE: status(603, "Decline", "The callee does not want to take the call and gives no reason."),
  DOES_NOT_EXIST_ANYWHERE: status(604, "Does Not Exist Anywhere", "The user exists nowhere, not only at this server."),
  GLOBAL_NOT_ACCEPTABLE: status(
    606,
    "Not Acceptable",
    "The callee wants the call but none of the offered session descriptions suit it."
  ),
  UNWANTED: status(607, "Unwanted", "The callee marks the call as unwanted, e.g. spam (RFC 8197)."),
  REJECTED: status(608, "Rejected", "An intermediary such as a call-analytics service rejected the call (RFC 8688).")
} as const

const all: ReadonlyArray<SIPStatus> = Object.freeze(Object.values(members))

const byCode: ReadonlyMap<number, SIPStatus> = new Map(all.map((s) => [s.value, s]))

// RFC 3261 §21 section titles.
const classPhrases = ["Provisional", "Successful", "Redirection", "Request Failure", "Server Failure", "Global Failure"]

const isWellFormed = (code: number): boolean => Number.isInteger(code) && code >= 100 && code <= 699

/**
 * The registered entry for `code`; for an unregistered code in 100-699 an
 * entry whose phrase is its class name; `undefined` outside that range.
 */
const fromCode = (code: number): SIPStatus | undefined => {
  const known = byCode.get(code)
  if (known !== undefined || !isWellFormed(code)) return known
  const phrase = classPhrases[Math.floor(code / 100) - 1] ?? "Unknown"
  return status(code, phrase, `A response code the registry does not list, in the ${phrase} class.`, false)
}

/**
 * The registered status a user agent treats `status` as (RFC 3261 §8.1.3.2):
 * itself when registered, 183 for an unknown provisional code, x00 otherwise.
 */
const treatAs = (status: SIPStatus): SIPStatus => {
  if (status.registered) return status
  const equivalent = status.value < 200 ? 183 : Math.floor(status.value / 100) * 100
  return byCode.get(equivalent) ?? status
}

const codeBetween = (low: number, high: number) => (status: SIPStatus | number): boolean => {
  const code = typeof status === "number" ? status : status.value
  return code >= low && code < high
}

/**
 * Every registered response code as a member (`SIPStatus.BUSY_HERE`), and:
 * - `all`: the registered entries in code order;
 * - `fromCode(code)`: see above;
 * - `treatAs(status)`: the registered status to act on for an unknown code;
 * - `isProvisional`, `isSuccess`, `isRedirect`, `isFailure` (4xx-6xx),
 *   `isFinal` (2xx-6xx), on a status or a bare code.
 *
 * @category constructors
 * @since 0.1.0
 */
export const SIPStatus = {
  ...members,
  all,
  fromCode,
  treatAs,
  isProvisional: codeBetween(100, 200),
  isSuccess: codeBetween(200, 300),
  isRedirect: codeBetween(300, 400),
  isFailure: codeBetween(400, 700),
  isFinal: codeBetween(200, 700)
} as const
