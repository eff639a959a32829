/**
 * Locating a SIP server (RFC 3263 §4.2): a destination whose URI gave no port
 * and whose host is a name is looked up by DNS SRV for the transport in use
 * (`_sip._udp`, `_sip._tcp`, `_sips._tcp`), the targets taken in RFC 2782
 * order, each at its record's port. Without SRV records the name's A/AAAA
 * address is used at the default port; an IP literal or an explicit port is
 * never looked up by SRV.
 *
 * A {@link Locator} keeps what it found for a while (RFC 3263 §4.3/§4.4), so
 * that a transaction's retransmissions go where its first send went and
 * repeated sends cost no queries, and it remembers targets that refused.
 *
 * @since 0.1.0
 */
import { Array as Arr, Cache, Clock, Duration, Effect, Exit, Order, Random, Result } from "effect"
import { type Dns, NetAddress } from "effect/net"
import { type Destination, type Endpoint, formatEndpoint, SipTransportError } from "./SipTransport.ts"
import { resolveHost } from "./TransportCore.ts"
import type { TransportMode } from "./TransportMode.ts"

/**
 * What RFC 2782 orders SRV records by.
 *
 * @category models
 * @since 0.1.0
 */
export interface Weighted {
  readonly priority: number
  readonly weight: number
}

/**
 * The SRV name to query for `host` over `mode`: `_sips._tcp` over TLS,
 * `_sip._tcp` over TCP, `_sip._udp` over UDP.
 *
 * @category routing
 * @since 0.1.0
 */
export const srvName = (mode: TransportMode, host: string): string =>
  `${mode.tlsMode === "TLS" ? "_sips._tcp" : mode.value === "TCP" ? "_sip._tcp" : "_sip._udp"}.${host}`

/**
 * RFC 2782 order: lowest priority first; within a priority, each place is
 * drawn at random with chances in proportion to the weights, records of
 * weight 0 first in the running sum so that they are picked only rarely
 * among weighted ones. `draws` are numbers in [0, 1), one per record (a
 * missing draw counts as 0).
 *
 * @category routing
 * @since 0.1.0
 */
export const orderSrv = <A extends Weighted>(records: ReadonlyArray<A>, draws: ReadonlyArray<number>): Array<A> => {
  const ordered: Array<A> = []
  const priorities = Arr.dedupe(records.map((record) => record.priority)).sort((a, b) => a - b)
  for (const priority of priorities) {
    // weight 0 first, as RFC 2782 asks; the sort is stable, so equal records keep their order
    const group = records.filter((record) => record.priority === priority).sort((a, b) =>
      (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1)
    )
    while (group.length > 0) {
      const total = group.reduce((sum, record) => sum + record.weight, 0)
      const pick = Math.floor((draws[ordered.length] ?? 0) * (total + 1))
      let running = 0
      let index = group.findIndex((record) => (running += record.weight) >= pick)
      if (index === -1) index = group.length - 1
      ordered.push(group.splice(index, 1)[0]!)
    }
  }
  return ordered
}

/**
 * {@link orderSrv} with draws from Effect's `Random` (seed it for a
 * reproducible order).
 *
 * @category routing
 * @since 0.1.0
 */
export const orderSrvRandom = <A extends Weighted>(records: ReadonlyArray<A>): Effect.Effect<Array<A>> =>
  Effect.map(Effect.forEach(records, () => Random.next), (draws) => orderSrv(records, draws))

/**
 * An address to send to, and its port.
 *
 * @category models
 * @since 0.1.0
 */
export interface Located {
  readonly address: NetAddress.IpAddress
  readonly port: number
}

/**
 * Whether `host` is an IP address (IPv6 with or without brackets), which is
 * never looked up.
 *
 * @category routing
 * @since 0.1.0
 */
export const isIpLiteral = (host: string): boolean =>
  Result.isSuccess(NetAddress.ipFromString(host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host))

/**
 * Where to send for `destination` over `mode`, best first: the SRV targets
 * in RFC 2782 order (drawn with Effect's `Random`) when the destination is
 * to be located and has SRV records, else its host at its port. A target
 * whose address cannot be found is left out; addresses are looked up in
 * `family` when the socket can only reach one.
 *
 * An SRV target's address is asked of the name servers that gave the SRV
 * records (`Dns.resolve`, A/AAAA): with `NodeDns`, `Dns.lookup` goes through
 * the operating system's resolver instead, which need not be the servers
 * configured. A host named by the destination itself (no SRV records, an
 * explicit port) is looked up with `Dns.lookup`, as every other host name in
 * the library, so that `sip:pbx` and `sip:pbx:5060` reach the same address
 * and the hosts file applies to both.
 *
 * @category routing
 * @since 0.1.0
 */
export const locate = (
  dns: Dns.Dns["Service"],
  destination: Destination,
  mode: TransportMode,
  family: NetAddress.IpFamily | undefined
): Effect.Effect<Arr.NonEmptyReadonlyArray<Located>, SipTransportError> =>
  Effect.map(locateRanked(dns, destination, mode, family), Arr.map(toLocated))

/** A located address with the priority of the SRV record it came from (0 without SRV). */
interface Ranked extends Located {
  readonly priority: number
}

const toLocated = ({ address, port }: Located): Located => ({ address, port })

const locateRanked = (
  dns: Dns.Dns["Service"],
  destination: Destination,
  mode: TransportMode,
  family: NetAddress.IpFamily | undefined
): Effect.Effect<Arr.NonEmptyReadonlyArray<Ranked>, SipTransportError> => {
  const { host, port } = destination
  const direct = Effect.map(resolveHost(dns, host, port, family), (address) => Arr.of({ address, port, priority: 0 }))
  if (destination.locate !== true || isIpLiteral(host)) return direct
  return dns.resolve(srvName(mode, host), "SRV").pipe(
    // a target of "." says the service is not offered at this domain (RFC 2782)
    Effect.map((records) => records.filter((record) => String(record.target) !== ".")),
    Effect.flatMap((records) =>
      records.length === 0
        ? Effect.fail(noTargets(host, port, "the SRV records say the service is not offered"))
        : Effect.flatMap(orderSrvRandom(records), (ordered) => targets(dns, ordered, family))
    ),
    Effect.catchTag("DnsError", () => direct)
  )
}

/**
 * The first address of an SRV target, from the name servers. When the socket
 * may reach both families, A comes before AAAA: a socket bound to `0.0.0.0`
 * is counted as reaching both, and one on `::` reaches IPv4 too.
 */
const resolveTarget = (
  dns: Dns.Dns["Service"],
  target: Dns.Srv["target"],
  family: NetAddress.IpFamily | undefined
): Effect.Effect<NetAddress.IpAddress, SipTransportError> => {
  const query = (type: "A" | "AAAA") =>
    Effect.map(dns.resolve(target, type), Arr.map((record): NetAddress.IpAddress => record.address))
  const found = family === "IPv4"
    ? query("A")
    : family === "IPv6"
    ? query("AAAA")
    : Effect.map(
      Effect.all([Effect.result(query("A")), Effect.result(query("AAAA"))], { concurrency: 2 }),
      (answers) => answers.flatMap((answer) => Result.isSuccess(answer) ? answer.success : [])
    )
  return Effect.flatMap(found, (addresses) =>
    Arr.match(addresses, {
      onEmpty: () => Effect.fail(noTargets(String(target), 0, "the SRV target has no address")),
      onNonEmpty: (some) => Effect.succeed(NetAddress.toCanonical(some[0]))
    })).pipe(
      Effect.catchTag("DnsError", (error) => Effect.fail(noTargets(String(target), 0, error.message)))
    )
}

const noTargets = (host: string, port: number, detail: string) =>
  new SipTransportError({ reason: "ResolveFailed", target: formatEndpoint({ address: host, port }), detail })

const targets = (
  dns: Dns.Dns["Service"],
  records: ReadonlyArray<Dns.Srv>,
  family: NetAddress.IpFamily | undefined
): Effect.Effect<Arr.NonEmptyReadonlyArray<Ranked>, SipTransportError> =>
  Effect.forEach(records, (record) =>
    resolveTarget(dns, record.target, family).pipe(
      Effect.map((address): Array<Ranked> => [{ address, port: record.port, priority: record.priority }]),
      Effect.catch(() => Effect.succeed<Array<Ranked>>([]))
    )).pipe(
      Effect.flatMap((found) =>
        Arr.match(found.flat(), {
          onEmpty: () =>
            Effect.fail(noTargets(
              records.map((record) => String(record.target)).join(","),
              records[0]?.port ?? 0,
              "no SRV target has an address"
            )),
          onNonEmpty: Effect.succeed
        })
      )
    )

/**
 * A transport's memory of where destinations are (RFC 3263 §4.3/§4.4).
 *
 * @category models
 * @since 0.1.0
 */
export interface Locator {
  /**
   * {@link locate}, answered from memory while the last answer for the same
   * host, port and transport is younger than the lifetime, so the order (and
   * the first target) stays the same; targets that refused lately go last.
   * IP literals are never remembered: they cost no query.
   */
  readonly locate: (destination: Destination) => Effect.Effect<Arr.NonEmptyReadonlyArray<Located>, SipTransportError>
  /** Remembers that `target` (an address as `NetAddress.formatIp` writes it) refused a connection: it goes last for a while. */
  readonly unreachable: (target: Endpoint) => Effect.Effect<void>
}

/**
 * How long a {@link Locator} keeps answers and refusals.
 *
 * @category models
 * @since 0.1.0
 */
export interface LocatorOptions {
  /**
   * How long an answer is used: Effect's DNS records carry no TTL (the
   * platform resolvers do not all report it), so one lifetime for all
   * (default 60 seconds).
   */
  readonly lifetime?: Duration.Input | undefined
  /** How long a target that refused goes last (default 30 seconds). */
  readonly unreachableFor?: Duration.Input | undefined
  /** Destinations remembered at most (default 256). */
  readonly capacity?: number | undefined
}

const endpointKey = ({ address, port }: Located): string => formatEndpoint({ address: NetAddress.formatIp(address), port })

/**
 * Keeps `previous` first when a new answer still holds it among the targets
 * of the best priority: a transaction that straddles the end of a lifetime
 * keeps sending to the same place (RFC 3263 §4.3).
 */
const keepFirst = <A extends Ranked>(fresh: Arr.NonEmptyReadonlyArray<A>, previous: string | undefined) => {
  const index = previous === undefined ? -1 : fresh.findIndex((target) => endpointKey(target) === previous)
  if (index <= 0 || fresh[index]!.priority !== fresh[0].priority) return fresh
  return Arr.prepend(Arr.remove(fresh, index), fresh[index]!)
}

/**
 * A {@link Locator} over `dns` for a transport of `mode` whose socket reaches
 * `family` (or both families). Every time is on Effect's `Clock`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLocator = Effect.fnUntraced(function*(options: {
  readonly dns: Dns.Dns["Service"]
  readonly mode: TransportMode
  readonly family: NetAddress.IpFamily | undefined
} & LocatorOptions): Effect.fn.Return<Locator> {
  const { dns, family, mode } = options
  const capacity = options.capacity ?? 256
  const lifetime = Duration.fromInputUnsafe(options.lifetime ?? "60 seconds")
  const unreachableMillis = Duration.toMillis(Duration.fromInputUnsafe(options.unreachableFor ?? "30 seconds"))
  // the first target handed out per destination, which a new answer keeps first when it can
  const firsts = new Map<string, string>()
  // target → until when it goes last
  const refused = new Map<string, number>()
  const cache = yield* Cache.makeWith(
    (key: string) => {
      const [host, port, located] = JSON.parse(key) as [string, number, boolean]
      return Effect.map(
        locateRanked(dns, { host, port, locate: located }, mode, family),
        (fresh) => keepFirst(fresh, firsts.get(key))
      )
    },
    // a failure is not kept: the next send asks again
    { capacity, timeToLive: (exit) => Exit.isSuccess(exit) ? lifetime : Duration.zero }
  )

  const byRefused = Order.mapInput(Order.Boolean, (target: Located) => refused.has(endpointKey(target)))

  const remember = (key: string, target: Located) => {
    firsts.delete(key)
    firsts.set(key, endpointKey(target))
    // the oldest go first, so the map stays as small as the cache
    if (firsts.size > capacity) firsts.delete(firsts.keys().next().value!)
  }

  const located = (destination: Destination): Effect.Effect<Arr.NonEmptyReadonlyArray<Located>, SipTransportError> => {
    if (isIpLiteral(destination.host)) return locate(dns, destination, mode, family)
    const key = JSON.stringify([destination.host, destination.port, destination.locate === true])
    return Effect.flatMap(Cache.get(cache, key), (ranked) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        for (const [target, until] of refused) if (until <= now) refused.delete(target)
        // the sort is stable: the answer's order stays within the reachable and the refused
        const ordered = refused.size === 0 ? ranked : Arr.sort(ranked, byRefused)
        remember(key, ordered[0])
        return Arr.map(ordered, toLocated)
      }))
  }

  const unreachable = (target: Endpoint) =>
    Effect.map(Clock.currentTimeMillis, (now) => void refused.set(formatEndpoint(target), now + unreachableMillis))

  return { locate: located, unreachable }
})
