/**
 * pyVoIP's `VoIPCall`: one call, incoming or outgoing, with its state
 * machine, its dialog and its media.
 *
 * - Incoming: the phone answers the INVITE 180 Ringing at once and the
 *   call is RINGING. When the INVITE has `Require: 100rel` (RFC 3262) the
 *   180 is reliable: sent again until its PRACK (answered 200; one matching
 *   nothing unacknowledged gets 481), and without one within 64·T1 the
 *   INVITE is refused 500 (§3); `answer()` first waits for that PRACK.
 *   `answer()` opens the RTP session, sends the 2xx with
 *   the SDP answer (again and again until the ACK, RFC 3261 §13.3.1.4) and
 *   returns once the ACK made the call ANSWERED; `deny()` refuses with 486
 *   or 603. A CANCEL from the caller is answered 487 and ends the call.
 * - Outgoing: DIALING once the INVITE is sent (answering 401/407 with
 *   credentials); a 180 is an event, a provisional response with SDP brings
 *   early media and PROGRESS; a reliable one (`Require: 100rel`, RFC 3262)
 *   is PRACKed in its early dialog once per RSeq; the 2xx is acknowledged (to the Contact,
 *   through the route set) and the call is ANSWERED; a failure response ends
 *   it with its reason. `cancel()` sends CANCEL (after a provisional
 *   response, §9.1) and the call is CANCELING until the INVITE's final
 *   response; a 2xx that crossed the CANCEL is acknowledged and ended with
 *   BYE. 2xx responses from other forks are acknowledged and ended too.
 * - Both: `hangup()` sends BYE; a BYE from the peer is answered 200; either
 *   ends the call. Every action checks the state as pyVoIP does and fails
 *   with `InvalidStateError` otherwise.
 *
 * Requests inside the dialog go to a handler per method: BYE here, and
 * re-INVITE, UPDATE, INFO, REFER and NOTIFY from the call's session
 * (`CallSession`: hold and resume from either side, media changes, session
 * refreshes, SIP INFO DTMF, transfers); the others are
 * answered 405 with the methods the call handles.
 *
 * @since 0.1.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Deferred, Effect, Exit, Option, PubSub, Result, Scope, Semaphore, Stream, SubscriptionRef } from "effect"
import type { DatagramSocket } from "effect/socket"
import type { RTPStats } from "../rtp/Metrics.ts"
import { type PayloadType, TransmitType } from "../rtp/PayloadType.ts"
import type { NoPortsAvailableError } from "../rtp/Ports.ts"
import type { DtmfSendError, RemoteAddressError, RTPClient } from "../rtp/RTPClient.ts"
import * as OfferAnswer from "../sdp/OfferAnswer.ts"
import * as Sdp from "../sdp/Sdp.ts"
import * as Account from "../sip/client/Account.ts"
import type { AuthSession } from "../sip/auth/Digest.ts"
import type { AuthenticatedResponse, SendAuthenticatedError } from "../sip/client/Authenticated.ts"
import * as Redirect from "../sip/client/Redirect.ts"
import type { SIPClientShape } from "../sip/client/SIPClient.ts"
import * as Dialog from "../sip/dialog/Dialog.ts"
import * as Forks from "../sip/dialog/Forks.ts"
import * as UaCore from "../sip/dialog/UaCore.ts"
import type { NameAddr } from "../sip/HeaderValues.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import { SIPStatus } from "../sip/SIPStatus.ts"
import type { ClientTransaction } from "../sip/transaction/ClientTransaction.ts"
import { type RespondError, type ServerTransaction, trying } from "../sip/transaction/ServerTransaction.ts"
import { formatUri, type SIPURI } from "../sip/Uri.ts"
import type { SipTransportError } from "../transport/SipTransport.ts"
import * as CallMedia from "./CallMedia.ts"
import * as CallSession from "./CallSession.ts"
import { CallState, EndReason } from "./CallState.ts"
import { CallError, InvalidStateError } from "./Errors.ts"
import * as Messages from "./Messages.ts"
import { answerCodecs, isSupported, offerCodecs, type VoIPPhoneParameter } from "./VoIPPhoneParameter.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type CallDirection = "incoming" | "outgoing"

/**
 * What happens to a call, in order. `State` reports every state but ENDED,
 * which `Ended` reports with its reason as the last event.
 *
 * @category models
 * @since 0.1.0
 */
export type CallEvent =
  | { readonly _tag: "State"; readonly state: CallState }
  /** A provisional response to our INVITE (180 Ringing, 183 Session Progress, ...). */
  | { readonly _tag: "Provisional"; readonly status: number; readonly reason: string }
  /**
   * Our INVITE was redirected (RFC 3261 §8.1.3.4): after a 3xx, or a failure
   * of the last target while others wait, it goes to `target`.
   */
  | { readonly _tag: "Redirected"; readonly status: number; readonly target: string }
  | { readonly _tag: "Dtmf"; readonly digit: string }
  /** The call was put on hold by us (`hold()`) or by the peer (a sendonly, inactive or 0.0.0.0 offer). */
  | { readonly _tag: "Held"; readonly by: CallSession.HoldSide }
  /** A hold ended. */
  | { readonly _tag: "Resumed"; readonly by: CallSession.HoldSide }
  /** The peer REFERred us elsewhere: `call` is the new call, placed by the phone. */
  | { readonly _tag: "Transferred"; readonly call: VoIPCall }
  /**
   * An INVITE with Replaces (RFC 3891) took this call's place, as the far
   * end of an attended transfer: `call` is the new call, already answered;
   * this one ends with BYE (`Replaced`).
   */
  | { readonly _tag: "Replaced"; readonly call: VoIPCall }
  | { readonly _tag: "Ended"; readonly reason: EndReason }

/**
 * The refusals `deny` sends: 486 Busy Here (pyVoIP's) or 603 Decline.
 *
 * @category models
 * @since 0.1.0
 */
export type DenyStatus = 486 | 603

/**
 * A call, as the user sees it.
 *
 * @category models
 * @since 0.1.0
 */
export interface VoIPCall {
  readonly callId: string
  readonly direction: CallDirection
  /** The INVITE that started the call: as received, or as we first sent it. */
  readonly request: SIPMessage.SIPMessage
  /** The peer: From of an incoming call, To of an outgoing one. */
  readonly remote: NameAddr | undefined
  readonly state: Effect.Effect<CallState>
  /** The current state, then every change, ending with ENDED. */
  readonly states: Stream.Stream<CallState>
  /** Why the call ended, once it has. */
  readonly endReason: Effect.Effect<Option.Option<EndReason>>
  /** Waits for the end of the call. */
  readonly ended: Effect.Effect<EndReason>
  /** The events from subscription on; ends with `Ended`. */
  readonly events: Stream.Stream<CallEvent>
  /** RINGING (incoming): accept the call; returns once it is ANSWERED (or ended meanwhile). */
  readonly answer: Effect.Effect<void, InvalidStateError | NoPortsAvailableError | CallError>
  /**
   * RINGING (incoming): early media. Sends 183 Session Progress with our
   * answer to the INVITE's offer and starts the RTP session, so `play`,
   * `audio` and DTMF work before the call is answered (an announcement
   * that costs the caller nothing). The call stays RINGING; `answer` then
   * sends the same answer in its 200, `deny` ends it. Fails with
   * `CallError` when the INVITE has no offer.
   */
  readonly progress: Effect.Effect<void, InvalidStateError | NoPortsAvailableError | CallError>
  /** RINGING (incoming): refuse the call. */
  readonly deny: (status?: DenyStatus) => Effect.Effect<void, InvalidStateError>
  /** ANSWERED: end the call with BYE. */
  readonly hangup: Effect.Effect<void, InvalidStateError>
  /** DIALING or PROGRESS (outgoing): give up before the answer. */
  readonly cancel: Effect.Effect<void, InvalidStateError>
  /** pyVoIP's `get_dtmf(length = 1)`: digits from the front of the buffer, `""` if none, all for a negative length. */
  readonly getDtmf: (length?: number) => Effect.Effect<string>
  /** Received digits as they arrive. */
  readonly dtmf: Stream.Stream<string>
  /** ANSWERED: puts the peer on hold with a re-INVITE offering a=sendonly; returns once the peer accepted it. */
  readonly hold: Effect.Effect<void, InvalidStateError | CallError>
  /** ANSWERED: resumes a held call with a re-INVITE offering a=sendrecv. */
  readonly unhold: Effect.Effect<void, InvalidStateError | CallError>
  /**
   * ANSWERED: pyVoIP's `transfer(user, uri, blind = true)`: REFERs the peer
   * to `uri`, else to `user` at our server. Blind: `true` once the REFER is
   * accepted, and the call ends with BYE. Otherwise waits for the NOTIFY
   * with the outcome: `true` on a 2xx (the call then ends with BYE),
   * `false` on a failure, the call continuing.
   */
  readonly transfer: (user?: string, uri?: string, blind?: boolean) => Effect.Effect<boolean, InvalidStateError | CallError>
  /**
   * ANSWERED, with `consultation` (another call of this phone) ANSWERED
   * too: attended transfer (RFC 5589 §7). REFERs this call's peer to the
   * peer of `consultation`, with Replaces naming that dialog, and waits for
   * the NOTIFY with the outcome: `true` on a 2xx (this call then ends with
   * BYE; the consultation's peer ends its call with us once the
   * transferee's INVITE replaced it), `false` on a failure, both calls
   * continuing.
   */
  readonly transferTo: (consultation: VoIPCall) => Effect.Effect<boolean, InvalidStateError | CallError>
  /** ANSWERED: sends RFC 4733 digits. */
  readonly sendDtmf: (digits: string) => Effect.Effect<void, InvalidStateError | DtmfSendError>
  /** pyVoIP's `read_audio(length = 160, blocking = true)`: 8-bit unsigned linear audio. */
  readonly readAudio: (length?: number, blocking?: boolean) => Effect.Effect<Uint8Array>
  /** pyVoIP's `write_audio(data)`: queues 8-bit unsigned linear audio. */
  readonly writeAudio: (data: Uint8Array) => Effect.Effect<void>
  /** Received audio, 20 ms frames of 8 kHz 16-bit samples. */
  readonly audio: Stream.Stream<Int16Array>
  /** Sends audio; completes when it has gone out, or at once when the call ends (barge-in by hangup). */
  readonly play: <E, R>(audio: Stream.Stream<Int16Array, E, R>) => Effect.Effect<void, E, R>
  /**
   * `play`, cut short as soon as a digit waits in the `getDtmf` buffer
   * (barge-in): `true` when a digit interrupted it. The digit stays in the
   * buffer for `getDtmf`.
   */
  readonly playUntilDtmf: <E, R>(audio: Stream.Stream<Int16Array, E, R>) => Effect.Effect<boolean, E, R>
  /** Drops the audio queued to send. */
  readonly flush: Effect.Effect<void>
  /** The RTP session's counters, once there is a session; after the end, as they were when it closed. */
  readonly stats: Effect.Effect<Option.Option<RTPStats>>
}

/**
 * What a call needs from its phone.
 *
 * @category internals
 * @since 0.1.0
 */
export interface CallEnvironment {
  readonly client: SIPClientShape
  readonly parameters: VoIPPhoneParameter
  /** The scope of the running phone: media scopes are forked from it. */
  readonly scope: Scope.Scope
  /** Opens an RTP session for a call, held by the current scope. */
  readonly openSession: (
    id: string | undefined
  ) => Effect.Effect<RTPClient, NoPortsAvailableError | DatagramSocket.DatagramSocketError | RemoteAddressError, Scope.Scope>
  /** Runs signalling work that must outlive the action that started it (it ends with the phone). */
  readonly fork: (effect: Effect.Effect<unknown, unknown>) => Effect.Effect<void>
  /** The phone's routing table: calls by dialog key. */
  readonly dialogs: Map<string, CallRuntime>
  /** The phone's live calls. */
  readonly active: Set<CallRuntime>
}

/**
 * A call as its phone holds it.
 *
 * @category internals
 * @since 0.1.0
 */
export interface CallRuntime {
  readonly call: VoIPCall
  /** A request inside the call's dialog (the phone found it by dialog key). */
  readonly receive: (transaction: ServerTransaction) => Effect.Effect<void>
  /** What a handler's return means: a call still ringing is denied (486), an answered one hung up. */
  readonly release: Effect.Effect<void>
  /** The phone stops: ringing calls are refused (480), the others hung up or cancelled; waits for the end. */
  readonly shutdown: Effect.Effect<void>
  /** The Refer-To URI that reaches the peer and replaces this call's dialog there (attended transfer). */
  readonly replacingTarget: () => string | undefined
  /** `call` took this call's place (an INVITE with Replaces): the `Replaced` event, then BYE. */
  readonly replacedBy: (call: VoIPCall) => Effect.Effect<void>
}

const statusOf = (message: SIPMessage.SIPMessage): number => message.status === 0 ? 0 : message.status.value

const describe = (error: unknown): string => error instanceof Error ? error.message : String(error)

const sessionError = (action: string) => (error: DatagramSocket.DatagramSocketError | RemoteAddressError) =>
  new CallError({ action, reason: `the RTP session did not start: ${error.message}` })

/** How long stopping the phone waits for a call's BYE or CANCEL to complete. */
const SHUTDOWN_WAIT = "4 seconds"

/**
 * The parts every call has: state, end, events, media, the lock that
 * orders state changes, and the dialog keys it is known by.
 */
const makeCore = (env: CallEnvironment, initial: CallState) =>
  Effect.gen(function*() {
    const state = yield* SubscriptionRef.make<CallState>(initial)
    const ended = yield* Deferred.make<EndReason>()
    const events = yield* PubSub.unbounded<CallEvent>()
    const lock = yield* Semaphore.make(1)
    const mediaScope = yield* Scope.fork(env.scope, "sequential")
    const media = yield* CallMedia.make(Deferred.await(ended), (digit) =>
      Effect.asVoid(PubSub.publish(events, { _tag: "Dtmf", digit })))
    const keys = new Set<string>()
    let reason: EndReason | undefined
    let runtime: CallRuntime | undefined

    const setState = (next: CallState) =>
      Effect.gen(function*() {
        if ((yield* SubscriptionRef.get(state)) === next) return
        yield* SubscriptionRef.set(state, next)
        yield* PubSub.publish(events, { _tag: "State", state: next })
      })

    /** Ends the call once: state, reason, media, routing. Later calls do nothing. */
    // uninterruptible: a racing loser interrupted mid-way would leave the events stream open
    const finish = (why: EndReason): Effect.Effect<void> =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (reason !== undefined) return
        reason = why
        for (const key of keys) env.dialogs.delete(key)
        if (runtime !== undefined) env.active.delete(runtime)
        yield* SubscriptionRef.set(state, CallState.ENDED)
        yield* Deferred.succeed(ended, why)
        yield* PubSub.end(events, { _tag: "Ended", reason: why })
        yield* media.close
        yield* Scope.close(mediaScope, Exit.void)
      }))

    const register = (self: CallRuntime) => {
      runtime = self
      env.active.add(self)
    }
    const trackDialog = (dialog: Dialog.Dialog) => {
      if (reason !== undefined || runtime === undefined) return
      const key = Dialog.keyOf(dialog)
      keys.add(key)
      env.dialogs.set(key, runtime)
    }

    /** Opens the call's RTP session in its media scope and hands it to the media. */
    const openSession = (callId: string | undefined, action: string) =>
      env.openSession(callId).pipe(
        Scope.provide(mediaScope),
        Effect.tap((session) => media.attach(session, mediaScope)),
        Effect.mapError((error) => error._tag === "NoPortsAvailableError" ? error : sessionError(action)(error))
      )

    const withLock = lock.withPermits(1)
    const current = SubscriptionRef.get(state)

    const refuse = (action: string, allowed: ReadonlyArray<CallState>) =>
      Effect.flatMap(current, (now) => Effect.fail(new InvalidStateError({ action, state: now, allowed: [...allowed] })))

    return {
      state,
      ended,
      events,
      media,
      withLock,
      current,
      setState,
      finish,
      register,
      trackDialog,
      openSession,
      refuse,
      hasEnded: () => reason !== undefined,
      endReason: Effect.sync(() => Option.fromNullishOr(reason))
    }
  })

type Core = Effect.Success<ReturnType<typeof makeCore>>

/** The user-facing call over a core and the actions of its direction. */
const makeCall = (
  env: CallEnvironment,
  core: Core,
  session: CallSession.CallSession,
  fields: {
    readonly callId: string
    readonly direction: CallDirection
    readonly request: SIPMessage.SIPMessage
    readonly remote: NameAddr | undefined
    readonly answer: VoIPCall["answer"]
    readonly progress: VoIPCall["progress"]
    readonly deny: VoIPCall["deny"]
    readonly hangup: VoIPCall["hangup"]
    readonly cancel: VoIPCall["cancel"]
  }
): VoIPCall => {
  const { media } = core
  const { client } = env
  return {
    ...fields,
    state: core.current,
    states: SubscriptionRef.changes(core.state).pipe(Stream.takeUntil((state) => state === CallState.ENDED)),
    endReason: core.endReason,
    ended: Deferred.await(core.ended),
    events: Stream.unwrap(Effect.map(PubSub.subscribe(core.events), Stream.fromSubscription)).pipe(
      Stream.takeUntil((event) => event._tag === "Ended")
    ),
    getDtmf: media.getDtmf,
    dtmf: media.dtmf,
    hold: reoffering(core, session, "hold", TransmitType.SENDONLY),
    transfer: (user, uri, blind = true) =>
      Effect.gen(function*() {
        if ((yield* core.current) !== CallState.ANSWERED) return yield* core.refuse("transfer", [CallState.ANSWERED])
        const target = uri ?? user
        if (target === undefined) return yield* new CallError({ action: "transfer", reason: "neither a user nor a URI to transfer to" })
        const resolved = Account.targetUri(client.account, target)
        if (Result.isFailure(resolved)) return yield* new CallError({ action: "transfer", reason: resolved.failure.message })
        return yield* session.transfer(formatUri(resolved.success), blind)
      }),
    transferTo: (consultation) =>
      Effect.gen(function*() {
        if ((yield* core.current) !== CallState.ANSWERED) return yield* core.refuse("transfer", [CallState.ANSWERED])
        const other = [...env.active].find((runtime) => runtime.call === consultation)
        const target = other === undefined || (yield* consultation.state) !== CallState.ANSWERED
          ? undefined
          : other.replacingTarget()
        if (target === undefined) {
          return yield* new CallError({ action: "transfer", reason: "the consultation call is not an answered call of this phone" })
        }
        return yield* session.transfer(target, false)
      }),
    unhold: reoffering(core, session, "unhold", TransmitType.SENDRECV),
    sendDtmf: (digits) =>
      Effect.flatMap(core.current, (state): Effect.Effect<void, InvalidStateError | DtmfSendError> =>
        state === CallState.ANSWERED ? media.sendDtmf(digits) : core.refuse("send DTMF", [CallState.ANSWERED])),
    readAudio: media.readAudio,
    writeAudio: media.writeAudio,
    audio: media.audio,
    play: media.play,
    playUntilDtmf: (audio) => Effect.raceFirst(Effect.as(media.play(audio), false), media.digitWaiting),
    flush: media.flush,
    stats: media.stats
  }
}

/** `hold` or `unhold`: a re-INVITE offering `direction`, only while ANSWERED. */
const reoffering = (core: Core, session: CallSession.CallSession, action: string, direction: TransmitType) =>
  Effect.flatMap(core.current, (state): Effect.Effect<void, InvalidStateError | CallError> =>
    state === CallState.ANSWERED ? session.reoffer(direction) : core.refuse(action, [CallState.ANSWERED]))

/** The call's session over its dialog, media and events. */
const makeSession = (
  env: CallEnvironment,
  core: Core,
  dialog: { get: () => Dialog.Dialog | undefined; set: (dialog: Dialog.Dialog) => void },
  fields: { readonly contact: SIPURI; readonly codecs: NonEmptyReadonlyArray<PayloadType>; readonly ownsCallId: boolean }
) =>
  CallSession.make({
    env,
    dialog,
    ...fields,
    session: core.media.session,
    publish: (event) => Effect.asVoid(PubSub.publish(core.events, event)),
    receiveDigit: core.media.receiveDigit,
    ended: Deferred.await(core.ended),
    end: (reason) =>
      core.withLock(Effect.gen(function*() {
        const current = dialog.get()
        if (core.hasEnded() || current === undefined) return
        dialog.set((yield* sendInDialog(env, current, "BYE")).dialog)
        yield* core.finish(reason)
      })),
    dial: (target) =>
      Effect.map(
        makeOutgoing(env, { target: target.uri, headers: target.headers, codecs: offerCodecs(env.parameters) }),
        (runtime) => runtime.call
      )
  })

/**
 * The dialog requests of a call: BYE (answered 200, the call ends), the
 * session's methods, and a 405 with what is handled for any other method;
 * a request out of CSeq order is answered 500 (§12.2.2).
 */
const dialogReceiver = (
  core: Core,
  dialog: { get: () => Dialog.Dialog | undefined; set: (dialog: Dialog.Dialog) => void },
  session: CallSession.CallSession,
  onBye: Effect.Effect<void>,
  extra: Readonly<Record<string, (transaction: ServerTransaction) => Effect.Effect<void>>> = {}
) => {
  const handlers: Record<string, (transaction: ServerTransaction) => Effect.Effect<void>> = {
    ...session.handlers,
    ...extra,
    BYE: (transaction) =>
      core.withLock(Effect.gen(function*() {
        yield* respond(transaction, 200)
        yield* onBye
      }))
  }
  const handled = ["ACK", ...Object.keys(handlers)]
  return (transaction: ServerTransaction): Effect.Effect<void> => {
    const request = transaction.request
    const current = dialog.get()
    if (current !== undefined) {
      const checked = Dialog.receiveRequest(current, request)
      if (Result.isFailure(checked)) return respond(transaction, 500)
      dialog.set(checked.success)
    }
    const handler = handlers[request.method]
    return handler === undefined
      ? respond(transaction, SIPStatus.METHOD_NOT_ALLOWED.value, { headers: [["Allow", handled.join(", ")]] })
      : handler(transaction)
  }
}

/** Answers `transaction` with `status`; `toTag` goes into a To without tag. */
const respond = (
  transaction: ServerTransaction,
  status: number,
  options: { readonly toTag?: string; readonly headers?: ReadonlyArray<readonly [string, string]>; readonly reason?: string } = {}
): Effect.Effect<void> => {
  const built = Messages.refuse(transaction.request, status, options.toTag ?? Dialog.newTag(), options)
  return Result.isSuccess(built)
    ? Effect.ignore(transaction.respond(built.success))
    : Effect.logWarning(`cannot build the ${status} response: ${built.failure.message}`)
}

/**
 * Sends a request in `dialog` (a BYE), answering challenges, and returns
 * once its first transaction is under way, with the dialog after it and an
 * effect that waits for its outcome (logged when it is not a 2xx). The
 * exchange runs in the phone's background, so the caller need not wait.
 */
const sendInDialog = (
  env: CallEnvironment,
  dialog: Dialog.Dialog,
  method: string
): Effect.Effect<{ readonly dialog: Dialog.Dialog; readonly done: Effect.Effect<void> }> =>
  Effect.gen(function*() {
    const built = Dialog.createRequest(dialog, method)
    if (Result.isFailure(built)) {
      yield* Effect.logWarning(`cannot build ${method}: ${built.failure.message}`)
      return { dialog, done: Effect.void }
    }
    const { dialog: next, request } = built.success
    const sent = yield* Deferred.make<void>()
    const done = yield* Deferred.make<void>()
    yield* env.fork(
      env.client.sendAuthenticated(request, {
        destination: Dialog.nextHop(next),
        onTransaction: () => Deferred.succeed(sent, undefined)
      }).pipe(
        Effect.tap(({ response }) =>
          statusOf(response) >= 300
            ? Effect.logWarning(`${method} for call ${dialog.callId} was answered ${statusOf(response)} ${response.reason}`)
            : Effect.void
        ),
        Effect.catch((error) => Effect.logWarning(`${method} for call ${dialog.callId} failed: ${describe(error)}`)),
        Effect.ensuring(Effect.andThen(Deferred.succeed(sent, undefined), Deferred.succeed(done, undefined)))
      )
    )
    yield* Deferred.await(sent)
    return { dialog: next, done: Deferred.await(done) }
  })

/**
 * The call for an INVITE the phone received (no To tag): 100 Trying at
 * once; 488 when the offer has no codec we take and 400 when it is not SDP,
 * and then there is no call; otherwise 180 Ringing (reliable when the
 * INVITE requires 100rel) and the call, RINGING.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeIncoming = (
  env: CallEnvironment,
  transaction: ServerTransaction
): Effect.Effect<Option.Option<CallRuntime>> =>
  Effect.gen(function*() {
    const invite = transaction.request
    const tryingNow = trying(invite)
    if (tryingNow !== undefined) yield* Effect.ignore(transaction.respond(tryingNow))
    const callId = invite.callId ?? ""
    const toTag = Dialog.newTag()
    const contact = yield* env.client.contactFor(transaction.incoming.source.address)
    const codecs = answerCodecs(env.parameters)
    const localMedia = (port: number): OfferAnswer.LocalMedia => ({ address: contact.host, port, codecs })

    const parsedOffer = invite.sdp
    if (Result.isFailure(parsedOffer)) {
      yield* respond(transaction, 400, { toTag, reason: "Bad Request (malformed SDP)" })
      return Option.none()
    }
    if (CallSession.tooBrief(invite)) {
      yield* respond(transaction, SIPStatus.SESSION_INTERVAL_TOO_SMALL.value, {
        toTag,
        headers: [["Min-SE", String(CallSession.MIN_SESSION_EXPIRES)]]
      })
      return Option.none()
    }
    const sessionTimer = CallSession.timerOf(invite, false)
    const offer = parsedOffer.success
    if (offer !== undefined && Result.isFailure(OfferAnswer.createAnswer(offer, localMedia(9)))) {
      yield* respond(transaction, SIPStatus.NOT_ACCEPTABLE_HERE.value, { toTag })
      return Option.none()
    }

    const ringing = yield* Effect.orDie(
      Effect.fromResult(Messages.provisional(invite, SIPStatus.RINGING, toTag, contact))
    )
    const early = Dialog.fromRequest(invite, ringing)
    if (Result.isFailure(early)) {
      yield* respond(transaction, 400, { toTag, reason: "Bad Request (no dialog)" })
      return Option.none()
    }
    let dialog = early.success
    const core = yield* makeCore(env, CallState.RINGING)
    // only Require: 100rel makes our 1xx reliable; with Supported: 100rel alone we may choose, and do not
    const reliable = SIPMessage.requires(invite, "100rel") ? yield* UaCore.reliableProvisionals(transaction) : undefined
    const dialogRef = { get: () => dialog, set: (next: Dialog.Dialog) => void (dialog = next) }
    const session = makeSession(env, core, dialogRef, { contact, codecs, ownsCallId: false })
    let answering = false

    const refuseWith = (status: number, why: EndReason) =>
      Effect.andThen(respond(transaction, status, { toTag }), core.finish(why))

    const ringingNow = Effect.map(core.current, (state) => state === CallState.RINGING && !answering)

    const answerOffer = (
      session: RTPClient
    ): Effect.Effect<{ readonly sdp: string; readonly description: Sdp.SessionDescription; readonly offered?: Sdp.SessionDescription }, CallError> => {
      if (offer === undefined) {
        const ours = OfferAnswer.createOffer(localMedia(session.localPort))
        return Effect.succeed({ sdp: Sdp.serialize(ours), description: ours, offered: ours })
      }
      return Effect.gen(function*() {
        const answer = yield* Effect.fromResult(OfferAnswer.createAnswer(offer, localMedia(session.localPort))).pipe(
          Effect.mapError((error) => new CallError({ action: "answer", reason: error.message }))
        )
        const first = answer.media[0]
        if (first !== undefined) yield* session.update(first).pipe(Effect.mapError(sessionError("answer")))
        return { sdp: Sdp.serialize(answer.description), description: answer.description }
      })
    }

    /** The late offer's answer, in the ACK (RFC 3264 §5 with RFC 3261 §13.2.1). */
    const takeAckAnswer = (session: RTPClient, offered: Sdp.SessionDescription, ack: SIPMessage.SIPMessage) => {
      const body = ack.sdp
      const answer = Result.isSuccess(body) ? body.success : undefined
      const media = answer === undefined ? undefined : OfferAnswer.readAnswer(offered, answer)
      if (media === undefined || Result.isFailure(media) || media.success[0] === undefined) return Effect.succeed(false)
      return Effect.as(Effect.ignore(session.update(media.success[0])), true)
    }

    const refuseUnlessRinging = (action: string) =>
      Effect.flatMap(ringingNow, (ringing) => ringing ? Effect.void : core.refuse(action, [CallState.RINGING]))

    /**
     * RFC 3262 §3 requires the PRACK before the 2xx only when a reliable 18x
     * carried SDP; ours never do, but the PRACK still comes first, which the
     * callers that require 100rel expect. The call stays cancellable
     * meanwhile, and ends with 500 if the PRACK never comes.
     */
    const awaitPrack = (provisionals: UaCore.ReliableProvisionals) =>
      Effect.gen(function*() {
        yield* core.withLock(refuseUnlessRinging("answer"))
        return yield* Effect.raceFirst(Effect.as(provisionals.acknowledged, true), Effect.as(Deferred.await(core.ended), false)).pipe(
          Effect.mapError((error) => new CallError({ action: "answer", reason: error.message }))
        )
      })

    /**
     * Opens the call's RTP session and our answer (or offer) for it; the
     * description becomes ours. A failure comes with the status that refuses the call.
     */
    const startMedia = (action: string) =>
      Effect.gen(function*() {
        const rtp = yield* core.openSession(callId, action).pipe(
          Effect.mapError((error) => ({ status: error._tag === "NoPortsAvailableError" ? 503 : 500, error }))
        )
        const local = yield* answerOffer(rtp).pipe(Effect.mapError((error) => ({ status: 488, error })))
        session.setLocal(local.description)
        return { rtp, local }
      })

    // the session and answer of a 183 with SDP, which the 200 repeats (RFC 3264 §5: one answer per offer)
    let earlyMedia: Effect.Success<ReturnType<typeof startMedia>> | undefined

    const progress = core.withLock(Effect.gen(function*() {
      yield* refuseUnlessRinging("progress")
      if (earlyMedia !== undefined) return
      if (offer === undefined) {
        return yield* new CallError({ action: "progress", reason: "the INVITE has no offer, so a 183 cannot carry early media" })
      }
      const media = yield* startMedia("progress").pipe(Effect.mapError(({ error }) => error))
      const sessionProgress = yield* Effect.orDie(
        Effect.fromResult(Messages.provisional(invite, SIPStatus.SESSION_PROGRESS, toTag, contact, media.local.sdp))
      )
      earlyMedia = media
      if (reliable === undefined) return yield* Effect.ignore(transaction.respond(sessionProgress))
      const retransmission = yield* reliable.send(sessionProgress).pipe(
        Effect.mapError((error) => new CallError({ action: "progress", reason: error.message }))
      )
      yield* env.fork(retransmission.pipe(Effect.ignore, Effect.raceFirst(Deferred.await(core.ended))))
    }))

    const answer = Effect.gen(function*() {
      if (reliable !== undefined && !(yield* awaitPrack(reliable))) return
      yield* core.withLock(Effect.gen(function*() {
        yield* refuseUnlessRinging("answer")
        answering = true
      }))
      const failAnswer = <E>(status: number, error: E) =>
        core.withLock(refuseWith(status, EndReason.failed(status, describe(error)))).pipe(Effect.andThen(Effect.fail(error)))
      const { local, rtp } = earlyMedia ?? (yield* startMedia("answer").pipe(
        Effect.catch(({ error, status }) => failAnswer(status, error))
      ))
      const ok = yield* Effect.orDie(
        Effect.fromResult(Messages.accept(invite, toTag, contact, local.sdp, CallSession.timerHeaders(sessionTimer, false)))
      )
      dialog = Dialog.confirm(dialog)
      const acknowledged = yield* Effect.raceFirst(
        Effect.map(UaCore.acceptInvite(transaction, ok), Option.some),
        Effect.as(Deferred.await(core.ended), Option.none())
      ).pipe(Effect.result)
      if (Result.isFailure(acknowledged)) {
        const error = acknowledged.failure
        yield* core.withLock(Effect.gen(function*() {
          if (error._tag === "TransactionTimeoutError") dialog = (yield* sendInDialog(env, dialog, "BYE")).dialog
          yield* core.finish(EndReason.failed(error._tag === "TransactionTimeoutError" ? 408 : 503, error.message))
        }))
        return yield* new CallError({ action: "answer", reason: error.message })
      }
      if (Option.isNone(acknowledged.success)) return
      const ack = acknowledged.success.value
      yield* core.withLock(Effect.gen(function*() {
        if (core.hasEnded()) return
        if (local.offered !== undefined && !(yield* takeAckAnswer(rtp, local.offered, ack))) {
          dialog = (yield* sendInDialog(env, dialog, "BYE")).dialog
          yield* core.finish(EndReason.failed(488, "the ACK carried no usable answer to our offer"))
          return
        }
        yield* core.setState(CallState.ANSWERED)
        yield* session.startTimer(sessionTimer)
      }))
    })

    const deny = (status: DenyStatus = 486) =>
      core.withLock(Effect.gen(function*() {
        yield* refuseUnlessRinging("deny")
        yield* refuseWith(status, EndReason.denied(status))
      }))

    /** BYE, then the end; gives the wait for the BYE's outcome. */
    const hangupNow = Effect.gen(function*() {
      const sent = yield* sendInDialog(env, dialog, "BYE")
      dialog = sent.dialog
      yield* core.finish(EndReason.localHangup)
      return sent.done
    })

    const hangup = core.withLock(Effect.gen(function*() {
      if ((yield* core.current) !== CallState.ANSWERED) return yield* core.refuse("hangup", [CallState.ANSWERED])
      yield* hangupNow
    }))

    const call = makeCall(env, core, session, {
      callId,
      direction: "incoming",
      request: invite,
      remote: invite.from,
      answer,
      progress,
      deny,
      hangup,
      cancel: core.refuse("cancel", [CallState.DIALING, CallState.PROGRESS])
    })

    const runtime: CallRuntime = {
      call,
      receive: dialogReceiver(core, dialogRef, session, core.finish(EndReason.remoteHangup), {
        PRACK: (prack) => {
          const answer = (matched: boolean) => respond(prack, matched ? 200 : SIPStatus.CALL_OR_TRANSACTION_DOES_NOT_EXIST.value)
          return reliable === undefined ? answer(false) : reliable.prack(prack.request, answer)
        }
      }),
      release: core.withLock(Effect.gen(function*() {
        if (yield* ringingNow) return yield* refuseWith(486, EndReason.denied(486))
        if ((yield* core.current) === CallState.ANSWERED) yield* hangupNow
      })),
      shutdown: Effect.gen(function*() {
        const done = yield* core.withLock(Effect.gen(function*() {
          if (core.hasEnded()) return Effect.void
          if (yield* ringingNow) return yield* Effect.as(refuseWith(480, EndReason.denied(480)), Effect.void)
          return yield* hangupNow
        }))
        yield* done.pipe(Effect.timeoutOption(SHUTDOWN_WAIT))
      }),
      replacingTarget: session.replacingTarget,
      replacedBy: session.replacedBy
    }
    core.register(runtime)
    core.trackDialog(dialog)

    const ringingFailed = (error: { readonly message: string }) =>
      Effect.andThen(Effect.logWarning(`cannot send 180: ${error.message}`), core.finish(EndReason.failed(503, error.message)))
    if (reliable === undefined) {
      yield* transaction.respond(ringing).pipe(Effect.catch(ringingFailed))
    } else {
      const retransmission: Effect.Effect<void, UaCore.PrackTimeoutError | RespondError> = yield* reliable.send(ringing).pipe(
        Effect.catch((error) => Effect.as(ringingFailed(error), Effect.void))
      )
      yield* env.fork(
        retransmission.pipe(
          Effect.catchTag("PrackTimeoutError", (error) =>
            core.withLock(Effect.gen(function*() {
              if (yield* ringingNow) yield* refuseWith(500, EndReason.failed(500, error.message))
            }))),
          Effect.catch((error) => Effect.logDebug(`reliable 180 of call ${callId} stopped: ${error.message}`)),
          Effect.raceFirst(Deferred.await(core.ended))
        )
      )
    }
    yield* env.fork(
      Effect.flatMap(transaction.cancelled, () =>
        core.withLock(Effect.gen(function*() {
          if (yield* ringingNow) yield* refuseWith(487, EndReason.canceled("remote"))
        })))
        .pipe(Effect.raceFirst(Deferred.await(core.ended)))
    )
    return Option.some(runtime)
  })


/**
 * What `call` sends: the target (a number at the phone's server, or a URI)
 * and the codecs to offer.
 *
 * @category models
 * @since 0.1.0
 */
export interface OutgoingCall {
  readonly target: string
  readonly codecs: NonEmptyReadonlyArray<PayloadType>
  /** More headers for the INVITE (the Replaces of an attended transfer). */
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined
}

/** How often a 422 Session Interval Too Small to our INVITE is answered by sending it again (RFC 4028 §7.4). */
const INTERVAL_RETRIES = 2

/** The end of a call whose INVITE got no final response we could use. */
const failureReason = (error: SendAuthenticatedError | SipTransportError): EndReason => {
  switch (error._tag) {
    case "TransactionTimeoutError":
      return { _tag: "NoAnswer", status: 408 }
    case "InvalidAccountInfoError":
      return EndReason.failed(error.status, error.message)
    case "SipTransportError":
      return EndReason.failed(503, error.message)
    default:
      return EndReason.failed(500, error.message)
  }
}

/**
 * Places a call: opens its RTP session, sends the INVITE with our offer and
 * gives the call, DIALING, once the INVITE is on its way.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeOutgoing = (
  env: CallEnvironment,
  outgoing: OutgoingCall
): Effect.Effect<CallRuntime, NoPortsAvailableError | CallError> =>
  Effect.gen(function*() {
    const unsupported = outgoing.codecs.find((codec) => !isSupported(codec))
    if (unsupported !== undefined) {
      return yield* new CallError({ action: "call", reason: `${unsupported.name} is not supported (PCMU, PCMA and EVENT are)` })
    }
    const { client } = env
    const target: SIPURI = yield* Effect.fromResult(Account.targetUri(client.account, outgoing.target)).pipe(
      Effect.mapError((error) => new CallError({ action: "call", reason: error.message }))
    )
    const contact = yield* client.contactFor(target.host)
    const core = yield* makeCore(env, CallState.DIALING)
    const abandon = <E>(error: E) => Effect.andThen(core.finish(EndReason.failed(500, describe(error))), Effect.fail(error))

    const session = yield* core.openSession(undefined, "call").pipe(Effect.catch(abandon))
    const offer = OfferAnswer.createOffer({ address: contact.host, port: session.localPort, codecs: outgoing.codecs })
    let dialog: Dialog.Dialog | undefined
    const dialogRef = { get: () => dialog, set: (next: Dialog.Dialog) => void (dialog = next) }
    const callSession = makeSession(env, core, dialogRef, { contact, codecs: outgoing.codecs, ownsCallId: true })
    callSession.setLocal(offer)
    const invite = yield* client.createRequest("INVITE", outgoing.target, {
      headers: [
        ...(outgoing.headers ?? []),
        ...Messages.capabilityHeaders(),
        ...CallSession.offerHeaders(),
        ["User-Agent", Messages.PRODUCT]
      ],
      body: Sdp.serialize(offer),
      contentType: "application/sdp"
    }).pipe(Effect.mapError((error) => new CallError({ action: "call", reason: error.message })), Effect.catch(abandon))
    const callId = invite.callId ?? ""

    let forks = Forks.start(invite)
    let transaction: ClientTransaction | undefined
    let cancelRequested = false
    let earlyMedia = false
    const started = yield* Deferred.make<void, CallError>()

    const cancelTransaction = (invited: ClientTransaction) =>
      env.fork(UaCore.cancel(client.transactions, invited).pipe(
        Effect.catch((error) => Effect.logDebug(`CANCEL of call ${callId}: ${error.message}`))
      ))

    /** The media an SDP answer (in a 1xx or 2xx) sets up, applied to the session. */
    const applyAnswer = (response: SIPMessage.SIPMessage): Effect.Effect<boolean> => {
      const body = response.sdp
      if (Result.isFailure(body)) return Effect.succeed(false)
      if (body.success === undefined) return Effect.succeed(earlyMedia)
      const media = OfferAnswer.readAnswer(offer, body.success)
      if (Result.isFailure(media) || media.success[0] === undefined) return Effect.succeed(false)
      return session.update(media.success[0]).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
    }

    const onProvisional = (response: SIPMessage.SIPMessage, event: Forks.ForkEvent) =>
      Effect.gen(function*() {
        const status = statusOf(response)
        if (status === 100) return
        yield* PubSub.publish(core.events, { _tag: "Provisional", status, reason: response.reason })
        const hasSdp = Result.isSuccess(response.sdp) && response.sdp.success !== undefined
        if (!hasSdp || event._tag === "Ignored") return
        yield* core.withLock(Effect.gen(function*() {
          if ((yield* core.current) !== CallState.DIALING || !(yield* applyAnswer(response))) return
          earlyMedia = true
          yield* core.setState(CallState.PROGRESS)
        }))
      })

    const onConfirmed = (invited: ClientTransaction, response: SIPMessage.SIPMessage, confirmed: Dialog.Dialog) =>
      core.withLock(Effect.gen(function*() {
        const state = yield* core.current
        if (state !== CallState.DIALING && state !== CallState.PROGRESS) {
          yield* UaCore.endExtraDialog(client.transactions, invited, confirmed).pipe(Effect.ignore)
          yield* core.finish(EndReason.canceled("local"))
          return
        }
        yield* UaCore.acknowledge(client.transactions, invited, confirmed).pipe(
          Effect.catch((error) => Effect.logWarning(`cannot ACK the 2xx of call ${callId}: ${error.message}`))
        )
        dialog = confirmed
        core.trackDialog(confirmed)
        if (!(yield* applyAnswer(response))) {
          dialog = (yield* sendInDialog(env, confirmed, "BYE")).dialog
          yield* core.finish(EndReason.failed(488, "the 2xx carried no usable answer to our offer"))
          return
        }
        yield* core.setState(CallState.ANSWERED)
        yield* callSession.startTimer(CallSession.timerOf(response, true))
      }))

    const onResponse = (invited: ClientTransaction) => (response: SIPMessage.SIPMessage) =>
      Effect.gen(function*() {
        const status = statusOf(response)
        if (status >= 300) return
        const next = Forks.onResponse(forks, response)
        if (Result.isFailure(next)) return yield* Effect.logDebug(`response of call ${callId} ignored: ${next.failure.message}`)
        forks = next.success.state
        const event = next.success.event
        switch (event._tag) {
          case "Confirmed":
            return yield* onConfirmed(invited, response, event.dialog)
          case "Extra":
            return yield* UaCore.endExtraDialog(client.transactions, invited, event.dialog).pipe(Effect.ignore)
          case "Retransmission":
            return
          default:
            if (status >= 200) return
            if (!(yield* acknowledgeReliable(response))) return
            // requests of the callee in its early dialog (UPDATE, INFO) reach the call
            if (event._tag === "Early") core.trackDialog(event.dialog)
            yield* onProvisional(response, event)
        }
      })

    /**
     * PRACKs a reliable provisional response in its early dialog (RFC 3262
     * §4); `false` for one to drop unprocessed (a retransmission, a skipped
     * RSeq). The PRACK runs in the background: the INVITE's responses go on.
     */
    const acknowledgeReliable = (response: SIPMessage.SIPMessage) =>
      Effect.gen(function*() {
        const checked = Forks.reliable(forks, response)
        if (Result.isFailure(checked)) {
          yield* Effect.logWarning(`cannot PRACK a provisional response of call ${callId}: ${checked.failure.message}`)
          return true
        }
        forks = checked.success.state
        const reliability = checked.success.reliability
        if (reliability._tag === "Drop") return false
        if (reliability._tag === "Unreliable") return true
        const early = reliability.dialog
        yield* env.fork(
          client.sendAuthenticated(reliability.prack, { destination: Dialog.nextHop(early) }).pipe(
            Effect.tap(({ request, response: answer }) => {
              // a challenged PRACK went again with a higher CSeq: the dialog continues after it
              const usedSeq = request.cseq?.seq ?? 0
              const current = forks.dialogs.get(early.remoteTag)
              if (current !== undefined && (current.localSeq ?? 0) < usedSeq) {
                forks = Forks.update(forks, { ...current, localSeq: usedSeq })
              }
              return statusOf(answer) >= 300
                ? Effect.logWarning(`PRACK of call ${callId} was answered ${statusOf(answer)} ${answer.reason}`)
                : Effect.void
            }),
            Effect.catch((error) => Effect.logWarning(`PRACK of call ${callId} failed: ${describe(error)}`))
          )
        )
        return true
      })

    const onTransaction = (invited: ClientTransaction) =>
      Effect.gen(function*() {
        transaction = invited
        forks = Forks.start(invited.request)
        yield* env.fork(Stream.runForEach(invited.responses, onResponse(invited)).pipe(Effect.ignore))
        if (cancelRequested) yield* cancelTransaction(invited)
        yield* Deferred.succeed(started, undefined)
      })

    const onFinal = (result: Result.Result<AuthenticatedResponse, SendAuthenticatedError | SipTransportError>) =>
      core.withLock(Effect.gen(function*() {
        if (Result.isSuccess(result) && statusOf(result.success.response) < 300) return
        if (cancelRequested) return yield* core.finish(EndReason.canceled("local"))
        yield* core.finish(
          Result.isSuccess(result)
            ? EndReason.fromFinalResponse(statusOf(result.success.response), result.success.response.reason)
            : failureReason(result.failure)
        )
      }))

    /**
     * Sends the INVITE; a 422 is answered with the interval it asks for, at
     * most {@link INTERVAL_RETRIES} times; a 3xx is followed to its Contacts
     * (`Redirect`).
     */
    const sendInvite = (
      request: SIPMessage.SIPMessage,
      sessions: ReadonlyArray<AuthSession> | undefined,
      retries: number,
      targets: Redirect.TargetSet
    ): Effect.Effect<AuthenticatedResponse, SendAuthenticatedError | SipTransportError> =>
      Effect.flatMap(client.sendAuthenticated(request, { onTransaction, sessions }), (result) => {
        if (cancelRequested) return Effect.succeed(result)
        const retry = retries === 0 ? undefined : CallSession.retryAtMinSE(result.request, result.response)
        if (retry !== undefined) {
          return Result.isFailure(retry) ? Effect.fail(retry.failure) : sendInvite(retry.success, result.sessions, retries - 1, targets)
        }
        const redirect = Redirect.next(Redirect.addContacts(targets, result.response), result.response)
        if (redirect === undefined) return Effect.succeed(result)
        const [target, rest] = redirect
        const moved = Redirect.retarget(result.request, target)
        if (Result.isFailure(moved)) return Effect.fail(moved.failure)
        return PubSub.publish(core.events, { _tag: "Redirected", status: statusOf(result.response), target: formatUri(target) }).pipe(
          Effect.andThen(sendInvite(moved.success, result.sessions, retries, rest))
        )
      })

    yield* env.fork(
      sendInvite(invite, undefined, INTERVAL_RETRIES, Redirect.start(invite)).pipe(
        Effect.result,
        Effect.tap((result) =>
          Result.isFailure(result)
            ? Deferred.fail(started, new CallError({ action: "call", reason: result.failure.message }))
            : Effect.void
        ),
        Effect.flatMap(onFinal)
      )
    )

    const startCancel = Effect.gen(function*() {
      cancelRequested = true
      yield* core.setState(CallState.CANCELING)
      if (transaction !== undefined) yield* cancelTransaction(transaction)
    })

    const cancel = core.withLock(Effect.gen(function*() {
      const state = yield* core.current
      if (state !== CallState.DIALING && state !== CallState.PROGRESS) {
        return yield* core.refuse("cancel", [CallState.DIALING, CallState.PROGRESS])
      }
      yield* startCancel
    }))

    /** BYE, then the end; gives the wait for the BYE's outcome. */
    const hangupNow = Effect.gen(function*() {
      const sent = dialog === undefined ? undefined : yield* sendInDialog(env, dialog, "BYE")
      if (sent !== undefined) dialog = sent.dialog
      yield* core.finish(EndReason.localHangup)
      return sent?.done ?? Effect.void
    })

    const hangup = core.withLock(Effect.gen(function*() {
      if ((yield* core.current) !== CallState.ANSWERED) return yield* core.refuse("hangup", [CallState.ANSWERED])
      yield* hangupNow
    }))

    const call = makeCall(env, core, callSession, {
      callId,
      direction: "outgoing",
      request: invite,
      remote: invite.to,
      answer: core.refuse("answer", [CallState.RINGING]),
      progress: core.refuse("progress", [CallState.RINGING]),
      deny: () => core.refuse("deny", [CallState.RINGING]),
      hangup,
      cancel
    })

    const runtime: CallRuntime = {
      call,
      receive: dialogReceiver(core, dialogRef, callSession, core.finish(EndReason.remoteHangup)),
      release: Effect.void,
      shutdown: Effect.gen(function*() {
        const done = yield* core.withLock(Effect.gen(function*() {
          const state = yield* core.current
          if (state === CallState.ANSWERED) return yield* hangupNow
          if (state === CallState.DIALING || state === CallState.PROGRESS) yield* startCancel
          return Deferred.await(core.ended)
        }))
        yield* done.pipe(Effect.timeoutOption(SHUTDOWN_WAIT))
      }),
      replacingTarget: callSession.replacingTarget,
      replacedBy: callSession.replacedBy
    }
    core.register(runtime)

    const sent = yield* Effect.result(Deferred.await(started))
    if (Result.isFailure(sent)) {
      yield* core.finish(EndReason.failed(503, sent.failure.reason))
      return yield* sent.failure
    }
    return runtime
  })
