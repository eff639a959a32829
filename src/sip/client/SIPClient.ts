/**
 * pyVoIP's `SIPClient` as an Effect service: one SIP account on one
 * transport. Building its layer starts registering (unless the account
 * says `register: false`); closing it deregisters, before the transaction
 * layer and the transport below it close, since they are its dependencies.
 *
 * The service is what the phone, its calls and MESSAGE build on:
 * - `status` / `statusChanges`: the {@link PhoneStatus}, as a value and as
 *   a stream of changes;
 * - `registered` (the first registration) and `fatal` (the registration
 *   failed for good, pyVoIP's `fatal_callback`);
 * - `createRequest` builds a request outside any dialog, `request` starts a
 *   plain client transaction and `sendAuthenticated` one that answers
 *   401/407 challenges; both go through the outbound proxy when there is
 *   one;
 * - `incoming`: the requests other parties send us, for one consumer.
 *
 * Replace it with any `Layer` of `SIPClient` (a test double, another
 * registration policy). Without registration (peer-to-peer), the client
 * listens on its bound address and reports `REGISTERED` at once, so code
 * waiting for `REGISTERED` runs unchanged; nothing is sent on close.
 *
 * Our Contact address comes from the `NAT` service; when it has none (or
 * the socket is bound to `0.0.0.0` / `::`) the public address learned from
 * the `received`/`rport` of responses is used, else the bound address.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Result, type Scope, type Stream, SubscriptionRef } from "effect"
import { type Dns, NetAddress } from "effect/net"
import { VoIPSettings } from "../../Config.ts"
import { NAT, type NATError } from "../../transport/Nat.ts"
import { localAddressToward } from "../../transport/Route.ts"
import { type Destination, type Endpoint, SipTransport, SipTransportError } from "../../transport/SipTransport.ts"
import * as Tcp from "../../transport/Tcp.ts"
import * as Tls from "../../transport/Tls.ts"
import { TransportMode } from "../../transport/TransportMode.ts"
import * as Udp from "../../transport/Udp.ts"
import { newCallId, newTag, requestNextHop } from "../dialog/Dialog.ts"
import type * as SIPMessage from "../SIPMessage.ts"
import type { SIPParseError } from "../SIPParseError.ts"
import type { ClientTransaction } from "../transaction/ClientTransaction.ts"
import type { TransactionRequestError } from "../transaction/TransactionError.ts"
import * as TransactionLayer from "../transaction/TransactionLayer.ts"
import { formatUri, type SIPURI } from "../Uri.ts"
import * as Account from "./Account.ts"
import {
  type AuthenticatedResponse,
  type Authenticator,
  sendAuthenticated,
  type SendAuthenticatedError,
  type SendOptions
} from "./Authenticated.ts"
import { PhoneStatus, setStatus } from "./PhoneStatus.ts"
import * as Registration from "./Registration.ts"

/**
 * What a request built by `createRequest` carries besides its method and
 * target.
 *
 * @category models
 * @since 0.1.0
 */
export interface CreateRequestInit {
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined
  readonly body?: SIPMessage.Body | undefined
  readonly contentType?: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SendAuthenticatedOptions extends Omit<SendOptions, "destination"> {
  /** Where to send; by default the outbound proxy, else the request's first Route or its Request-URI. */
  readonly destination?: Destination | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SIPClientShape {
  readonly account: Account.Account
  /** The transaction layer (and through it, `transport`) the client sends on. */
  readonly transactions: TransactionLayer.TransactionLayerShape
  readonly status: Effect.Effect<PhoneStatus>
  /** The current status, then every change. */
  readonly statusChanges: Stream.Stream<PhoneStatus>
  /** Completes once registered (at once without registration); fails if the registration fails for good first. */
  readonly registered: Effect.Effect<void, Registration.RegistrationError>
  /** Fails when the registration fails for good; never completes otherwise. */
  readonly fatal: Effect.Effect<never, Registration.RegistrationError>
  /** Our Contact URI for a peer at `host` (NAT rules, learned public address). */
  readonly contactFor: (host: string) => Effect.Effect<SIPURI>
  /**
   * A request outside any dialog to `target` (a URI, or a user at our
   * server): new Call-ID and From tag, CSeq 1, the outbound proxy's Route,
   * our Contact for dialog-creating methods.
   */
  readonly createRequest: (
    method: string,
    target: string,
    init?: CreateRequestInit
  ) => Effect.Effect<SIPMessage.SIPMessage, SIPParseError | Account.AccountSettingsError>
  /** Starts a client transaction, by default to the outbound proxy, else the request's next hop. */
  readonly request: (
    message: SIPMessage.SIPMessage,
    destination?: Destination
  ) => Effect.Effect<ClientTransaction, TransactionRequestError | SipTransportError>
  /** Sends with authentication (see `Authenticated`), routed as `request`. */
  readonly sendAuthenticated: (
    message: SIPMessage.SIPMessage,
    options?: SendAuthenticatedOptions
  ) => Effect.Effect<AuthenticatedResponse, SendAuthenticatedError | SipTransportError>
  /** Requests and stray messages from other parties, for one consumer (the phone). */
  readonly incoming: Stream.Stream<TransactionLayer.TransactionUserEvent>
}

/**
 * The SIP client service.
 *
 * @category services
 * @since 0.1.0
 */
export class SIPClient extends Context.Service<SIPClient, SIPClientShape>()("effect-voip/SIPClient") {
  /** The client over the transaction layer, NAT and settings in context. */
  static readonly layer = (
    options: Account.AccountOptions
  ): Layer.Layer<SIPClient, Account.AccountSettingsError, TransactionLayer.TransactionLayer | NAT | VoIPSettings> =>
    Layer.effect(SIPClient, make(options))

  /**
   * The client with everything below it ({@link SIPClient.layerNetwork}),
   * all in one layer that also provides them (the phone needs the
   * transport for its calls).
   */
  static readonly layerStack = (
    options: StackOptions
  ): Layer.Layer<
    SIPClient | TransactionLayer.TransactionLayer | NAT | SipTransport,
    Account.AccountSettingsError | SipTransportError | NATError,
    VoIPSettings | Dns.Dns
  > => SIPClient.layer(options).pipe(Layer.provideMerge(SIPClient.layerNetwork(options)))

  /**
   * What the client runs on: the transport (bound as `bind` says), the
   * transaction layer and NAT.
   */
  static readonly layerNetwork = (
    options: Omit<StackOptions, keyof Account.AccountOptions>
  ): Layer.Layer<TransactionLayer.TransactionLayer | NAT | SipTransport, SipTransportError | NATError, VoIPSettings | Dns.Dns> => {
    const bind: Udp.BindOptions = { host: options.bind?.host ?? "0.0.0.0", port: options.bind?.port }
    const mode = options.transport ?? TransportMode.UDP
    const transport = mode === TransportMode.UDP
      ? Udp.layer(bind)
      : mode === TransportMode.TCP
      ? Tcp.layer(bind)
      : Tls.layer({ ...options.tls, ...bind })
    const nat = NAT.layerFromTransport({
      bindIp: bind.host,
      network: options.nat?.network ?? (bind.host.includes(":") ? "::/0" : "0.0.0.0/0"),
      hostname: options.nat?.hostname,
      remoteHostname: options.nat?.remoteHostname
    })
    return Layer.merge(TransactionLayer.layer, nat).pipe(Layer.provideMerge(transport))
  }
}

/**
 * The account plus the socket and NAT settings of {@link SIPClient.layerStack}.
 *
 * @category models
 * @since 0.1.0
 */
export interface StackOptions extends Account.AccountOptions {
  /** UDP by default. */
  readonly transport?: TransportMode | undefined
  /** Where to bind: `0.0.0.0` and an ephemeral port by default. */
  readonly bind?: Account.HostPort | undefined
  /** Certificates and trust for TLS. */
  readonly tls?: Omit<Tls.TlsOptions, "host" | "port"> | undefined
  /** pyVoIP's NAT settings; `network` defaults to every address of the bind family. */
  readonly nat?: {
    readonly network?: string | undefined
    readonly hostname?: string | undefined
    readonly remoteHostname?: string | undefined
  } | undefined
}

const isUnspecified = (address: string): boolean => {
  const ip = NetAddress.ipFromString(address)
  return Result.isSuccess(ip) && NetAddress.isUnspecified(ip.success)
}

/**
 * Builds the client in the current scope and starts registering.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Account.AccountOptions
): Effect.Effect<
  SIPClientShape,
  Account.AccountSettingsError,
  Scope.Scope | TransactionLayer.TransactionLayer | NAT | VoIPSettings
> =>
  Effect.gen(function*() {
    const transactions = yield* TransactionLayer.TransactionLayer
    const nat = yield* NAT
    const settings = yield* VoIPSettings
    const transport = transactions.transport
    const account = yield* Effect.fromResult(Account.resolve(options, transport.mode))
    const localHost = transport.localAddress.address
    const status = yield* SubscriptionRef.make<PhoneStatus>(PhoneStatus.INACTIVE)
    const authenticator: Authenticator = { transactions, credentials: account.credentials, policy: settings }

    // Bound to the wildcard address, with no address learned from a response (rport, received): the
    // address the routing table picks toward the peer, as no peer can reach 0.0.0.0.
    const fallbackAddress = (host: string): Effect.Effect<Endpoint> =>
      Effect.flatMap(SubscriptionRef.get(transport.publicAddress), (learned) => {
        if (Option.isSome(learned)) return Effect.succeed(learned.value)
        if (!isUnspecified(transport.localAddress.address)) return Effect.succeed(transport.localAddress)
        return Effect.map(localAddressToward(host), (address) =>
          Option.match(address, {
            onNone: () => transport.localAddress,
            onSome: (address) => ({ address, port: transport.localAddress.port })
          }))
      })
    const contactEndpoint = (host: string): Effect.Effect<Endpoint> =>
      nat.contactAddress(host, transport.localAddress.port).pipe(
        Effect.flatMap((endpoint) => isUnspecified(endpoint.address) ? fallbackAddress(host) : Effect.succeed(endpoint)),
        Effect.catch(() => fallbackAddress(host))
      )
    const contactFor = (host: string) => Effect.map(contactEndpoint(host), (endpoint) => Account.contactUri(account, endpoint))

    const registration = account.register
      ? yield* Registration.start({
        account,
        authenticator,
        settings,
        contact: contactFor(account.server!),
        localHost,
        status
      })
      : yield* peerToPeer(status)

    const destinationFor = (message: SIPMessage.SIPMessage, destination: Destination | undefined) => {
      const hop = destination ?? account.outboundProxy ?? requestNextHop(message)
      return hop === undefined
        ? Effect.fail(
          new SipTransportError({
            reason: "NoDestination",
            target: message.requestUriText,
            detail: "the Request-URI is not a SIP URI and there is no Route or outbound proxy"
          })
        )
        : Effect.succeed(hop)
    }

    const createRequest = (method: string, target: string, init: CreateRequestInit = {}) =>
      Effect.gen(function*() {
        const uri = yield* Effect.fromResult(Account.targetUri(account, target))
        const contact = yield* contactFor(uri.host)
        return yield* Effect.fromResult(
          Account.outOfDialogRequest(account, {
            method,
            target: uri,
            callId: newCallId(localHost),
            fromTag: newTag(),
            cseq: 1,
            contact,
            headers: init.headers,
            body: init.body,
            contentType: init.contentType
          })
        )
      })

    yield* Effect.logDebug(`SIP client for ${formatUri(Account.addressOfRecord(account, localHost))} started`)

    return {
      account,
      transactions,
      status: SubscriptionRef.get(status),
      statusChanges: SubscriptionRef.changes(status),
      registered: registration.registered,
      fatal: registration.fatal,
      contactFor,
      createRequest,
      request: (message, destination) =>
        Effect.flatMap(destinationFor(message, destination), (hop) => transactions.request(message, hop)),
      sendAuthenticated: (message, sendOptions = {}) =>
        Effect.flatMap(destinationFor(message, sendOptions.destination), (hop) =>
          sendAuthenticated(authenticator, message, {
            destination: hop,
            sessions: sendOptions.sessions,
            onTransaction: sendOptions.onTransaction
          })),
      incoming: transactions.incoming
    }
  })

/** No registration: ready at once; stopping only changes the status. */
const peerToPeer = (status: SubscriptionRef.SubscriptionRef<PhoneStatus>) =>
  Effect.gen(function*() {
    yield* setStatus(status, PhoneStatus.REGISTERED)
    yield* Effect.addFinalizer(() =>
      Effect.andThen(
        setStatus(status, PhoneStatus.DEREGISTERING),
        setStatus(status, PhoneStatus.INACTIVE)
      )
    )
    const registration: Registration.Registration = { registered: Effect.void, fatal: Effect.never }
    return registration
  })
