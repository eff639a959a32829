/**
 * Typed views of SIP header values: Via, name-addr (From, To, Route,
 * Record-Route, Refer-To, Referred-By), Contact, CSeq, authentication
 * headers, Content-Type, token lists, delta-seconds, Event,
 * Subscription-State and Session-Expires.
 *
 * Every parser takes one header value with line folding already replaced by
 * a single space, returns a `Result`, and reports errors with an offset into
 * that value. Each has a `…Range(text, start, end)` twin that reads
 * `text[start, end)` in place, so a message parser needs no copy of the value
 * and its errors point into the message. The grammar lives in `./headers/`.
 *
 * @since 0.1.0
 */
export { type AuthHeader, formatAuth, parseAuth, parseAuthRange, quotedAuthParams } from "./headers/Auth.ts"
export {
  type Contact,
  type ContactHeader,
  formatContact,
  formatNameAddr,
  type NameAddr,
  parseContact,
  parseContactRange,
  parseNameAddr,
  parseNameAddrList,
  parseNameAddrListRange,
  parseNameAddrRange
} from "./headers/NameAddr.ts"
export {
  type ContentType,
  type CSeq,
  type EventHeader,
  parseContentType,
  parseContentTypeRange,
  parseCSeq,
  parseCSeqRange,
  formatReplaces,
  parseEvent,
  parseEventRange,
  parseNonNegativeInt,
  parseNonNegativeIntRange,
  parseReplaces,
  type Replaces,
  parseSessionExpires,
  parseSessionExpiresRange,
  parseSubscriptionState,
  parseSubscriptionStateRange,
  parseTokenList,
  parseTokenListRange,
  type SessionExpires,
  splitList,
  type SubscriptionState
} from "./headers/Simple.ts"
export { formatVia, parseVia, parseViaRange, type Via } from "./headers/Via.ts"
