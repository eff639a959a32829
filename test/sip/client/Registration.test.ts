/**
 * The registration loop on the in-memory network and TestClock, against a
 * scripted digest registrar: exact refresh instants from the granted
 * expiry, CSeq and Call-ID, pre-emptive credentials (nc=00000002 without a
 * new 401), 423, stale nonces, backoff and the failure threshold, the
 * NAT-fixed Contact, the outbound proxy, peer-to-peer mode, and the
 * deregistration that runs before the transport closes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Result, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { AccountOptions } from "../../../src/sip/client/Account.ts"
import type { PhoneStatus } from "../../../src/sip/client/PhoneStatus.ts"
import { refreshDelay, retryDelay } from "../../../src/sip/client/Registration.ts"
import { SIPClient } from "../../../src/sip/client/SIPClient.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import { formatUri } from "../../../src/sip/Uri.ts"
import type { SipTransport } from "../../../src/transport/SipTransport.ts"
import { captureLogs } from "../../transport/helpers.ts"
import {
  below,
  clientLayer,
  credentialsOf,
  type Exchange,
  headerOf,
  PROXY,
  REALM,
  registrar,
  reply,
  settle,
  statusCode,
  world
} from "./helpers.ts"

/** Builds a client in its own scope, recording every status it reports. */
const start = <ROut extends SIPClient, E, R>(layer: Layer.Layer<ROut, E, R>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    const client = yield* Effect.provideContext(Effect.service(SIPClient), context)
    const statuses: Array<PhoneStatus> = []
    yield* client.statusChanges.pipe(
      Stream.runForEach((status) => Effect.sync(() => void statuses.push(status))),
      Effect.forkScoped
    )
    yield* settle
    return { client, statuses, close: Scope.close(scope, Exit.void) }
  })

const registering = (overrides: Partial<AccountOptions> = {}, options: Parameters<typeof below>[0] = {}) =>
  start(clientLayer(overrides, options))

const seconds = (n: number) => n * 1000
const cseqs = (exchanges: ReadonlyArray<Exchange>) => exchanges.map(({ request }) => request.cseq?.seq)
const times = (exchanges: ReadonlyArray<Exchange>) => exchanges.map(({ at }) => at)
const nc = (exchange: Exchange | undefined) => exchange === undefined ? undefined : credentialsOf(exchange.request)?.["nc"]

describe("refresh timing rule", () => {
  it("refreshes at half the expiry, but no earlier than 30 s before it ends", () => {
    expect([300, 120, 60, 40, 3600].map(refreshDelay)).toEqual([270_000, 90_000, 30_000, 20_000, 3_570_000])
  })

  it("backs off 5 s, 10 s, 20 s ... up to 5 minutes", () => {
    expect([1, 2, 3, 4, 7, 10].map((failures) => Duration.toMillis(retryDelay(failures)))).toEqual([
      seconds(5),
      seconds(10),
      seconds(20),
      seconds(40),
      seconds(300),
      seconds(300)
    ])
  })
})

describe("registration", () => {
  it.effect("answers the 401, registers and refreshes at the instants the granted expiry sets", () =>
    Effect.gen(function*() {
      const server = yield* registrar({ maxExpires: 120 })
      const { client, statuses } = yield* registering()
      yield* client.registered
      expect(statuses).toEqual(["REGISTERING", "REGISTERED"])

      const [first, second] = server.requests()
      expect(statusCode(first?.response)).toBe(401)
      expect(statusCode(second?.response)).toBe(200)
      expect(headerOf(first!.request, "Expires")).toBe("300")
      expect(headerOf(first!.request, "Contact")).toBe("<sip:alice@10.0.0.1:5060>")
      expect(first!.request.requestUriText).toBe("sip:10.0.0.2")
      expect(headerOf(first!.request, "To")).toBe("<sip:alice@10.0.0.2>")
      expect(nc(second)).toBe("00000001")

      // granted 120 s: the refresh goes at 90 s, then every 90 s
      yield* TestClock.adjust("89999 millis")
      expect(server.requests().length).toBe(2)
      yield* TestClock.adjust("1 millis")
      yield* TestClock.adjust("90 seconds")
      const all = server.requests()
      expect(times(all)).toEqual([0, 0, seconds(90), seconds(180)])
      expect(cseqs(all)).toEqual([1, 2, 3, 4])
      expect(new Set(all.map(({ request }) => request.callId)).size).toBe(1)
      expect(new Set(all.map(({ request }) => request.from?.tag)).size).toBe(1)
      // refreshes re-use the nonce with the next count: no new 401
      expect(all.slice(2).map(nc)).toEqual(["00000002", "00000003"])
      expect(all.slice(2).map(({ response }) => statusCode(response))).toEqual([200, 200])
      expect(new Set(all.slice(1).map(({ request }) => credentialsOf(request)?.["cnonce"])).size).toBe(1)
      expect(statuses).toEqual(["REGISTERING", "REGISTERED"])
    }).pipe(Effect.provide(world())))

  it.effect("takes the expiry from our Contact's expires, else from the Expires header", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next(
        undefined,
        (request) =>
          reply(request, 200, [
            ["Contact", "<sip:bob@10.0.0.9:5060>;expires=30, <sip:alice@10.0.0.1:5060;transport=udp>;expires=100"],
            ["Expires", "3600"]
          ]),
        (request) => reply(request, 200, [["Contact", "<sip:bob@10.0.0.9:5060>;expires=30"], ["Expires", "60"]])
      )
      const { client } = yield* registering()
      yield* client.registered
      yield* TestClock.adjust("70 seconds") // 100 s granted: refresh at 70 s
      yield* TestClock.adjust("30 seconds") // 60 s from the header: refresh at 70 + 30
      expect(times(server.requests())).toEqual([0, 0, seconds(70), seconds(100)])
    }).pipe(Effect.provide(world())))

  it.effect("asks again with Min-Expires after 423 Interval Too Brief, and keeps asking for it", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next(undefined, (request) => reply(request, 423, [["Min-Expires", "600"]]))
      const { client, statuses } = yield* registering({ expires: 60 })
      yield* client.registered
      const all = server.requests()
      expect(all.map(({ request }) => headerOf(request, "Expires"))).toEqual(["60", "60", "600"])
      expect(cseqs(all)).toEqual([1, 2, 3])
      expect(nc(all[2])).toBe("00000002")
      yield* TestClock.adjust("570 seconds")
      expect(headerOf(server.requests()[3]!.request, "Expires")).toBe("600")
      expect(server.requests()[3]!.at).toBe(seconds(570))
      expect(statuses).toEqual(["REGISTERING", "REGISTERED"])
    }).pipe(Effect.provide(world())))

  it.effect("retries a stale nonce at once without counting a failure", () =>
    Effect.gen(function*() {
      const server = yield* registrar({ maxExpires: 60 })
      const { client, statuses } = yield* registering()
      yield* client.registered
      const oldNonce = server.currentNonce()
      yield* server.expireNonce
      yield* TestClock.adjust("30 seconds")
      const refresh = server.requests().slice(2)
      expect(refresh.map(({ response }) => statusCode(response))).toEqual([401, 200])
      expect(credentialsOf(refresh[0]!.request)?.["nonce"]).toBe(oldNonce)
      expect(nc(refresh[0])).toBe("00000002")
      expect(headerOf(refresh[0]!.response!, "WWW-Authenticate")).toContain("stale=TRUE")
      expect(credentialsOf(refresh[1]!.request)?.["nonce"]).toBe(server.currentNonce())
      expect(nc(refresh[1])).toBe("00000001")
      expect(times(refresh)).toEqual([seconds(30), seconds(30)])
      expect(cseqs(server.requests())).toEqual([1, 2, 3, 4])
      expect(statuses).toEqual(["REGISTERING", "REGISTERED"])
    }).pipe(Effect.provide(world())))

  it.effect("retries failures with backoff and goes FAILED with InvalidAccountInfoError after the threshold", () =>
    Effect.gen(function*() {
      const server = yield* registrar({ password: "not-alicepw" })
      const { client, statuses } = yield* registering()
      const registered = yield* Effect.forkChild(Effect.flip(client.registered))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(registered)
      expect(error._tag).toBe("InvalidAccountInfoError")
      expect(error.message).toBe(`credentials rejected by ${REALM}: 403 Forbidden (user "alice")`)
      expect(times(server.requests()).filter((_, i) => i % 2 === 0)).toEqual([0, seconds(5), seconds(15)])
      expect(statuses).toEqual(["REGISTERING", "FAILED"])
      expect(yield* client.status).toBe("FAILED")
      const fatal = yield* Effect.flip(client.fatal)
      expect(fatal._tag).toBe("InvalidAccountInfoError")
      // nothing more is sent once FAILED
      yield* TestClock.adjust("1 hour")
      expect(server.requests().length).toBe(6)
    }).pipe(Effect.provide(world())))

  it.effect("failing for good is logged as an ERROR only once registered: before, the start itself fails with it", () => {
    const logs = captureLogs()
    const errors = () => logs.lines.filter((line) => line.level === "ERROR").map((line) => String(line.message))
    return Effect.gen(function*() {
      const server = yield* registrar({ maxExpires: 60 })
      const { client, statuses } = yield* registering()
      yield* client.registered
      yield* server.next((request) => reply(request, 403))
      yield* TestClock.adjust("30 seconds")
      expect(statuses).toEqual(["REGISTERING", "REGISTERED", "FAILED"])
      expect(errors()).toEqual([expect.stringMatching(/^registration with sip:.* failed for good: .*403 Forbidden/)])
    }).pipe(Effect.provide(world({ registerFailureThreshold: 1 })), Effect.provide(logs.layer))
  })

  it.effect("a first registration refused for good logs no ERROR: the caller gets the failure", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      yield* registrar({ password: "not-alicepw" })
      const { client } = yield* registering()
      expect((yield* Effect.flip(client.registered))._tag).toBe("InvalidAccountInfoError")
      expect(logs.lines.filter((line) => line.level === "ERROR")).toEqual([])
    }).pipe(Effect.provide(world({ registerFailureThreshold: 1 })), Effect.provide(logs.layer))
  })

  it.effect("a challenge to credentials just sent means they were rejected", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next(undefined, (request) =>
        server.standard(Result.getOrThrow(SIPMessage.withoutHeader(request, "Authorization"))))
      const { client, statuses } = yield* registering()
      const error = yield* Effect.flip(client.registered)
      expect(statuses).toEqual(["REGISTERING", "FAILED"])
      expect(server.requests().map(({ response }) => statusCode(response))).toEqual([401, 401])
      expect(error._tag).toBe("InvalidAccountInfoError")
      expect(error.message).toBe(`credentials rejected by ${REALM}: 401 Unauthorized (user "alice")`)
    }).pipe(Effect.provide(world({ registerFailureThreshold: 1 }))))

  it.effect("times out with Timer F, backs off and fails with the TransactionTimeoutError", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next(...Array.from({ length: 200 }, () => () => "drop" as const))
      const { client, statuses } = yield* registering()
      const registered = yield* Effect.forkChild(Effect.flip(client.registered))
      yield* settle
      // F at 32 s, retry 5 s later; F at 69 s, retry 10 s later; F at 111 s
      for (const step of [32, 5, 32, 10, 32]) {
        yield* TestClock.adjust(`${step} seconds`)
        yield* settle
      }
      const error = yield* Fiber.join(registered)
      expect(error._tag).toBe("TransactionTimeoutError")
      expect(times(server.requests())).toEqual([0, seconds(37), seconds(79)])
      expect(statuses).toEqual(["REGISTERING", "FAILED"])
    }).pipe(Effect.provide(world())))

  it.effect("recovers after 5xx failures below the threshold, and counts again from zero", () =>
    Effect.gen(function*() {
      const server = yield* registrar({ maxExpires: 60 })
      yield* server.next((request) => reply(request, 503), (request) => reply(request, 500))
      const { client, statuses } = yield* registering()
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("10 seconds")
      yield* client.registered
      expect(times(server.requests())).toEqual([0, seconds(5), seconds(15), seconds(15)])
      expect(statuses).toEqual(["REGISTERING", "REGISTERED"])
      // two more failures at the refresh (45 s): still below the threshold again
      yield* server.next((request) => reply(request, 500), (request) => reply(request, 500))
      yield* TestClock.adjust("30 seconds")
      expect(statuses).toEqual(["REGISTERING", "REGISTERED", "REGISTERING"])
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("10 seconds")
      expect(statuses).toEqual(["REGISTERING", "REGISTERED", "REGISTERING", "REGISTERED"])
      expect(times(server.requests()).slice(4)).toEqual([seconds(45), seconds(50), seconds(60)])
    }).pipe(Effect.provide(world())))

  it.effect("registers again at once with the public address the responses revealed", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      // the registrar sees us behind a NAT as 203.0.113.7:40000
      const natted = (request: Parameters<typeof server.standard>[0]) => {
        const response = server.standard(request)
        const rewritten = Result.getOrThrow(
          SIPMessage.mapTopVia(response, (via) => ({ ...via, received: "203.0.113.7", rport: 40000 }))
        )
        return { response: rewritten, target: { host: "10.0.0.1", port: 5060 } }
      }
      yield* server.next(natted, natted, natted)
      const { client } = yield* registering({}, { nat: { network: "192.168.0.0/16" } })
      yield* client.registered
      yield* settle
      const all = server.requests()
      expect(all.map(({ request }) => headerOf(request, "Contact"))).toEqual([
        "<sip:alice@10.0.0.1:5060>",
        "<sip:alice@10.0.0.1:5060>",
        "<sip:alice@203.0.113.7:40000>"
      ])
      expect(all.map(({ at }) => at)).toEqual([0, 0, 0])
      expect(nc(all[2])).toBe("00000002")
      expect(formatUri(yield* client.contactFor("10.0.0.2"))).toBe("sip:alice@203.0.113.7:40000")
    }).pipe(Effect.provide(world())))

  it.effect("sends every request to the outbound proxy with a loose Route", () =>
    Effect.gen(function*() {
      const proxy = yield* registrar({ endpoint: PROXY })
      const { client } = yield* registering({ outboundProxy: { host: PROXY.address } })
      yield* client.registered
      const [first] = proxy.requests()
      expect(first!.request.requestUriText).toBe("sip:10.0.0.2")
      expect(headerOf(first!.request, "Route")).toBe("<sip:10.0.0.3;lr>")
      const message = yield* client.createRequest("MESSAGE", "bob", { body: "hi", contentType: "text/plain" })
      yield* proxy.next((request) => reply(request, 200))
      const { response } = yield* client.sendAuthenticated(message)
      expect(statusCode(response)).toBe(200)
      const [sent] = proxy.requests("MESSAGE")
      expect(sent!.request.requestUriText).toBe("sip:bob@10.0.0.2")
      expect(headerOf(sent!.request, "Route")).toBe("<sip:10.0.0.3;lr>")
    }).pipe(Effect.provide(world())))

  it.effect("without registration: REGISTERED at once, nothing sent, INACTIVE on close", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      const { client, close, statuses } = yield* registering({ server: undefined, register: false })
      yield* client.registered
      const request = yield* client.createRequest("OPTIONS", "sip:bob@10.0.0.2")
      expect(headerOf(request, "From")).toMatch(/^<sip:alice@10\.0\.0\.1>;tag=/)
      yield* TestClock.adjust("1 hour")
      expect(server.log()).toEqual([])
      yield* close
      yield* settle
      expect(statuses).toEqual(["REGISTERED", "DEREGISTERING", "INACTIVE"])
    }).pipe(Effect.provide(world())))
})

describe("deregistration", () => {
  it.effect("closing the client sends an authenticated Expires: 0 before the transport closes", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      const events: Array<string> = []
      const spy = (transport: SipTransport["Service"]) =>
        Effect.as(
          Effect.addFinalizer(() => Effect.sync(() => void events.push("transport closed"))),
          {
            ...transport,
            send: (message, target) =>
              Effect.tap(transport.send(message, target), () =>
                Effect.sync(() => {
                  if (!(message instanceof Uint8Array)) events.push(`sent ${message.method} ${headerOf(message, "Expires")}`)
                }))
          } satisfies SipTransport["Service"]
        )
      const { client, close, statuses } = yield* start(clientLayer({}, { wrap: spy }))
      yield* client.registered
      yield* close
      yield* settle
      const last = server.requests().at(-1)!
      expect(headerOf(last.request, "Expires")).toBe("0")
      expect(headerOf(last.request, "Contact")).toBe("<sip:alice@10.0.0.1:5060>")
      expect(nc(last)).toBe("00000002")
      expect(statusCode(last.response)).toBe(200)
      expect(cseqs(server.requests())).toEqual([1, 2, 3])
      expect(events).toEqual(["sent REGISTER 300", "sent REGISTER 300", "sent REGISTER 0", "transport closed"])
      expect(statuses).toEqual(["REGISTERING", "REGISTERED", "DEREGISTERING", "INACTIVE"])
    }).pipe(Effect.provide(world())))

  it.effect("gives up waiting for the deregistration after deregisterTimeout", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      const { client, close, statuses } = yield* registering({ deregisterTimeout: "2 seconds" })
      yield* client.registered
      yield* server.next(...Array.from({ length: 20 }, () => () => "drop" as const))
      const closing = yield* Effect.forkChild(close)
      yield* settle
      yield* TestClock.adjust("1999 millis")
      expect(closing.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      yield* settle
      expect(statuses).toEqual(["REGISTERING", "REGISTERED", "DEREGISTERING", "INACTIVE"])
    }).pipe(Effect.provide(world())))
})

describe("deregistration after an interrupted refresh", () => {
  it.effect("waits for the refresh in flight, then counts on: next CSeq, next nonce count", () =>
    Effect.gen(function*() {
      const server = yield* registrar({ maxExpires: 60 })
      const { client, close } = yield* registering()
      yield* client.registered
      // the refresh's first transmission is lost: its retransmission is answered 500 ms later
      yield* server.next(() => "drop")
      yield* TestClock.adjust("30 seconds")
      const closing = yield* Effect.forkChild(close)
      yield* settle
      expect(server.requests().length).toBe(3)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.join(closing)
      const log = server.log()
      expect(log.map(({ at, request }) => [at, request.cseq?.seq, headerOf(request, "Expires")])).toEqual([
        [0, 1, "300"],
        [0, 2, "300"],
        [seconds(30), 3, "300"],
        [seconds(30) + 500, 3, "300"],
        [seconds(30) + 500, 4, "0"]
      ])
      expect(server.requests().map(nc)).toEqual([undefined, "00000001", "00000002", "00000003"])
      expect(statusCode(log[4]!.response)).toBe(200)
    }).pipe(Effect.provide(world())))
})
