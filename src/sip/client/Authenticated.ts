/**
 * Requests that answer authentication challenges (RFC 3261 §22): a request
 * goes through the transaction layer; a 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate) is answered with credentials and the request is
 * sent again as a new transaction, with a new branch and CSeq+1 (same
 * Call-ID and From tag), until a response that is not a challenge arrives.
 * It works for any method; an INVITE's 401/407 is acknowledged by its
 * transaction.
 *
 * - Credentials come from the `CredentialsManager`, looked up as pyVoIP
 *   does: by the From host, the challenge's realm and the From user.
 * - `stale=true` only says the nonce expired: the request is retried with
 *   the new nonce and that is no failure.
 * - A challenge for a realm already answered in this exchange (not stale)
 *   means the credentials are wrong: {@link InvalidAccountInfoError}. So
 *   is a 403 to a request that carried our credentials.
 * - Sessions of an earlier exchange (the result's `sessions`) are answered
 *   pre-emptively with the same nonce and the next nonce count, so a
 *   registration refresh normally needs no extra round trip. A challenge to
 *   such pre-emptive credentials is answered once more before they count as
 *   rejected, since the server may simply have forgotten the nonce.
 * - At most {@link MAX_CHALLENGES} challenges are answered per exchange, so
 *   a server that keeps challenging cannot loop us forever.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import type { CredentialsManager } from "../../Credentials.ts"
import type { Destination } from "../../transport/SipTransport.ts"
import {
  type AuthPolicy,
  type AuthRequest,
  type AuthSession,
  authorize,
  authorizeAgain,
  type Challenge,
  type ChallengeHeader,
  type CredentialsHeader,
  isStale,
  MalformedChallengeError,
  randomCnonce,
  selectChallenges,
  type UnsupportedAuthError,
  type UserCredentials
} from "../auth/Digest.ts"
import type { AuthHeader } from "../HeaderValues.ts"
import * as SIPMessage from "../SIPMessage.ts"
import type { SIPParseError } from "../SIPParseError.ts"
import type { ClientTransaction, ClientTransactionError } from "../transaction/ClientTransaction.ts"
import type { TransactionRequestError } from "../transaction/TransactionError.ts"
import type { TransactionLayerShape } from "../transaction/TransactionLayer.ts"
import { InvalidAccountInfoError } from "./ClientError.ts"

/**
 * What sending with authentication needs.
 *
 * @category models
 * @since 0.1.0
 */
export interface Authenticator {
  readonly transactions: TransactionLayerShape
  readonly credentials: CredentialsManager
  /** The settings' `allowBasicAuth` and `allowMd5Auth`. */
  readonly policy: AuthPolicy
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SendOptions {
  /** Where every attempt goes (a proxy, the server, the dialog's next hop). */
  readonly destination: Destination
  /** The `sessions` of an earlier exchange with the same server, answered pre-emptively. */
  readonly sessions?: ReadonlyArray<AuthSession> | undefined
  /**
   * Called with each attempt's transaction as soon as it starts, and the
   * sessions its credentials came from: to read its provisional responses,
   * to CANCEL an INVITE, to learn the CSeq and nonce counts used even if
   * the exchange is interrupted.
   */
  readonly onTransaction?:
    | ((transaction: ClientTransaction, sessions: ReadonlyArray<AuthSession>) => Effect.Effect<void>)
    | undefined
}

/**
 * The outcome of an exchange: its final response (anything but a challenge
 * we could answer) and what to keep for the next one.
 *
 * @category models
 * @since 0.1.0
 */
export interface AuthenticatedResponse {
  readonly response: SIPMessage.SIPMessage
  /** The last request as sent: its CSeq is the highest used. */
  readonly request: SIPMessage.SIPMessage
  /** The last attempt's transaction (for INVITE: to ACK a 2xx, to see further 2xx). */
  readonly transaction: ClientTransaction
  /** Pass them as `sessions` to authorize the next request to this server pre-emptively. */
  readonly sessions: ReadonlyArray<AuthSession>
}

/**
 * Why a challenge was not answered.
 *
 * @category errors
 * @since 0.1.0
 */
export type AuthenticationError = InvalidAccountInfoError | UnsupportedAuthError | MalformedChallengeError

/**
 * @category errors
 * @since 0.1.0
 */
export type SendAuthenticatedError = AuthenticationError | ClientTransactionError | TransactionRequestError | SIPParseError

/**
 * The most challenges answered in one exchange.
 *
 * @category constants
 * @since 0.1.0
 */
export const MAX_CHALLENGES = 5

const statusOf = (response: SIPMessage.SIPMessage): number => response.status === 0 ? 0 : response.status.value

const sessionsOf = (credentials: ReadonlyMap<string, CredentialsHeader>): ReadonlyArray<AuthSession> =>
  Array.from(credentials.values(), (line) => line.session)

const sessionKey = (challenge: Challenge): string => `${challenge.header}\u0000${challenge.realm}`

const challengesOf = (
  response: SIPMessage.SIPMessage,
  header: ChallengeHeader
): Result.Result<ReadonlyArray<AuthHeader>, MalformedChallengeError> =>
  Result.mapError(
    header === "WWW-Authenticate" ? response.wwwAuthenticate : response.proxyAuthenticate,
    (error) => new MalformedChallengeError({ header, reason: error.message })
  )

const rejected = (realm: string, credentials: UserCredentials, response: SIPMessage.SIPMessage) =>
  new InvalidAccountInfoError({
    realm,
    user: credentials.username,
    status: statusOf(response),
    reason: response.reason
  })

/**
 * The attempt to send: the template with, from the second attempt on, the
 * next CSeq and no branch (the layer adds a fresh one), and the current
 * credentials in place of any the template had.
 */
const attemptRequest = (
  template: SIPMessage.SIPMessage,
  seq: number | undefined,
  credentials: ReadonlyMap<string, CredentialsHeader>
): Result.Result<SIPMessage.SIPMessage, SIPParseError> => {
  let result: Result.Result<SIPMessage.SIPMessage, SIPParseError> = Result.succeed(template)
  if (seq !== undefined && seq !== template.cseq?.seq) {
    result = Result.flatMap(result, (message) => SIPMessage.withHeader(message, "CSeq", `${seq} ${template.method}`))
    if (template.via[0]?.branch !== undefined) {
      result = Result.flatMap(result, (message) => SIPMessage.mapTopVia(message, (via) => ({ ...via, branch: undefined })))
    }
  }
  if (credentials.size === 0) return result
  return Result.flatMap(result, (message) => {
    let edited = Result.flatMap(SIPMessage.withoutHeader(message, "Authorization"), (m) =>
      SIPMessage.withoutHeader(m, "Proxy-Authorization"))
    for (const line of credentials.values()) {
      edited = Result.flatMap(edited, (m) => SIPMessage.appendHeader(m, line.name, line.value))
    }
    return edited
  })
}

/**
 * Sends `request` and answers the challenges of its responses; returns the
 * first final response that is not a challenge. See the module
 * documentation for the rules.
 *
 * @category sending
 * @since 0.1.0
 */
export const sendAuthenticated = (
  authenticator: Authenticator,
  request: SIPMessage.SIPMessage,
  options: SendOptions
): Effect.Effect<AuthenticatedResponse, SendAuthenticatedError> =>
  Effect.gen(function*() {
    const { policy } = authenticator
    const digested: AuthRequest = { method: request.method, uri: request.requestUriText, body: request.rawBody }
    const server = request.from?.uri.host ?? ""
    const user = request.from?.uri.user ?? ""
    const credentialsFor = (realm: string) => authenticator.credentials.get(server, realm, user)

    const credentials = new Map<string, CredentialsHeader>()
    for (const session of options.sessions ?? []) {
      credentials.set(sessionKey(session.challenge), authorizeAgain(session, digested))
    }
    /** Realms answered from a challenge of this exchange: challenged again, their credentials are wrong. */
    const answered = new Set<string>()
    let seq = request.cseq?.seq
    let challenges = 0

    while (true) {
      const message = yield* Effect.fromResult(attemptRequest(request, seq, credentials))
      const transaction = yield* authenticator.transactions.request(message, options.destination)
      if (options.onTransaction !== undefined) yield* options.onTransaction(transaction, sessionsOf(credentials))
      const response = yield* transaction.final
      const status = statusOf(response)

      if (status === 401 || status === 407) {
        const header: ChallengeHeader = status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate"
        const offered = yield* Effect.fromResult(challengesOf(response, header))
        const selected = yield* Effect.fromResult(selectChallenges(offered, header, policy))
        const refused = selected.find((challenge) => !isStale(challenge) && answered.has(sessionKey(challenge)))
        if (refused !== undefined) return yield* rejected(refused.realm, credentialsFor(refused.realm), response)
        if (++challenges > MAX_CHALLENGES) {
          return yield* rejected(selected[0].realm, credentialsFor(selected[0].realm), response)
        }
        const cnonce = yield* randomCnonce
        for (const challenge of selected) {
          const key = sessionKey(challenge)
          const line = yield* Effect.fromResult(
            authorize(challenge, credentialsFor(challenge.realm), digested, {
              policy,
              cnonce,
              previous: credentials.get(key)?.session
            })
          )
          credentials.set(key, line)
          answered.add(key)
        }
        seq = (transaction.request.cseq?.seq ?? 0) + 1
        continue
      }

      const sent = credentials.values().next()
      if (status === 403 && !sent.done) {
        const realm = sent.value.session.challenge.realm
        return yield* rejected(realm, sent.value.session.credentials, response)
      }
      return {
        response,
        request: transaction.request,
        transaction,
        sessions: sessionsOf(credentials)
      }
    }
  })
