/**
 * Client transactions (RFC 3261 §17.1): the INVITE state machine of §17.1.1
 * with RFC 6026's Accepted state, and the non-INVITE machine of §17.1.2.
 *
 * A {@link ClientTransaction} is what the transaction user (TU) holds: the
 * request as sent, every response passed up as a `Stream`, the final
 * response (or the timeout or transport error that replaced it) as an
 * `Effect`, and for INVITE the UA core's hook to answer each 2xx
 * retransmission with its ACK. The machine behind it changes state
 * synchronously on each event (a response, a timer, a failed send).
 *
 * @since 0.1.0
 */
import { Cause, Deferred, Effect, Exit, Queue, Result, Stream } from "effect"
import * as SIPMessage from "../SIPMessage.ts"
import { SIPParseError } from "../SIPParseError.ts"
import { formatVia } from "../HeaderValues.ts"
import type { Destination, SipTransportError } from "../../transport/SipTransport.ts"
import type { Outgoing, TransactionEnvironment } from "./Environment.ts"
import type { TimerHandle } from "./TimerWheel.ts"
import { backoffUncapped, backoffUpToT2, type TimerName } from "./Timers.ts"
import { TransactionTimeoutError } from "./TransactionError.ts"

/**
 * The states of §17.1.1 and §17.1.2, plus RFC 6026's Accepted.
 *
 * @category models
 * @since 0.1.0
 */
export const ClientState = {
  CALLING: "Calling",
  TRYING: "Trying",
  PROCEEDING: "Proceeding",
  COMPLETED: "Completed",
  ACCEPTED: "Accepted",
  TERMINATED: "Terminated"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type ClientState = (typeof ClientState)[keyof typeof ClientState]

/**
 * Why a client transaction has no final response.
 *
 * @category errors
 * @since 0.1.0
 */
export type ClientTransactionError = TransactionTimeoutError | SipTransportError

/**
 * A client transaction as its TU sees it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ClientTransaction {
  /** The request as sent: its top Via carries the branch. */
  readonly request: SIPMessage.SIPMessage
  readonly method: string
  readonly branch: string
  /** Where the request (and any retransmission, and the ACK of a non-2xx) goes. */
  readonly destination: Destination
  /** The current state. */
  readonly state: ClientState
  /**
   * Every response passed up, in order: provisional ones, the final one and,
   * for INVITE, each further 2xx until Timer M (retransmissions and other
   * forks, RFC 6026). Ends when nothing more can come; fails when the
   * transaction timed out or could not send. Holds at most the 64 latest
   * responses not read yet.
   */
  readonly responses: Stream.Stream<SIPMessage.SIPMessage, ClientTransactionError>
  /** The first final response. */
  readonly final: Effect.Effect<SIPMessage.SIPMessage, ClientTransactionError>
  /** The first response of any kind (a CANCEL may only follow a provisional one, §9.1). */
  readonly firstResponse: Effect.Effect<SIPMessage.SIPMessage, ClientTransactionError>
  /**
   * INVITE: sends the UA core's ACK for a 2xx (§13.2.2.4) to `target` and,
   * while the transaction is Accepted, sends it again whenever that 2xx (same
   * To tag) is retransmitted.
   */
  readonly acknowledge: (ack: SIPMessage.SIPMessage, target: Destination) => Effect.Effect<void, SipTransportError>
  /**
   * Ends the transaction now. Without a final response, `final` fails with a
   * `TransactionTimeoutError` for timer "cancel": what §9.1 allows 64·T1 after
   * a CANCEL got no final response for the INVITE.
   */
  readonly terminate: Effect.Effect<void>
}

const RESPONSE_BUFFER = 64

/**
 * A request that travels with `invite` hop by hop, the ACK for a non-2xx
 * (§17.1.1.3) or a CANCEL (§9.1): the INVITE's Request-URI, Call-ID, From and
 * CSeq number with `method`, only its top Via (same branch), its Route
 * header fields, and `to` (the response's To for an ACK, the INVITE's for a
 * CANCEL).
 *
 * @category constructors
 * @since 0.1.0
 */
export const companionRequest = (
  invite: SIPMessage.SIPMessage,
  method: "ACK" | "CANCEL",
  to: string | undefined
): Result.Result<SIPMessage.SIPMessage, SIPParseError> => {
  const top = invite.via[0]
  const headers = invite.headers
  const callId = headers.get("Call-ID")
  const from = headers.get("From")
  if (top === undefined || to === undefined || callId === undefined || from === undefined || invite.cseq === undefined) {
    return Result.fail(new SIPParseError({ reason: `the INVITE lacks Via, From, To, Call-ID or CSeq for its ${method}`, offset: 0 }))
  }
  const lines: Array<readonly [string, string]> = [["Via", formatVia(top)]]
  for (const route of headers.getAll("Route")) lines.push(["Route", route])
  lines.push(
    ["Max-Forwards", headers.get("Max-Forwards") ?? "70"],
    ["From", from],
    ["To", to],
    ["Call-ID", callId],
    ["CSeq", `${invite.cseq.seq} ${method}`]
  )
  return SIPMessage.request({ method, uri: invite.requestUriText, headers: lines })
}

/**
 * The ACK for a non-2xx final response to an INVITE (§17.1.1.3).
 *
 * @category constructors
 * @since 0.1.0
 */
export const ackForFailure = (
  invite: SIPMessage.SIPMessage,
  response: SIPMessage.SIPMessage
): SIPMessage.SIPMessage | undefined => {
  const built = companionRequest(invite, "ACK", response.headers.get("To"))
  return Result.isSuccess(built) ? built.success : undefined
}

const statusOf = (response: SIPMessage.SIPMessage): number => response.status === 0 ? 0 : response.status.value

type ResponseQueue = Queue.Queue<SIPMessage.SIPMessage, ClientTransactionError | Cause.Done>
type ResponseDeferred = Deferred.Deferred<SIPMessage.SIPMessage, ClientTransactionError>

/**
 * The machine behind a {@link ClientTransaction}; the transaction layer feeds
 * it responses and timers. It is not the TU's handle, and lets go of the
 * request, the queue and the deferred results as soon as it no longer needs
 * them: a transaction lingering in Completed or Accepted for 64·T1 costs
 * little more than its timers.
 *
 * @category models
 * @since 0.1.0
 */
export class ClientTransactionMachine {
  readonly method: string
  readonly branch: string
  readonly key: string
  readonly destination: Destination
  state: ClientState

  private readonly invite: boolean
  private readonly env: TransactionEnvironment<ClientTransactionMachine>
  private readonly startedAt: number
  /** Until a final response: what is retransmitted. */
  private request: SIPMessage.SIPMessage | undefined
  /** Until nothing more can be passed up. */
  private queue: ResponseQueue | undefined
  private finalResponse: ResponseDeferred | undefined
  private first: ResponseDeferred | undefined
  private retransmitTimer: TimerHandle | undefined
  private lifetimeTimer: TimerHandle | undefined
  private interval = 0
  /** ACK of the non-2xx final, re-sent for each retransmission of it. */
  private failureAck: Outgoing | undefined
  /** The UA core's ACKs by the To tag of the 2xx they acknowledge. */
  private successAcks: Map<string, Outgoing> | undefined

  /**
   * A machine in Calling or Trying ({@link start} sends the request) and the
   * handle its TU gets.
   */
  static make(options: {
    readonly request: SIPMessage.SIPMessage
    readonly branch: string
    readonly key: string
    readonly destination: Destination
    readonly env: TransactionEnvironment<ClientTransactionMachine>
  }): Effect.Effect<{ readonly machine: ClientTransactionMachine; readonly transaction: ClientTransaction }> {
    return Effect.map(Queue.sliding<SIPMessage.SIPMessage, ClientTransactionError | Cause.Done>(RESPONSE_BUFFER), (queue) => {
      const finalResponse = Deferred.makeUnsafe<SIPMessage.SIPMessage, ClientTransactionError>()
      const first = Deferred.makeUnsafe<SIPMessage.SIPMessage, ClientTransactionError>()
      const machine = new ClientTransactionMachine(options, queue, finalResponse, first)
      const transaction: ClientTransaction = {
        request: options.request,
        method: machine.method,
        branch: options.branch,
        destination: options.destination,
        get state() {
          return machine.state
        },
        responses: Stream.fromQueue(queue),
        final: Deferred.await(finalResponse),
        firstResponse: Deferred.await(first),
        acknowledge: (ack, target) => machine.acknowledge(ack, target),
        terminate: Effect.sync(() => machine.abandon())
      }
      return { machine, transaction }
    })
  }

  private constructor(
    options: {
      readonly request: SIPMessage.SIPMessage
      readonly branch: string
      readonly key: string
      readonly destination: Destination
      readonly env: TransactionEnvironment<ClientTransactionMachine>
    },
    queue: ResponseQueue,
    finalResponse: ResponseDeferred,
    first: ResponseDeferred
  ) {
    this.request = options.request
    this.method = options.request.method
    this.branch = options.branch
    this.key = options.key
    this.destination = options.destination
    this.env = options.env
    this.queue = queue
    this.finalResponse = finalResponse
    this.first = first
    this.invite = this.method === "INVITE"
    this.state = this.invite ? ClientState.CALLING : ClientState.TRYING
    this.startedAt = options.env.now()
  }

  /** Sends the request and starts A and B, or E and F. */
  start(): Effect.Effect<void, SipTransportError> {
    const { timers } = this.env
    const first = this.invite ? timers.a : timers.e
    if (first !== undefined) {
      this.interval = first
      this.retransmitTimer = this.env.wheel.schedule(this, this.invite ? "A" : "E", first)
    }
    this.lifetimeTimer = this.env.wheel.schedule(this, this.invite ? "B" : "F", this.invite ? timers.b : timers.f)
    return this.resend()
  }

  acknowledge(ack: SIPMessage.SIPMessage, target: Destination): Effect.Effect<void, SipTransportError> {
    const outgoing: Outgoing = { message: ack, target }
    const tag = ack.to?.tag
    if (this.state === ClientState.ACCEPTED && tag !== undefined) (this.successAcks ??= new Map()).set(tag, outgoing)
    return this.env.transmit(this, [outgoing])
  }

  /** A response whose top Via branch and CSeq method match. */
  onResponse(response: SIPMessage.SIPMessage): Effect.Effect<void> | undefined {
    const status = statusOf(response)
    if (status < 100) return undefined
    return this.invite ? this.onInviteResponse(response, status) : this.onNonInviteResponse(response, status)
  }

  onTimer(timer: TimerName): Effect.Effect<void> | undefined {
    const { timers } = this.env
    switch (timer) {
      case "A":
        if (this.state !== ClientState.CALLING) return undefined
        this.interval = backoffUncapped(timers, this.interval)
        this.retransmitTimer = this.env.wheel.schedule(this, "A", this.interval)
        return Effect.ignore(this.resend())
      case "E":
        if (this.state !== ClientState.TRYING && this.state !== ClientState.PROCEEDING) return undefined
        this.interval = this.state === ClientState.TRYING ? backoffUpToT2(timers, this.interval) : timers.t2
        this.retransmitTimer = this.env.wheel.schedule(this, "E", this.interval)
        return Effect.ignore(this.resend())
      case "B":
        if (this.state === ClientState.CALLING) this.end(this.timeout("B", timers.b))
        return undefined
      case "F":
        if (this.state === ClientState.TRYING || this.state === ClientState.PROCEEDING) this.end(this.timeout("F", timers.f))
        return undefined
      case "D":
      case "K":
        if (this.state === ClientState.COMPLETED) this.end(undefined)
        return undefined
      case "M":
        if (this.state === ClientState.ACCEPTED) this.end(undefined)
        return undefined
      default:
        return undefined
    }
  }

  onTransportError(error: SipTransportError): void {
    if (this.state !== ClientState.TERMINATED) this.end(error)
  }

  /** The TU gives up (§9.1): without a final response it learns of a "cancel" timeout. */
  abandon(): void {
    if (this.state === ClientState.TERMINATED) return
    const afterMillis = this.env.now() - this.startedAt
    this.end(new TransactionTimeoutError({ timer: "cancel", method: this.method, branch: this.branch, afterMillis }))
  }

  /** The layer is closing: whoever waits on this transaction is interrupted. */
  shutdown(): void {
    if (this.state === ClientState.TERMINATED) return
    this.release()
    const interrupted = Exit.interrupt()
    const { finalResponse, first, queue } = this.detach()
    if (first !== undefined) Deferred.doneUnsafe(first, interrupted)
    if (finalResponse !== undefined) Deferred.doneUnsafe(finalResponse, interrupted)
    if (queue !== undefined) Queue.endUnsafe(queue)
  }

  private onInviteResponse(response: SIPMessage.SIPMessage, status: number): Effect.Effect<void> | undefined {
    switch (this.state) {
      case ClientState.CALLING:
      case ClientState.PROCEEDING: {
        // the state changes before the TU hears of it: a waiting fiber resumes inside these calls
        this.cancelTimers()
        if (status < 200) {
          this.state = ClientState.PROCEEDING
          this.passUp(response)
          return undefined
        }
        if (status < 300) {
          this.state = ClientState.ACCEPTED
          this.request = undefined
          this.lifetimeTimer = this.env.wheel.schedule(this, "M", this.env.timers.m)
          this.passFinal(response, false)
          return undefined
        }
        this.state = ClientState.COMPLETED
        const ack = this.request === undefined ? undefined : ackForFailure(this.request, response)
        const failureAck = ack === undefined ? undefined : { message: ack, target: this.destination }
        this.failureAck = failureAck
        this.request = undefined
        this.lifetimeTimer = this.env.wheel.schedule(this, "D", this.env.timers.d)
        if (failureAck === undefined) {
          this.passFinal(response, true)
          return undefined
        }
        // the ACK goes out before the TU hears of the failure: a TU that stops its UA then still acknowledged it
        return Effect.ignore(this.env.transmit(this, [failureAck])).pipe(
          Effect.andThen(Effect.sync(() => this.passFinal(response, true)))
        )
      }
      case ClientState.ACCEPTED: {
        if (status < 200 || status >= 300) return undefined
        const tag = response.to?.tag
        const ack = tag === undefined ? undefined : this.successAcks?.get(tag)
        this.passUp(response)
        return ack === undefined ? undefined : Effect.ignore(this.env.transmit(this, [ack]))
      }
      case ClientState.COMPLETED:
        return status >= 300 && this.failureAck !== undefined
          ? Effect.ignore(this.env.transmit(this, [this.failureAck]))
          : undefined
      default:
        return undefined
    }
  }

  private onNonInviteResponse(response: SIPMessage.SIPMessage, status: number): Effect.Effect<void> | undefined {
    if (this.state !== ClientState.TRYING && this.state !== ClientState.PROCEEDING) return undefined
    if (status < 200) {
      this.state = ClientState.PROCEEDING
      this.passUp(response)
      return undefined
    }
    this.state = ClientState.COMPLETED
    this.request = undefined
    this.cancelTimers()
    this.lifetimeTimer = this.env.wheel.schedule(this, "K", this.env.timers.k)
    this.passFinal(response, true)
    return undefined
  }

  /** The final response to the TU; with `last`, nothing will follow it on `responses`. */
  private passFinal(response: SIPMessage.SIPMessage, last: boolean): void {
    const { finalResponse, first, queue } = this
    this.finalResponse = undefined
    this.first = undefined
    if (last) this.queue = undefined
    if (queue !== undefined) {
      Queue.offerUnsafe(queue, response)
      if (last) Queue.endUnsafe(queue)
    }
    const exit = Exit.succeed(response)
    if (first !== undefined) Deferred.doneUnsafe(first, exit)
    if (finalResponse !== undefined) Deferred.doneUnsafe(finalResponse, exit)
  }

  private passUp(response: SIPMessage.SIPMessage): void {
    const first = this.first
    this.first = undefined
    if (this.queue !== undefined) Queue.offerUnsafe(this.queue, response)
    if (first !== undefined) Deferred.doneUnsafe(first, Exit.succeed(response))
  }

  private resend(): Effect.Effect<void, SipTransportError> {
    return this.request === undefined
      ? Effect.void
      : this.env.transmit(this, [{ message: this.request, target: this.destination }])
  }

  private timeout(timer: "B" | "F", afterMillis: number): TransactionTimeoutError {
    return new TransactionTimeoutError({ timer, method: this.method, branch: this.branch, afterMillis })
  }

  private cancelTimers(): void {
    this.retransmitTimer?.cancel()
    this.lifetimeTimer?.cancel()
    this.retransmitTimer = undefined
    this.lifetimeTimer = undefined
  }

  /** Enters Terminated and leaves the layer. */
  private release(): void {
    this.state = ClientState.TERMINATED
    this.cancelTimers()
    this.request = undefined
    this.failureAck = undefined
    this.successAcks = undefined
    this.env.release(this)
  }

  private detach() {
    const { finalResponse, first, queue } = this
    this.finalResponse = undefined
    this.first = undefined
    this.queue = undefined
    return { finalResponse, first, queue }
  }

  /** Terminated: the TU learns `error` unless it already has a final response. */
  private end(error: ClientTransactionError | undefined): void {
    this.release()
    const { finalResponse, first, queue } = this.detach()
    if (error !== undefined) {
      const failure = Exit.fail(error)
      if (queue !== undefined && finalResponse !== undefined) Queue.failCauseUnsafe(queue, Cause.fail(error))
      if (first !== undefined) Deferred.doneUnsafe(first, failure)
      if (finalResponse !== undefined) Deferred.doneUnsafe(finalResponse, failure)
    }
    if (queue !== undefined) Queue.endUnsafe(queue)
  }
}
