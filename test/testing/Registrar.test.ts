/**
 * The embedded registrar/proxy: on the in-memory network under TestClock
 * (phones register with digest, bindings lapse on virtual time unless
 * refreshed, one phone calls another by user name through it, audio and
 * DTMF flow, BYE ends both; 404, 423, 483 and the removal forms), and on
 * real UDP with sipp's register-client scenario.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Queue, Result, Stream } from "effect"
import { Dns } from "effect/net"
import { TestClock } from "effect/testing"
import { VoIPSettings } from "../../src/Config.ts"
import * as Audio from "../../src/rtp/Audio.ts"
import * as RTPClient from "../../src/rtp/RTPClient.ts"
import type { AccountOptions } from "../../src/sip/client/Account.ts"
import { SIPClient, type SIPClientShape } from "../../src/sip/client/SIPClient.ts"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import * as MemoryTransport from "../../src/testing/MemoryTransport.ts"
import * as Registrar from "../../src/testing/Registrar.ts"
import * as Udp from "../../src/transport/Udp.ts"
import { type Endpoint, formatEndpoint, SipTransport } from "../../src/transport/SipTransport.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { type IncomingCallHandler, VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"
import { chirp, concat } from "../rtp/session/helpers.ts"
import { ALICE, answering, BOB, clientAt, energy, handing, type RtpNetwork, rtpNetwork, runFor, settle, world } from "../voip/helpers.ts"
import { freePort, run as runProcess } from "../sip/client/lab.ts"
import { labDir } from "../support/vectors.ts"

const PBX: Endpoint = { address: "10.0.0.9", port: 5060 }
const CAROL: Endpoint = { address: "10.0.0.3", port: 5060 }
const DOMAIN = "pbx.test"
const USERS = { alice: "alicepw", bob: "bobpw" }

/** The registrar on the memory network at PBX. */
const pbx = (options: Partial<Registrar.RegistrarOptions> = {}) =>
  Effect.flatMap(
    MemoryTransport.make({ address: PBX.address, port: PBX.port }),
    (transport) => Effect.provideService(Registrar.make({ domain: DOMAIN, users: USERS, ...options }), SipTransport, transport)
  )

/** Events from now on, collected until `take` is read. */
const recordEvents = (registrar: Registrar.RegistrarShape) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Registrar.RegistrarEvent>()
    yield* registrar.events.pipe(Stream.runForEach((event) => Queue.offer(queue, event)), Effect.forkChild)
    yield* settle
    return { all: Queue.takeAll(queue).pipe(Effect.map((events) => Array.from(events))) }
  })

/**
 * A started phone of `user` at `endpoint` registered with the PBX (domain
 * pbx.test, the PBX as outbound proxy); `onClient` sees its SIP client even
 * when the start fails.
 */
const phoneOf = (
  endpoint: Endpoint,
  rtp: RtpNetwork,
  options: {
    readonly user: string
    readonly password: string
    readonly rtpLow: number
    readonly onIncomingCall?: IncomingCallHandler | undefined
    readonly account?: Partial<AccountOptions>
    readonly onClient?: (client: SIPClientShape) => Effect.Effect<void>
  }
) =>
  Effect.gen(function*() {
    const parameters = yield* VoIPPhoneParameter.make({
      user: options.user,
      register: false,
      bindIp: endpoint.address,
      bindPort: endpoint.port,
      rtpPortLow: options.rtpLow,
      rtpPortHigh: options.rtpLow + 99
    })
    const client = clientAt(endpoint, {
      register: true,
      server: DOMAIN,
      user: options.user,
      password: options.password,
      outboundProxy: { host: PBX.address, port: PBX.port },
      expires: 120,
      ...options.account
    }).pipe(Layer.tap((context) => options.onClient?.(Context.get(context, SIPClient)) ?? Effect.void))
    const layer = VoIPPhone.layerWithClient(parameters, client, { onIncomingCall: options.onIncomingCall })
    const context = yield* Layer.build(layer).pipe(Effect.provideService(RTPClient.RTPSocketFactory, rtp.factory))
    return Context.get(context, VoIPPhone)
  })

/** A bare endpoint that sends hand-written requests to the PBX and reads the answers. */
const rawAt = (endpoint: Endpoint) =>
  Effect.gen(function*() {
    const transport = yield* MemoryTransport.make({ address: endpoint.address, port: endpoint.port })
    const received = yield* Queue.unbounded<SIPMessage.SIPMessage>()
    yield* transport.incoming.pipe(Stream.runForEach(({ message }) => Queue.offer(received, message)), Effect.forkChild)
    let serial = 0
    const request = (method: string, uri: string, headers: ReadonlyArray<readonly [string, string]>, user = "carol") => {
      serial++
      return Result.getOrThrow(SIPMessage.request({
        method,
        uri,
        headers: [
          ["Via", `SIP/2.0/UDP ${formatEndpoint(endpoint)};branch=z9hG4bK-raw-${serial}`],
          ["Max-Forwards", "70"],
          ["From", `<sip:${user}@${DOMAIN}>;tag=raw${serial}`],
          ["To", `<sip:${user}@${DOMAIN}>`],
          ["Call-ID", `raw-${method}-${user}@test`],
          ["CSeq", `${serial} ${method}`],
          ...headers
        ]
      }))
    }
    /** Sends and gives the response (the PBX answers at once on a perfect link). */
    const exchange = (message: SIPMessage.SIPMessage) =>
      Effect.gen(function*() {
        yield* transport.send(message, { host: PBX.address, port: PBX.port })
        yield* settle
        return yield* Queue.take(received)
      })
    return { transport, request, exchange, received }
  })

const code = (message: SIPMessage.SIPMessage) => message.status === 0 ? 0 : message.status.value


describe("Registrar on the memory network", () => {
  it.effect("a phone registers with digest authentication; a wrong password leaves the phone FAILED", () =>
    Effect.gen(function*() {
      const registrar = yield* pbx()
      const events = yield* recordEvents(registrar)
      const rtp = yield* rtpNetwork
      const alice = yield* phoneOf(ALICE, rtp, { user: "alice", password: "alicepw", rtpLow: 20000 })
      expect(yield* alice.status).toBe("REGISTERED")
      const bindings = yield* registrar.lookup("alice")
      expect(bindings.map((binding) => binding.aor)).toEqual(["sip:alice@pbx.test"])
      expect(bindings[0]!.contact.host).toBe(ALICE.address)
      expect(bindings[0]!.expiresAt).toBe(120_000)
      // the 401 challenge, then the registration
      expect((yield* events.all).map((event) => event._tag === "Refused" ? event.status : event._tag)).toEqual([401, "Registered"])

      const client = yield* Deferred.make<SIPClientShape>()
      const failed = yield* phoneOf(BOB, rtp, {
        user: "bob",
        password: "not-bobpw",
        rtpLow: 20100,
        onClient: (shape) => Deferred.succeed(client, shape).pipe(Effect.asVoid)
      }).pipe(Effect.flip)
      expect(failed._tag).toBe("InvalidAccountInfoError")
      expect(failed.message).toContain("403")
      expect(yield* (yield* Deferred.await(client)).status).toBe("FAILED")
      expect(yield* registrar.lookup("bob")).toEqual([])
      expect((yield* events.all).map((event) => event._tag === "Refused" ? event.status : event._tag)).toEqual([401, 403])
    }).pipe(Effect.provide(world({ registerFailureThreshold: 1 }))))

  it.effect("bindings lapse on the virtual clock unless refreshed; 423 below Min-Expires; Expires: 0 and * remove", () =>
    Effect.gen(function*() {
      const registrar = yield* pbx({ users: undefined, minExpires: 60 })
      const events = yield* recordEvents(registrar)
      const carol = yield* rawAt(CAROL)
      const contact = ["Contact", `<sip:carol@${formatEndpoint(CAROL)}>`] as const
      const register = (expires: number, extra: ReadonlyArray<readonly [string, string]> = [contact]) =>
        carol.exchange(carol.request("REGISTER", `sip:${DOMAIN}`, [...extra, ["Expires", String(expires)]]))

      const brief = yield* register(30)
      expect([code(brief), brief.headers.get("Min-Expires")]).toEqual([423, "60"])
      const ok = yield* register(90)
      expect(code(ok)).toBe(200)
      expect(ok.headers.getAll("Contact")).toEqual([`<sip:carol@10.0.0.3:5060>;expires=90`])

      // refreshed at 80 s for 90 s more: still there at 150 s, gone at 171 s
      yield* TestClock.adjust("80 seconds")
      const refreshed = yield* register(90)
      expect(refreshed.headers.getAll("Contact")).toEqual([`<sip:carol@10.0.0.3:5060>;expires=90`])
      yield* TestClock.adjust("70 seconds")
      expect((yield* registrar.lookup("carol")).length).toBe(1)
      yield* TestClock.adjust("21 seconds")
      expect(yield* registrar.lookup("carol")).toEqual([])
      expect((yield* registrar.bindings).size).toBe(0)

      // Expires: 0 removes one contact; * with Expires: 0 removes them all
      expect(code(yield* register(600))).toBe(200)
      expect(code(yield* register(0))).toBe(200)
      expect(yield* registrar.lookup("carol")).toEqual([])
      yield* register(600)
      yield* register(600, [["Contact", `<sip:carol@10.0.0.33:5060>`]])
      expect((yield* registrar.lookup("carol")).length).toBe(2)
      expect(code(yield* register(600, [["Contact", "*"]]))).toBe(400)
      const all = yield* register(0, [["Contact", "*"]])
      expect([code(all), all.headers.getAll("Contact")]).toEqual([200, []])
      expect(yield* registrar.lookup("carol")).toEqual([])

      const summary = (yield* events.all).map((event) =>
        event._tag === "Registered"
          ? `registered ${event.contact} ${event.expires}${event.refreshed ? " refresh" : ""}`
          : event._tag === "Unregistered"
          ? `unregistered ${event.contact} ${event.reason}`
          : event._tag === "Refused"
          ? `refused ${event.status}`
          : event._tag
      )
      expect(summary).toEqual([
        "refused 423",
        "registered sip:carol@10.0.0.3:5060 90",
        "registered sip:carol@10.0.0.3:5060 90 refresh",
        "unregistered sip:carol@10.0.0.3:5060 expired",
        "registered sip:carol@10.0.0.3:5060 600",
        "unregistered sip:carol@10.0.0.3:5060 removed",
        "registered sip:carol@10.0.0.3:5060 600",
        "registered sip:carol@10.0.0.33:5060 600",
        "refused 400",
        "unregistered sip:carol@10.0.0.3:5060 removed",
        "unregistered sip:carol@10.0.0.33:5060 removed"
      ])
    }).pipe(Effect.provide(world())))

  it.effect("a phone registered by its refreshes stays bound for an hour; its stop removes the binding", () =>
    Effect.gen(function*() {
      const registrar = yield* pbx()
      const rtp = yield* rtpNetwork
      const alice = yield* phoneOf(ALICE, rtp, { user: "alice", password: "alicepw", rtpLow: 20000 })
      for (let minute = 0; minute < 60; minute++) {
        yield* TestClock.adjust("1 minute")
        yield* settle
        expect((yield* registrar.lookup("alice")).length).toBe(1)
      }
      yield* alice.stop
      yield* settle
      expect(yield* registrar.lookup("alice")).toEqual([])
    }).pipe(Effect.provide(world())))

  it.effect("Alice calls bob by user name through the registrar: answer, audio and DTMF both ways, BYE ends both", () =>
    Effect.gen(function*() {
      const registrar = yield* pbx()
      const events = yield* recordEvents(registrar)
      const rtp = yield* rtpNetwork
      const incoming = yield* handing
      yield* phoneOf(BOB, rtp, { user: "bob", password: "bobpw", rtpLow: 20100, onIncomingCall: incoming.handler })
      const alice = yield* phoneOf(ALICE, rtp, { user: "alice", password: "alicepw", rtpLow: 20000 })
      yield* events.all

      const caller = yield* alice.call("bob")
      expect(caller.request.requestUriText).toBe("sip:bob@pbx.test")
      yield* settle
      const callee = yield* incoming.next
      expect(callee.request.requestUriText).toBe("sip:bob@10.0.0.2:5060")
      expect(callee.request.headers.get("Max-Forwards")).toBe("69")
      expect(callee.request.via.map((via) => via.host)).toEqual([PBX.address, ALICE.address])
      yield* callee.answer
      yield* settle
      expect([yield* caller.state, yield* callee.state]).toEqual([CallState.ANSWERED, CallState.ANSWERED])

      // audio both ways
      const heardByBob = yield* Effect.forkChild(callee.audio.pipe(Stream.take(40), Stream.runCollect))
      const heardByAlice = yield* Effect.forkChild(caller.audio.pipe(Stream.take(40), Stream.runCollect))
      yield* settle
      yield* Effect.forkChild(caller.play(Audio.fromSamples(chirp(0.6))))
      yield* Effect.forkChild(callee.play(Audio.fromSamples(chirp(0.6))))
      yield* runFor(900)
      expect(energy(concat(Array.from(yield* Fiber.join(heardByBob))))).toBeGreaterThan(1000)
      expect(energy(concat(Array.from(yield* Fiber.join(heardByAlice))))).toBeGreaterThan(1000)

      // DTMF
      const digits = yield* Effect.forkChild(callee.dtmf.pipe(Stream.take(2), Stream.runCollect))
      yield* settle
      yield* Effect.forkChild(caller.sendDtmf("7#"))
      yield* runFor(1000)
      expect(Array.from(yield* Fiber.join(digits)).join("")).toBe("7#")

      yield* caller.hangup
      yield* settle
      expect(yield* callee.ended).toEqual({ _tag: "RemoteHangup" })
      expect(yield* caller.state).toBe(CallState.ENDED)

      // the INVITE, its ACK and the BYE went through the proxy (Record-Route)
      const forwarded = (yield* events.all).flatMap((event) => event._tag === "Forwarded" ? [event.method] : [])
      expect(forwarded).toEqual(["INVITE", "ACK", "BYE"])
    }).pipe(Effect.provide(world())))

  it.effect("404 for an unknown or unregistered user, 483 when Max-Forwards runs out; the ACK of our answer stays with us", () =>
    Effect.gen(function*() {
      const registrar = yield* pbx({ users: undefined })
      const events = yield* recordEvents(registrar)
      const carol = yield* rawAt(CAROL)
      const invite = (user: string, hops: string) =>
        Result.getOrThrow(SIPMessage.withHeader(carol.request("INVITE", `sip:${user}@${DOMAIN}`, [["Contact", `<sip:carol@${formatEndpoint(CAROL)}>`]]), "Max-Forwards", hops))
      const unknown = yield* carol.exchange(invite("nobody", "70"))
      expect([code(unknown), unknown.reason]).toEqual([404, "Not Found (not registered)"])

      yield* carol.exchange(carol.request("REGISTER", `sip:${DOMAIN}`, [["Contact", `<sip:carol@${formatEndpoint(CAROL)}>`]]))
      const looped = invite("carol", "0")
      const tooMany = yield* carol.exchange(looped)
      expect(code(tooMany)).toBe(483)
      // the ACK of the 483 is absorbed: nothing reaches carol's contact
      const ack = Result.getOrThrow(SIPMessage.request({
        method: "ACK",
        uri: looped.requestUriText,
        headers: [...looped.headers].filter(([name]) => name !== "CSeq").concat([["CSeq", `${looped.cseq!.seq} ACK`]])
      }))
      yield* carol.transport.send(ack, { host: PBX.address, port: PBX.port })
      yield* settle
      expect(yield* Queue.size(carol.received)).toBe(0)

      const foreign = yield* carol.exchange(carol.request("OPTIONS", "sip:someone@elsewhere.example", []))
      expect(code(foreign)).toBe(404)
      const options = yield* carol.exchange(carol.request("OPTIONS", `sip:${DOMAIN}`, []))
      expect(code(options)).toBe(200)
      // a request with no Call-ID: 400, and the registrar keeps running
      const broken = Result.getOrThrow(SIPMessage.withoutHeader(carol.request("OPTIONS", "sip:carol@pbx.test", []), "Call-ID"))
      expect(code(yield* carol.exchange(broken))).toBe(400)
      expect(code(yield* carol.exchange(carol.request("OPTIONS", `sip:${DOMAIN}`, [])))).toBe(200)

      expect((yield* events.all).flatMap((event) => event._tag === "Refused" ? [event.status] : [])).toEqual([404, 483, 404, 400])
    }).pipe(Effect.provide(world())))

  it.effect("authenticateCalls challenges the INVITE with 407; the phone answers it and the call goes through", () =>
    Effect.gen(function*() {
      const registrar = yield* pbx({ authenticateCalls: true })
      const events = yield* recordEvents(registrar)
      const rtp = yield* rtpNetwork
      const incoming = yield* answering
      yield* phoneOf(BOB, rtp, { user: "bob", password: "bobpw", rtpLow: 20100, onIncomingCall: incoming.handler })
      const alice = yield* phoneOf(ALICE, rtp, { user: "alice", password: "alicepw", rtpLow: 20000 })
      yield* events.all
      const caller = yield* alice.call("bob")
      yield* settle
      const callee = yield* incoming.next
      yield* settle
      expect(yield* caller.state).toBe(CallState.ANSWERED)
      expect(callee.request.headers.has("Proxy-Authorization")).toBe(true)
      yield* caller.hangup
      yield* settle
      const seen = (yield* events.all).map((event) =>
        event._tag === "Refused" ? `${event.method} ${event.status}` : event._tag === "Forwarded" ? event.method : event._tag
      )
      expect(seen).toEqual(["INVITE 407", "INVITE", "ACK", "BYE"])
    }).pipe(Effect.provide(world())))
})

describe("Registrar on UDP", () => {
  it.live("sipp's register-client registers, refreshes and unregisters with digest", () =>
    Effect.gen(function*() {
      const transport = yield* Udp.make({ host: "127.0.0.1", port: 0 })
      const registrar = yield* Effect.provideService(
        Registrar.make({ domain: "lab.test", users: { alice: "alicepw" } }),
        SipTransport,
        transport
      )
      const events = yield* recordEvents(registrar)
      const sipp = yield* runProcess("sipp", [
        `127.0.0.1:${transport.localAddress.port}`,
        "-sf",
        `${labDir}/sipp/register-client.xml`,
        "-i",
        "127.0.0.1",
        "-p",
        String(yield* freePort),
        "-s",
        "alice",
        "-au",
        "alice",
        "-ap",
        "alicepw",
        "-m",
        "1",
        "-d",
        "500",
        "-nostdin",
        "-timeout",
        "20s",
        "-timeout_error"
      ], { limitMillis: 30_000, cwd: labDir })
      expect(sipp.code, sipp.output).toBe(0)
      const seen = (yield* events.all).map((event) =>
        event._tag === "Refused" ? event.status : event._tag === "Unregistered" ? `Unregistered ${event.reason}` : event._tag
      )
      expect(seen).toEqual([401, "Registered", "Registered", "Unregistered removed"])
      expect((yield* registrar.bindings).size).toBe(0)
    }).pipe(Effect.provide(Layer.merge(VoIPSettings.layerWith(), Dns.layerStatic({ hosts: {} }).pipe(Layer.orDie)))))
})

