/**
 * Shared pieces of the SIP client tests on the in-memory network: the
 * world (network, settings, a DNS with no names), a client stack at
 * 10.0.0.1, and a scripted digest registrar whose default behaviour is the
 * lab's sipp registrar (401 with qop=auth, stale for an old nonce, 403 for a
 * wrong digest, 200 with `Contact;expires` and `Expires`) and whose next
 * answers a test can replace one by one.
 */
import { Clock, Effect, Layer, Redacted, Result, type Scope, Stream } from "effect"
import { Dns } from "effect/net"
import { type Settings, VoIPSettings } from "../../../src/Config.ts"
import { computeDigest, formatNonceCount } from "../../../src/sip/auth/Digest.ts"
import { DigestAlgorithm } from "../../../src/sip/auth/Hash.ts"
import type { AccountOptions } from "../../../src/sip/client/Account.ts"
import { SIPClient } from "../../../src/sip/client/SIPClient.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import * as MemoryTransport from "../../../src/testing/MemoryTransport.ts"
import { NAT, type NATOptions } from "../../../src/transport/Nat.ts"
import { type Endpoint, type SendTarget, SipTransport } from "../../../src/transport/SipTransport.ts"

export const CLIENT: Endpoint = { address: "10.0.0.1", port: 5060 }
export const REGISTRAR: Endpoint = { address: "10.0.0.2", port: 5060 }
export const PROXY: Endpoint = { address: "10.0.0.3", port: 5060 }
export const REALM = "test.realm"
export const PASSWORD = "alicepw"

/** Network, settings and a DNS that knows no names (every host here is an IP literal). */
export const world = (overrides: Partial<Settings> = {}) =>
  Layer.mergeAll(
    MemoryTransport.MemoryNetwork.layer,
    VoIPSettings.layerWith(overrides),
    Dns.layerStatic({ hosts: {} }).pipe(Layer.orDie)
  )

export const account = (overrides: Partial<AccountOptions> = {}): AccountOptions => ({
  server: REGISTRAR.address,
  user: "alice",
  password: PASSWORD,
  ...overrides
})

/** The layers under a client at 10.0.0.1: memory transport (optionally wrapped), transaction layer, NAT. */
export const below = (options: {
  readonly nat?: Partial<NATOptions>
  readonly wrap?: (transport: SipTransport["Service"]) => Effect.Effect<SipTransport["Service"], never, Scope.Scope>
} = {}) => {
  const transport = Layer.effect(
    SipTransport,
    Effect.flatMap(
      MemoryTransport.make({ address: CLIENT.address, port: CLIENT.port }),
      options.wrap ?? Effect.succeed
    )
  )
  const nat = NAT.layerFromTransport({ bindIp: CLIENT.address, network: "10.0.0.0/8", ...options.nat })
  return Layer.merge(TransactionLayer.layer, nat).pipe(Layer.provideMerge(transport))
}

export const clientLayer = (
  overrides: Partial<AccountOptions> = {},
  options: Parameters<typeof below>[0] = {}
) => SIPClient.layer(account(overrides)).pipe(Layer.provideMerge(below(options)))

/** What the registrar saw: each request as received, when, and what it answered (nothing when dropped). */
export interface Exchange {
  readonly at: number
  readonly request: SIPMessage.SIPMessage
  readonly response: SIPMessage.SIPMessage | undefined
}

/**
 * A one-shot answer: a response, a response sent somewhere else than its Via
 * says, "drop" (no answer), or undefined for the default behaviour.
 */
export type Override = (
  request: SIPMessage.SIPMessage
) => SIPMessage.SIPMessage | { readonly response: SIPMessage.SIPMessage; readonly target: SendTarget } | "drop" | undefined

export const reply = (
  request: SIPMessage.SIPMessage,
  status: number,
  headers: ReadonlyArray<readonly [string, string]> = []
): SIPMessage.SIPMessage => Result.getOrThrow(SIPMessage.response(request, status, { toTag: "registrar", headers }))

/** The digest parameters of a request's first Authorization or Proxy-Authorization. */
export const credentialsOf = (request: SIPMessage.SIPMessage, header: "Authorization" | "Proxy-Authorization" = "Authorization") => {
  const parsed = header === "Authorization" ? request.authorization : request.proxyAuthorization
  const first = Result.isSuccess(parsed) ? parsed.success[0] : undefined
  return first === undefined ? undefined : Object.fromEntries(first.params)
}

/** Whether a Digest answer is right for `password` (MD5, as the registrar challenges). */
export const digestIsRight = (
  request: SIPMessage.SIPMessage,
  params: Record<string, string>,
  password: string
): boolean => {
  const qop = params["qop"] === "auth" || params["qop"] === "auth-int" ? params["qop"] : undefined
  const { response } = computeDigest({
    algorithm: DigestAlgorithm.MD5,
    username: params["username"] ?? "",
    realm: params["realm"] ?? "",
    password: Redacted.make(password),
    nonce: params["nonce"] ?? "",
    method: request.method,
    uri: params["uri"] ?? "",
    qop,
    nc: params["nc"] ?? formatNonceCount(1),
    cnonce: params["cnonce"] ?? "",
    entityBodyHash: ""
  })
  return response === params["response"]
}

const requestedExpiry = (request: SIPMessage.SIPMessage): number => {
  const contacts = request.contact
  const fromContact = Result.isSuccess(contacts) && contacts.success !== undefined && !contacts.success.star
    ? contacts.success.contacts[0]?.expires
    : undefined
  const header = Result.getOrUndefined(request.expires)
  return fromContact ?? header ?? 3600
}

/**
 * A registrar at `endpoint` on the memory network, answering every REGISTER
 * as the lab's sipp registrar does unless an override takes the request.
 */
export const registrar = (options: {
  readonly endpoint?: Endpoint
  readonly password?: string
  readonly maxExpires?: number
} = {}) =>
  Effect.gen(function*() {
    const endpoint = options.endpoint ?? REGISTRAR
    const password = options.password ?? PASSWORD
    const transport = yield* MemoryTransport.make({ address: endpoint.address, port: endpoint.port })
    const log: Array<Exchange> = []
    const overrides: Array<Override | undefined> = []
    let nonce = ""
    let serial = 0

    const challenge = (request: SIPMessage.SIPMessage, stale: boolean) => {
      nonce = `nonce-${++serial}`
      const staleParam = stale ? ", stale=TRUE" : ""
      return reply(request, 401, [[
        "WWW-Authenticate",
        `Digest realm="${REALM}", nonce="${nonce}", opaque="lab-opaque"${staleParam}, qop="auth", algorithm=MD5`
      ]])
    }

    const standard = (request: SIPMessage.SIPMessage): SIPMessage.SIPMessage => {
      const params = credentialsOf(request)
      if (params === undefined) return challenge(request, false)
      if (!digestIsRight(request, params, password) || params["qop"] !== "auth" || params["opaque"] !== "lab-opaque") {
        return reply(request, 403)
      }
      if (params["nonce"] !== nonce) return challenge(request, true)
      const requested = requestedExpiry(request)
      if (requested === 0) return reply(request, 200)
      const granted = Math.min(requested, options.maxExpires ?? 3600)
      const contact = request.headers.get("Contact") ?? ""
      return reply(request, 200, [["Contact", `${contact};expires=${granted}`], ["Expires", String(granted)]])
    }

    const answer = (request: SIPMessage.SIPMessage, response: SIPMessage.SIPMessage | undefined, target?: SendTarget) =>
      Effect.gen(function*() {
        log.push({ at: yield* Clock.currentTimeMillis, request, response })
        if (response !== undefined) yield* Effect.ignore(transport.send(response, target))
      })

    yield* transport.incoming.pipe(
      Stream.runForEach(({ message }) => {
        if (message.type !== SIPMessage.SIPMessageType.REQUEST) return Effect.void
        if (message.method === "ACK") return answer(message, undefined)
        const override = overrides.shift()?.(message)
        if (override === "drop") return answer(message, undefined)
        if (override !== undefined && "target" in override) return answer(message, override.response, override.target)
        return answer(message, override ?? standard(message))
      }),
      Effect.forkScoped
    )

    return {
      transport,
      /** Every request received so far, retransmissions included. */
      log: () => log.slice(),
      /** The requests of `method`, one per transaction (retransmissions left out). */
      requests: (method = "REGISTER") => {
        const seen = new Set<string>()
        return log.filter(({ request }) => {
          const branch = request.via[0]?.branch ?? ""
          if (request.method !== method || seen.has(branch)) return false
          seen.add(branch)
          return true
        })
      },
      /** Replaces the answers to the next requests, one override each (undefined: the default answer). */
      next: (...answers: ReadonlyArray<Override | undefined>) => Effect.sync(() => void overrides.push(...answers)),
      /** The default answer, for overrides that edit it. */
      standard,
      currentNonce: () => nonce,
      /** Forgets the current nonce: credentials for it are now stale. */
      expireNonce: Effect.sync(() => {
        nonce = `nonce-${++serial}`
      })
    }
  })

export type Registrar = Effect.Success<ReturnType<typeof registrar>>

/** Lets the fibers already woken run to their next wait; the clock does not move. */
export const settle = Effect.repeat(Effect.yieldNow, { times: 50 })

export const statusCode = (message: SIPMessage.SIPMessage | undefined): number =>
  message === undefined || message.status === 0 ? 0 : message.status.value

export const headerOf = (message: SIPMessage.SIPMessage, name: string): string => message.headers.get(name) ?? ""
