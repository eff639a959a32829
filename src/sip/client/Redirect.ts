/**
 * Redirection of a request (RFC 3261 §8.1.3.4): the target set a UAC
 * builds from the Contacts of 3xx responses and tries one URI at a time.
 *
 * - 300 Multiple Choices, 301 Moved Permanently and 302 Moved Temporarily
 *   add their Contacts, highest `q` first (no `q` counts as 1), each URI
 *   once: a URI already tried or waiting is not added again, which stops
 *   two servers that redirect to each other. 305 Use Proxy and 380
 *   Alternative Service name no target to call and add nothing.
 * - While targets wait, a failure (3xx to 6xx) moves on to the next one;
 *   at most {@link MAX_TARGETS} URIs are tried in all.
 * - The new request is the old one at the new Request-URI, with CSeq + 1
 *   and a new branch; Call-ID, From (with its tag) and To stay.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as SIPMessage from "../SIPMessage.ts"
import type { SIPParseError } from "../SIPParseError.ts"
import { formatUri, type SIPURI } from "../Uri.ts"

/**
 * How many URIs one request tries, the first included.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_TARGETS = 8

/**
 * @category models
 * @since 0.1.0
 */
export interface TargetSet {
  /** URIs still to try, best first. */
  readonly waiting: ReadonlyArray<SIPURI>
  /** Every URI tried or waiting, as formatted: none enters twice. */
  readonly seen: ReadonlySet<string>
  readonly tried: number
}

const redirecting: ReadonlySet<number> = new Set([300, 301, 302])

const statusOf = (message: SIPMessage.SIPMessage): number => message.status === 0 ? 0 : message.status.value

/**
 * The target set of `request` before any response: its own Request-URI tried.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (request: SIPMessage.SIPMessage): TargetSet => ({
  waiting: [],
  seen: new Set([request.requestUri === undefined ? request.requestUriText : formatUri(request.requestUri)]),
  tried: 1
})

/**
 * `set` with the Contacts of `response` added, when it is a 300, 301 or
 * 302 that has some (see the module doc for the order and the loop rule).
 *
 * @category combinators
 * @since 0.1.0
 */
export const addContacts = (set: TargetSet, response: SIPMessage.SIPMessage): TargetSet => {
  if (!redirecting.has(statusOf(response))) return set
  const header = response.contact
  if (Result.isFailure(header) || header.success === undefined || header.success.star) return set
  const seen = new Set(set.seen)
  const added = header.success.contacts
    .filter((contact) => contact.uri.scheme !== "tel")
    .map((contact, index) => ({ uri: contact.uri, q: contact.q ?? 1, index }))
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .flatMap(({ uri }) => {
      const text = formatUri(uri)
      if (seen.has(text)) return []
      seen.add(text)
      return [uri]
    })
  return { ...set, waiting: [...set.waiting, ...added], seen }
}

/**
 * The target to try after `response` and the set without it: `undefined`
 * when `response` is not a failure, nothing waits, or {@link MAX_TARGETS}
 * were tried.
 *
 * @category combinators
 * @since 0.1.0
 */
export const next = (set: TargetSet, response: SIPMessage.SIPMessage): readonly [SIPURI, TargetSet] | undefined => {
  const [first, ...rest] = set.waiting
  if (statusOf(response) < 300 || first === undefined || set.tried >= MAX_TARGETS) return undefined
  return [first, { ...set, waiting: rest, tried: set.tried + 1 }]
}

/**
 * `request` sent to `uri` instead: CSeq + 1, no branch (the transaction
 * layer gives it a new one), everything else as it was.
 *
 * @category constructors
 * @since 0.1.0
 */
export const retarget = (request: SIPMessage.SIPMessage, uri: SIPURI): Result.Result<SIPMessage.SIPMessage, SIPParseError> => {
  const seq = (request.cseq?.seq ?? 0) + 1
  const moved = SIPMessage.request({ method: request.method, uri, headers: [...request.headers], body: request.rawBody })
  return moved.pipe(
    Result.flatMap((message) => SIPMessage.withHeader(message, "CSeq", `${seq} ${request.method}`)),
    Result.flatMap((message) => SIPMessage.mapTopVia(message, (via) => ({ ...via, branch: undefined })))
  )
}
