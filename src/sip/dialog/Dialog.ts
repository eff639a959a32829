/**
 * Dialogs (RFC 3261 §12): the state two user agents share after a
 * dialog-creating request (INVITE, SUBSCRIBE, REFER, NOTIFY) is answered with
 * a 101-299 carrying a To tag, and the requests sent inside it.
 *
 * A {@link Dialog} is an immutable value: Call-ID, local and remote tags,
 * local and remote CSeq numbers, local and remote URIs, the remote target
 * (the peer's Contact, refreshed by target refresh requests and their
 * responses), the route set (Record-Route, reversed on the UAC side) and
 * whether it is secure (sips). Functions return the updated dialog:
 * {@link createRequest} builds the next request with CSeq+1 and the Route
 * header fields of §12.2.1.1 (loose routing, and strict routing for a first
 * hop without `lr`); {@link receiveRequest} checks the remote CSeq
 * (a lower one is answered 500).
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { formatNameAddr, type NameAddr } from "../HeaderValues.ts"
import * as SIPMessage from "../SIPMessage.ts"
import { SIPParseError } from "../SIPParseError.ts"
import { formatUri, type SIPURI } from "../Uri.ts"
import { randomToken } from "../transaction/Key.ts"
import { isIpLiteral } from "../../transport/Locate.ts"
import type { Destination } from "../../transport/SipTransport.ts"

/**
 * @category models
 * @since 0.1.0
 */
export const DialogState = { EARLY: "early", CONFIRMED: "confirmed" } as const

/**
 * @category models
 * @since 0.1.0
 */
export type DialogState = (typeof DialogState)[keyof typeof DialogState]

/**
 * Which side of the dialog-creating request we were.
 *
 * @category models
 * @since 0.1.0
 */
export type DialogRole = "UAC" | "UAS"

/**
 * @category models
 * @since 0.1.0
 */
export interface Dialog {
  readonly role: DialogRole
  readonly state: DialogState
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
  /** CSeq of the last request we sent in the dialog; `undefined` until a UAS sends one. */
  readonly localSeq: number | undefined
  /** CSeq of the last request the peer sent; `undefined` until a UAC receives one. */
  readonly remoteSeq: number | undefined
  /** Our address (From of our requests), without tag. */
  readonly local: NameAddr
  /** The peer's address (To of our requests), without tag. */
  readonly remote: NameAddr
  /** Where our requests go: the peer's Contact. */
  readonly remoteTarget: SIPURI
  /** Proxies our requests pass through, in the order they are visited. */
  readonly routeSet: ReadonlyArray<NameAddr>
  /** The dialog-creating request was sent to a sips URI. */
  readonly secure: boolean
  /** Our Contact, written into the target refresh requests we send. */
  readonly localContact: string | undefined
}

/**
 * A message that cannot create or update a dialog.
 *
 * @category errors
 * @since 0.1.0
 */
export class DialogError extends Schema.TaggedError<DialogError>()("DialogError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `no dialog: ${this.reason}`
  }
}

/**
 * A request whose CSeq is lower than the peer's last one (§12.2.2): answer 500.
 *
 * @category errors
 * @since 0.1.0
 */
export class RequestOutOfOrderError extends Schema.TaggedError<RequestOutOfOrderError>()("RequestOutOfOrderError", {
  method: Schema.String,
  seq: Schema.Number,
  remoteSeq: Schema.Number
}) {
  override get message(): string {
    return `${this.method} with CSeq ${this.seq} arrived after CSeq ${this.remoteSeq}`
  }
}

/**
 * A fresh tag for From or To: 60 random bits (§19.3 asks for at least 32).
 *
 * @category constructors
 * @since 0.1.0
 */
export const newTag = (): string => randomToken(10)

/**
 * A fresh Call-ID at `host`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const newCallId = (host: string): string => `${randomToken(22)}@${host}`

/** Methods whose requests replace the remote target (RFC 3261 §12.2, RFC 3311, RFC 6665, RFC 3515). */
const targetRefreshMethods: ReadonlySet<string> = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"])

/**
 * Whether requests of `method` refresh the remote target.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isTargetRefresh = (method: string): boolean => targetRefreshMethods.has(method)

/**
 * The key of a dialog, `Call-ID`, local tag and remote tag joined.
 *
 * @category keys
 * @since 0.1.0
 */
export const key = (callId: string, localTag: string, remoteTag: string): string => `${callId}\u0000${localTag}\u0000${remoteTag}`

/**
 * The key of `dialog`.
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOf = (dialog: Dialog): string => key(dialog.callId, dialog.localTag, dialog.remoteTag)

/**
 * The key of the dialog a request we received belongs to (To tag local, From
 * tag remote); `undefined` when it has no To tag (not in a dialog).
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOfRequest = (request: SIPMessage.SIPMessage): string | undefined => {
  const { callId, from, to } = request
  return callId === undefined || to?.tag === undefined ? undefined : key(callId, to.tag, from?.tag ?? "")
}

/**
 * The key of the dialog a response to our request belongs to (From tag
 * local, To tag remote); `undefined` without To tag.
 *
 * @category keys
 * @since 0.1.0
 */
export const keyOfResponse = (response: SIPMessage.SIPMessage): string | undefined => {
  const { callId, from, to } = response
  return callId === undefined || to?.tag === undefined ? undefined : key(callId, from?.tag ?? "", to.tag)
}

const withoutTag = (address: NameAddr): NameAddr => ({ ...address, tag: undefined })

/** The first Contact URI of a message, if it has one that parses. */
const contactUri = (message: SIPMessage.SIPMessage): SIPURI | undefined => {
  const contact = message.contact
  if (Result.isFailure(contact) || contact.success === undefined || contact.success.star) return undefined
  return contact.success.contacts[0]?.uri
}

const recordRoute = (message: SIPMessage.SIPMessage): ReadonlyArray<NameAddr> => {
  const parsed = message.recordRoute
  return Result.isSuccess(parsed) ? parsed.success : []
}

const statusOf = (response: SIPMessage.SIPMessage): number => response.status === 0 ? 0 : response.status.value

const fail = (reason: string) => Result.fail(new DialogError({ reason }))

/**
 * The UAC's dialog from a 101-299 response with a To tag to its
 * dialog-creating `request` (§12.1.2): early for 1xx, confirmed for 2xx; the
 * route set is the response's Record-Route reversed.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromResponse = (
  request: SIPMessage.SIPMessage,
  response: SIPMessage.SIPMessage,
  options: { readonly localContact?: string | undefined } = {}
): Result.Result<Dialog, DialogError> => {
  const status = statusOf(response)
  if (status <= 100 || status >= 300) return fail(`a ${status} response does not create a dialog`)
  const { callId, cseq, from, to } = request
  const remoteTag = response.to?.tag
  if (remoteTag === undefined) return fail("the response has no To tag")
  if (callId === undefined || cseq === undefined || from?.tag === undefined || to === undefined) {
    return fail("the request lacks Call-ID, CSeq, From tag or To")
  }
  const requestUri = request.requestUri
  return Result.succeed({
    role: "UAC",
    state: status < 200 ? DialogState.EARLY : DialogState.CONFIRMED,
    callId,
    localTag: from.tag,
    remoteTag,
    localSeq: cseq.seq,
    remoteSeq: undefined,
    local: withoutTag(from),
    remote: withoutTag(to),
    remoteTarget: contactUri(response) ?? requestUri ?? to.uri,
    routeSet: recordRoute(response).slice().reverse(),
    secure: requestUri?.scheme === "sips",
    localContact: options.localContact ?? request.headers.get("Contact")
  })
}

/**
 * The UAS's dialog for `request` once it answers with `response` (101-299
 * with our To tag, §12.1.1): the route set is the request's Record-Route in
 * order, the remote target its Contact.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromRequest = (
  request: SIPMessage.SIPMessage,
  response: SIPMessage.SIPMessage
): Result.Result<Dialog, DialogError> => {
  const status = statusOf(response)
  if (status <= 100 || status >= 300) return fail(`a ${status} response does not create a dialog`)
  const { callId, cseq, from, to } = request
  const localTag = response.to?.tag
  if (localTag === undefined) return fail("the response has no To tag")
  if (callId === undefined || cseq === undefined || from?.tag === undefined || to === undefined) {
    return fail("the request lacks Call-ID, CSeq, From tag or To")
  }
  const remoteTarget = contactUri(request)
  if (remoteTarget === undefined) return fail("the request has no Contact")
  return Result.succeed({
    role: "UAS",
    state: status < 200 ? DialogState.EARLY : DialogState.CONFIRMED,
    callId,
    localTag,
    remoteTag: from.tag,
    localSeq: undefined,
    remoteSeq: cseq.seq,
    local: withoutTag(to),
    remote: withoutTag(from),
    remoteTarget,
    routeSet: recordRoute(request),
    secure: request.requestUri?.scheme === "sips",
    localContact: response.headers.get("Contact")
  })
}

/**
 * The UAC's dialog after another response of the same dialog: a 2xx confirms
 * an early dialog and recomputes its route set (§13.2.2.4); a response to a
 * target refresh request with a Contact replaces the remote target.
 *
 * @category combinators
 * @since 0.1.0
 */
export const onResponse = (dialog: Dialog, response: SIPMessage.SIPMessage): Dialog => {
  const status = statusOf(response)
  if (status <= 100 || status >= 300 || response.to?.tag !== dialog.remoteTag) return dialog
  const confirming = dialog.state === DialogState.EARLY && status >= 200
  const target = isTargetRefresh(response.method) ? contactUri(response) : undefined
  if (!confirming && target === undefined) return dialog
  return {
    ...dialog,
    state: status >= 200 ? DialogState.CONFIRMED : dialog.state,
    remoteTarget: target ?? dialog.remoteTarget,
    routeSet: confirming && dialog.role === "UAC" ? recordRoute(response).slice().reverse() : dialog.routeSet
  }
}

/**
 * Takes in a request of the peer inside the dialog (§12.2.2): a CSeq lower
 * than the last one fails (answer 500); ACK and CANCEL carry their INVITE's
 * number and are not checked; a target refresh request with a Contact
 * replaces the remote target.
 *
 * @category combinators
 * @since 0.1.0
 */
export const receiveRequest = (
  dialog: Dialog,
  request: SIPMessage.SIPMessage
): Result.Result<Dialog, RequestOutOfOrderError> => {
  const seq = request.cseq?.seq
  if (seq === undefined || request.method === "ACK" || request.method === "CANCEL") return Result.succeed(dialog)
  if (dialog.remoteSeq !== undefined && seq < dialog.remoteSeq) {
    return Result.fail(new RequestOutOfOrderError({ method: request.method, seq, remoteSeq: dialog.remoteSeq }))
  }
  const target = isTargetRefresh(request.method) ? contactUri(request) : undefined
  return Result.succeed({ ...dialog, remoteSeq: seq, remoteTarget: target ?? dialog.remoteTarget })
}

/**
 * Marks an early dialog confirmed (the UAS sent its 2xx).
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirm = (dialog: Dialog): Dialog =>
  dialog.state === DialogState.CONFIRMED ? dialog : { ...dialog, state: DialogState.CONFIRMED }

/** URI parameters a Request-URI may not carry (§19.1.1, Table 1). */
const notInRequestUri: ReadonlySet<string> = new Set(["method"])

const asRequestUri = (uri: SIPURI): SIPURI => {
  if (uri.headers.size === 0 && ![...uri.params.keys()].some((name) => notInRequestUri.has(name))) return uri
  const params = new Map([...uri.params].filter(([name]) => !notInRequestUri.has(name)))
  return { ...uri, params, headers: new Map() }
}

/**
 * The Request-URI and Route header values of a request in the dialog
 * (§12.2.1.1): with no route set, the remote target and no Route; when the
 * first route is a loose router (`lr`), the remote target and the whole route
 * set; otherwise (a strict router) the first route as Request-URI, then the
 * rest of the route set and the remote target as Route.
 *
 * @category routing
 * @since 0.1.0
 */
export const routing = (dialog: Dialog): { readonly requestUri: string; readonly routes: ReadonlyArray<string> } => {
  const first = dialog.routeSet[0]
  if (first === undefined) return { requestUri: formatUri(dialog.remoteTarget), routes: [] }
  const routes = dialog.routeSet.map(formatNameAddr)
  if (first.uri.params.has("lr")) return { requestUri: formatUri(dialog.remoteTarget), routes }
  return {
    requestUri: formatUri(asRequestUri(first.uri)),
    routes: [...routes.slice(1), `<${formatUri(dialog.remoteTarget)}>`]
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RequestInit {
  /** Extra header fields, after the ones the dialog writes. */
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly body?: SIPMessage.Body
  readonly contentType?: string
}

const dialogHeaders = (
  dialog: Dialog,
  method: string,
  seq: number,
  routes: ReadonlyArray<string>,
  init: RequestInit
): Array<readonly [string, string]> => {
  const headers: Array<readonly [string, string]> = routes.map((route) => ["Route", route] as const)
  headers.push(
    ["Max-Forwards", "70"],
    ["From", formatNameAddr({ ...dialog.local, tag: dialog.localTag })],
    ["To", formatNameAddr({ ...dialog.remote, tag: dialog.remoteTag })],
    ["Call-ID", dialog.callId],
    ["CSeq", `${seq} ${method}`]
  )
  if (dialog.localContact !== undefined && isTargetRefresh(method)) headers.push(["Contact", dialog.localContact])
  if (init.headers !== undefined) headers.push(...init.headers)
  return headers
}

const build = (
  method: string,
  requestUri: string,
  headers: ReadonlyArray<readonly [string, string]>,
  init: RequestInit
): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  SIPMessage.request({
    method,
    uri: requestUri,
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.contentType === undefined ? {} : { contentType: init.contentType })
  })

/** A first local CSeq for a UAS that has not sent a request yet: random, well below 2**31 (§8.1.1.5). */
const initialSeq = (): number => 1 + (crypto.getRandomValues(new Uint32Array(1))[0]! & 0x7fff)

/**
 * The next request of the dialog (§12.2.1.1) and the dialog with its local
 * CSeq advanced. No Via: the transaction layer adds it with a fresh branch.
 * Target refresh requests carry our Contact.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createRequest = (
  dialog: Dialog,
  method: string,
  init: RequestInit = {}
): Result.Result<{ readonly dialog: Dialog; readonly request: SIPMessage.SIPMessage }, SIPParseError> => {
  if (method === "ACK" || method === "CANCEL") {
    return Result.fail(new SIPParseError({ reason: `${method} takes the CSeq of its INVITE: use ack or UaCore.cancel`, offset: 0 }))
  }
  const seq = dialog.localSeq === undefined ? initialSeq() : dialog.localSeq + 1
  const { requestUri, routes } = routing(dialog)
  return Result.map(
    build(method, requestUri, dialogHeaders(dialog, method, seq, routes, init), init),
    (request) => ({ dialog: { ...dialog, localSeq: seq }, request })
  )
}

/**
 * The UA core's ACK for a 2xx to `invite` (§13.2.2.4): built like any request
 * of the dialog, with the INVITE's CSeq number and its credentials
 * (Authorization, Proxy-Authorization). It gets a new branch when sent.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ack = (
  dialog: Dialog,
  invite: SIPMessage.SIPMessage,
  init: RequestInit = {}
): Result.Result<SIPMessage.SIPMessage, SIPParseError> => {
  const seq = invite.cseq?.seq
  if (seq === undefined) return Result.fail(new SIPParseError({ reason: "the INVITE has no CSeq", offset: 0 }))
  const { requestUri, routes } = routing(dialog)
  const credentials: Array<readonly [string, string]> = []
  for (const name of ["Authorization", "Proxy-Authorization"]) {
    for (const value of invite.headers.getAll(name)) credentials.push([name, value])
  }
  const headers = dialogHeaders(dialog, "ACK", seq, routes, init)
  headers.push(...credentials)
  return build("ACK", requestUri, headers, init)
}

const defaultPort = (uri: SIPURI): number =>
  uri.scheme === "sips" || uri.params.get("transport")?.toLowerCase() === "tls" ? 5061 : 5060

/**
 * The host and port a URI names: its `maddr` parameter or host, its port or
 * 5060 (5061 for sips). `undefined` for a tel URI. Names are resolved by the
 * transport; a name without port or `maddr` is marked `locate`, for the
 * transport's DNS SRV lookup (RFC 3263 §4.2).
 *
 * @category routing
 * @since 0.1.0
 */
export const uriDestination = (uri: SIPURI): Destination | undefined => {
  if (uri.scheme === "tel") return undefined
  const maddr = uri.params.get("maddr")
  const destination = { host: maddr ?? uri.host, port: uri.port ?? defaultPort(uri) }
  // an IP literal is never looked up; leaving the mark off keeps such destinations plain
  return uri.port === undefined && maddr === undefined && !isIpLiteral(uri.host)
    ? { ...destination, locate: true }
    : destination
}

/**
 * Where the requests of a dialog go first: the first element of the route
 * set, a loose router or a strict one (which is then the Request-URI), else
 * the remote target (§12.2.1.1, §8.1.2).
 *
 * @category routing
 * @since 0.1.0
 */
export const nextHop = (dialog: Dialog): Destination | undefined =>
  uriDestination(dialog.routeSet[0]?.uri ?? dialog.remoteTarget)

/**
 * Where a request outside a dialog goes first (§8.1.2): its first Route (a
 * pre-loaded route set, such as an outbound proxy), else its Request-URI.
 *
 * @category routing
 * @since 0.1.0
 */
export const requestNextHop = (request: SIPMessage.SIPMessage): Destination | undefined => {
  const routes = request.route
  const first = Result.isSuccess(routes) ? routes.success[0] : undefined
  const uri = first?.uri ?? request.requestUri
  return uri === undefined ? undefined : uriDestination(uri)
}
