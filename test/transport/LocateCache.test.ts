/**
 * RFC 3263 §4.3/§4.4 on TestClock: a transport's `Locator` answers from
 * memory for its lifetime (dnsmasq on 127.0.0.1, the only name server asked,
 * logs one SRV query for many sends), asks again after it while keeping the
 * first target, puts a refused target last for a while, and a transaction's
 * retransmissions over real UDP all reach the same one of two equal-priority
 * targets (plain UDP sockets on 127.0.0.1 counting what they receive).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { NetAddress } from "effect/net"
import { TestClock } from "effect/testing"
import * as Dgram from "node:dgram"
import { VoIPSettings } from "../../src/Config.ts"
import * as TransactionLayer from "../../src/sip/transaction/TransactionLayer.ts"
import { type Located, makeLocator } from "../../src/transport/Locate.ts"
import type { Destination } from "../../src/transport/SipTransport.ts"
import { SipTransport } from "../../src/transport/SipTransport.ts"
import { TransportMode } from "../../src/transport/TransportMode.ts"
import * as Udp from "../../src/transport/Udp.ts"
import { request } from "../sip/transaction/helpers.ts"
import { dnsmasq } from "./dnsmasq.ts"
import { eventually, realSleep } from "./helpers.ts"

const pbx: Destination = { host: "pbx.test", port: 5060, locate: true }

const format = (targets: ReadonlyArray<Located>) =>
  targets.map(({ address, port }) => `${NetAddress.formatIp(address)}:${port}`)

/** A zone with two `_sip._udp` targets of equal priority and weight, at the given ports of 127.0.0.1. */
const twoTargets = (ports: readonly [number, number]) =>
  TestClock.withLive(dnsmasq({
    srv: [
      { name: "_sip._udp.pbx.test", target: "a.pbx.test", port: ports[0], priority: 10, weight: 10 },
      { name: "_sip._udp.pbx.test", target: "b.pbx.test", port: ports[1], priority: 10, weight: 10 }
    ],
    hosts: { "a.pbx.test": "127.0.0.1", "b.pbx.test": "127.0.0.1" }
  }))

const count = (queries: ReadonlyArray<string>, query: string) => queries.filter((asked) => asked === query).length

/** A plain UDP socket on 127.0.0.1 that keeps the first line of every datagram it receives. */
const udpSink = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ readonly socket: Dgram.Socket; readonly lines: Array<string> }>((resolve) => {
      const socket = Dgram.createSocket("udp4")
      const lines: Array<string> = []
      socket.on("message", (payload) => lines.push(payload.toString("utf8").split("\r\n")[0]!))
      socket.bind(0, "127.0.0.1", () => resolve({ socket, lines }))
    })
  ),
  ({ socket }) => Effect.promise(() => new Promise<void>((resolve) => socket.close(() => resolve())))
).pipe(Effect.map(({ lines, socket }) => ({ port: socket.address().port, lines })))

describe("a Locator's memory", () => {
  it.effect("one SRV query for many sends within the lifetime, a new one after it, the first target kept", () =>
    Effect.gen(function*() {
      const server = yield* twoTargets([5070, 5080])
      const locator = yield* makeLocator({ dns: server.dns, mode: TransportMode.UDP, family: "IPv4" })
      const first = format(yield* locator.locate(pbx))
      expect(first.toSorted()).toEqual(["127.0.0.1:5070", "127.0.0.1:5080"])
      for (let send = 0; send < 5; send++) {
        yield* TestClock.adjust("10 seconds")
        expect(format(yield* locator.locate(pbx))).toEqual(first)
      }
      expect(count(server.queries(), "SRV _sip._udp.pbx.test")).toBe(1)
      // past the 60 s lifetime each answer is asked for again; a new random order would lead with either
      // target half of the time, but the one sent to so far stays first
      for (let refresh = 2; refresh <= 8; refresh++) {
        yield* TestClock.adjust("61 seconds")
        expect(format(yield* locator.locate(pbx))).toEqual(first)
        expect(count(server.queries(), "SRV _sip._udp.pbx.test")).toBe(refresh)
      }
    }), 20_000)

  it.effect("a refused target goes last for 30 seconds, then takes its place again; failures are not remembered", () =>
    Effect.gen(function*() {
      const server = yield* twoTargets([5070, 5080])
      const locator = yield* makeLocator({ dns: server.dns, mode: TransportMode.TCP, family: "IPv4" })
      // no _sip._tcp records: the host itself, which has no address either
      const error = yield* Effect.flip(locator.locate({ ...pbx, host: "nowhere.test" }))
      expect(error.reason).toBe("ResolveFailed")
      yield* Effect.flip(locator.locate({ ...pbx, host: "nowhere.test" }))
      expect(count(server.queries(), "SRV _sip._tcp.nowhere.test")).toBe(2)

      const udp = yield* makeLocator({ dns: server.dns, mode: TransportMode.UDP, family: "IPv4" })
      const [first, second] = format(yield* udp.locate(pbx))
      yield* udp.unreachable({ address: "127.0.0.1", port: Number(first!.split(":")[1]) })
      expect(format(yield* udp.locate(pbx))).toEqual([second, first])
      yield* TestClock.adjust("31 seconds")
      expect(format(yield* udp.locate(pbx))).toEqual([first, second])
      expect(count(server.queries(), "SRV _sip._udp.pbx.test")).toBe(1)
    }), 20_000)

  it.effect("IP literals are never remembered nor looked up", () =>
    Effect.gen(function*() {
      const server = yield* twoTargets([5070, 5080])
      const locator = yield* makeLocator({ dns: server.dns, mode: TransportMode.UDP, family: "IPv4" })
      expect(format(yield* locator.locate({ host: "127.0.0.9", port: 5060, locate: true }))).toEqual(["127.0.0.9:5060"])
      expect(server.queries()).toEqual([])
    }), 20_000)
})

describe("a transaction's retransmissions over UDP", () => {
  for (const { method, sends } of [
    // Timer E from T1 = 500 ms doubling to T2 = 4 s until Timer F at 32 s: sends at 0, 0.5, 1.5, 3.5, 7.5,
    // 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 s
    { method: "OPTIONS", sends: 11 },
    // Timer A doubling from 500 ms until Timer B at 32 s: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s
    { method: "INVITE", sends: 7 }
  ]) {
    it.effect(`${method}: every retransmission goes to the SRV target of the first send`, () =>
      Effect.gen(function*() {
        const a = yield* udpSink
        const b = yield* udpSink
        const server = yield* twoTargets([a.port, b.port])
        const environment = Layer.merge(VoIPSettings.layerWith({}), server.layer)
        const transport = yield* Udp.make({ host: "127.0.0.1" }).pipe(Effect.provide(environment))
        const layer = yield* TransactionLayer.make.pipe(
          Effect.provideService(SipTransport, transport),
          Effect.provide(environment)
        )
        const sent = request(method, { from: transport.localAddress, to: { address: "pbx.test", port: 5060 } })
        yield* layer.request(sent, pbx)
        const arrived = () => a.lines.length + b.lines.length
        yield* eventually("the first send", Effect.sync(arrived), (n) => n === 1)
        // the timers run on TestClock, the datagrams in real time: a short real pause after each step
        for (let step = 0; step < 66; step++) {
          yield* TestClock.adjust("500 millis")
          yield* realSleep(2)
        }
        yield* eventually(`${sends} sends`, Effect.sync(arrived), (n) => n >= sends)
        yield* realSleep(50)
        const counts = [a.lines.length, b.lines.length].toSorted()
        expect(counts).toEqual([0, sends])
        expect([...a.lines, ...b.lines].every((line) => line.startsWith(`${method} sip:bob@pbx.test`))).toBe(true)
        expect(count(server.queries(), "SRV _sip._udp.pbx.test")).toBe(1)
      }), 30_000)
  }
})
