/**
 * A small SIP registrar and proxy ("the PBX") for tests and demos, on any
 * `SipTransport`: the in-memory one under `TestClock`, or real UDP/TCP.
 *
 * - REGISTER (RFC 3261 §10.3): bindings per address-of-record, each expiring
 *   on Effect's `Clock` (Contact `expires`, else `Expires`, else an hour;
 *   423 below `minExpires`, capped at `maxExpires`; `Expires: 0` or `*`
 *   removes). The 200 lists every current contact with its remaining time.
 *   With `users`, digest authentication (401 with a challenge whose nonce
 *   comes from Effect's `Random`, 403 for a wrong password or for someone
 *   else's address-of-record, 401 `stale=TRUE` for an unknown nonce).
 * - Proxy (§16): a request for `user@domain` goes to that user's binding
 *   (the most preferred, then the newest): Max-Forwards decremented (483 at
 *   0), Request-URI rewritten to the contact, our Via on top. Responses go
 *   back by popping our Via. Unknown user or no binding: 404.
 * - The proxy is stateless (§16.11): it keeps no transactions, so the
 *   branch of our Via is a hash of the incoming branch. A retransmission,
 *   the CANCEL of an INVITE and the ACK of a non-2xx then carry the branch
 *   the callee's transaction expects, and a stateless proxy forwards
 *   CANCEL and ACK like any other request. Being stateless, it never forks:
 *   one binding is chosen (§16.11 allows only one target). The ACK of a
 *   final response we sent ourselves (401, 404, 483, ...) is absorbed.
 * - With `recordRoute` (the default) it adds `Record-Route` to requests that
 *   create a dialog, so in-dialog requests (ACK of a 2xx, BYE, re-INVITE)
 *   pass through it too: a request whose top Route is us loses that Route
 *   and goes to the next Route or its Request-URI (loose routing, §16.4).
 *   Without it in-dialog requests go end to end.
 * - OPTIONS for the registrar itself (no user in the Request-URI) is
 *   answered 200. Requests for other domains are refused 404: it is no
 *   open relay. Every failure while handling one message is logged, never
 *   fatal; unparseable ones the transport already answers 400.
 *
 * Our own address (Via, Record-Route) is the transport's bound address, so
 * bind a specific address, not `0.0.0.0`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, FiberMap, Layer, PubSub, Random, Redacted, Result, type Scope, Stream } from "effect"
import * as Account from "../sip/client/Account.ts"
import { computeDigest, formatNonceCount } from "../sip/auth/Digest.ts"
import { DigestAlgorithm, hashHex, parseDigestAlgorithm } from "../sip/auth/Hash.ts"
import { type AuthHeader, type Contact, formatNameAddr, type NameAddr, splitList } from "../sip/HeaderValues.ts"
import * as SIPMessage from "../sip/SIPMessage.ts"
import { formatUri, type SIPURI } from "../sip/Uri.ts"
import { validateRequest } from "../sip/Validate.ts"
import {
  type Endpoint,
  formatEndpoint,
  type IncomingMessage,
  type SendTarget,
  SipTransport
} from "../transport/SipTransport.ts"
import { TransportMode } from "../transport/TransportMode.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface RegistrarOptions {
  /** The domain served: `user@domain` is an address-of-record. The bound address is an alias. */
  readonly domain: string
  /** user → password: REGISTER (and, with `authenticateCalls`, INVITE) needs digest credentials. */
  readonly users?: Readonly<Record<string, string>> | undefined
  /** Digest realm; the domain by default. */
  readonly realm?: string | undefined
  /** Shortest registration accepted, in seconds (423 below it); default 60. */
  readonly minExpires?: number | undefined
  /** Longest registration granted, in seconds; default 3600. */
  readonly maxExpires?: number | undefined
  /** Challenges INVITEs with 407 (needs `users`). */
  readonly authenticateCalls?: boolean | undefined
  /** Adds Record-Route so in-dialog requests pass through the proxy too; default true. */
  readonly recordRoute?: boolean | undefined
}

/**
 * One contact registered for an address-of-record.
 *
 * @category models
 * @since 0.1.0
 */
export interface Binding {
  /** `sip:user@domain`. */
  readonly aor: string
  readonly contact: SIPURI
  /** `Clock` time when it lapses, in milliseconds. */
  readonly expiresAt: number
  readonly callId: string
  readonly cseq: number
  readonly q: number | undefined
  /** Where the REGISTER came from. */
  readonly source: Endpoint
}

/**
 * What the registrar did; `at` is `Clock` time in milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export type RegistrarEvent =
  | {
    readonly _tag: "Registered"
    readonly at: number
    readonly aor: string
    readonly contact: string
    readonly expires: number
    /** A refresh of a binding that existed. */
    readonly refreshed: boolean
  }
  | {
    readonly _tag: "Unregistered"
    readonly at: number
    readonly aor: string
    readonly contact: string
    readonly reason: "removed" | "expired"
  }
  | {
    readonly _tag: "Forwarded"
    readonly at: number
    readonly method: string
    /** The From URI. */
    readonly from: string
    /** The Request-URI as received. */
    readonly requestUri: string
    /** The Request-URI as forwarded. */
    readonly target: string
    readonly destination: Endpoint
  }
  | {
    readonly _tag: "Refused"
    readonly at: number
    readonly method: string
    readonly requestUri: string
    readonly status: number
    readonly reason: string
  }

/**
 * @category models
 * @since 0.1.0
 */
export interface RegistrarShape {
  readonly domain: string
  /** The transport's bound address: where phones send. */
  readonly localAddress: Endpoint
  /** Current bindings by address-of-record (`sip:user@domain`). */
  readonly bindings: Effect.Effect<ReadonlyMap<string, ReadonlyArray<Binding>>>
  /** The current bindings of `user`, most preferred first. */
  readonly lookup: (user: string) => Effect.Effect<ReadonlyArray<Binding>>
  /**
   * Events from subscription on: the stream subscribes when it starts, so
   * start it (e.g. `Effect.forkChild({ startImmediately: true })`) before
   * the traffic it should see.
   */
  readonly events: Stream.Stream<RegistrarEvent>
}

/**
 * The registrar service.
 *
 * @category services
 * @since 0.1.0
 */
export class Registrar extends Context.Service<Registrar, RegistrarShape>()("effect-voip/testing/Registrar") {}

const DEFAULT_EXPIRES = 3600
const NONCE_LIFETIME_MILLIS = 3_600_000
/** ACKs to absorb: branches of INVITEs we answered ourselves (bounded). */
const ANSWERED_MEMORY = 1024
const MAGIC_COOKIE = "z9hG4bK"

type Verdict =
  | { readonly _tag: "Ok"; readonly username: string }
  | { readonly _tag: "Challenge"; readonly stale: boolean }
  | { readonly _tag: "Forbidden" }

type Outcome = readonly [
  status: number,
  reason?: string | undefined,
  headers?: ReadonlyArray<readonly [string, string]> | undefined
]

const eqHost = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

const orderBindings = (bindings: ReadonlyArray<Binding>): ReadonlyArray<Binding> =>
  [...bindings].sort((a, b) => (b.q ?? 1) - (a.q ?? 1) || b.expiresAt - a.expiresAt)

/**
 * Runs the registrar on the transport in context until the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: RegistrarOptions): Effect.Effect<RegistrarShape, never, Scope.Scope | SipTransport> =>
  Effect.gen(function*() {
    const transport = yield* SipTransport
    const local = transport.localAddress
    const domain = options.domain
    const realm = options.realm ?? domain
    const users = options.users
    const minExpires = options.minExpires ?? 60
    const maxExpires = options.maxExpires ?? DEFAULT_EXPIRES
    const recordRoute = options.recordRoute ?? true
    const secret = (yield* Random.nextInt).toString(36)
    const events = yield* PubSub.unbounded<RegistrarEvent>()
    const timers = yield* FiberMap.make<string>()
    const table = new Map<string, Array<Binding>>()
    const nonces = new Map<string, number>()
    const answered = new Set<string>()
    const mode = transport.mode
    const ourUri = `sip:${formatEndpoint(local)}${mode === TransportMode.UDP ? "" : `;transport=${mode.value.toLowerCase()}`}`
    const branchPrefix = `${MAGIC_COOKIE}-pbx-`

    const aorOf = (user: string) => `sip:${user}@${domain}`
    const publish = (event: RegistrarEvent) => PubSub.publish(events, event)

    /** Our domain, or our own address (any port for a host match on the domain, ours for the address). */
    const isOurDomain = (uri: SIPURI): boolean => eqHost(uri.host, domain) || eqHost(uri.host, local.address)
    const isUs = (uri: SIPURI): boolean =>
      eqHost(uri.host, domain) ||
      (eqHost(uri.host, local.address) && (uri.port ?? mode.defaultPort) === local.port)

    const live = (now: number) => (binding: Binding) => binding.expiresAt > now

    const current = (aor: string, now: number): ReadonlyArray<Binding> =>
      orderBindings((table.get(aor) ?? []).filter(live(now)))

    const token = Effect.map(
      Effect.all([Random.nextInt, Random.nextInt, Random.nextInt, Random.nextInt]),
      (parts) => parts.map((n) => (n >>> 0).toString(16).padStart(8, "0")).join("")
    )

    // ---- digest ------------------------------------------------------------

    const challengeHeader = (name: "WWW-Authenticate" | "Proxy-Authenticate", stale: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        for (const [nonce, issued] of nonces) if (now - issued > NONCE_LIFETIME_MILLIS) nonces.delete(nonce)
        const nonce = yield* token
        nonces.set(nonce, now)
        const value = `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5${stale ? ", stale=TRUE" : ""}`
        return [name, value] as const
      })

    const verify = (request: SIPMessage.SIPMessage, credentials: ReadonlyArray<AuthHeader>, now: number): Verdict => {
      const mine = credentials.find((each) =>
        each.scheme.toLowerCase() === "digest" && each.params.get("realm") === realm
      )
      if (mine === undefined) return { _tag: "Challenge", stale: false }
      const param = (name: string) => mine.params.get(name) ?? ""
      const username = param("username")
      const password = users?.[username]
      const algorithm = parseDigestAlgorithm(param("algorithm") || "MD5")
      const qop = param("qop")
      if (password === undefined || algorithm === undefined || (qop !== "" && qop !== "auth")) {
        return { _tag: "Forbidden" }
      }
      const expected = computeDigest({
        algorithm,
        username,
        realm,
        password: Redacted.make(password),
        nonce: param("nonce"),
        method: request.method,
        uri: param("uri"),
        qop: qop === "auth" ? "auth" : undefined,
        nc: param("nc") || formatNonceCount(1),
        cnonce: param("cnonce"),
        entityBodyHash: ""
      }).response
      if (expected !== param("response")) return { _tag: "Forbidden" }
      const issued = nonces.get(param("nonce"))
      if (issued === undefined || now - issued > NONCE_LIFETIME_MILLIS) return { _tag: "Challenge", stale: true }
      return { _tag: "Ok", username }
    }

    /** The user a request is authenticated as, or the response that refuses it. */
    const authenticate = (
      request: SIPMessage.SIPMessage,
      proxy: boolean
    ): Effect.Effect<Result.Result<string | undefined, Outcome>> =>
      Effect.gen(function*() {
        if (users === undefined) return Result.succeed(undefined)
        const credentials = proxy ? request.proxyAuthorization : request.authorization
        const verdict = verify(request, Result.getOrElse(credentials, () => []), yield* Clock.currentTimeMillis)
        switch (verdict._tag) {
          case "Ok":
            return Result.succeed(verdict.username)
          case "Forbidden":
            return Result.fail<Outcome>([403, "Forbidden (wrong credentials)"])
          case "Challenge": {
            const header = yield* challengeHeader(proxy ? "Proxy-Authenticate" : "WWW-Authenticate", verdict.stale)
            return Result.fail<Outcome>([proxy ? 407 : 401, undefined, [header]])
          }
        }
      })

    // ---- sending -------------------------------------------------------------

    const replyTarget = (incoming: IncomingMessage): SendTarget | undefined =>
      incoming.connectionId === undefined ? undefined : { connectionId: incoming.connectionId }

    const remember = (branch: string | undefined) => {
      if (branch === undefined) return
      answered.add(branch)
      if (answered.size > ANSWERED_MEMORY) answered.delete(answered.values().next().value!)
    }

    const answer = (incoming: IncomingMessage, [status, reason, headers]: Outcome): Effect.Effect<void> =>
      Effect.gen(function*() {
        const request = incoming.message
        if (request.method === "ACK") return
        const built = SIPMessage.response(request, status, {
          toTag: yield* token,
          ...(reason === undefined ? {} : { reason }),
          ...(headers === undefined ? {} : { headers })
        })
        if (Result.isFailure(built)) return yield* Effect.logWarning(`registrar: cannot answer ${status}: ${built.failure.message}`)
        if (request.method === "INVITE") remember(request.via[0]?.branch)
        yield* transport.send(built.success, replyTarget(incoming)).pipe(
          Effect.catch((error) => Effect.logWarning(`registrar: ${status} not sent: ${error.message}`))
        )
        if (status >= 300) {
          yield* publish({
            _tag: "Refused",
            at: yield* Clock.currentTimeMillis,
            method: request.method,
            requestUri: request.requestUriText,
            status,
            reason: built.success.reason
          })
        }
      })

    // ---- registrar (§10.3) ---------------------------------------------------

    const removeBinding = (aor: string, binding: Binding, reason: "removed" | "expired") =>
      Effect.gen(function*() {
        const list = table.get(aor) ?? []
        const kept = list.filter((each) => each !== binding)
        if (kept.length === list.length) return
        if (kept.length === 0) table.delete(aor)
        else table.set(aor, kept)
        const contact = formatUri(binding.contact)
        if (reason === "removed") yield* FiberMap.remove(timers, `${aor} ${contact}`)
        yield* publish({ _tag: "Unregistered", at: yield* Clock.currentTimeMillis, aor, contact, reason })
      })

    const putBinding = (binding: Binding, previous: Binding | undefined, expires: number) =>
      Effect.gen(function*() {
        const list = (table.get(binding.aor) ?? []).filter((each) => each !== previous)
        list.push(binding)
        table.set(binding.aor, list)
        const contact = formatUri(binding.contact)
        yield* FiberMap.run(
          timers,
          `${binding.aor} ${contact}`,
          Effect.andThen(Effect.sleep(binding.expiresAt - (yield* Clock.currentTimeMillis)), removeBinding(binding.aor, binding, "expired"))
        )
        yield* publish({
          _tag: "Registered",
          at: yield* Clock.currentTimeMillis,
          aor: binding.aor,
          contact,
          expires,
          refreshed: previous !== undefined
        })
      })

    const requestedExpiry = (request: SIPMessage.SIPMessage, contact: Contact | undefined): number =>
      contact?.expires ?? Result.getOrUndefined(request.expires) ?? DEFAULT_EXPIRES

    const register = (incoming: IncomingMessage): Effect.Effect<Outcome> =>
      Effect.gen(function*() {
        const request = incoming.message
        const to = request.to!
        if (request.requestUri === undefined || !isOurDomain(request.requestUri) || !isOurDomain(to.uri)) {
          return [404, "Not Found (not our domain)"] as const
        }
        const user = to.uri.user
        if (user === undefined || user.length === 0) return [404, "Not Found (no user)"] as const
        const auth = yield* authenticate(request, false)
        if (Result.isFailure(auth)) return auth.failure
        if (auth.success !== undefined && auth.success !== user) {
          return [403, `Forbidden (${auth.success} may not register ${user})`] as const
        }
        const contacts = request.contact
        if (Result.isFailure(contacts)) return [400, "Bad Request (Contact)"] as const
        const aor = aorOf(user)
        const now = yield* Clock.currentTimeMillis
        const callId = request.callId!
        const cseq = request.cseq!.seq
        const header = contacts.success

        if (header !== undefined && header.star) {
          if (Result.getOrUndefined(request.expires) !== 0) return [400, "Bad Request (* needs Expires: 0)"] as const
          for (const binding of current(aor, now)) yield* removeBinding(aor, binding, "removed")
        } else if (header !== undefined) {
          for (const contact of header.contacts) {
            const expires = requestedExpiry(request, contact)
            if (expires > 0 && expires < minExpires) {
              return [423, undefined, [["Min-Expires", String(minExpires)]]] as const
            }
          }
          for (const contact of header.contacts) {
            const previous = current(aor, now).find((binding) =>
              Account.sameContact(binding.contact, contact.uri, mode.defaultPort)
            )
            if (previous !== undefined && previous.callId === callId && cseq < previous.cseq) {
              return [500, "Server Internal Error (CSeq out of order)"] as const
            }
            // the same CSeq again is a retransmission: answered from the current state
            if (previous !== undefined && previous.callId === callId && cseq === previous.cseq) continue
            const expires = Math.min(requestedExpiry(request, contact), maxExpires)
            if (expires === 0) {
              if (previous !== undefined) yield* removeBinding(aor, previous, "removed")
              continue
            }
            yield* putBinding(
              { aor, contact: contact.uri, expiresAt: now + expires * 1000, callId, cseq, q: contact.q, source: incoming.source },
              previous,
              expires
            )
          }
        }
        const listed = current(aor, now).map((binding) =>
          ["Contact", `<${formatUri(binding.contact)}>;expires=${Math.ceil((binding.expiresAt - now) / 1000)}`] as const
        )
        return [200, undefined, listed] as const
      })

    // ---- proxy (§16) ---------------------------------------------------------

    /** Our Via branch for a request: the same for its retransmissions, its CANCEL and its non-2xx ACK. */
    const branchFor = (request: SIPMessage.SIPMessage): string => {
      const top = request.via[0]!
      const key = top.branch?.startsWith(MAGIC_COOKIE)
        ? top.branch
        // RFC 2543 peers: the fields §16.11 lists, the method left out so CANCEL and ACK match the INVITE
        : `${request.requestUriText}|${request.from?.tag}|${request.callId}|${request.cseq?.seq}|${top.host}:${top.port}`
      return branchPrefix + hashHex(DigestAlgorithm.MD5, `${secret}|${key}|${formatEndpoint(local)}`)
    }

    const destinationOf = (uri: SIPURI) => ({ host: uri.params.get("maddr") ?? uri.host, port: uri.port ?? mode.defaultPort })

    /** Pops our own Route (§16.4); the remaining routes, or undefined when the top one was not ours. */
    const ownRoute = (request: SIPMessage.SIPMessage) => {
      const routes = Result.getOrElse(request.route, () => [])
      const top = routes[0]
      return top !== undefined && isUs(top.uri) ? routes.slice(1) : undefined
    }

    const forward = (
      incoming: IncomingMessage,
      target: SIPURI,
      routes: ReadonlyArray<NameAddr> | undefined
    ): Effect.Effect<void> =>
      Effect.gen(function*() {
        const request = incoming.message
        const hops = Result.getOrUndefined(request.maxForwards) ?? 70
        if (hops === 0) return yield* answer(incoming, [483, "Too Many Hops"])
        let headers = request.headers.with("Max-Forwards", [String(hops - 1)])
        if (routes !== undefined) {
          headers = routes.length === 0 ? headers.without("Route") : headers.with("Route", routes.map(formatNameAddr))
        }
        const dialogCreating = request.to?.tag === undefined &&
          (request.method === "INVITE" || request.method === "SUBSCRIBE" || request.method === "REFER")
        if (recordRoute && dialogCreating) {
          headers = headers.insert(Math.max(0, headers.indexOf("Record-Route", 0)), "Record-Route", [`<${ourUri};lr>`])
        }
        const via = `SIP/2.0/${mode.value} ${formatEndpoint(local)};branch=${branchFor(request)}`
        headers = headers.insert(Math.max(0, headers.indexOf("Via", 0)), "Via", [via])
        const uri = formatUri(target)
        const built = SIPMessage.request({ method: request.method, uri, headers, body: request.rawBody })
        if (Result.isFailure(built)) return yield* answer(incoming, [400, "Bad Request (cannot forward)"])
        const nextHop = routes !== undefined && routes.length > 0 ? routes[0]!.uri : target
        const destination = destinationOf(nextHop)
        const sent = yield* Effect.result(transport.send(built.success, destination))
        if (Result.isFailure(sent)) {
          yield* Effect.logWarning(`registrar: ${request.method} not forwarded: ${sent.failure.message}`)
          return yield* answer(incoming, [503, "Service Unavailable (next hop unreachable)"])
        }
        yield* publish({
          _tag: "Forwarded",
          at: yield* Clock.currentTimeMillis,
          method: request.method,
          from: request.from === undefined ? "" : formatUri(request.from.uri),
          requestUri: request.requestUriText,
          target: uri,
          destination: sent.success.destination
        })
      })

    const proxy = (incoming: IncomingMessage): Effect.Effect<void> =>
      Effect.gen(function*() {
        const request = incoming.message
        const uri = request.requestUri!
        if (request.method === "ACK" && answered.has(request.via[0]?.branch ?? "")) return
        const rejection = validateRequest(request, { role: "proxy" })
        if (rejection !== undefined) {
          return yield* answer(incoming, [rejection.status.value, rejection.reason, rejection.headers])
        }
        const routes = ownRoute(request)
        if (routes !== undefined && !isUs(uri)) return yield* forward(incoming, uri, routes)
        if (!isOurDomain(uri)) return yield* answer(incoming, [404, "Not Found (not our domain)"])
        if (request.method === "INVITE" && options.authenticateCalls === true && request.to?.tag === undefined) {
          const auth = yield* authenticate(request, true)
          if (Result.isFailure(auth)) return yield* answer(incoming, auth.failure)
        }
        const user = uri.user
        const binding = user === undefined ? undefined : current(aorOf(user), yield* Clock.currentTimeMillis)[0]
        if (binding === undefined) {
          const known = user !== undefined && (users === undefined || user in users)
          return yield* answer(incoming, [404, known ? "Not Found (not registered)" : "Not Found"])
        }
        return yield* forward(incoming, binding.contact, routes)
      })

    // ---- dispatch ------------------------------------------------------------

    /** Pops our Via off a response and sends it where the next Via says (§16.7, §16.11). */
    const relayResponse = (response: SIPMessage.SIPMessage): Effect.Effect<void> => {
      const top = response.via[0]
      const ours = top !== undefined && top.branch?.startsWith(branchPrefix) === true &&
        eqHost(top.host, local.address) && (top.port ?? mode.defaultPort) === local.port
      if (!ours || response.via.length < 2) return Effect.logDebug("registrar: response not for us dropped")
      const rest = response.headers.getAll("Via").flatMap(splitList).slice(1)
      const popped = SIPMessage.withHeader(response, "Via", rest)
      if (Result.isFailure(popped)) return Effect.logWarning(`registrar: response not relayed: ${popped.failure.message}`)
      return transport.send(popped.success).pipe(
        Effect.catch((error) => Effect.logWarning(`registrar: response not relayed: ${error.message}`)),
        Effect.asVoid
      )
    }

    const toUs = (request: SIPMessage.SIPMessage): boolean =>
      request.method === "REGISTER" ||
      (request.requestUri !== undefined && request.requestUri.user === undefined && isUs(request.requestUri) &&
        ownRoute(request) === undefined)

    const handle = (incoming: IncomingMessage): Effect.Effect<void> => {
      const message = incoming.message
      if (message.type === SIPMessage.SIPMessageType.RESPONSE) return relayResponse(message)
      if (!toUs(message)) return proxy(incoming)
      const rejection = validateRequest(message, { role: "registrar", methods: ["REGISTER", "OPTIONS", "ACK"] })
      if (rejection !== undefined) return answer(incoming, [rejection.status.value, rejection.reason, rejection.headers])
      switch (message.method) {
        case "REGISTER":
          return Effect.flatMap(register(incoming), (outcome) => answer(incoming, outcome))
        case "OPTIONS":
          return answer(incoming, [200, undefined, [["Allow", "REGISTER, OPTIONS, INVITE, ACK, CANCEL, BYE"]]])
        default:
          return Effect.void
      }
    }

    yield* transport.incoming.pipe(
      Stream.runForEach((incoming) =>
        handle(incoming).pipe(
          Effect.catchCause((cause) => Effect.logWarning("registrar: a message could not be handled", cause))
        )
      ),
      Effect.forkScoped
    )

    return Registrar.of({
      domain,
      localAddress: local,
      bindings: Effect.map(Clock.currentTimeMillis, (now) => {
        const all = new Map<string, ReadonlyArray<Binding>>()
        for (const aor of table.keys()) {
          const bindings = current(aor, now)
          if (bindings.length > 0) all.set(aor, bindings)
        }
        return all
      }),
      lookup: (user) => Effect.map(Clock.currentTimeMillis, (now) => current(aorOf(user), now)),
      events: Stream.fromPubSub(events)
    })
  })

/**
 * {@link make} as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: RegistrarOptions): Layer.Layer<Registrar, never, SipTransport> =>
  Layer.effect(Registrar, make(options))
