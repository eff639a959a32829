/**
 * Server transactions (RFC 3261 §17.2): the INVITE state machine of §17.2.1
 * with RFC 6026's Accepted state, and the non-INVITE machine of §17.2.2.
 *
 * A {@link ServerTransaction} is what the TU gets for each new request: the
 * request, `respond`, and for INVITE the CANCEL that matched it and the ACK
 * of its 2xx. Request retransmissions never reach the TU: the machine
 * absorbs them and re-sends its latest response.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Exit } from "effect"
import * as SIPMessage from "../SIPMessage.ts"
import type { IncomingMessage, SendTarget, SipTransportError } from "../../transport/SipTransport.ts"
import type { Outgoing, TransactionEnvironment } from "./Environment.ts"
import type { TimerHandle } from "./TimerWheel.ts"
import { backoffUpToT2, type TimerName, type TimerValues } from "./Timers.ts"
import { TransactionStateError, TransactionTimeoutError } from "./TransactionError.ts"

/**
 * The states of §17.2.1 and §17.2.2, plus RFC 6026's Accepted.
 *
 * @category models
 * @since 0.1.0
 */
export const ServerState = {
  TRYING: "Trying",
  PROCEEDING: "Proceeding",
  COMPLETED: "Completed",
  CONFIRMED: "Confirmed",
  ACCEPTED: "Accepted",
  TERMINATED: "Terminated"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type ServerState = (typeof ServerState)[keyof typeof ServerState]

/**
 * Why `respond` failed.
 *
 * @category errors
 * @since 0.1.0
 */
export type RespondError = SipTransportError | TransactionStateError

/**
 * A server transaction as its TU sees it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerTransaction {
  /** The request as received (its top Via stamped with `received`/`rport`). */
  readonly request: SIPMessage.SIPMessage
  /** Where and how it arrived. */
  readonly incoming: IncomingMessage
  readonly method: string
  readonly state: ServerState
  /** The timer values of its transport (the UA core paces 2xx retransmissions with T1 and T2). */
  readonly timers: TimerValues
  /**
   * Sends a response: any number of 1xx, then one final response (INVITE:
   * further 2xx are passed on while Accepted, RFC 6026). A response the state
   * does not allow fails with `TransactionStateError`. Non-2xx finals are
   * retransmitted by the transaction; the 2xx of an INVITE is the UA core's
   * to retransmit until its ACK (`UaCore.acceptInvite` does both).
   * The TU must send a final response to every request: until then the
   * transaction stays (RFC 3261 gives Proceeding no timer).
   */
  readonly respond: (response: SIPMessage.SIPMessage) => Effect.Effect<void, RespondError>
  /**
   * INVITE: the CANCEL that matched it before it sent a final response (the
   * layer has answered the CANCEL with 200; the TU answers the INVITE with
   * 487, §9.2). Never completes otherwise.
   */
  readonly cancelled: Effect.Effect<SIPMessage.SIPMessage>
  /**
   * INVITE: the ACK for its 2xx, matched by Call-ID, CSeq number and tags
   * while the transaction is Accepted; fails with Timer L when none came.
   */
  readonly ack: Effect.Effect<SIPMessage.SIPMessage, TransactionTimeoutError>
  /**
   * Completes when the transaction terminates; fails when it tells the TU
   * of a failure (Timer H: the ACK of a non-2xx never came, or a send failed).
   */
  readonly terminated: Effect.Effect<void, TransactionTimeoutError | SipTransportError>
}

/**
 * What the layer does for a server transaction beyond the common
 * environment: index the ACK of each 2xx it sends.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerEnvironment extends TransactionEnvironment<ServerTransactionMachine> {
  readonly expectAck: (transaction: ServerTransactionMachine, response: SIPMessage.SIPMessage) => void
}

const statusOf = (response: SIPMessage.SIPMessage): number => response.status === 0 ? 0 : response.status.value

/**
 * 100 Trying for `request`, with its Timestamp copied (§8.2.6.1).
 *
 * @category constructors
 * @since 0.1.0
 */
export const trying = (request: SIPMessage.SIPMessage): SIPMessage.SIPMessage | undefined => {
  const timestamp = request.headers.get("Timestamp")
  const built = SIPMessage.response(request, 100, timestamp === undefined ? {} : { headers: [["Timestamp", timestamp]] })
  return built._tag === "Success" ? built.success : undefined
}

/**
 * The machine behind a {@link ServerTransaction}; the transaction layer feeds
 * it retransmitted requests, ACKs, CANCELs and timers. It is not the TU's
 * handle, and keeps the request only until it sends a final response: a
 * transaction lingering for 64·T1 holds little more than that response.
 *
 * @category models
 * @since 0.1.0
 */
export class ServerTransactionMachine {
  readonly method: string
  readonly key: string
  readonly branch: string
  readonly timers: TimerValues
  state: ServerState
  /** Keys under which the layer indexed the ACKs of our 2xx responses. */
  ackKeys: Array<string> | undefined
  /** The latest final response: re-sent for retransmitted requests; its To tag is what an RFC 2543 ACK must carry. */
  lastFinal: SIPMessage.SIPMessage | undefined

  private readonly invite: boolean
  private readonly env: ServerEnvironment
  private readonly target: SendTarget | undefined
  /** Until a final response: for 100 Trying. */
  private request: SIPMessage.SIPMessage | undefined
  /** Until a final response (a CANCEL after it changes nothing). */
  private cancelRequest: Deferred.Deferred<SIPMessage.SIPMessage> | undefined
  private ackRequest: Deferred.Deferred<SIPMessage.SIPMessage, TransactionTimeoutError> | undefined
  private ended: Deferred.Deferred<void, TransactionTimeoutError | SipTransportError> | undefined
  private lastProvisional: SIPMessage.SIPMessage | undefined
  private retransmitTimer: TimerHandle | undefined
  private lifetimeTimer: TimerHandle | undefined
  private interval = 0

  /** A machine in Proceeding (INVITE) or Trying and the handle its TU gets. */
  static make(options: {
    readonly incoming: IncomingMessage
    readonly key: string
    readonly timers: TimerValues
    readonly target: SendTarget | undefined
    readonly env: ServerEnvironment
  }): { readonly machine: ServerTransactionMachine; readonly transaction: ServerTransaction } {
    const cancelRequest = Deferred.makeUnsafe<SIPMessage.SIPMessage>()
    const ackRequest = Deferred.makeUnsafe<SIPMessage.SIPMessage, TransactionTimeoutError>()
    const ended = Deferred.makeUnsafe<void, TransactionTimeoutError | SipTransportError>()
    const machine = new ServerTransactionMachine(options, cancelRequest, ackRequest, ended)
    const transaction: ServerTransaction = {
      request: options.incoming.message,
      incoming: options.incoming,
      method: machine.method,
      timers: options.timers,
      get state() {
        return machine.state
      },
      respond: (response) => machine.respond(response),
      cancelled: Deferred.await(cancelRequest),
      ack: Deferred.await(ackRequest),
      terminated: Deferred.await(ended)
    }
    return { machine, transaction }
  }

  private constructor(
    options: {
      readonly incoming: IncomingMessage
      readonly key: string
      readonly timers: TimerValues
      readonly target: SendTarget | undefined
      readonly env: ServerEnvironment
    },
    cancelRequest: Deferred.Deferred<SIPMessage.SIPMessage>,
    ackRequest: Deferred.Deferred<SIPMessage.SIPMessage, TransactionTimeoutError>,
    ended: Deferred.Deferred<void, TransactionTimeoutError | SipTransportError>
  ) {
    const request = options.incoming.message
    this.request = request
    this.method = request.method
    this.branch = request.via[0]?.branch ?? "(no branch)"
    this.key = options.key
    this.timers = options.timers
    this.target = options.target
    this.env = options.env
    this.cancelRequest = cancelRequest
    this.ackRequest = ackRequest
    this.ended = ended
    this.invite = this.method === "INVITE"
    this.state = this.invite ? ServerState.PROCEEDING : ServerState.TRYING
  }

  /** INVITE: starts the 200 ms after which 100 Trying goes out if the TU has not answered. */
  start(): void {
    if (this.invite) this.retransmitTimer = this.env.wheel.schedule(this, "Trying", this.timers.trying)
  }

  respond(response: SIPMessage.SIPMessage): Effect.Effect<void, RespondError> {
    const status = statusOf(response)
    const allowed = this.invite ? this.inviteResponse(response, status) : this.nonInviteResponse(response, status)
    if (!allowed) {
      return Effect.fail(new TransactionStateError({ method: this.method, branch: this.branch, state: this.state, status }))
    }
    return this.env.transmit(this, [this.outgoing(response)])
  }

  /** A retransmission of the request. */
  onRequest(): Effect.Effect<void> | undefined {
    switch (this.state) {
      case ServerState.PROCEEDING:
        return this.resend(this.lastProvisional)
      case ServerState.COMPLETED:
        return this.resend(this.lastFinal)
      default:
        return undefined
    }
  }

  /** An ACK matched to this INVITE transaction (same branch, or the ACK of our 2xx). */
  onAck(ack: SIPMessage.SIPMessage): void {
    if (this.state === ServerState.COMPLETED) {
      this.state = ServerState.CONFIRMED
      this.cancelTimers()
      this.lifetimeTimer = this.env.wheel.schedule(this, "I", this.timers.i)
    } else if (this.state === ServerState.ACCEPTED && this.ackRequest !== undefined) {
      const ackRequest = this.ackRequest
      this.ackRequest = undefined
      Deferred.doneUnsafe(ackRequest, Exit.succeed(ack))
    }
  }

  /** A CANCEL matched to this transaction; whether it came before our final response. */
  onCancel(cancel: SIPMessage.SIPMessage): boolean {
    const cancelRequest = this.cancelRequest
    if (cancelRequest === undefined) return false
    this.cancelRequest = undefined
    Deferred.doneUnsafe(cancelRequest, Exit.succeed(cancel))
    return true
  }

  onTimer(timer: TimerName): Effect.Effect<void> | undefined {
    switch (timer) {
      case "Trying": {
        if (this.state !== ServerState.PROCEEDING || this.lastProvisional !== undefined || this.request === undefined) {
          return undefined
        }
        const hundred = trying(this.request)
        if (hundred === undefined) return undefined
        this.lastProvisional = hundred
        return this.resend(hundred)
      }
      case "G":
        if (this.state !== ServerState.COMPLETED) return undefined
        this.interval = backoffUpToT2(this.timers, this.interval)
        this.retransmitTimer = this.env.wheel.schedule(this, "G", this.interval)
        return this.resend(this.lastFinal)
      case "H":
        if (this.state === ServerState.COMPLETED) {
          this.end(new TransactionTimeoutError({ timer: "H", method: this.method, branch: this.branch, afterMillis: this.timers.h }))
        }
        return undefined
      case "I":
        if (this.state === ServerState.CONFIRMED) this.end(undefined)
        return undefined
      case "J":
        if (this.state === ServerState.COMPLETED) this.end(undefined)
        return undefined
      case "L":
        if (this.state === ServerState.ACCEPTED) this.end(undefined)
        return undefined
      default:
        return undefined
    }
  }

  onTransportError(error: SipTransportError): void {
    if (this.state !== ServerState.TERMINATED) this.end(error)
  }

  /** The To tag of our latest response, which the 200 to a CANCEL repeats (§9.2). */
  responseTag(): string | undefined {
    return this.lastProvisional?.to?.tag ?? this.lastFinal?.to?.tag
  }

  /** The layer is closing: whoever waits on this transaction is interrupted. */
  shutdown(): void {
    if (this.state === ServerState.TERMINATED) return
    const { ackRequest, ended } = this.release()
    if (ackRequest !== undefined) Deferred.doneUnsafe(ackRequest, Exit.interrupt())
    if (ended !== undefined) Deferred.doneUnsafe(ended, Exit.interrupt())
  }

  private inviteResponse(response: SIPMessage.SIPMessage, status: number): boolean {
    if (status < 100) return false
    if (this.state === ServerState.ACCEPTED) {
      if (status < 200 || status >= 300) return false
      this.env.expectAck(this, response)
      return true
    }
    if (this.state !== ServerState.PROCEEDING) return false
    this.cancelTimers()
    if (status < 200) {
      this.lastProvisional = response
      return true
    }
    this.finalSent()
    if (status < 300) {
      this.state = ServerState.ACCEPTED
      this.env.expectAck(this, response)
      this.lifetimeTimer = this.env.wheel.schedule(this, "L", this.timers.l)
    } else {
      this.state = ServerState.COMPLETED
      this.lastFinal = response
      if (this.timers.g !== undefined) {
        this.interval = this.timers.g
        this.retransmitTimer = this.env.wheel.schedule(this, "G", this.interval)
      }
      this.lifetimeTimer = this.env.wheel.schedule(this, "H", this.timers.h)
    }
    return true
  }

  private nonInviteResponse(response: SIPMessage.SIPMessage, status: number): boolean {
    if (status < 100 || (this.state !== ServerState.TRYING && this.state !== ServerState.PROCEEDING)) return false
    if (status < 200) {
      this.state = ServerState.PROCEEDING
      this.lastProvisional = response
      return true
    }
    this.finalSent()
    this.state = ServerState.COMPLETED
    this.lastFinal = response
    this.lifetimeTimer = this.env.wheel.schedule(this, "J", this.timers.j)
    return true
  }

  /** What only mattered until a final response. */
  private finalSent(): void {
    this.request = undefined
    this.lastProvisional = undefined
    this.cancelRequest = undefined
  }

  private outgoing(message: SIPMessage.SIPMessage): Outgoing {
    return { message, target: this.target }
  }

  private resend(response: SIPMessage.SIPMessage | undefined): Effect.Effect<void> | undefined {
    return response === undefined ? undefined : Effect.ignore(this.env.transmit(this, [this.outgoing(response)]))
  }

  private cancelTimers(): void {
    this.retransmitTimer?.cancel()
    this.lifetimeTimer?.cancel()
    this.retransmitTimer = undefined
    this.lifetimeTimer = undefined
  }

  /** Enters Terminated, leaves the layer, and hands back the results still owed to the TU. */
  private release() {
    this.state = ServerState.TERMINATED
    this.cancelTimers()
    this.finalSent()
    this.lastFinal = undefined
    this.env.release(this)
    const { ackRequest, ended } = this
    this.ackRequest = undefined
    this.ended = undefined
    return { ackRequest, ended }
  }

  private end(error: TransactionTimeoutError | SipTransportError | undefined): void {
    const { ackRequest, ended } = this.release()
    // waiting fibers resume inside these calls, so they come last
    if (ackRequest !== undefined) {
      Deferred.doneUnsafe(
        ackRequest,
        Exit.fail(new TransactionTimeoutError({ timer: "L", method: this.method, branch: this.branch, afterMillis: this.timers.l }))
      )
    }
    if (ended !== undefined) Deferred.doneUnsafe(ended, error === undefined ? Exit.void : Exit.fail(error))
  }
}
