/**
 * pyVoIP's `NAT`: which host name we give a peer so it can reach us. Peers
 * inside `network` get `hostname` (the bind address by default); peers outside
 * it get `remoteHostname`, and without one there is no return path, which is a
 * {@link NATError}. `checkHost` tells whether a host is us (`LOCAL`) or a peer
 * (`REMOTE`). IPv6 addresses and networks work like IPv4 ones; host names are
 * resolved with the `Dns` service (the operating system resolver in
 * `NodeDns.layer`).
 *
 * Beyond pyVoIP, `contactAddress` also uses the public address a transport
 * learned from the `received`/`rport` of responses (RFC 3581) when no
 * `remoteHostname` is configured.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Result, Schema, SubscriptionRef } from "effect"
import { Dns, IpNetwork, NetAddress } from "effect/net"
import type { Endpoint } from "./SipTransport.ts"
import { SipTransport } from "./SipTransport.ts"

/**
 * Whether a host is this phone or somebody else (pyVoIP's `AddressType`).
 *
 * @category models
 * @since 0.1.0
 */
export const AddressType = {
  REMOTE: "REMOTE",
  LOCAL: "LOCAL"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type AddressType = (typeof AddressType)[keyof typeof AddressType]

/**
 * A host name that does not resolve, a remote host with no return path, or
 * NAT settings that are not addresses.
 *
 * @category errors
 * @since 0.1.0
 */
export class NATError extends Schema.TaggedError<NATError>()("NATError", {
  reason: Schema.Literals(["UnresolvableHost", "NoRemoteHostname", "InvalidSettings"]),
  host: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "UnresolvableHost":
        return `Unable to resolve hostname ${this.host}`
      case "NoRemoteHostname":
        return `No remote hostname specified, cannot provide a return path for remote host ${this.host}`
      case "InvalidSettings":
        return `Invalid NAT setting ${this.host}`
    }
  }
}

/**
 * pyVoIP's constructor arguments. `network` is CIDR (`192.168.0.0/16`,
 * `fd00::/8`); a bare address means that one host.
 *
 * @category models
 * @since 0.1.0
 */
export interface NATOptions {
  readonly bindIp: string
  readonly network: string
  readonly hostname?: string | undefined
  readonly remoteHostname?: string | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface NATShape {
  readonly bindIp: NetAddress.IpAddress
  readonly network: IpNetwork.IpNetwork
  /** The name local peers reach us by: `hostname`, or the bind address. */
  readonly hostname: string
  readonly remoteHostname: string | undefined
  /** The host another client needs to connect to us (pyVoIP's `get_host`). */
  readonly getHost: (host: string) => Effect.Effect<string, NATError>
  /** Whether `host` is this phone (pyVoIP's `check_host`); unresolvable names are remote. */
  readonly checkHost: (host: string) => Effect.Effect<AddressType>
  /**
   * Host and port to put in our Contact/Via for a peer at `host`: local peers
   * get `hostname` and `localPort`; remote peers get `remoteHostname`, or else
   * the public address the transport learned, or a `NATError`.
   */
  readonly contactAddress: (host: string, localPort: number) => Effect.Effect<Endpoint, NATError>
}

/**
 * The NAT service.
 *
 * @category services
 * @since 0.1.0
 */
export class NAT extends Context.Service<NAT, NATShape>()("effect-voip/NAT") {
  /** A NAT with no learned public address. */
  static readonly layer = (options: NATOptions): Layer.Layer<NAT, NATError, Dns.Dns> =>
    Layer.effect(NAT, make(options))

  /** A NAT that falls back to the public address the `SipTransport` learned from responses. */
  static readonly layerFromTransport = (options: NATOptions): Layer.Layer<NAT, NATError, Dns.Dns | SipTransport> =>
    Layer.effect(
      NAT,
      Effect.gen(function*() {
        const transport = yield* SipTransport
        return yield* make(options, SubscriptionRef.get(transport.publicAddress))
      })
    )
}

const stripBrackets = (host: string): string =>
  host.length > 1 && host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

/** An IP literal (IPv6 possibly in brackets, v4-mapped IPv6 as IPv4), or none for a host name. */
const ipLiteral = (host: string): Option.Option<NetAddress.IpAddress> =>
  Option.map(Result.getSuccess(NetAddress.ipFromString(stripBrackets(host))), (ip) => NetAddress.toCanonical(ip))

const parseNetwork = (network: string): Result.Result<IpNetwork.IpNetwork, NATError> => {
  const invalid = () => new NATError({ reason: "InvalidSettings", host: `network ${network}` })
  if (network.includes("/")) return Result.mapError(IpNetwork.fromString(network), invalid)
  return Option.match(ipLiteral(network), {
    onNone: () => Result.fail(invalid()),
    onSome: (ip) => Result.mapError(IpNetwork.fromAddress(ip, NetAddress.width(ip)), invalid)
  })
}

/**
 * Builds the NAT rules. `learned` is read by `contactAddress` for remote
 * peers when `remoteHostname` is not set.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(
  options: NATOptions,
  learned: Effect.Effect<Option.Option<Endpoint>> = Effect.succeedNone
) {
  const dns = yield* Dns.Dns
  const bindIp = yield* Option.match(ipLiteral(options.bindIp), {
    onNone: () => Effect.fail(new NATError({ reason: "InvalidSettings", host: `bind_ip ${options.bindIp}` })),
    onSome: Effect.succeed
  })
  const network = yield* Effect.fromResult(parseNetwork(options.network))
  const hostname = options.hostname ?? options.bindIp
  const remoteHostname = options.remoteHostname

  const resolve = (host: string): Effect.Effect<ReadonlyArray<NetAddress.IpAddress>, NATError> =>
    Option.match(ipLiteral(host), {
      onSome: (ip) => Effect.succeed([ip]),
      onNone: () =>
        dns.lookup(host).pipe(
          Effect.map((addresses) => addresses.map((address) => NetAddress.toCanonical(address))),
          Effect.mapError(() => new NATError({ reason: "UnresolvableHost", host }))
        )
    })

  const isLocalNetwork = (host: string) =>
    Effect.map(resolve(host), (addresses) => addresses.some((address) => IpNetwork.contains(network, address)))

  const getHost = (host: string): Effect.Effect<string, NATError> =>
    Effect.flatMap(isLocalNetwork(host), (local) => {
      if (local) return Effect.succeed(hostname)
      if (remoteHostname !== undefined) return Effect.succeed(remoteHostname)
      return Effect.fail(new NATError({ reason: "NoRemoteHostname", host }))
    })

  const checkHost = (host: string): Effect.Effect<AddressType> => {
    if (host === remoteHostname || host === hostname) return Effect.succeed(AddressType.LOCAL)
    return resolve(host).pipe(
      Effect.map((addresses) =>
        addresses.some((address) => NetAddress.formatIp(address) === NetAddress.formatIp(bindIp))
          ? AddressType.LOCAL
          : AddressType.REMOTE
      ),
      Effect.catch(() => Effect.succeed(AddressType.REMOTE))
    )
  }

  const contactAddress = (host: string, localPort: number): Effect.Effect<Endpoint, NATError> =>
    Effect.flatMap(isLocalNetwork(host), (local) => {
      if (local) return Effect.succeed({ address: hostname, port: localPort })
      if (remoteHostname !== undefined) return Effect.succeed({ address: remoteHostname, port: localPort })
      return Effect.flatMap(learned, Option.match({
        onNone: () => Effect.fail(new NATError({ reason: "NoRemoteHostname", host })),
        onSome: Effect.succeed
      }))
    })

  return NAT.of({ bindIp, network, hostname, remoteHostname, getHost, checkHost, contactAddress })
})
