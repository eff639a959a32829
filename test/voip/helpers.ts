/**
 * Shared pieces of the phone tests on the in-memory network: the world
 * (SIP network, settings, a DNS with no names), phones at 10.0.0.x with
 * their RTP on an in-memory socket network (so the pacer runs on
 * `TestClock`), and a bare peer on a transaction layer whose every request
 * and response the test writes by hand.
 */
import { Clock, Context, Effect, Layer, Queue, Result } from "effect"
import { Dns, NetAddress } from "effect/net"
import { DatagramSocket } from "effect/socket"
import { type Settings, VoIPSettings } from "../../src/Config.ts"
import * as RTPClient from "../../src/rtp/RTPClient.ts"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import type { AccountOptions } from "../../src/sip/client/Account.ts"
import { SIPClient } from "../../src/sip/client/SIPClient.ts"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../src/sip/transaction/TransactionLayer.ts"
import * as MemoryTransport from "../../src/testing/MemoryTransport.ts"
import { NAT } from "../../src/transport/Nat.ts"
import { type Endpoint, formatEndpoint } from "../../src/transport/SipTransport.ts"
import { type IncomingCallHandler, VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"
import { inbox, layerNode, settle } from "../sip/transaction/helpers.ts"

export const ALICE: Endpoint = { address: "10.0.0.1", port: 5060 }
export const BOB: Endpoint = { address: "10.0.0.2", port: 5060 }

/** Network, settings and a DNS that knows no names. */
export const world = (overrides: Partial<Settings> = {}) =>
  Layer.mergeAll(
    MemoryTransport.MemoryNetwork.layer,
    VoIPSettings.layerWith(overrides),
    Dns.layerStatic({ hosts: {} }).pipe(Layer.orDie)
  )

/** A SIP client at `endpoint` on the memory network, peer-to-peer unless told otherwise. */
export const clientAt = (endpoint: Endpoint, account: Partial<AccountOptions> = {}) => {
  const transport = MemoryTransport.layer({ address: endpoint.address, port: endpoint.port })
  const nat = NAT.layerFromTransport({ bindIp: endpoint.address, network: "10.0.0.0/8" })
  return SIPClient.layer({ user: "phone", register: false, ...account }).pipe(
    Layer.provide(Layer.merge(TransactionLayer.layer, nat).pipe(Layer.provideMerge(transport)))
  )
}

/** A datagram an RTP socket sent, with the `Clock` time and the sending port. */
export interface SentDatagram {
  readonly at: number
  readonly port: number
  readonly payload: Uint8Array
  readonly address: NetAddress.InetAddress
}

/**
 * The RTP sockets of all phones of a test, in memory: each datagram is
 * recorded and delivered at once to the socket bound on its destination
 * port (addresses are not looked at, so the phones' port ranges must not
 * overlap); `inject` delivers one as if `from`:`fromPort` had sent it.
 */
export const rtpNetwork = Effect.sync(() => {
  const sent: Array<SentDatagram> = []
  const inboxes = new Map<number, Queue.Queue<DatagramSocket.Datagram>>()
  const deliver = (port: number, payload: Uint8Array, from: NetAddress.InetAddress) => {
    const inbox = inboxes.get(port)
    if (inbox !== undefined) Queue.offerUnsafe(inbox, { payload, address: from })
  }
  const factory = (binding: { readonly address: string; readonly port: number }) =>
    Effect.sync(() => {
      const self = NetAddress.inetAddressFromIpStringUnsafe(binding.address, binding.port)
      return DatagramSocket.make({
        reader: Effect.acquireRelease(
          Effect.gen(function*() {
            const inbox = yield* Queue.unbounded<DatagramSocket.Datagram>()
            inboxes.set(binding.port, inbox)
            return {
              pull: Queue.takeAll(inbox),
              address: self,
              dropped: () => 0,
              joinMulticast: () => Effect.void
            } satisfies DatagramSocket.Reader
          }),
          () => Effect.sync(() => inboxes.delete(binding.port))
        ),
        writer: Effect.sync(() => {
          const write = (datagram: DatagramSocket.OutgoingDatagram) =>
            Effect.flatMap(Clock.currentTimeMillis, (at) =>
              Effect.sync(() => {
                const payload = (datagram.payload as Uint8Array).slice()
                const address = datagram.address as NetAddress.InetAddress
                sent.push({ at, port: binding.port, payload, address })
                deliver(address.port, payload, self)
              }))
          return { write, writeAll: (datagrams: Iterable<DatagramSocket.OutgoingDatagram>) => Effect.forEach(datagrams, write, { discard: true }) }
        })
      })
    })
  return {
    factory,
    sent,
    inject: (port: number, payload: Uint8Array, from: string, fromPort: number) =>
      Effect.sync(() => deliver(port, payload, NetAddress.inetAddressFromIpStringUnsafe(from, fromPort)))
  }
})

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

/** The peer's next TU event, which must be a request; its server transaction. */
export const nextRequest = (peer: Peer) =>
  Effect.map(peer.events.next, (event) => {
    if (event._tag !== "Request") throw new Error(`expected a request, got ${event._tag}`)
    return event.transaction
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
