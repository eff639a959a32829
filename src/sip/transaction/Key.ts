/**
 * Transaction matching (RFC 3261 §17.1.3, §17.2.3, §9.2) as map keys: a
 * response finds its client transaction by the branch and CSeq method of its
 * top Via; a request finds its server transaction by branch, sent-by and
 * method when the branch carries the RFC 3261 magic cookie, and otherwise by
 * the RFC 2543 rule (Request-URI, tags, Call-ID, CSeq, top Via). ACK looks up
 * the INVITE it acknowledges; CANCEL is its own transaction and finds the
 * request it cancels by the same rule with that request's method.
 *
 * Also makes the branch and tag values we send.
 *
 * @since 0.1.0
 */
import type { Via } from "../HeaderValues.ts"
import type { SIPMessage } from "../SIPMessage.ts"

/**
 * The prefix of every RFC 3261 branch (§8.1.1.7).
 *
 * @category constants
 * @since 0.1.0
 */
export const MAGIC_COOKIE = "z9hG4bK"

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-."

/**
 * `length` random token characters (64 symbols, 6 bits each) from the
 * platform's cryptographic generator: unique across processes and restarts,
 * with no state of our own.
 *
 * @category constructors
 * @since 0.1.0
 */
export const randomToken = (length: number): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(length))
  let out = ""
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! & 63]
  return out
}

/**
 * A fresh RFC 3261 branch: the magic cookie and 132 random bits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const newBranch = (): string => MAGIC_COOKIE + randomToken(22)

const SEPARATOR = "\u0000"

/**
 * The client transaction key of a request we send: its branch and method
 * (§17.1.3: CANCEL shares the INVITE's branch but is another transaction).
 *
 * @category keys
 * @since 0.1.0
 */
export const clientKey = (branch: string, method: string): string => branch + SEPARATOR + method

/**
 * The client transaction a response belongs to: the branch of its top Via
 * and the method of its CSeq. `undefined` when either is missing.
 *
 * @category keys
 * @since 0.1.0
 */
export const responseKey = (response: SIPMessage): string | undefined => {
  const branch = response.via[0]?.branch
  const method = response.cseq?.method
  return branch === undefined || method === undefined ? undefined : clientKey(branch, method)
}

const defaultPort = (via: Via): number => via.transport === "TLS" ? 5061 : 5060

/** sent-by compares case-insensitively, with the transport's default port filled in. */
const sentBy = (via: Via): string => `${via.host.toLowerCase()}:${via.port ?? defaultPort(via)}`

/** The method a server transaction is known by: an ACK belongs to the INVITE it acknowledges. */
const transactionMethod = (method: string): string => method === "ACK" ? "INVITE" : method

const hasMagicCookie = (via: Via): boolean => via.branch !== undefined && via.branch.startsWith(MAGIC_COOKIE)

/** The top Via as RFC 2543 compares it: sent-protocol, sent-by and parameters the client wrote. */
const viaIdentity = (via: Via): string => {
  let out = `${via.transport} ${sentBy(via)};${via.branch ?? ""}`
  for (const [name, value] of via.params) out += `;${name}=${value ?? ""}`
  return out
}

const rfc2543Key = (request: SIPMessage, top: Via, method: string, toTag: string): string =>
  [
    "2543",
    request.requestUriText,
    toTag,
    request.from?.tag ?? "",
    request.callId ?? "",
    String(request.cseq?.seq ?? ""),
    method,
    viaIdentity(top)
  ].join(SEPARATOR)

/**
 * The server transaction key of a request (§17.2.3), with `method` standing
 * for the request's own method when matching another transaction (CANCEL
 * looking for its INVITE). `undefined` without a Via.
 *
 * For a pre-3261 request the To tag is part of the key; an ACK, whose To tag
 * is the one our response added, is also looked up under the INVITE's To
 * tag by {@link rfc2543AckKeys}.
 *
 * @category keys
 * @since 0.1.0
 */
export const serverKey = (request: SIPMessage, method: string = request.method): string | undefined => {
  const top = request.via[0]
  if (top === undefined) return undefined
  const keyMethod = transactionMethod(method)
  if (hasMagicCookie(top)) return top.branch + SEPARATOR + sentBy(top) + SEPARATOR + keyMethod
  return rfc2543Key(request, top, keyMethod, request.to?.tag ?? "")
}

/**
 * For an ACK without the magic cookie: the key of an INVITE that had no To
 * tag (the ACK then carries the tag of our response, which the caller checks),
 * or `undefined` when the ACK has a magic cookie or no To tag.
 *
 * @category keys
 * @since 0.1.0
 */
export const rfc2543AckKey = (ack: SIPMessage): string | undefined => {
  const top = ack.via[0]
  if (top === undefined || hasMagicCookie(top) || ack.to?.tag === undefined) return undefined
  return rfc2543Key(ack, top, "INVITE", "")
}

/**
 * The key under which the UA core matches an ACK for a 2xx to the INVITE it
 * acknowledges (the ACK is a transaction of its own, with a new branch):
 * Call-ID, CSeq number and both tags.
 *
 * @category keys
 * @since 0.1.0
 */
export const dialogAckKey = (message: SIPMessage): string | undefined => {
  const { callId, cseq, from, to } = message
  if (callId === undefined || cseq === undefined || from?.tag === undefined || to?.tag === undefined) return undefined
  return callId + SEPARATOR + cseq.seq + SEPARATOR + from.tag + SEPARATOR + to.tag
}
