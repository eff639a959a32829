/**
 * The registration loop (RFC 3261 §10.2): register, refresh before the
 * binding expires, retry failures, and remove the binding when the scope
 * closes.
 *
 * - Every REGISTER of a client uses one Call-ID and From tag, with CSeq
 *   going up by one per request (challenged retries included). Refreshes
 *   are authorized pre-emptively with the last challenge's nonce and the
 *   next nonce count, so a refresh normally takes one round trip.
 * - The expiry granted is our Contact's `expires` in the 2xx, else its
 *   `Expires` header, else what we asked for. The refresh starts at
 *   {@link refreshDelay}: half the expiry, but no earlier than 30 s before
 *   it ends (300 s → 270 s, 40 s → 20 s), counted from when the
 *   registration began, on Effect's `Clock`.
 * - 423 Interval Too Brief: asked again at once with its Min-Expires, which
 *   later refreshes keep asking for.
 * - After a 2xx, when our Contact address has changed (the `received` /
 *   `rport` of the responses showed our public address), we register again
 *   at once with the new Contact. The old binding is left to expire.
 * - A failure (timeout, transport error, 5xx or other refusal, rejected
 *   credentials) is retried after {@link retryDelay}, or after the
 *   failure response's Retry-After ({@link retryAfterOf}); after
 *   `registerFailureThreshold` consecutive failures the status is `FAILED`
 *   and the registration fails with the last error.
 * - Status: `REGISTERING` until the first 2xx, `REGISTERED` from then on
 *   (refreshes keep it), back to `REGISTERING` while a failure is retried.
 *   Unlike pyVoIP, a routine refresh does not pass through `REGISTERING`.
 * - Closing the scope stops the loop, then (if a binding may exist and the
 *   registration has not failed) sends REGISTER with Expires: 0 for our
 *   Contact, authenticated, waiting at most the account's
 *   `deregisterTimeout`: `DEREGISTERING`, then `INACTIVE`.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Duration, Effect, Fiber, Result, type Scope, SubscriptionRef } from "effect"
import type { Settings } from "../../Config.ts"
import type { SipTransportError } from "../../transport/SipTransport.ts"
import type { AuthSession, MalformedChallengeError, UnsupportedAuthError } from "../auth/Digest.ts"
import { newCallId, newTag, uriDestination } from "../dialog/Dialog.ts"
import type * as SIPMessage from "../SIPMessage.ts"
import type { SIPParseError } from "../SIPParseError.ts"
import { formatUri, type SIPURI } from "../Uri.ts"
import type { ClientTransaction } from "../transaction/ClientTransaction.ts"
import type { TransactionRequestError, TransactionTimeoutError } from "../transaction/TransactionError.ts"
import * as Account from "./Account.ts"
import { type Authenticator, sendAuthenticated } from "./Authenticated.ts"
import { InvalidAccountInfoError, RegistrationRejectedError } from "./ClientError.ts"
import { PhoneStatus, setStatus } from "./PhoneStatus.ts"

/**
 * Why a registration failed.
 *
 * @category errors
 * @since 0.1.0
 */
export type RegistrationError =
  | InvalidAccountInfoError
  | RegistrationRejectedError
  | UnsupportedAuthError
  | MalformedChallengeError
  | TransactionTimeoutError
  | SipTransportError
  | TransactionRequestError
  | SIPParseError

/**
 * What the loop needs.
 *
 * @category models
 * @since 0.1.0
 */
export interface RegistrationConfig {
  readonly account: Account.Account
  readonly authenticator: Authenticator
  readonly settings: Pick<Settings, "registerFailureThreshold">
  /** Our Contact URI for the registrar, as it is now. */
  readonly contact: Effect.Effect<SIPURI>
  /** The host our Call-ID names. */
  readonly localHost: string
  readonly status: SubscriptionRef.SubscriptionRef<PhoneStatus>
}

/**
 * A running registration.
 *
 * @category models
 * @since 0.1.0
 */
export interface Registration {
  /** Completes at the first 2xx; fails if the registration fails for good first. */
  readonly registered: Effect.Effect<void, RegistrationError>
  /** Never completes, unless the registration fails for good: then it fails with why (pyVoIP's fatal callback). */
  readonly fatal: Effect.Effect<never, RegistrationError>
}

const REFRESH_MARGIN_SECONDS = 30
const FIRST_RETRY = Duration.seconds(5)
const LONGEST_RETRY = Duration.minutes(5)
const LONGEST_RETRY_AFTER = Duration.hours(1)

/**
 * When to refresh a binding granted for `expiresSeconds`, in milliseconds
 * after the registration began: at half its life, or 30 s before it ends
 * if that is later.
 *
 * @category timing
 * @since 0.1.0
 */
export const refreshDelay = (expiresSeconds: number): number =>
  1000 * Math.max(expiresSeconds / 2, expiresSeconds - REFRESH_MARGIN_SECONDS)

/**
 * How long to wait before retrying after `failures` consecutive failures:
 * 5 s, 10 s, 20 s, ... at most 5 minutes.
 *
 * @category timing
 * @since 0.1.0
 */
export const retryDelay = (failures: number): Duration.Duration =>
  Duration.min(Duration.times(FIRST_RETRY, 2 ** Math.max(0, failures - 1)), LONGEST_RETRY)

/**
 * How long a failure response asks us to wait before trying again: its
 * `Retry-After` delta-seconds (RFC 3261 §20.33; a comment and parameters
 * such as `duration` may follow), at most an hour, so that a wild value
 * cannot stop the registration for good. `undefined` without a usable
 * Retry-After.
 *
 * @category timing
 * @since 0.1.0
 */
export const retryAfterOf = (response: SIPMessage.SIPMessage): Duration.Duration | undefined => {
  const seconds = /^\s*(\d+)/.exec(response.headers.get("Retry-After") ?? "")?.[1]
  return seconds === undefined ? undefined : Duration.min(Duration.seconds(Number(seconds)), LONGEST_RETRY_AFTER)
}

const statusOf = (response: SIPMessage.SIPMessage): number => response.status === 0 ? 0 : response.status.value

/**
 * The expiry, in seconds, a 2xx to REGISTER grants `contact`: its
 * `expires` parameter in the response's Contact list, else the `Expires`
 * header, else `requested`.
 *
 * @category timing
 * @since 0.1.0
 */
export const grantedExpiry = (
  response: SIPMessage.SIPMessage,
  contact: SIPURI,
  requested: number,
  defaultPort: number
): number => {
  const contacts = response.contact
  if (Result.isSuccess(contacts) && contacts.success !== undefined && !contacts.success.star) {
    const ours = contacts.success.contacts.find((each) => Account.sameContact(each.uri, contact, defaultPort))
    if (ours?.expires !== undefined) return ours.expires
  }
  const expires = response.expires
  if (Result.isSuccess(expires) && expires.success !== undefined) return expires.success
  return requested
}

/**
 * Starts registering in the current scope (see the module documentation).
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (config: RegistrationConfig): Effect.Effect<Registration, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { account, authenticator, status } = config
    const registrar = Account.registrarUri(account)
    // the registrar URI is never a tel URI; without a port in it the server is located by SRV (RFC 3263)
    const destination = account.outboundProxy ?? uriDestination(registrar)!
    const callId = newCallId(config.localHost)
    const fromTag = newTag()
    const registered = yield* Deferred.make<void, RegistrationError>()
    const fatal = yield* Deferred.make<never, RegistrationError>()
    let cseq = 1
    let expires = account.expires
    let sessions: ReadonlyArray<AuthSession> = []
    /** The Contact of the binding the registrar may hold. */
    let bound: SIPURI | undefined
    /** The last REGISTER sent: another may leave only once it has its final response (§10.2). */
    let inFlight: ClientTransaction | undefined
    /** The Retry-After of the last failure response, when it had one. */
    let retryAfter: Duration.Duration | undefined

    const exchange = (contact: SIPURI, requested: number) =>
      Effect.gen(function*() {
        const request = yield* Effect.fromResult(
          Account.registerRequest(account, { callId, fromTag, cseq, contact, expires: requested })
        )
        // kept as each request leaves, so a deregistration after an interrupted refresh counts on
        const result = yield* sendAuthenticated(authenticator, request, {
          destination,
          sessions,
          onTransaction: (transaction, sent) =>
            Effect.sync(() => {
              cseq = (transaction.request.cseq?.seq ?? cseq) + 1
              sessions = sent
              inFlight = transaction
            })
        })
        return result.response
      })

    const refused = (response: SIPMessage.SIPMessage, reason = response.reason) =>
      new RegistrationRejectedError({ registrar: formatUri(registrar), status: statusOf(response), reason })

    /** One registration, through any 423s: the seconds granted. */
    const register: Effect.Effect<number, RegistrationError> = Effect.gen(function*() {
      retryAfter = undefined
      while (true) {
        const contact = yield* config.contact
        const response = yield* exchange(contact, expires)
        const code = statusOf(response)
        retryAfter = code >= 300 ? retryAfterOf(response) : undefined
        if (code >= 200 && code < 300) {
          const granted = grantedExpiry(response, contact, expires, account.mode.defaultPort)
          if (granted <= 0) return yield* refused(response, "the registrar granted no time to our Contact")
          bound = contact
          return granted
        }
        if (code === 423) {
          const minimum = Result.getOrUndefined(response.minExpires)
          if (minimum === undefined || minimum <= expires) {
            return yield* refused(response, `${response.reason} without a usable Min-Expires`)
          }
          expires = minimum
          continue
        }
        if (code === 403) {
          return yield* new InvalidAccountInfoError({
            realm: registrar.host,
            user: account.user,
            status: code,
            reason: response.reason
          })
        }
        return yield* refused(response)
      }
    })

    const loop = Effect.gen(function*() {
      let failures = 0
      while (true) {
        const began = yield* Clock.currentTimeMillis
        const outcome = yield* Effect.result(register)
        if (Result.isSuccess(outcome)) {
          failures = 0
          yield* setStatus(status, PhoneStatus.REGISTERED)
          yield* Deferred.succeed(registered, undefined)
          const contact = yield* config.contact
          if (bound !== undefined && !Account.sameContact(contact, bound, account.mode.defaultPort)) continue
          const now = yield* Clock.currentTimeMillis
          yield* Effect.sleep(Duration.millis(Math.max(0, began + refreshDelay(outcome.success) - now)))
          continue
        }
        const error = outcome.failure
        failures++
        // refused credentials are not offered again pre-emptively: the next attempt waits for a challenge
        if (error._tag === "InvalidAccountInfoError") sessions = []
        if (failures >= config.settings.registerFailureThreshold) {
          // before the first success the failure is the start's own (the layer fails with it): no log of ours
          const log = (yield* Deferred.isDone(registered)) ? Effect.logError : Effect.logDebug
          yield* log(`registration with ${formatUri(registrar)} failed for good: ${error.message}`)
          yield* setStatus(status, PhoneStatus.FAILED)
          yield* Deferred.fail(registered, error)
          yield* Deferred.fail(fatal, error)
          return
        }
        yield* Effect.logWarning(
          `registration with ${formatUri(registrar)} failed (${failures} of ${config.settings.registerFailureThreshold}): ${error.message}`
        )
        yield* setStatus(status, PhoneStatus.REGISTERING)
        yield* Effect.sleep(retryAfter ?? retryDelay(failures))
      }
    })

    const deregister = Effect.gen(function*() {
      if ((yield* SubscriptionRef.get(status)) === PhoneStatus.FAILED) return
      if (bound !== undefined) {
        yield* setStatus(status, PhoneStatus.DEREGISTERING)
        const contact = bound
        const outcome = yield* Effect.gen(function*() {
          // a refresh cut short by the close may still be on its way: let it finish first
          if (inFlight !== undefined) yield* Effect.exit(inFlight.final)
          return yield* exchange(contact, 0)
        }).pipe(Effect.timeoutOption(account.deregisterTimeout), Effect.result)
        const problem = Result.isFailure(outcome)
          ? outcome.failure.message
          : outcome.success._tag === "None"
          ? "no response in time"
          : statusOf(outcome.success.value) >= 300
          ? `${statusOf(outcome.success.value)} ${outcome.success.value.reason}`
          : undefined
        if (problem !== undefined) yield* Effect.logWarning(`deregistration from ${formatUri(registrar)} failed: ${problem}`)
      }
      yield* setStatus(status, PhoneStatus.INACTIVE)
    })

    yield* setStatus(status, PhoneStatus.REGISTERING)
    const fiber = yield* Effect.forkScoped(loop)
    yield* Effect.addFinalizer(() => Effect.andThen(Fiber.interrupt(fiber), deregister))
    return { registered: Deferred.await(registered), fatal: Deferred.await(fatal) }
  })
