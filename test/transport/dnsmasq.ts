/**
 * A real name server for DNS tests: dnsmasq on 127.0.0.1 at a free port,
 * serving only the records a test gives it (no upstream, no hosts file;
 * names under `.test` it does not know are answered NXDOMAIN), logging every
 * query it receives, stopped with the scope. `dns` is a `Dns` service that
 * asks that server and no other.
 */
import { NodeDns } from "@effect/platform-node"
import { Array as Arr, Effect, Layer } from "effect"
import { Dns } from "effect/net"
import { freePort, start } from "../sip/client/lab.ts"

/** An SRV record as dnsmasq's `--srv-host` takes it. */
export interface SrvHost {
  readonly name: string
  readonly target: string
  readonly port: number
  readonly priority?: number
  readonly weight?: number
}

export const dnsmasq = (zone: {
  readonly srv?: ReadonlyArray<SrvHost>
  /** Name → IPv4 address (A records). */
  readonly hosts?: Record<string, string>
}) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const proc = yield* start("/usr/sbin/dnsmasq", [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--pid-file=",
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      `--port=${port}`,
      "--local=/test/",
      "--log-facility=-",
      "--log-queries",
      ...(zone.srv ?? []).map(({ name, port, priority, target, weight }) =>
        `--srv-host=${name},${target},${port},${priority ?? 0},${weight ?? 0}`
      ),
      ...Object.entries(zone.hosts ?? {}).map(([name, address]) => `--host-record=${name},${address}`)
    ], { limitMillis: 120_000 })
    yield* proc.waitFor(/started, version/, 5000)
    const server = `127.0.0.1:${port}`
    const node = yield* NodeDns.make({ nameServers: [server], timeout: "2 seconds", tries: 1 })
    // Addresses come from this server too: the system resolver behind NodeDns's lookup would ask the
    // machine's name servers. The zones here are IPv4 only, so an address lookup asks for A records.
    // Each lookup is noted, to tell the hosts named by destinations from the SRV targets (asked by resolve).
    const lookups: Array<string> = []
    const dns = Dns.make({
      lookup: (host, family) =>
        Effect.suspend(() => {
          lookups.push(String(host))
          return Effect.map(node.resolve(host, family === "IPv6" ? "AAAA" : "A"), Arr.map((record) => record.address))
        }),
      resolve: (name, type) => node.resolve(name, type)
    })
    return {
      dns,
      layer: Layer.succeed(Dns.Dns, dns),
      /** The hosts given to `dns.lookup`, in order (the system resolver's part under NodeDns). */
      lookups: () => [...lookups],
      /** The queries the server received, as `TYPE name`, in order. */
      queries: () => Array.from(proc.output().matchAll(/query\[(\w+)\] (\S+) from/g), ([, type, name]) => `${type} ${name}`)
    }
  })
