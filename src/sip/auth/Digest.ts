/**
 * The client side of SIP authentication: answering the challenges of a 401 (WWW-Authenticate)
 * or 407 (Proxy-Authenticate) with Digest (RFC 2617, RFC 7616, RFC 8760, RFC 3261 §22) or, when
 * the settings allow it, Basic.
 *
 * The core is pure: parsed challenges, credentials, the request and a cnonce go in, the
 * credentials header comes out together with an immutable {@link AuthSession} that remembers the
 * nonce and its count, so the next request (a registration refresh) can be authorized
 * pre-emptively with {@link authorizeAgain}.
 *
 * @since 0.1.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Effect, Redacted, Result, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { type AuthHeader, formatAuth } from "../HeaderValues.ts"
import {
  algorithmStrength,
  DigestAlgorithm,
  hashHex,
  isMd5Algorithm,
  isSessionAlgorithm,
  parseDigestAlgorithm
} from "./Hash.ts"

/**
 * A username and its password. The password stays {@link Redacted} so printing, logging or
 * serializing the credentials never reveals it.
 *
 * @category models
 * @since 0.1.0
 */
export interface UserCredentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * The header a challenge arrived in: `WWW-Authenticate` (401, from the UAS or registrar) or
 * `Proxy-Authenticate` (407, from a proxy).
 *
 * @category models
 * @since 0.1.0
 */
export type ChallengeHeader = "WWW-Authenticate" | "Proxy-Authenticate"

/**
 * The header that answers a challenge (RFC 3261 §22.2, §22.3).
 *
 * @category models
 * @since 0.1.0
 */
export type CredentialsHeaderName = "Authorization" | "Proxy-Authorization"

/**
 * @category models
 * @since 0.1.0
 */
export const credentialsHeaderFor = (header: ChallengeHeader): CredentialsHeaderName =>
  header === "WWW-Authenticate" ? "Authorization" : "Proxy-Authorization"

/**
 * The quality of protection: `auth` covers method and URI, `auth-int` the body too.
 *
 * @category models
 * @since 0.1.0
 */
export type Qop = "auth" | "auth-int"

/**
 * A Digest challenge, validated.
 *
 * @category models
 * @since 0.1.0
 */
export interface DigestChallenge {
  readonly _tag: "DigestChallenge"
  readonly header: ChallengeHeader
  readonly realm: string
  readonly nonce: string
  /** MD5 when the challenge names none. */
  readonly algorithm: DigestAlgorithm
  /** The supported qop values offered; empty means RFC 2069 mode (no qop, no nc, no cnonce). */
  readonly qop: ReadonlyArray<Qop>
  readonly opaque: string | undefined
  /** The previous nonce expired but the credentials were right: retry, it is no failure. */
  readonly stale: boolean
  /** RFC 7616 §3.4.4: send H(username ":" realm) instead of the username. */
  readonly userhash: boolean
}

/**
 * A Basic challenge (RFC 7617); answered only when `allowBasicAuth` is on.
 *
 * @category models
 * @since 0.1.0
 */
export interface BasicChallenge {
  readonly _tag: "BasicChallenge"
  readonly header: ChallengeHeader
  readonly realm: string
}

/**
 * @category models
 * @since 0.1.0
 */
export type Challenge = DigestChallenge | BasicChallenge

/**
 * Which challenges may be answered. Its first two fields have the names of the settings
 * (`ALLOW_BASIC_AUTH`, `ALLOW_MD5_AUTH`), so the settings value can be passed as it is.
 *
 * @category models
 * @since 0.1.0
 */
export interface AuthPolicy {
  readonly allowBasicAuth: boolean
  readonly allowMd5Auth: boolean
  /** Choose `auth-int` over `auth` when a challenge offers both (default: `auth`). */
  readonly preferAuthInt?: boolean
}

/**
 * The parts of the request a digest covers.
 *
 * @category models
 * @since 0.1.0
 */
export interface AuthRequest {
  readonly method: string
  /** The Request-URI, exactly as it is sent. */
  readonly uri: string
  /** The message body octets (hashed by `auth-int`); none means empty. */
  readonly body?: Uint8Array
}

/**
 * What was last sent for one Digest challenge: the nonce, the cnonce and the nonce count used.
 *
 * @category models
 * @since 0.1.0
 */
export interface DigestSession {
  readonly _tag: "DigestSession"
  readonly challenge: DigestChallenge
  readonly credentials: UserCredentials
  readonly qop: Qop | undefined
  readonly cnonce: string
  /** The `nc` of the last authorization sent under this nonce (1 for the first). */
  readonly nonceCount: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface BasicSession {
  readonly _tag: "BasicSession"
  readonly challenge: BasicChallenge
  readonly credentials: UserCredentials
}

/**
 * @category models
 * @since 0.1.0
 */
export type AuthSession = DigestSession | BasicSession

/**
 * A header to add to the retried request, and the session to keep for the next one.
 *
 * @category models
 * @since 0.1.0
 */
export interface CredentialsHeader {
  readonly name: CredentialsHeaderName
  readonly value: string
  readonly session: AuthSession
}

/**
 * A challenge that lacks what its scheme requires (a Digest challenge without realm or nonce).
 *
 * @category errors
 * @since 0.1.0
 */
export class MalformedChallengeError extends Schema.TaggedError<MalformedChallengeError>()("MalformedChallengeError", {
  header: Schema.Literals(["WWW-Authenticate", "Proxy-Authenticate"]),
  reason: Schema.String
}) {
  override get message(): string {
    return `malformed ${this.header} challenge: ${this.reason}`
  }
}

/**
 * No challenge can be answered: an unknown scheme, algorithm or qop, or one the settings forbid
 * (Basic without `ALLOW_BASIC_AUTH`, MD5 without `ALLOW_MD5_AUTH`).
 *
 * @category errors
 * @since 0.1.0
 */
export class UnsupportedAuthError extends Schema.TaggedError<UnsupportedAuthError>()("UnsupportedAuthError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot authenticate: ${this.reason}`
  }
}

// Echoed values and the username go inside a quoted-string, which cannot carry these (RFC 3261 §25.1).
const controlCharacter = /[\x00-\x08\x0a-\x1f\x7f]/

const isTrue = (value: string | undefined): boolean => value !== undefined && value.trim().toLowerCase() === "true"

const parseQop = (
  value: string | undefined,
  header: ChallengeHeader
): Result.Result<ReadonlyArray<Qop>, UnsupportedAuthError> => {
  const offered = (value ?? "").split(",").map((token) => token.trim().toLowerCase()).filter((token) => token !== "")
  const supported = offered.filter((token): token is Qop => token === "auth" || token === "auth-int")
  return offered.length > 0 && supported.length === 0
    ? Result.fail(new UnsupportedAuthError({ reason: `${header} offers only unsupported qop "${value}"` }))
    : Result.succeed(supported)
}

/**
 * Validates one challenge from a 401 or 407.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseChallenge = (
  auth: AuthHeader,
  header: ChallengeHeader
): Result.Result<Challenge, MalformedChallengeError | UnsupportedAuthError> => {
  const scheme = auth.scheme.toLowerCase()
  const realm = auth.params.get("realm")
  if (scheme === "basic") {
    return realm === undefined
      ? Result.fail(new MalformedChallengeError({ header, reason: "Basic challenge without realm" }))
      : Result.succeed({ _tag: "BasicChallenge", header, realm })
  }
  if (scheme !== "digest") {
    return Result.fail(new UnsupportedAuthError({ reason: `${header} uses the unsupported scheme "${auth.scheme}"` }))
  }
  const nonce = auth.params.get("nonce")
  if (realm === undefined) return Result.fail(new MalformedChallengeError({ header, reason: "Digest challenge without realm" }))
  if (nonce === undefined) return Result.fail(new MalformedChallengeError({ header, reason: "Digest challenge without nonce" }))
  const opaque = auth.params.get("opaque")
  for (const [name, value] of Object.entries({ realm, nonce, opaque })) {
    if (value !== undefined && controlCharacter.test(value)) {
      return Result.fail(new MalformedChallengeError({ header, reason: `control character in ${name}` }))
    }
  }
  const algorithmToken = auth.params.get("algorithm")
  const algorithm = algorithmToken === undefined ? DigestAlgorithm.MD5 : parseDigestAlgorithm(algorithmToken)
  if (algorithm === undefined) {
    return Result.fail(new UnsupportedAuthError({ reason: `${header} uses the unsupported algorithm "${algorithmToken}"` }))
  }
  return Result.map(parseQop(auth.params.get("qop"), header), (qop): Challenge => ({
    _tag: "DigestChallenge",
    header,
    realm,
    nonce,
    algorithm,
    qop,
    opaque,
    stale: isTrue(auth.params.get("stale")),
    userhash: isTrue(auth.params.get("userhash"))
  }))
}

const checkPolicy = (challenge: Challenge, policy: AuthPolicy): Result.Result<Challenge, UnsupportedAuthError> => {
  if (challenge._tag === "BasicChallenge") {
    return policy.allowBasicAuth
      ? Result.succeed(challenge)
      : Result.fail(new UnsupportedAuthError({ reason: "Basic authentication is disabled (ALLOW_BASIC_AUTH)" }))
  }
  return isMd5Algorithm(challenge.algorithm) && !policy.allowMd5Auth
    ? Result.fail(
      new UnsupportedAuthError({ reason: `${challenge.algorithm} digest is disabled (ALLOW_MD5_AUTH)` })
    )
    : Result.succeed(challenge)
}

const strength = (challenge: Challenge): number =>
  challenge._tag === "BasicChallenge" ? 0 : algorithmStrength(challenge.algorithm)

/**
 * Picks the challenges to answer: for each realm the strongest one the policy allows
 * (SHA-512-256 > SHA-256 > MD5 > Basic; among equals the one offered first, as RFC 7616 §3.7
 * orders them by preference), in the order the realms first appear. Several realms happen when
 * forking proxies each challenge (RFC 3261 §22.3); each gets its own header.
 *
 * @category choosing
 * @since 0.1.0
 */
export const selectChallenges = (
  headers: ReadonlyArray<AuthHeader>,
  header: ChallengeHeader,
  policy: AuthPolicy
): Result.Result<NonEmptyReadonlyArray<Challenge>, UnsupportedAuthError> => {
  const bestPerRealm = new Map<string, Challenge>()
  const rejected: Array<string> = []
  for (const auth of headers) {
    const checked = Result.flatMap(parseChallenge(auth, header), (challenge) => checkPolicy(challenge, policy))
    if (Result.isFailure(checked)) {
      const error = checked.failure
      rejected.push(error._tag === "UnsupportedAuthError" ? error.reason : error.message)
      continue
    }
    const challenge = checked.success
    const best = bestPerRealm.get(challenge.realm)
    if (best === undefined || strength(challenge) > strength(best)) bestPerRealm.set(challenge.realm, challenge)
  }
  const [first, ...rest] = bestPerRealm.values()
  if (first !== undefined) return Result.succeed([first, ...rest])
  return Result.fail(
    new UnsupportedAuthError({
      reason: rejected.length === 0 ? `no ${header} challenge` : `no usable ${header} challenge: ${rejected.join("; ")}`
    })
  )
}

/**
 * Whether a challenge only says the nonce expired (`stale=true`): the caller retries with the
 * new nonce and does not count it as a failed attempt.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isStale = (challenge: Challenge): boolean => challenge._tag === "DigestChallenge" && challenge.stale

/**
 * The inputs of one digest computation, every value exactly as it is sent.
 *
 * @category models
 * @since 0.1.0
 */
export interface DigestComputation {
  readonly algorithm: DigestAlgorithm
  readonly username: string
  readonly realm: string
  readonly password: Redacted.Redacted<string>
  readonly nonce: string
  readonly method: string
  readonly uri: string
  readonly qop: Qop | undefined
  /** Eight hex digits; unused without qop. */
  readonly nc: string
  /** Used with a qop and by the `-sess` algorithms. */
  readonly cnonce: string
  /** H(entity-body) for `auth-int`, from {@link entityBodyHash}. */
  readonly entityBodyHash: string
}

/**
 * @category models
 * @since 0.1.0
 */
export interface DigestValues {
  readonly ha1: string
  readonly ha2: string
  readonly response: string
}

/**
 * H(entity-body) over the exact body octets, as `auth-int` needs it.
 *
 * @category digest
 * @since 0.1.0
 */
export const entityBodyHash = (algorithm: DigestAlgorithm, body: Uint8Array): string => hashHex(algorithm, body)

/**
 * HA1, HA2 and the response (RFC 7616 §3.4.1-3.4.3, RFC 2069 when there is no qop).
 *
 * @category digest
 * @since 0.1.0
 */
export const computeDigest = (input: DigestComputation): DigestValues => {
  const H = (data: string) => hashHex(input.algorithm, data)
  const userKey = H(`${input.username}:${input.realm}:${Redacted.value(input.password)}`)
  const ha1 = isSessionAlgorithm(input.algorithm) ? H(`${userKey}:${input.nonce}:${input.cnonce}`) : userKey
  const ha2 = input.qop === "auth-int"
    ? H(`${input.method}:${input.uri}:${input.entityBodyHash}`)
    : H(`${input.method}:${input.uri}`)
  const response = input.qop === undefined
    ? H(`${ha1}:${input.nonce}:${ha2}`)
    : H(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`)
  return { ha1, ha2, response }
}

/**
 * The `nc` parameter: the count as eight lower-case hex digits.
 *
 * @category digest
 * @since 0.1.0
 */
export const formatNonceCount = (count: number): string => count.toString(16).padStart(8, "0")

/**
 * A fresh client nonce: 128 random bits as hex (hex keeps it safe inside any quoted-string).
 *
 * @category digest
 * @since 0.1.0
 */
export const randomCnonce: Effect.Effect<string> = Effect.sync(() => randomBytes(16).toString("hex"))

const digestHeader = (session: DigestSession, request: AuthRequest): CredentialsHeader => {
  const { challenge, cnonce, credentials, nonceCount, qop } = session
  const nc = formatNonceCount(nonceCount)
  const { response } = computeDigest({
    algorithm: challenge.algorithm,
    username: credentials.username,
    realm: challenge.realm,
    password: credentials.password,
    nonce: challenge.nonce,
    method: request.method,
    uri: request.uri,
    qop,
    nc,
    cnonce,
    entityBodyHash: qop === "auth-int" ? entityBodyHash(challenge.algorithm, request.body ?? new Uint8Array()) : ""
  })
  const params = new Map<string, string>([
    [
      "username",
      challenge.userhash ? hashHex(challenge.algorithm, `${credentials.username}:${challenge.realm}`) : credentials.username
    ],
    ["realm", challenge.realm],
    ["nonce", challenge.nonce],
    ["uri", request.uri],
    ["response", response],
    ["algorithm", challenge.algorithm]
  ])
  if (qop !== undefined || isSessionAlgorithm(challenge.algorithm)) params.set("cnonce", cnonce)
  if (challenge.opaque !== undefined) params.set("opaque", challenge.opaque)
  if (qop !== undefined) {
    params.set("qop", qop)
    params.set("nc", nc)
  }
  if (challenge.userhash) params.set("userhash", "true")
  return {
    name: credentialsHeaderFor(challenge.header),
    // formatAuth quotes what RFC 7616 §3.4 quotes in credentials: not algorithm, qop, nc, userhash.
    value: formatAuth({ scheme: "Digest", params, token68: undefined }),
    session
  }
}

const basicHeader = (session: BasicSession): CredentialsHeader => {
  const userPass = `${session.credentials.username}:${Redacted.value(session.credentials.password)}`
  return {
    name: credentialsHeaderFor(session.challenge.header),
    value: formatAuth({
      scheme: "Basic",
      params: new Map(),
      token68: Buffer.from(userPass, "utf8").toString("base64")
    }),
    session
  }
}

const chooseQop = (offered: ReadonlyArray<Qop>, policy: AuthPolicy): Qop | undefined => {
  if (policy.preferAuthInt === true && offered.includes("auth-int")) return "auth-int"
  return offered.includes("auth") ? "auth" : offered[0]
}

const continuesSession = (previous: AuthSession | undefined, challenge: DigestChallenge): previous is DigestSession =>
  previous?._tag === "DigestSession" &&
  previous.challenge.header === challenge.header &&
  previous.challenge.realm === challenge.realm &&
  previous.challenge.nonce === challenge.nonce &&
  previous.challenge.algorithm === challenge.algorithm

/**
 * @category models
 * @since 0.1.0
 */
export interface AuthorizeOptions {
  readonly policy: AuthPolicy
  /** The client nonce for a new nonce, e.g. from {@link randomCnonce}. */
  readonly cnonce: string
  /**
   * The session of the last answer for this realm. When the challenge repeats its nonce, the
   * count goes on from it (servers reject a nonce count that goes back) with its cnonce.
   */
  readonly previous?: AuthSession | undefined
}

/**
 * Answers one challenge (from {@link selectChallenges}) for a request. A new nonce starts its
 * count at 1.
 *
 * @category authorizing
 * @since 0.1.0
 */
export const authorize = (
  challenge: Challenge,
  credentials: UserCredentials,
  request: AuthRequest,
  options: AuthorizeOptions
): Result.Result<CredentialsHeader, UnsupportedAuthError> =>
  Result.flatMap(checkPolicy(challenge, options.policy), (allowed) => {
    if (controlCharacter.test(credentials.username)) {
      return Result.fail(new UnsupportedAuthError({ reason: "the username contains a control character" }))
    }
    if (allowed._tag === "BasicChallenge") {
      return credentials.username.includes(":")
        ? Result.fail(new UnsupportedAuthError({ reason: "a Basic user-id cannot contain ':' (RFC 7617 §2)" }))
        : Result.succeed(basicHeader({ _tag: "BasicSession", challenge: allowed, credentials }))
    }
    const { previous } = options
    const session: DigestSession = continuesSession(previous, allowed)
      ? { ...previous, challenge: allowed, credentials, nonceCount: previous.nonceCount + 1 }
      : {
        _tag: "DigestSession",
        challenge: allowed,
        credentials,
        qop: chooseQop(allowed.qop, options.policy),
        cnonce: options.cnonce,
        nonceCount: 1
      }
    return Result.succeed(digestHeader(session, request))
  })

/**
 * Authorizes another request under the last challenge without waiting for a new one: the same
 * nonce with the count one higher (Basic repeats itself). A registration refresh uses this so it
 * normally needs no extra round trip.
 *
 * @category authorizing
 * @since 0.1.0
 */
export const authorizeAgain = (session: AuthSession, request: AuthRequest): CredentialsHeader =>
  session._tag === "BasicSession"
    ? basicHeader(session)
    : digestHeader({ ...session, nonceCount: session.nonceCount + 1 }, request)

/**
 * @category models
 * @since 0.1.0
 */
export interface AnswerOptions {
  readonly policy: AuthPolicy
  readonly cnonce: string
  /** The credentials for a realm, e.g. from the CredentialsManager. */
  readonly credentialsFor: (realm: string) => UserCredentials
  /** The sessions of the previous answer, so a repeated nonce keeps counting. */
  readonly previous?: ReadonlyArray<AuthSession> | undefined
}

/**
 * Answers a 401 or 407: the challenges of one header kind, selected per realm
 * ({@link selectChallenges}), each answered with the realm's credentials. The result holds one
 * header per realm, in order.
 *
 * @category authorizing
 * @since 0.1.0
 */
export const answerChallenges = (
  headers: ReadonlyArray<AuthHeader>,
  header: ChallengeHeader,
  request: AuthRequest,
  options: AnswerOptions
): Result.Result<NonEmptyReadonlyArray<CredentialsHeader>, UnsupportedAuthError> =>
  Result.flatMap(selectChallenges(headers, header, options.policy), ([first, ...rest]) => {
    const answer = (challenge: Challenge) =>
      authorize(challenge, options.credentialsFor(challenge.realm), request, {
        policy: options.policy,
        cnonce: options.cnonce,
        previous: options.previous?.find((session) => session.challenge.realm === challenge.realm)
      })
    return Result.flatMap(answer(first), (firstHeader) =>
      Result.map(Result.all(rest.map(answer)), (restHeaders): NonEmptyReadonlyArray<CredentialsHeader> => [
        firstHeader,
        ...restHeaders
      ]))
  })
