/**
 * The session of an established call, changed from either side inside its
 * dialog:
 *
 * - A re-INVITE from the peer (RFC 3261 §14.2) with an offer is answered
 *   200 with our answer (the direction mirrored: sendonly → recvonly,
 *   inactive → inactive; still sendonly while we hold) and the changed
 *   address, port, codec or direction goes to the RTP session; one without
 *   an offer gets ours in the 200 and the answer comes in the ACK. The 200
 *   is sent again until the ACK (`UaCore.acceptInvite`).
 * - `reoffer` sends our re-INVITE (hold: a=sendonly, resume: a=sendrecv)
 *   and applies the answer; a reliable 18x to it is PRACKed in the dialog
 *   (RFC 3262), each RSeq once and in order. Glare (§14.1): a re-INVITE of the peer while
 *   ours is pending is answered 491, and ours, answered 491, is sent again
 *   after a random wait on the `Clock` (2.1–4 s when we chose the Call-ID,
 *   else 0–2 s). A second re-INVITE of the peer while its first is pending
 *   gets 500 with Retry-After (§14.2).
 * - An UPDATE from the peer (RFC 3311) with an offer is answered 200 with
 *   our answer, applied at once; one without is a session refresh (RFC
 *   4028) answered 200 with Session-Expires. An offer in it while ours is
 *   pending gets 491, while the peer's is unanswered 500 (§5.2). Before
 *   the answer, in an early dialog of our INVITE, one without an offer is
 *   answered 200 and one with an offer 491.
 * - Our o= line keeps its session id; its version goes up by one whenever
 *   the description changes (RFC 3264 §8).
 * - Hold by either side is reported as `Held`/`Resumed` events.
 * - Session timers (RFC 4028): our INVITE offers {@link OFFERED_SESSION_EXPIRES}
 *   with Min-SE {@link MIN_SESSION_EXPIRES} (so a peer that requires timers
 *   takes it), and a 422 to it is answered by {@link retryAtMinSE}; a 422
 *   to our re-INVITE (refresh, hold, resume) gets the same offer once more,
 *   asking the 422's Min-SE (§7.4). The interval and refresher negotiated in
 *   the INVITE/2xx that set the call up, and again in every re-INVITE, start
 *   the timer. As refresher we send a re-INVITE (same description, so the
 *   same o= version) at half the interval; otherwise, when no refresh came
 *   within the interval minus min(32 s, a third of it) (§10), the call
 *   ends with BYE. A re-INVITE without Session-Expires turns the timer off.
 * - REFER (RFC 3515) as transferor: `transfer` sends REFER with Refer-To
 *   and Referred-By (answering challenges); a blind transfer is done at the
 *   2xx, an attended-style one waits for the NOTIFY whose message/sipfrag
 *   carries a final status. Every NOTIFY is answered 200.
 * - REFER as transferee: 202, then a new call to the Refer-To target
 *   (given to the user as a `Transferred` event), and NOTIFYs in this
 *   dialog (Event: refer): 100 Trying, then the new call's outcome, which
 *   terminates the subscription. A Replaces header in the Refer-To URI
 *   (an attended transfer, RFC 5589 §7) goes into the new INVITE.
 * - Attended transfer as transferor: `replacingTarget` is the Refer-To
 *   that reaches this call's peer and replaces this dialog there (RFC 3891).
 * - Replaced (RFC 3891 §3): another call took this one's place; the
 *   `Replaced` event names it and the call ends with BYE.
 * - SIP INFO carrying a digit (`application/dtmf-relay` with `Signal=`,
 *   or `application/dtmf`) feeds the same buffer and stream as RFC 4733;
 *   other bodies are refused 415.
 *
 * @since 0.1.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Deferred, Duration, Effect, Option, Random, Result, Stream } from "effect"
import { digitOfEvent } from "../rtp/Dtmf.ts"
import { type PayloadType, TransmitType } from "../rtp/PayloadType.ts"
import type { NoPortsAvailableError } from "../rtp/Ports.ts"
import type { RTPClient } from "../rtp/RTPClient.ts"
import * as OfferAnswer from "../sdp/OfferAnswer.ts"
import * as Sdp from "../sdp/Sdp.ts"
import type { AuthenticatedResponse } from "../sip/client/Authenticated.ts"
import * as Dialog from "../sip/dialog/Dialog.ts"
import * as UaCore from "../sip/dialog/UaCore.ts"
import { parseNameAddr } from "../sip/headers/NameAddr.ts"
import { formatReplaces, parseSessionExpires } from "../sip/headers/Simple.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import type { SIPParseError } from "../sip/SIPParseError.ts"
import type { ClientTransaction } from "../sip/transaction/ClientTransaction.ts"
import type { ServerTransaction } from "../sip/transaction/ServerTransaction.ts"
import { formatUri, make as makeUri, type SIPURI } from "../sip/Uri.ts"
import { CallError } from "./Errors.ts"
import * as Messages from "./Messages.ts"
import { CallState, EndReason } from "./CallState.ts"
import type { CallEnvironment, CallEvent, VoIPCall } from "./VoIPCall.ts"

/**
 * Who put the call on hold.
 *
 * @category models
 * @since 0.1.0
 */
export type HoldSide = "local" | "remote"

/**
 * RFC 4028's smallest Session-Expires, and our Min-SE: anything shorter is
 * answered 422 (§8.1).
 *
 * @category constants
 * @since 0.1.0
 */
export const MIN_SESSION_EXPIRES = 90

/**
 * The Session-Expires our INVITE offers: RFC 4028's recommended 30 minutes
 * (§4); the peer may lower it down to our Min-SE in its 2xx.
 *
 * @category constants
 * @since 0.1.0
 */
export const OFFERED_SESSION_EXPIRES = 1800

/**
 * Session-Expires (without refresher: the UAS picks, §7.1) and Min-SE for
 * the INVITE that places a call.
 *
 * @category constructors
 * @since 0.1.0
 */
export const offerHeaders = (): Array<readonly [string, string]> => [
  ["Session-Expires", String(OFFERED_SESSION_EXPIRES)],
  ["Min-SE", String(MIN_SESSION_EXPIRES)]
]

/**
 * The INVITE to send again after `response`, a 422 Session Interval Too
 * Small to `request` (RFC 4028 §7.4): Session-Expires and Min-SE set to the
 * 422's Min-SE, the next CSeq and no branch (the transaction layer adds a
 * new one); Call-ID, From tag and credentials stay. `undefined` when
 * `response` is no 422, or its Min-SE is missing or no longer than what we
 * asked for, since sending again could not help.
 *
 * @category constructors
 * @since 0.1.0
 */
export const retryAtMinSE = (
  request: SIPMessage.SIPMessage,
  response: SIPMessage.SIPMessage
): Result.Result<SIPMessage.SIPMessage, SIPParseError> | undefined => {
  const interval = raisedMinSE(request, response)
  if (interval === undefined || request.cseq === undefined) return undefined
  const seq = request.cseq.seq + 1
  let retry = SIPMessage.withHeader(request, "Session-Expires", String(interval))
  retry = Result.flatMap(retry, (message) => SIPMessage.withHeader(message, "Min-SE", String(interval)))
  retry = Result.flatMap(retry, (message) => SIPMessage.withHeader(message, "CSeq", `${seq} ${request.method}`))
  return Result.flatMap(retry, (message) => SIPMessage.mapTopVia(message, (via) => ({ ...via, branch: undefined })))
}

/**
 * The Min-SE of `response` when it is a 422 to `request` (RFC 4028 §7.4)
 * and asking for it could help: it is above the Session-Expires `request`
 * asked for, or `request` asked for none.
 */
const raisedMinSE = (request: SIPMessage.SIPMessage, response: SIPMessage.SIPMessage): number | undefined => {
  if (statusOf(response) !== 422) return undefined
  const minSE = parseSessionExpires(response.headers.get("Min-SE") ?? "")
  if (Result.isFailure(minSE)) return undefined
  const asked = request.sessionExpires
  const interval = minSE.success.deltaSeconds
  return Result.isSuccess(asked) && asked.success !== undefined && interval <= asked.success.deltaSeconds ? undefined : interval
}

/**
 * A running session timer: seconds between refreshes and who sends them.
 *
 * @category models
 * @since 0.1.0
 */
export interface SessionTimer {
  readonly interval: number
  readonly refresher: "local" | "remote"
}

const statusOf = (message: SIPMessage.SIPMessage): number => message.status === 0 ? 0 : message.status.value

const supportsTimer = (message: SIPMessage.SIPMessage): boolean => {
  const supported = message.supported
  return Result.isSuccess(supported) && (supported.success ?? []).some((tag) => tag.toLowerCase() === "timer")
}

/**
 * The session timer `message` sets up (RFC 4028 §7, §9): a request we
 * received as UAS, or a 2xx we received as UAC. Without a refresher
 * parameter a UAS picks the UAC when it supports timers, itself otherwise;
 * a 2xx without one leaves it to the UAC.
 *
 * @category constructors
 * @since 0.1.0
 */
export const timerOf = (message: SIPMessage.SIPMessage, weAreUac: boolean): SessionTimer | undefined => {
  const header = message.sessionExpires
  if (Result.isFailure(header) || header.success === undefined) return undefined
  const { deltaSeconds, refresher } = header.success
  const uacRefreshes = refresher === undefined ? weAreUac || supportsTimer(message) : refresher === "uac"
  return { interval: deltaSeconds, refresher: uacRefreshes === weAreUac ? "local" : "remote" }
}

/**
 * Session-Expires (and Require: timer when the UAC refreshes, §9) for a
 * message of ours in a transaction where we are the UAC or the UAS.
 *
 * @category constructors
 * @since 0.1.0
 */
export const timerHeaders = (timer: SessionTimer | undefined, weAreUac: boolean): Array<readonly [string, string]> => {
  if (timer === undefined) return []
  const uacRefreshes = (timer.refresher === "local") === weAreUac
  const headers: Array<readonly [string, string]> = [
    ["Session-Expires", `${timer.interval};refresher=${uacRefreshes ? "uac" : "uas"}`]
  ]
  if (!weAreUac && uacRefreshes) headers.push(["Require", "timer"])
  return headers
}

/**
 * Session-Expires and Min-SE for our re-INVITE sent again after a 422 with
 * Min-SE `minSE` (RFC 4028 §7.4): the running timer's refresher is kept.
 */
const atMinSE = (timer: SessionTimer | undefined, minSE: number): Array<readonly [string, string]> => [
  ...(timer === undefined ? [["Session-Expires", String(minSE)] as const] : timerHeaders({ ...timer, interval: minSE }, true)),
  ["Min-SE", String(minSE)]
]

/**
 * The 422 a request with a Session-Expires below our minimum gets (§8.1),
 * if it has one.
 *
 * @category checks
 * @since 0.1.0
 */
export const tooBrief = (request: SIPMessage.SIPMessage): boolean => {
  const header = request.sessionExpires
  return Result.isSuccess(header) && header.success !== undefined && header.success.deltaSeconds < MIN_SESSION_EXPIRES
}

/** The content type of NOTIFY bodies for REFER (RFC 3420). */
const SIPFRAG = "message/sipfrag;version=2.0"

/**
 * The status of a message/sipfrag body (`SIP/2.0 200 OK`), if it has one.
 *
 * @category parsing
 * @since 0.1.0
 */
export const sipfragStatus = (body: string): number | undefined => {
  const status = /^\s*SIP\/2\.0\s+(\d{3})\b/.exec(body)?.[1]
  return status === undefined ? undefined : Number(status)
}

/**
 * Where a Refer-To sends us: its URI without headers, and the one header
 * of the URI we put into the INVITE, Replaces (RFC 3261 §19.1.5 lets the
 * URI name any; the others could forge the request's own fields).
 */
const referTarget = (value: string): ReferTarget | undefined => {
  const parsed = parseNameAddr(value)
  if (Result.isFailure(parsed)) return undefined
  const { uri } = parsed.success
  const replaces = uri.headers.get("Replaces")
  return {
    uri: formatUri({ ...uri, headers: new Map() }),
    headers: replaces === undefined ? [] : [["Replaces", replaces]]
  }
}

/**
 * A call a REFER asks for: the URI, and headers for its INVITE.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReferTarget {
  readonly uri: string
  readonly headers: ReadonlyArray<readonly [string, string]>
}

/** The status a new call's end stands for in the transferor's NOTIFY. */
const endStatus = (reason: EndReason): { readonly status: number; readonly phrase: string } => {
  switch (reason._tag) {
    case "Busy":
      return { status: reason.status, phrase: "Busy" }
    case "Declined":
    case "Denied":
      return { status: reason.status, phrase: "Declined" }
    case "NoAnswer":
      return { status: reason.status, phrase: "No Answer" }
    case "Failed":
      return { status: reason.status, phrase: reason.reason }
    case "Canceled":
      return { status: 487, phrase: "Request Terminated" }
    default:
      return { status: 200, phrase: "OK" }
  }
}

/** When the timer acts: the refresher at half the interval, the other side before it runs out (§10). */
const timerDelaySeconds = (timer: SessionTimer): number =>
  timer.refresher === "local" ? timer.interval / 2 : timer.interval - Math.min(32, timer.interval / 3)

/**
 * What the session of a call works with, given by its call.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallSessionContext {
  readonly env: CallEnvironment
  readonly dialog: { readonly get: () => Dialog.Dialog | undefined; readonly set: (dialog: Dialog.Dialog) => void }
  readonly session: Effect.Effect<Option.Option<RTPClient>>
  /** Our Contact (the 200s we send carry it) and the address of our SDP. */
  readonly contact: SIPURI
  readonly codecs: NonEmptyReadonlyArray<PayloadType>
  /** We wrote the Call-ID (we placed the call): the longer glare wait is ours (§14.1). */
  readonly ownsCallId: boolean
  readonly publish: (event: CallEvent) => Effect.Effect<void>
  readonly receiveDigit: (digit: string) => Effect.Effect<void>
  /** Completes when the call ends. */
  readonly ended: Effect.Effect<unknown>
  /** Ends the call with BYE and `reason`: an expired session, a transfer done. */
  readonly end: (reason: EndReason) => Effect.Effect<void>
  /** Places the call a REFER asks for. */
  readonly dial: (target: ReferTarget) => Effect.Effect<VoIPCall, NoPortsAvailableError | CallError>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface CallSession {
  /** The description we last sent (offer or answer): its o= line is kept and versioned. */
  readonly setLocal: (description: Sdp.SessionDescription) => void
  /** Sends a re-INVITE offering `direction` and applies the answer; fails when the peer refuses it for good. */
  readonly reoffer: (direction: TransmitType) => Effect.Effect<void, CallError>
  readonly held: () => { readonly local: boolean; readonly remote: boolean }
  /**
   * REFERs the peer to `target` (a URI): `true` once the REFER is accepted
   * (blind) or the NOTIFY reports a 2xx, and the call then ends with BYE;
   * `false` when it reports a failure, and the call goes on.
   */
  readonly transfer: (target: string, blind: boolean) => Effect.Effect<boolean, CallError>
  /**
   * A Refer-To URI for an attended transfer to this call's peer: its
   * Contact, with a Replaces header naming this dialog as the peer sees it.
   */
  readonly replacingTarget: () => string | undefined
  /** `call` replaced this one (RFC 3891): the `Replaced` event, then BYE. */
  readonly replacedBy: (call: VoIPCall) => Effect.Effect<void>
  /** (Re)starts the session timer the call's set-up negotiated, or stops it. */
  readonly startTimer: (timer: SessionTimer | undefined) => Effect.Effect<void>
  /** Handlers of in-dialog requests by method. */
  readonly handlers: Readonly<Record<string, (transaction: ServerTransaction) => Effect.Effect<void>>>
}

const isSuccess = (status: number): boolean => status >= 200 && status < 300

/** How long a second re-INVITE of the peer is told to wait (§14.2: 0–10 s). */
const RETRY_AFTER_SECONDS = 2

/** The content types of SIP INFO DTMF. */
const DTMF_TYPES: ReadonlyArray<string> = ["application/dtmf-relay", "application/dtmf"]

/**
 * The digit of a SIP INFO DTMF body: `Signal=5` (dtmf-relay) or `5`
 * (application/dtmf); a number is an RFC 4733 event (`10` is `*`, `11` `#`).
 *
 * @category parsing
 * @since 0.1.0
 */
export const infoDigit = (contentType: string, body: string): string | undefined => {
  const value = contentType === "application/dtmf-relay"
    ? /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body)?.[1]
    : body.trim()
  if (value === undefined || value.length === 0) return undefined
  if (/^\d+$/.test(value)) {
    const digit = digitOfEvent(Number(value))
    return digit === "!" ? undefined : digit
  }
  return /^[*#A-D]$/i.test(value) ? value.toUpperCase() : undefined
}

/** The peer put us on hold: it does not want to receive, or gave the RFC 2543 null address. */
const offersHold = (offer: Sdp.SessionDescription): boolean => {
  const first = offer.media.find((media) => media.port !== 0)
  if (first === undefined) return false
  const address = first.connection?.address
  return address === "0.0.0.0" || address === "::" || first.direction === TransmitType.SENDONLY ||
    first.direction === TransmitType.INACTIVE
}

const respondWith = (transaction: ServerTransaction, built: Result.Result<SIPMessage.SIPMessage, { readonly message: string }>) =>
  Result.isSuccess(built)
    ? Effect.ignore(transaction.respond(built.success))
    : Effect.logWarning(`cannot build a response: ${built.failure.message}`)

const reply = (transaction: ServerTransaction, status: number, headers: ReadonlyArray<readonly [string, string]> = []) =>
  respondWith(transaction, Messages.refuse(transaction.request, status, Dialog.newTag(), { headers }))

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = (ctx: CallSessionContext): CallSession => {
  const { env } = ctx
  let local: Sdp.SessionDescription | undefined
  let pending: "ours" | "theirs" | undefined
  let heldLocally = false
  let heldRemotely = false
  let timer: SessionTimer | undefined
  // Bumped by every (re)start: a timer that wakes up to a newer generation does nothing.
  let timerGeneration = 0

  const wanted = () => heldLocally ? TransmitType.SENDONLY : TransmitType.SENDRECV

  /**
   * What `build` makes of our media, with our o= line: the same version
   * when the description did not change, the next one otherwise.
   */
  const versioned = <A>(
    build: (media: OfferAnswer.LocalMedia) => A,
    descriptionOf: (built: A) => Sdp.SessionDescription,
    port: number,
    direction: TransmitType
  ): A => {
    const base: OfferAnswer.LocalMedia = { address: ctx.contact.host, port, codecs: ctx.codecs, direction }
    const previous = local
    if (previous === undefined) return build(base)
    const sessionId = BigInt(previous.origin.sessionId)
    const same = build({ ...base, sessionId, sessionVersion: BigInt(previous.origin.sessionVersion) })
    return Sdp.serialize(descriptionOf(same)) === Sdp.serialize(previous)
      ? same
      : build({ ...base, sessionId, sessionVersion: OfferAnswer.nextVersion(previous) })
  }

  const offerOf = (port: number, direction: TransmitType) =>
    versioned(OfferAnswer.createOffer, (offer) => offer, port, direction)

  const setRemoteHold = (held: boolean) =>
    Effect.suspend(() => {
      if (held === heldRemotely) return Effect.void
      heldRemotely = held
      return ctx.publish(held ? { _tag: "Held", by: "remote" } : { _tag: "Resumed", by: "remote" })
    })

  const apply = (session: RTPClient, media: ReadonlyArray<OfferAnswer.NegotiatedMedia>) => {
    const first = media[0]
    return first === undefined
      ? Effect.void
      : session.update(first).pipe(Effect.catch((error) => Effect.logWarning(`the RTP session kept its peer: ${error.message}`)))
  }

  const readAnswer = (session: RTPClient, offer: Sdp.SessionDescription, message: SIPMessage.SIPMessage) => {
    const body = message.sdp
    const answer = Result.isSuccess(body) ? body.success : undefined
    const media = answer === undefined ? undefined : OfferAnswer.readAnswer(offer, answer)
    if (media === undefined || Result.isFailure(media)) return Effect.succeed(false)
    return Effect.as(apply(session, media.success), true)
  }

  /**
   * What a re-INVITE and an UPDATE go through before we answer: an offer
   * while ours is pending is answered 491, one while the peer's previous
   * offer is unanswered 500 with Retry-After (§14.2, RFC 3311 §5.2); a
   * Session-Expires below our minimum 422, a body that is no SDP 400. Gives
   * the dialog, the RTP session and the offer (none for a late offer or a
   * bare refresh), or `undefined` once refused.
   */
  const admit = (transaction: ServerTransaction, needsSession: boolean) =>
    Effect.gen(function*() {
      const request = transaction.request
      const parsed = request.sdp
      const offers = request.method === "INVITE" || (Result.isSuccess(parsed) && parsed.success !== undefined)
      const refused = (status: number, headers?: ReadonlyArray<readonly [string, string]>) =>
        Effect.as(reply(transaction, status, headers), undefined)
      if (offers && pending === "ours") return yield* refused(491)
      if (offers && pending === "theirs") return yield* refused(500, [["Retry-After", String(RETRY_AFTER_SECONDS)]])
      const dialog = ctx.dialog.get()
      const session = yield* ctx.session
      if (dialog === undefined || (Option.isNone(session) && (offers || needsSession))) return yield* refused(491)
      if (tooBrief(request)) return yield* refused(422, [["Min-SE", String(MIN_SESSION_EXPIRES)]])
      if (Result.isFailure(parsed)) return yield* refused(400)
      return { dialog, session, offer: parsed.success }
    })

  /** Our answer to the peer's offer, applied to the RTP session; `undefined` when no codec fits (488). */
  const answerOffer = (session: RTPClient, offer: Sdp.SessionDescription) =>
    Effect.gen(function*() {
      const answered = versioned(
        (media) => OfferAnswer.createAnswer(offer, media),
        (built) => Result.isSuccess(built) ? built.success.description : offer,
        session.localPort,
        wanted()
      )
      if (Result.isFailure(answered)) return undefined
      yield* apply(session, answered.success.media)
      yield* setRemoteHold(offersHold(offer))
      return answered.success.description
    })

  /** The peer's re-INVITE (§14.2). */
  const onInvite = (transaction: ServerTransaction): Effect.Effect<void> =>
    Effect.gen(function*() {
      const request = transaction.request
      const admitted = yield* admit(transaction, true)
      if (admitted === undefined || Option.isNone(admitted.session)) return
      const { dialog, offer } = admitted
      const session = admitted.session.value
      let ours: Sdp.SessionDescription
      if (offer === undefined) {
        ours = offerOf(session.localPort, wanted())
      } else {
        const answer = yield* answerOffer(session, offer)
        if (answer === undefined) return yield* reply(transaction, 488)
        ours = answer
      }
      const refreshed = timerOf(request, false)
      const ok = Messages.accept(request, dialog.localTag, ctx.contact, Sdp.serialize(ours), timerHeaders(refreshed, false))
      if (Result.isFailure(ok)) return yield* reply(transaction, 500)
      local = ours
      pending = "theirs"
      yield* env.fork(
        UaCore.acceptInvite(transaction, ok.success).pipe(
          Effect.flatMap((ack) =>
            offer === undefined
              ? Effect.flatMap(readAnswer(session, ours, ack), (usable) =>
                usable ? Effect.void : Effect.logWarning(`the ACK of call ${dialog.callId} had no usable answer`))
              : Effect.void
          ),
          Effect.andThen(startTimer(refreshed)),
          // a 2xx never acknowledged ends the dialog (§13.3.1.4)
          Effect.catch((error) =>
            error._tag === "TransactionTimeoutError"
              ? ctx.end(EndReason.failed(408, "the 2xx of a re-INVITE was never acknowledged"))
              : Effect.logWarning(`re-INVITE of call ${dialog.callId}: ${error.message}`)
          ),
          Effect.ensuring(Effect.sync(() => void (pending = undefined)))
        )
      )
    })

  /**
   * The peer's UPDATE (RFC 3311 §5.2): with an offer, 200 with our answer
   * and the media changed at once; without one, a session refresh (RFC 4028)
   * answered 200 with the negotiated Session-Expires. Either restarts the
   * session timer.
   */
  const onUpdate = (transaction: ServerTransaction): Effect.Effect<void> =>
    Effect.gen(function*() {
      const request = transaction.request
      if (ctx.dialog.get() === undefined) {
        // an early dialog of our INVITE (RFC 3311 §5.1): an UPDATE without an offer (connected line, a refresh)
        // is taken; an offer would cross the INVITE's, whose answer is not final yet (§5.2)
        const sdp = request.sdp
        return yield* Result.isSuccess(sdp) && sdp.success === undefined
          ? reply(transaction, 200, [["Contact", `<${formatUri(ctx.contact)}>`]])
          : reply(transaction, 491)
      }
      const admitted = yield* admit(transaction, false)
      if (admitted === undefined) return
      const { dialog, offer, session } = admitted
      const refreshed = timerOf(request, false)
      const headers = timerHeaders(refreshed, false)
      let ok: Result.Result<SIPMessage.SIPMessage, SIPParseError>
      if (offer === undefined || Option.isNone(session)) {
        ok = Messages.refuse(request, 200, dialog.localTag, { headers: [["Contact", `<${formatUri(ctx.contact)}>`], ...headers] })
      } else {
        const answer = yield* answerOffer(session.value, offer)
        if (answer === undefined) return yield* reply(transaction, 488)
        ok = Messages.accept(request, dialog.localTag, ctx.contact, Sdp.serialize(answer), headers)
        if (Result.isSuccess(ok)) local = answer
      }
      if (Result.isFailure(ok)) return yield* reply(transaction, 500)
      yield* Effect.ignore(transaction.respond(ok.success))
      yield* startTimer(refreshed)
    })

  /** §14.1: how long to wait before sending a re-INVITE again after 491. */
  const glareWait = Effect.map(
    ctx.ownsCallId ? Random.nextIntBetween(210, 400) : Random.nextIntBetween(0, 200),
    (tens) => tens * 10
  )

  const failed = (reason: string) => new CallError({ action: "re-INVITE", reason })

  /**
   * Sends `method` in the dialog, answering challenges (those of `sessions`,
   * an earlier exchange, at once); the dialog continues after the CSeq of the
   * last attempt. Gives the final response and its transaction.
   */
  const inDialog = (
    method: string,
    init: Dialog.RequestInit,
    sessions?: AuthenticatedResponse["sessions"],
    onTransaction?: (transaction: ClientTransaction) => Effect.Effect<void>
  ) =>
    Effect.gen(function*() {
      const dialog = ctx.dialog.get()
      const refused = (reason: string) => new CallError({ action: method, reason })
      if (dialog === undefined) return yield* refused("the call has no dialog")
      const built = Dialog.createRequest(dialog, method, init)
      if (Result.isFailure(built)) return yield* refused(built.failure.message)
      ctx.dialog.set(built.success.dialog)
      const sent = yield* env.client.sendAuthenticated(built.success.request, {
        destination: Dialog.nextHop(built.success.dialog),
        sessions,
        onTransaction
      }).pipe(
        Effect.mapError((error) => new CallError({ action: method, reason: error.message }))
      )
      const usedSeq = sent.transaction.request.cseq?.seq ?? 0
      const current = ctx.dialog.get() ?? built.success.dialog
      if ((current.localSeq ?? 0) < usedSeq) ctx.dialog.set({ ...current, localSeq: usedSeq })
      return sent
    })

  /**
   * PRACKs the reliable provisional responses to our re-INVITE in the
   * dialog (RFC 3262 §4): each RSeq once and in order, a gap or repeat not.
   */
  const prackReliable = (transaction: ClientTransaction): Effect.Effect<void> => {
    let lastRseq: number | undefined
    const onResponse = (response: SIPMessage.SIPMessage) => {
      const status = statusOf(response)
      if (status <= 100 || status >= 200 || !SIPMessage.requires(response, "100rel")) return Effect.void
      const rseq = Number(response.headers.get("RSeq"))
      if (!Number.isInteger(rseq) || rseq < 1 || (lastRseq !== undefined && rseq !== lastRseq + 1)) return Effect.void
      lastRseq = rseq
      return inDialog("PRACK", { headers: [["RAck", `${rseq} ${transaction.request.cseq?.seq ?? 0} INVITE`]] }).pipe(
        Effect.flatMap(({ response: answer }) =>
          statusOf(answer) >= 300 ? Effect.logWarning(`PRACK answered ${statusOf(answer)} ${answer.reason}`) : Effect.void),
        Effect.catch((error) => Effect.logWarning(`PRACK failed: ${error.message}`))
      )
    }
    return env.fork(Stream.runForEach(transaction.responses, onResponse).pipe(Effect.ignore))
  }

  const sendOffer = (direction: TransmitType): Effect.Effect<"done" | "glare", CallError> =>
    Effect.gen(function*() {
      const dialog = ctx.dialog.get()
      const session = yield* ctx.session
      if (dialog === undefined || Option.isNone(session)) return yield* failed("the call has no session")
      if (pending !== undefined) return "glare"
      const offer = offerOf(session.value.localPort, direction)
      const invite = (timerLines: ReadonlyArray<readonly [string, string]>, sessions?: AuthenticatedResponse["sessions"]) =>
        inDialog("INVITE", {
          headers: [...Messages.capabilityHeaders(), ["User-Agent", Messages.PRODUCT], ...timerLines],
          body: Sdp.serialize(offer),
          contentType: "application/sdp"
        }, sessions, prackReliable)
      pending = "ours"
      const { response, transaction } = yield* Effect.gen(function*() {
        const first = yield* invite(timerHeaders(timer, true))
        // §7.4: once, at the 422's Min-SE with the same offer; a second 422 fails the attempt
        const minSE = raisedMinSE(first.request, first.response)
        return minSE === undefined ? first : yield* invite(atMinSE(timer, minSE), first.sessions)
      }).pipe(Effect.ensuring(Effect.sync(() => void (pending = undefined))))
      const status = statusOf(response)
      const confirmed = Dialog.onResponse(ctx.dialog.get() ?? dialog, response)
      ctx.dialog.set(confirmed)
      if (status === 491) return "glare"
      if (status >= 300) return yield* failed(`answered ${status} ${response.reason}`)
      yield* UaCore.acknowledge(env.client.transactions, transaction, confirmed).pipe(
        Effect.catch((error) => Effect.logWarning(`cannot ACK the re-INVITE of call ${confirmed.callId}: ${error.message}`))
      )
      local = offer
      if (!(yield* readAnswer(session.value, offer, response))) {
        return yield* failed("the 2xx carried no usable answer")
      }
      yield* startTimer(timerOf(response, true))
      return "done"
    })

  const reoffer = (direction: TransmitType): Effect.Effect<void, CallError> =>
    Effect.gen(function*() {
      const wasHeld = heldLocally
      heldLocally = direction !== TransmitType.SENDRECV
      while ((yield* sendOffer(direction).pipe(Effect.tapError(() => Effect.sync(() => void (heldLocally = wasHeld))))) === "glare") {
        yield* Effect.sleep(yield* glareWait)
      }
      if (wasHeld !== heldLocally) {
        yield* ctx.publish(heldLocally ? { _tag: "Held", by: "local" } : { _tag: "Resumed", by: "local" })
      }
    })

  function startTimer(next: SessionTimer | undefined): Effect.Effect<void> {
    return Effect.suspend(() => {
      timer = next
      const generation = ++timerGeneration
      if (next === undefined) return Effect.void
      const fire = Effect.suspend(() => {
        if (generation !== timerGeneration) return Effect.void
        return next.refresher === "local"
          ? reoffer(wanted()).pipe(Effect.catch((error) => Effect.logWarning(`session refresh failed: ${error.message}`)))
          : ctx.end(EndReason.failed(408, "the session was not refreshed in time (RFC 4028)"))
      })
      // only the wait gives way to the end of the call: an expiry that ends the call must finish
      return env.fork(
        Effect.sleep(Duration.seconds(timerDelaySeconds(next))).pipe(
          Effect.as(true),
          Effect.raceFirst(Effect.as(ctx.ended, false)),
          Effect.flatMap((due) => due ? fire : Effect.void)
        )
      )
    })
  }

  // The outcome of our REFER, from the NOTIFYs: the final sipfrag status.
  let referOutcome: Deferred.Deferred<number> | undefined

  const transfer = (target: string, blind: boolean): Effect.Effect<boolean, CallError> =>
    Effect.gen(function*() {
      const dialog = ctx.dialog.get()
      if (dialog === undefined) return yield* new CallError({ action: "transfer", reason: "the call has no dialog" })
      const outcome = yield* Deferred.make<number>()
      referOutcome = outcome
      const { response } = yield* inDialog("REFER", {
        headers: [["Refer-To", `<${target}>`], ["Referred-By", `<${formatUri(dialog.local.uri)}>`]]
      })
      const status = statusOf(response)
      if (status >= 300) return yield* new CallError({ action: "transfer", reason: `REFER answered ${status} ${response.reason}` })
      const done = blind || isSuccess(yield* Effect.raceFirst(Deferred.await(outcome), Effect.as(ctx.ended, 0)))
      if (done) yield* ctx.end(EndReason.localHangup)
      return done
    })

  /** A NOTIFY about our REFER (RFC 3515 §2.4.4): 200, and its final status ends the wait. */
  const onNotify = (transaction: ServerTransaction): Effect.Effect<void> =>
    Effect.gen(function*() {
      const request = transaction.request
      const event = (request.headers.get("Event") ?? "").trim().toLowerCase()
      if (!event.startsWith("refer")) return yield* reply(transaction, 489)
      yield* reply(transaction, 200)
      const status = sipfragStatus(Messages.textBody(request).text)
      const terminated = (request.headers.get("Subscription-State") ?? "").trim().toLowerCase().startsWith("terminated")
      const outcome = referOutcome
      if (outcome === undefined) return
      if (status !== undefined && status >= 200) yield* Deferred.succeed(outcome, status)
      else if (terminated) yield* Deferred.succeed(outcome, 0)
    })

  const notifyTransferor = (status: number, phrase: string, terminated: boolean) =>
    inDialog("NOTIFY", {
      headers: [
        ["Event", "refer"],
        ["Subscription-State", terminated ? "terminated;reason=noresource" : "active;expires=60"]
      ],
      body: `SIP/2.0 ${status} ${phrase}\r\n`,
      contentType: SIPFRAG
    }).pipe(Effect.catch((error) => Effect.logWarning(`NOTIFY of a transfer: ${error.message}`)))

  /** A REFER (RFC 3515 §2.4.2): we are the transferee. */
  const onRefer = (transaction: ServerTransaction): Effect.Effect<void> =>
    Effect.gen(function*() {
      const values = transaction.request.headers.getAll("Refer-To")
      const target = values.length === 1 ? referTarget(values[0]!) : undefined
      if (target === undefined) return yield* reply(transaction, 400)
      // Dialled and reported before the 202: a blind transferor hangs up as
      // soon as it has the 202, and an ended call publishes no more events.
      const placed = yield* Effect.result(ctx.dial(target))
      if (Result.isSuccess(placed)) yield* ctx.publish({ _tag: "Transferred", call: placed.success })
      yield* reply(transaction, 202)
      yield* env.fork(Effect.gen(function*() {
        yield* notifyTransferor(100, "Trying", false)
        if (Result.isFailure(placed)) return yield* notifyTransferor(503, "Service Unavailable", true)
        const call = placed.success
        const answered = yield* call.states.pipe(
          Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
          Stream.runHead
        )
        if (Option.getOrUndefined(answered) === CallState.ANSWERED) return yield* notifyTransferor(200, "OK", true)
        const { phrase, status } = endStatus(yield* call.ended)
        yield* notifyTransferor(status, phrase, true)
      }))
    })

  /** SIP INFO: a DTMF digit, or an empty keep-alive. */
  const onInfo = (transaction: ServerTransaction): Effect.Effect<void> => {
    const request = transaction.request
    if (request.rawBody.length === 0) return reply(transaction, 200)
    const { contentType, text } = Messages.textBody(request)
    const type = contentType.toLowerCase()
    if (!DTMF_TYPES.includes(type)) return reply(transaction, 415, [["Accept", DTMF_TYPES.join(", ")]])
    const digit = infoDigit(type, text)
    if (digit === undefined) return reply(transaction, 400)
    return Effect.andThen(reply(transaction, 200), ctx.receiveDigit(digit))
  }

  const replacingTarget = () => {
    const dialog = ctx.dialog.get()
    if (dialog === undefined) return undefined
    // the peer's to-tag is its own (local) tag, its from-tag ours (RFC 3891 §3)
    const replaces = formatReplaces({ callId: dialog.callId, toTag: dialog.remoteTag, fromTag: dialog.localTag, earlyOnly: false })
    return formatUri(makeUri({ ...dialog.remoteTarget, headers: { Replaces: replaces } }))
  }

  const replacedBy = (call: VoIPCall) => Effect.andThen(ctx.publish({ _tag: "Replaced", call }), ctx.end(EndReason.replaced))

  return {
    setLocal: (description) => void (local = description),
    reoffer,
    held: () => ({ local: heldLocally, remote: heldRemotely }),
    startTimer,
    transfer,
    replacingTarget,
    replacedBy,
    handlers: { INVITE: onInvite, UPDATE: onUpdate, INFO: onInfo, REFER: onRefer, NOTIFY: onNotify }
  }
}
