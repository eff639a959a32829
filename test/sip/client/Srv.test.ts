/**
 * RFC 3263 in a real registration: the account names only a domain
 * (`server: "pbx.test"`, no port), dnsmasq on 127.0.0.1 publishes its
 * `_sip._udp` / `_sip._tcp` SRV record pointing at the lab's sipp digest
 * registrar on a free port, and the client registers, refreshes and
 * unregisters there. sipp listens on no other port, so its exit code 0 and
 * the name server's query log prove the SRV port was used.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import { VoIPSettings } from "../../../src/Config.ts"
import { SIPClient } from "../../../src/sip/client/SIPClient.ts"
import { TransportMode } from "../../../src/transport/TransportMode.ts"
import { dnsmasq } from "../../transport/dnsmasq.ts"
import { freePort, labOut, registrar, traceMessages } from "./lab.ts"

const within = <A, E, R>(what: string, millis: number, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.millis(millis),
    orElse: () => Effect.die(new Error(`${what}: not within ${millis} ms`))
  })

const transports = [
  { mode: TransportMode.UDP, service: "_sip._udp", sippFlags: [] },
  { mode: TransportMode.TCP, service: "_sip._tcp", sippFlags: ["-t", "t1"] }
] as const

describe("a server found by DNS SRV", () => {
  for (const { mode, service, sippFlags } of transports) {
    it.live(`registers with the sipp registrar at the port of ${service}.pbx.test`, () =>
      Effect.gen(function*() {
        const out = yield* labOut
        const port = yield* freePort
        const sipp = yield* registrar(out, port, sippFlags)
        const server = yield* dnsmasq({
          srv: [{ name: `${service}.pbx.test`, target: "sipp.pbx.test", port }],
          hosts: { "sipp.pbx.test": "127.0.0.1" }
        })
        const options = {
          server: "pbx.test",
          user: "alice",
          password: "alicepw",
          transport: mode,
          bind: { host: "127.0.0.1" }
        }
        const environment = Layer.merge(VoIPSettings.layerWith({}), server.layer)
        // the client in a scope of its own, closed before the sockets (sipp over TCP wants the
        // connection to outlive the unREGISTER's 200)
        const network = yield* Layer.build(SIPClient.layerNetwork(options).pipe(Layer.provide(environment)))
        const clientScope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          SIPClient.layer(options).pipe(Layer.provide(Layer.merge(Layer.succeedContext(network), environment))),
          clientScope
        )
        const sip = yield* Effect.provideContext(Effect.service(SIPClient), context)
        yield* within("registration", 5000, sip.registered)
        yield* Scope.close(clientScope, Exit.void)
        const code = yield* within("sipp's exit", 5000, sipp.proc.exited)
        expect({ code, output: code === 0 ? "" : `${sipp.proc.output()}\n${sipp.messages()}` }).toEqual({ code: 0, output: "" })
        const registers = traceMessages(sipp.messages()).filter(({ sent, text }) => !sent && /^REGISTER /.test(text))
        expect(registers.map(({ text }) => text.split("\r\n")[0])).toEqual([
          "REGISTER sip:pbx.test SIP/2.0",
          "REGISTER sip:pbx.test SIP/2.0",
          "REGISTER sip:pbx.test SIP/2.0"
        ])
        expect(server.queries()).toContain(`SRV ${service}.pbx.test`)
        expect(server.queries()).toContain("A sipp.pbx.test")
      }), 30_000)
  }
})

describe("what RFC 3263 does not look up by SRV", () => {
  /** Registers `options` (UDP) with the sipp registrar; the REGISTERs it received and the name server's queries. */
  const registerThrough = (
    records: (port: number) => Parameters<typeof dnsmasq>[0],
    options: (port: number) => { readonly port?: number; readonly outboundProxy?: { readonly host: string; readonly port?: number } }
  ) =>
    Effect.gen(function*() {
      const out = yield* labOut
      const port = yield* freePort
      const sipp = yield* registrar(out, port, [])
      const server = yield* dnsmasq(records(port))
      const account = { server: "pbx.test", user: "alice", password: "alicepw", bind: { host: "127.0.0.1" }, ...options(port) }
      const environment = Layer.merge(VoIPSettings.layerWith({}), server.layer)
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(SIPClient.layerStack(account).pipe(Layer.provide(environment)))
        yield* within("registration", 5000, Effect.provideContext(Effect.service(SIPClient), context).pipe(Effect.flatMap((sip) => sip.registered)))
      }))
      const code = yield* within("sipp's exit", 5000, sipp.proc.exited)
      expect({ code, output: code === 0 ? "" : `${sipp.proc.output()}\n${sipp.messages()}` }).toEqual({ code: 0, output: "" })
      const registers = traceMessages(sipp.messages()).filter(({ sent, text }) => !sent && /^REGISTER /.test(text))
      return { registers: registers.map(({ text }) => text), queries: server.queries() }
    })

  it.live("an explicit server port, even one an SRV record contradicts, is used as given", () =>
    Effect.gen(function*() {
      const { queries, registers } = yield* registerThrough(
        (port) => ({ srv: [{ name: "_sip._udp.pbx.test", target: "elsewhere.pbx.test", port: port + 1 }], hosts: { "pbx.test": "127.0.0.1" } }),
        (port) => ({ port })
      )
      expect(registers.length).toBe(3)
      expect(queries).toContain("A pbx.test")
      expect(queries.filter((query) => query.startsWith("SRV"))).toEqual([])
    }), 30_000)

  it.live("an outbound proxy without port is located by SRV; an explicit 5060 in the server URI stays in it", () =>
    Effect.gen(function*() {
      const { queries, registers } = yield* registerThrough(
        (port) => ({ srv: [{ name: "_sip._udp.proxy.test", target: "sipp.pbx.test", port }], hosts: { "sipp.pbx.test": "127.0.0.1" } }),
        () => ({ port: 5060, outboundProxy: { host: "proxy.test" } })
      )
      expect(registers.map((text) => text.split("\r\n")[0])).toEqual(Array(3).fill("REGISTER sip:pbx.test:5060 SIP/2.0"))
      expect(registers.every((text) => /\r\nRoute: <sip:proxy\.test;lr>\r\n/i.test(text))).toBe(true)
      expect(queries).toContain("SRV _sip._udp.proxy.test")
      expect(queries).not.toContain("SRV _sip._udp.pbx.test")
    }), 30_000)
})
