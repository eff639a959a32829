/**
 * Typed views of SIP header values: Via, name-addr (From, To, Route,
 * Record-Route, Refer-To, Referred-By), Contact, CSeq, authentication
 * headers, Content-Type, token lists, delta-seconds, Event,
 * Subscription-State and Session-Expires.
 *
 * Every parser takes one header value with line folding already replaced by
 * a single space, returns a `Result`, and reports errors with an offset into
 * that value. The grammar lives in `./headers/`.
 *
 * @since 0.1.0
 */
export { type AuthHeader, formatAuth, parseAuth, quotedAuthParams } from "./headers/Auth.ts"
export {
  type Contact,
  type ContactHeader,
  formatContact,
  formatNameAddr,
  type NameAddr,
  parseContact,
  parseNameAddr,
  parseNameAddrList
} from "./headers/NameAddr.ts"
export {
  type ContentType,
  type CSeq,
  type EventHeader,
  parseContentType,
  parseCSeq,
  parseEvent,
  parseNonNegativeInt,
  parseSessionExpires,
  parseSubscriptionState,
  parseTokenList,
  type SessionExpires,
  splitList,
  type SubscriptionState
} from "./headers/Simple.ts"
export { formatVia, parseVia, type Via } from "./headers/Via.ts"
