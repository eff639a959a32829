/**
 * Shared pieces of the phone tests on the in-memory network of
 * effect-voip/testing: the world, phones at 10.0.0.x with their RTP on an
 * in-memory socket network (so the pacer runs on `TestClock`), and a bare
 * peer on a transaction layer whose every request and response the test
 * writes by hand.
 */
import { expect } from "@effect/vitest"
import { Context, Effect, Layer, Queue, Result } from "effect"
import { TestClock } from "effect/testing"
import type { Settings } from "../../src/Config.ts"
import * as RTPClient from "../../src/rtp/RTPClient.ts"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import type { AccountOptions } from "../../src/sip/client/Account.ts"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { MemoryRtpNetwork } from "../../src/testing/MemoryRtp.ts"
import { MemoryNetwork } from "../../src/testing/MemoryTransport.ts"
import * as TestWorld from "../../src/testing/TestWorld.ts"
import { type Endpoint, formatEndpoint } from "../../src/transport/SipTransport.ts"
import type { VoIPCall } from "../../src/voip/VoIPCall.ts"
import { type IncomingCallHandler, VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"
import { inbox, layerNode, settle } from "../sip/transaction/helpers.ts"

export const ALICE: Endpoint = { address: "10.0.0.1", port: 5060 }
export const BOB: Endpoint = { address: "10.0.0.2", port: 5060 }

/** The test world (networks, settings, a DNS that knows no names). */
export const world = (overrides: Partial<Settings> = {}) => TestWorld.layer({ settings: overrides })

/** A SIP client at `endpoint` on the memory network, peer-to-peer unless told otherwise. */
export const clientAt = (endpoint: Endpoint, account: Partial<AccountOptions> = {}) =>
  TestWorld.clientLayer({
    user: "phone",
    register: false,
    ...account,
    bind: { host: endpoint.address, port: endpoint.port },
    nat: { network: "10.0.0.0/8" }
  })

/** A datagram an RTP socket sent: the `Clock` time, the sending port, where it went. */
export interface SentDatagram {
  readonly at: number
  readonly port: number
  readonly payload: Uint8Array
  readonly address: Endpoint
}

/**
 * The RTP sockets of a test's phones, on an in-memory network of their own:
 * what they sent, and datagrams injected as if a peer had sent them.
 */
export const rtpNetwork = Effect.map(MemoryRtpNetwork.make, (network) => ({
  factory: network.factory,
  get sent(): ReadonlyArray<SentDatagram> {
    return network.sent.map((datagram) => ({ at: datagram.at, port: datagram.from.port, payload: datagram.payload, address: datagram.to }))
  },
  /** Delivers `payload` to `port` of the phone at `to` (ALICE by default) from `from`:`fromPort`. */
  inject: (port: number, payload: Uint8Array, from: string, fromPort: number, to = ALICE.address) =>
    network.inject({ address: to, port }, payload, { address: from, port: fromPort })
}))

export type RtpNetwork = Effect.Success<typeof rtpNetwork>

/**
 * A started phone at `endpoint` (its RTP bound there too, ports from
 * `rtpLow`), built in the test's scope.
 */
export const phoneAt = <R = never>(
  endpoint: Endpoint,
  rtp: RtpNetwork,
  options: {
    readonly rtpLow: number
    readonly onIncomingCall?: IncomingCallHandler<R> | undefined
    readonly parameters?: Partial<VoIPPhoneParameter.VoIPPhoneParameterInput>
    readonly account?: Partial<AccountOptions>
  }
) =>
  Effect.gen(function*() {
    const parameters = yield* VoIPPhoneParameter.make({
      user: "phone",
      register: false,
      bindIp: endpoint.address,
      bindPort: endpoint.port,
      rtpPortLow: options.rtpLow,
      rtpPortHigh: options.rtpLow + 99,
      ...options.parameters
    })
    const layer = VoIPPhone.layerWithClient(parameters, clientAt(endpoint, options.account), {
      onIncomingCall: options.onIncomingCall
    })
    const context = yield* Layer.build(layer).pipe(Effect.provideService(RTPClient.RTPSocketFactory, rtp.factory))
    return Context.get(context, VoIPPhone)
  })

const handingOver = (answer: boolean) =>
  Effect.gen(function*() {
    const calls = yield* Queue.unbounded<VoIPCall>()
    const handler: IncomingCallHandler = (call) =>
      Queue.offer(calls, call).pipe(Effect.andThen(answer ? call.answer : Effect.void), Effect.andThen(call.ended))
    return { handler, next: Queue.take(calls) }
  })

/** A handler that hands each call to the test and keeps it until it ends. */
export const handing = handingOver(false)

/** A handler that hands each call to the test, answers it and keeps it until it ends. */
export const answering = handingOver(true)

/** The network tap, the RTP network, a phone at ALICE (RTP ports from 20000) and a bare peer at BOB. */
export const phoneAndPeer = <R = never>(options: {
  readonly onIncomingCall?: IncomingCallHandler<R> | undefined
  readonly account?: Partial<AccountOptions>
} = {}) =>
  Effect.gen(function*() {
    const tap = yield* (yield* MemoryNetwork).tap
    const rtp = yield* rtpNetwork
    const phone = yield* phoneAt(ALICE, rtp, { rtpLow: 20000, ...options })
    const peer = yield* peerAt(BOB)
    return { tap, rtp, phone, peer }
  })

/** Asserts that an answered call refuses answer, deny and cancel, each error saying the states it allows. */
export const refusesWhileAnswered = (call: VoIPCall) =>
  Effect.gen(function*() {
    expect([
      yield* Effect.flip(call.answer),
      yield* Effect.flip(call.deny()),
      yield* Effect.flip(call.cancel)
    ]).toMatchObject([
      { action: "answer", state: "ANSWERED", allowed: ["RINGING"] },
      { action: "deny", state: "ANSWERED", allowed: ["RINGING"] },
      { action: "cancel", state: "ANSWERED", allowed: ["DIALING", "PROGRESS"] }
    ])
  })

/** A bare peer: a transaction layer at `endpoint`, its TU events in an inbox. */
export const peerAt = (endpoint: Endpoint) => layerNode(endpoint)

export type Peer = Effect.Success<ReturnType<typeof peerAt>>

/** An SDP offer from a peer at `address`, RTP on `port`: PCMU, PCMA, telephone-event. */
export const offerSdp = (address: string, port: number, codecs?: OfferAnswer.LocalMedia["codecs"]) =>
  Sdp.serialize(OfferAnswer.createOffer({ address, port, ...(codecs === undefined ? {} : { codecs }) }))

let sequence = 0

/** An INVITE from the peer at `from` to `to`, with `sdp` (none: a late offer). */
export const invite = (from: Endpoint, to: Endpoint, sdp?: string, headers: ReadonlyArray<readonly [string, string]> = []) => {
  const n = ++sequence
  return Result.getOrThrow(SIPMessage.request({
    method: "INVITE",
    uri: `sip:phone@${formatEndpoint(to)}`,
    headers: [
      ["Max-Forwards", "70"],
      ["From", `<sip:peer@${formatEndpoint(from)}>;tag=peer${n}`],
      ["To", `<sip:phone@${formatEndpoint(to)}>`],
      ["Call-ID", `incoming-${n}@test`],
      ["CSeq", "1 INVITE"],
      ["Contact", `<sip:peer@${formatEndpoint(from)}>`],
      ...headers
    ],
    ...(sdp === undefined ? {} : { body: sdp, contentType: "application/sdp" })
  }))
}

/** An out-of-dialog request from the peer. */
export const outOfDialog = (method: string, from: Endpoint, to: Endpoint, init: {
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly body?: string
  readonly contentType?: string
  readonly toTag?: string
} = {}) => {
  const n = ++sequence
  return Result.getOrThrow(SIPMessage.request({
    method,
    uri: `sip:phone@${formatEndpoint(to)}`,
    headers: [
      ["Max-Forwards", "70"],
      ["From", `<sip:peer@${formatEndpoint(from)}>;tag=peer${n}`],
      ["To", `<sip:phone@${formatEndpoint(to)}>${init.toTag === undefined ? "" : `;tag=${init.toTag}`}`],
      ["Call-ID", `request-${n}@test`],
      ["CSeq", `1 ${method}`],
      ...(init.headers ?? [])
    ],
    ...(init.body === undefined ? {} : { body: init.body, contentType: init.contentType ?? "text/plain" })
  }))
}

/** The peer's response to `request` with its tag and Contact, optionally an SDP body. */
export const peerResponse = (
  request: SIPMessage.SIPMessage,
  status: number,
  options: { readonly sdp?: string; readonly contact?: Endpoint; readonly toTag?: string; readonly headers?: ReadonlyArray<readonly [string, string]> } = {}
) =>
  Result.getOrThrow(SIPMessage.response(request, status, {
    ...(status === 100 ? {} : { toTag: options.toTag ?? "peer" }),
    headers: [
      ...(options.contact === undefined ? [] : [["Contact", `<sip:peer@${formatEndpoint(options.contact)}>`] as const]),
      ...(options.headers ?? [])
    ],
    ...(options.sdp === undefined ? {} : { body: options.sdp, contentType: "application/sdp" })
  }))

export { inbox, settle }

/** Moves the clock in 20 ms steps, letting the sessions send and play out each slot. */
export const runFor = (millis: number) =>
  Effect.gen(function*() {
    for (let elapsed = 0; elapsed < millis; elapsed += 20) {
      yield* TestClock.adjust("20 millis")
      yield* settle
    }
  })

/** The mean absolute sample: how loud `samples` are. */
export const energy = (samples: Int16Array) => samples.reduce((sum, sample) => sum + Math.abs(sample), 0) / Math.max(1, samples.length)

/** The peer's next TU event, which must be a request; its server transaction. */
export const nextRequest = (peer: Peer) =>
  Effect.map(peer.events.next, (event) => {
    if (event._tag !== "Request") throw new Error(`expected a request, got ${event._tag}`)
    return event.transaction
  })

/** Hangs `call` up and answers its BYE, which must reach `peer`, with 200; gives the BYE. */
export const hangupAnswered = (call: VoIPCall, peer: Peer) =>
  Effect.gen(function*() {
    yield* call.hangup
    const bye = yield* nextRequest(peer)
    expect(bye.request.method).toBe("BYE")
    yield* bye.respond(peerResponse(bye.request, 200))
    return bye.request
  })

/** The peer's SDP answer to the offer in `request`, its RTP on `address`:`port`. */
export const answerTo = (request: SIPMessage.SIPMessage, address: string, port: number) => {
  const offer = Result.getOrThrow(request.sdp)
  if (offer === undefined) throw new Error("the request has no SDP")
  return Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(offer, { address, port })).description)
}

/** The RTP port an SDP body names for its first stream. */
export const sdpPort = (message: SIPMessage.SIPMessage): number => {
  const sdp = Result.getOrThrow(message.sdp)
  if (sdp === undefined) throw new Error("no SDP")
  return sdp.media[0]!.port
}

/** Where the peer's calls to the phone at ALICE go. */
export const toPhone = { host: ALICE.address, port: ALICE.port }

/** The phone's calls to the peer at BOB use this target. */
export const PEER_URI = `sip:peer@${BOB.address}:${BOB.port}`
