/**
 * Duties of the UA core (RFC 3261 §8, §9, §13) on top of the transaction
 * layer:
 *
 * - UAS: {@link acceptInvite} sends the 2xx of an INVITE and retransmits it
 *   (T1, doubling up to T2) until its ACK arrives, giving up after 64·T1,
 *   on every transport (§13.3.1.4); the dialog must then end with BYE.
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
import { Duration, Effect, Option, Result } from "effect"
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
