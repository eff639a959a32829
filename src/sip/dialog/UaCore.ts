/**
 * Duties of the UA core (RFC 3261 §8, §9, §13) on top of the transaction
 * layer:
 *
 * - UAS: {@link acceptInvite} sends the 2xx of an INVITE and retransmits it
 *   (T1, doubling up to T2) until its ACK arrives, giving up after 64·T1,
 *   on every transport (§13.3.1.4); the dialog must then end with BYE.
 *   {@link reliableProvisionals} sends 1xx reliably (RFC 3262 §3): RSeq,
 *   retransmission until the PRACK, and the PRACK's match by its RAck.
 * - UAC: {@link acknowledge} sends the ACK of a 2xx with a new branch and
 *   has it sent again for each retransmission of that 2xx (§13.2.2.4);
 *   {@link endExtraDialog} ACKs and ends the dialog of a 2xx from another
 *   fork (see `Forks`);
 *   {@link finalResponse} turns a timeout into 408 and a transport failure
 *   into 503 (§8.1.3.1).
 * - CANCEL (§9.1): {@link cancelRequest} builds it, {@link cancel} sends it
 *   once the INVITE has a provisional response and gives the INVITE up 64·T1
 *   later if no final response comes.
 * - Refusals (§8.2.1, §12.2.2): {@link screen} answers unknown methods 501,
 *   known but unsupported ones 405 with Allow, and requests for a dialog we
 *   do not have 481; {@link reject} builds any of them.
 *
 * @since 0.1.0
 */
import { Deferred, Duration, Effect, Option, Random, Result, Schema } from "effect"
import * as SIPMessage from "../SIPMessage.ts"
import { SIPParseError } from "../SIPParseError.ts"
import { SIPStatus } from "../SIPStatus.ts"
import { type ClientTransaction, type ClientTransactionError, companionRequest } from "../transaction/ClientTransaction.ts"
import type { RespondError, ServerTransaction } from "../transaction/ServerTransaction.ts"
import { backoffUpToT2 } from "../transaction/Timers.ts"
import { type TransactionRequestError, TransactionTimeoutError } from "../transaction/TransactionError.ts"
import type { TransactionLayerShape } from "../transaction/TransactionLayer.ts"
import { SipTransportError } from "../../transport/SipTransport.ts"
import * as Dialog from "./Dialog.ts"

/**
 * The methods this library knows (RFC 3261, 3262, 3265/6665, 3311, 3428,
 * 3515, 6086): a request with any other method is answered 501.
 *
 * @category constants
 * @since 0.1.0
 */
export const KNOWN_METHODS: ReadonlyArray<string> = [
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "REGISTER",
  "MESSAGE",
  "REFER",
  "NOTIFY",
  "SUBSCRIBE",
  "INFO",
  "UPDATE",
  "PRACK"
]

const known: ReadonlySet<string> = new Set(KNOWN_METHODS)

/**
 * The response with `status` to a request we refuse, with a fresh To tag
 * when the request has none (§8.2.6.2).
 *
 * @category constructors
 * @since 0.1.0
 */
export const reject = (
  request: SIPMessage.SIPMessage,
  status: SIPStatus | number,
  init: SIPMessage.ResponseInit = {}
): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  SIPMessage.response(request, status, { toTag: Dialog.newTag(), ...init })

/**
 * What a UAS accepts.
 *
 * @category models
 * @since 0.1.0
 */
export interface RequestPolicy {
  /** The methods it handles; the others it knows are answered 405 with this list in Allow. */
  readonly allowed: ReadonlyArray<string>
  /** Whether a request with a To tag belongs to one of its dialogs. */
  readonly hasDialog: (request: SIPMessage.SIPMessage) => boolean
}

/**
 * The refusal a UAS owes `request` before looking at it further, if any:
 * 501 for a method nobody knows, 405 with Allow for one not handled here
 * (§8.2.1), 481 for a request inside a dialog that does not exist (§12.2.2).
 * ACK is never answered.
 *
 * @category combinators
 * @since 0.1.0
 */
export const screen = (
  request: SIPMessage.SIPMessage,
  policy: RequestPolicy
): Result.Result<Option.Option<SIPMessage.SIPMessage>, SIPParseError> => {
  const method = request.method
  if (method === "ACK") return Result.succeed(Option.none())
  const refuse = (status: SIPStatus, init?: SIPMessage.ResponseInit) => Result.map(reject(request, status, init), Option.some)
  if (!policy.allowed.includes(method)) {
    return known.has(method)
      ? refuse(SIPStatus.METHOD_NOT_ALLOWED, { headers: [["Allow", policy.allowed.join(", ")]] })
      : refuse(SIPStatus.NOT_IMPLEMENTED)
  }
  if (request.to?.tag !== undefined && method !== "CANCEL" && !policy.hasDialog(request)) {
    return refuse(SIPStatus.CALL_OR_TRANSACTION_DOES_NOT_EXIST)
  }
  return Result.succeed(Option.none())
}

/**
 * Sends the 2xx of an INVITE and sends it again after T1, 2·T1, … (at most
 * T2 apart) until the ACK arrives, which it returns (§13.3.1.4). After 64·T1
 * without ACK it fails with a `TransactionTimeoutError` for "ack": the UAS
 * must then end the dialog with BYE. Retransmission does not depend on the
 * transport: the ACK is end to end.
 *
 * @category uas
 * @since 0.1.0
 */
export const acceptInvite = (
  transaction: ServerTransaction,
  response: SIPMessage.SIPMessage
): Effect.Effect<SIPMessage.SIPMessage, TransactionTimeoutError | RespondError> =>
  Effect.gen(function*() {
    const timers = transaction.timers
    const giveUpAfter = 64 * timers.t1
    yield* transaction.respond(response)
    let waited = 0
    let interval = timers.t1
    while (waited < giveUpAfter) {
      const wait = Math.min(interval, giveUpAfter - waited)
      const ack = yield* transaction.ack.pipe(Effect.timeoutOption(Duration.millis(wait)), Effect.orElseSucceed(Option.none))
      if (Option.isSome(ack)) return ack.value
      waited += wait
      interval = backoffUpToT2(timers, interval)
      if (waited < giveUpAfter) yield* transaction.respond(response)
    }
    return yield* new TransactionTimeoutError({
      timer: "ack",
      method: transaction.method,
      branch: transaction.request.via[0]?.branch ?? "(no branch)",
      afterMillis: giveUpAfter
    })
  })

/**
 * No PRACK came for a reliable provisional response within 64·T1 (RFC 3262
 * §3): the UAS should refuse the INVITE with a 5xx.
 *
 * @category errors
 * @since 0.1.0
 */
export class PrackTimeoutError extends Schema.TaggedError<PrackTimeoutError>()("PrackTimeoutError", {
  rseq: Schema.Number,
  afterMillis: Schema.Number
}) {
  override get message(): string {
    return `no PRACK arrived for the reliable provisional response with RSeq ${this.rseq} within ${this.afterMillis} ms`
  }
}

/**
 * The RAck of a PRACK (RFC 3262 §7.2): the RSeq, CSeq number and method of
 * the response it acknowledges.
 *
 * @category models
 * @since 0.1.0
 */
export interface RAck {
  readonly rseq: number
  readonly cseq: number
  readonly method: string
}

const positiveInt = (text: string): number | undefined => /^\d{1,10}$/.test(text) ? Number(text) : undefined

/**
 * The RAck of `request`, if it has a well-formed one.
 *
 * @category accessors
 * @since 0.1.0
 */
export const rackOf = (request: SIPMessage.SIPMessage): RAck | undefined => {
  const [rseq, cseq, method, ...rest] = (request.headers.get("RAck") ?? "").trim().split(/\s+/)
  const numbers = [positiveInt(rseq ?? ""), positiveInt(cseq ?? "")] as const
  if (numbers[0] === undefined || numbers[1] === undefined || method === undefined || rest.length > 0) return undefined
  return { rseq: numbers[0], cseq: numbers[1], method }
}

/**
 * The reliable provisional responses of one INVITE server transaction
 * (RFC 3262 §3).
 *
 * @category models
 * @since 0.1.0
 */
export interface ReliableProvisionals {
  /**
   * Sends a 1xx (not 100) reliably: with `Require: 100rel` and the next
   * RSeq, once the earlier ones are acknowledged (one at a time, §3).
   * Returns after the first copy went out, with the retransmission to run:
   * at T1, 2·T1, 4·T1, … until its PRACK, failing after 64·T1 without one
   * (or once the transaction no longer takes 1xx, having sent its final
   * response).
   */
  readonly send: (
    response: SIPMessage.SIPMessage
  ) => Effect.Effect<Effect.Effect<void, PrackTimeoutError | RespondError>, PrackTimeoutError | RespondError | SIPParseError>
  /**
   * Matches a PRACK by its RAck (RSeq, CSeq number, method) against the
   * unacknowledged responses and runs `answer` with whether it acknowledges
   * one (answer 200) or not (answer 481, §3). Only then is the response
   * acknowledged: its retransmission stops and `acknowledged` may complete,
   * so the 200 to the PRACK goes before a 2xx waiting for it.
   */
  readonly prack: (request: SIPMessage.SIPMessage, answer: (matched: boolean) => Effect.Effect<void>) => Effect.Effect<void>
  /** Completes once every reliable response sent so far is acknowledged; fails when one never was. */
  readonly acknowledged: Effect.Effect<void, PrackTimeoutError>
}

/**
 * The reliable provisional responses of the INVITE `transaction`; RSeq
 * starts at a random value in 1..2^31−1 (§3) and grows by one per response.
 *
 * @category uas
 * @since 0.1.0
 */
export const reliableProvisionals = (transaction: ServerTransaction): Effect.Effect<ReliableProvisionals> =>
  Effect.gen(function*() {
    let next = yield* Random.nextIntBetween(1, 2 ** 31 - 1)
    const cseq = transaction.request.cseq?.seq ?? 0
    const pending = new Map<number, Deferred.Deferred<void, PrackTimeoutError>>()
    const acknowledged = Effect.suspend(() => Effect.forEach([...pending.values()], Deferred.await, { discard: true }))

    const retransmit = (response: SIPMessage.SIPMessage, rseq: number, done: Deferred.Deferred<void, PrackTimeoutError>) =>
      Effect.gen(function*() {
        const giveUpAfter = 64 * transaction.timers.t1
        let waited = 0
        let interval = transaction.timers.t1
        while (waited < giveUpAfter) {
          const wait = Math.min(interval, giveUpAfter - waited)
          const pracked = yield* Deferred.await(done).pipe(Effect.timeoutOption(Duration.millis(wait)), Effect.orElseSucceed(Option.none))
          if (Option.isSome(pracked)) return
          waited += wait
          interval *= 2
          if (waited < giveUpAfter) yield* transaction.respond(response)
        }
        const timeout = new PrackTimeoutError({ rseq, afterMillis: giveUpAfter })
        pending.delete(rseq)
        yield* Deferred.fail(done, timeout)
        return yield* timeout
      }).pipe(Effect.onError(() => Effect.sync(() => pending.delete(rseq))))

    const send = (response: SIPMessage.SIPMessage) =>
      Effect.gen(function*() {
        yield* acknowledged
        const rseq = next++
        const reliable = yield* Effect.fromResult(
          Result.flatMap(SIPMessage.withHeader(response, "Require", "100rel"), (message) => SIPMessage.withHeader(message, "RSeq", String(rseq)))
        )
        yield* transaction.respond(reliable)
        const done = yield* Deferred.make<void, PrackTimeoutError>()
        pending.set(rseq, done)
        return retransmit(reliable, rseq, done)
      })

    const prack = (request: SIPMessage.SIPMessage, answer: (matched: boolean) => Effect.Effect<void>) =>
      Effect.suspend(() => {
        const rack = rackOf(request)
        const done = rack === undefined || rack.cseq !== cseq || rack.method !== "INVITE" ? undefined : pending.get(rack.rseq)
        if (rack === undefined || done === undefined) return answer(false)
        pending.delete(rack.rseq)
        return Effect.andThen(answer(true), Deferred.succeed(done, undefined))
      })

    return { send, prack, acknowledged }
  })

/**
 * Sends the UA core's ACK for a 2xx of the INVITE `transaction` in `dialog`
 * (§13.2.2.4): a new branch, the INVITE's CSeq number and credentials, sent
 * to the dialog's next hop; the transaction sends it again for each
 * retransmission of that 2xx. Returns the ACK.
 *
 * @category uac
 * @since 0.1.0
 */
export const acknowledge = (
  layer: TransactionLayerShape,
  transaction: ClientTransaction,
  dialog: Dialog.Dialog,
  init: Dialog.RequestInit = {}
): Effect.Effect<SIPMessage.SIPMessage, SIPParseError | TransactionRequestError | SipTransportError> =>
  Effect.gen(function*() {
    const built = yield* Effect.fromResult(Dialog.ack(dialog, transaction.request, init))
    const ack = yield* layer.withVia(built)
    const hop = Dialog.nextHop(dialog)
    if (hop === undefined) {
      return yield* new SipTransportError({
        reason: "NoDestination",
        target: Dialog.routing(dialog).requestUri,
        detail: "the dialog's next hop is not a SIP URI"
      })
    }
    yield* transaction.acknowledge(ack, hop)
    return ack
  })

/**
 * Ends a dialog created by a 2xx from another fork after the call already
 * has its dialog (§13.2.2.4): ACKs that 2xx, then sends BYE and returns the
 * BYE's client transaction.
 *
 * @category uac
 * @since 0.1.0
 */
export const endExtraDialog = (
  layer: TransactionLayerShape,
  transaction: ClientTransaction,
  dialog: Dialog.Dialog
): Effect.Effect<ClientTransaction, SIPParseError | TransactionRequestError | SipTransportError> =>
  Effect.gen(function*() {
    yield* acknowledge(layer, transaction, dialog)
    const { request } = yield* Effect.fromResult(Dialog.createRequest(dialog, "BYE"))
    return yield* layer.request(request, Dialog.nextHop(dialog) ?? transaction.destination)
  })

const synthesized = (request: SIPMessage.SIPMessage, status: SIPStatus, why: string): Effect.Effect<SIPMessage.SIPMessage> =>
  Effect.orDie(Effect.fromResult(SIPMessage.response(request, status, { reason: `${status.phrase} (${why})` })))

/**
 * The final response of a client transaction as the UA core passes it to its
 * user (§8.1.3.1): a timeout becomes a 408 and a transport failure a 503,
 * both built locally, with the cause in the reason phrase.
 *
 * @category uac
 * @since 0.1.0
 */
export const finalResponse = (transaction: ClientTransaction): Effect.Effect<SIPMessage.SIPMessage> =>
  transaction.final.pipe(
    Effect.catchTags({
      TransactionTimeoutError: (error: TransactionTimeoutError) =>
        synthesized(transaction.request, SIPStatus.REQUEST_TIMEOUT, `Timer ${error.timer}`),
      SipTransportError: (error: SipTransportError) =>
        synthesized(transaction.request, SIPStatus.SERVICE_UNAVAILABLE, error.reason)
    })
  )

/**
 * The CANCEL for `invite` (§9.1): its Request-URI, Call-ID, To, From and CSeq
 * number with method CANCEL, only its top Via (same branch, so it follows the
 * INVITE hop by hop), and its Route header fields.
 *
 * @category constructors
 * @since 0.1.0
 */
export const cancelRequest = (invite: SIPMessage.SIPMessage): Result.Result<SIPMessage.SIPMessage, SIPParseError> =>
  companionRequest(invite, "CANCEL", invite.headers.get("To"))

/**
 * Cancels an INVITE (§9.1) and returns its final response: waits for a
 * provisional response first (a final one that comes first is returned and
 * nothing is sent), sends the CANCEL to where the INVITE went, and waits
 * 64·T1 for the INVITE's final response (usually 487; a 2xx that crossed the
 * CANCEL must still be ACKed and then ended with BYE). Without one the
 * INVITE transaction is given up and this fails with a `TransactionTimeoutError`
 * for "cancel".
 *
 * @category uac
 * @since 0.1.0
 */
export const cancel = (
  layer: TransactionLayerShape,
  invite: ClientTransaction
): Effect.Effect<SIPMessage.SIPMessage, ClientTransactionError | TransactionRequestError | SIPParseError> =>
  Effect.gen(function*() {
    const first = yield* invite.firstResponse
    if (first.status !== 0 && first.status.value >= 200) return first
    const request = yield* Effect.fromResult(cancelRequest(invite.request))
    yield* layer.request(request, invite.destination)
    const final = yield* invite.final.pipe(Effect.timeoutOption(Duration.millis(64 * layer.timers.t1)))
    if (Option.isSome(final)) return final.value
    yield* invite.terminate
    return yield* invite.final
  })
