/**
 * Shared pieces of the transaction and dialog tests: requests and responses
 * to send, nodes on an in-memory network (a transaction layer, or a bare
 * transport the test answers by hand), and readers of the network tap.
 */
import { expect } from "@effect/vitest"
import { Duration, Effect, Layer, Queue, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { type Settings, VoIPSettings } from "../../../src/Config.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import * as MemoryTransport from "../../../src/testing/MemoryTransport.ts"
import type { ServerTransaction } from "../../../src/sip/transaction/ServerTransaction.ts"
import type { TransactionUserEvent } from "../../../src/sip/transaction/TransactionLayer.ts"
import { type Endpoint, formatEndpoint, type IncomingMessage, SipTransport } from "../../../src/transport/SipTransport.ts"
import { TransportMode } from "../../../src/transport/TransportMode.ts"

/** The network and settings every in-memory test needs. */
export const world = (overrides: Partial<Settings> = {}) =>
  Layer.mergeAll(MemoryTransport.MemoryNetwork.layer, VoIPSettings.layerWith(overrides))

export const ALICE: Endpoint = { address: "10.0.0.1", port: 5060 }
export const BOB: Endpoint = { address: "10.0.0.2", port: 5060 }
export const destination = (endpoint: Endpoint) => ({ host: endpoint.address, port: endpoint.port })

let sequence = 0

/** An out-of-dialog request from `from` to `to`, without Via (the layer adds it). */
export const request = (
  method: string,
  params: {
    readonly from?: Endpoint
    readonly to?: Endpoint
    readonly via?: string
    readonly headers?: ReadonlyArray<readonly [string, string]>
    readonly body?: string
  } = {}
): SIPMessage.SIPMessage => {
  const n = ++sequence
  const from = formatEndpoint(params.from ?? ALICE)
  const to = formatEndpoint(params.to ?? BOB)
  const headers: Array<readonly [string, string]> = []
  if (params.via !== undefined) headers.push(["Via", params.via])
  headers.push(
    ["Max-Forwards", "70"],
    ["From", `<sip:alice@${from}>;tag=a${n}`],
    ["To", `<sip:bob@${to}>`],
    ["Call-ID", `call-${n}@test`],
    ["CSeq", `${n} ${method}`],
    ["Contact", `<sip:alice@${from}>`],
    ...(params.headers ?? [])
  )
  return Result.getOrThrow(SIPMessage.request({
    method,
    uri: `sip:bob@${to}`,
    headers,
    ...(params.body === undefined ? {} : { body: params.body, contentType: "application/sdp" })
  }))
}

/** The response to `request` (with a To tag unless it is 100). */
export const reply = (request: SIPMessage.SIPMessage, status: number, toTag = "b1"): SIPMessage.SIPMessage =>
  Result.getOrThrow(SIPMessage.response(request, status, status === 100 ? {} : { toTag }))

/** A UA core's ACK for a 2xx (new branch, CSeq number of the INVITE), sent straight to the peer. */
export const ackForSuccess = (invite: SIPMessage.SIPMessage, response: SIPMessage.SIPMessage): SIPMessage.SIPMessage =>
  Result.getOrThrow(SIPMessage.request({
    method: "ACK",
    uri: invite.requestUriText,
    headers: [
      ["Max-Forwards", "70"],
      ["From", invite.headers.get("From")!],
      ["To", response.headers.get("To")!],
      ["Call-ID", invite.callId!],
      ["CSeq", `${invite.cseq!.seq} ACK`]
    ]
  }))

/** A transaction layer on its own memory transport. */
export const layerNode = (endpoint: Endpoint, mode: TransportMode = TransportMode.UDP) =>
  Effect.gen(function*() {
    const transport = yield* MemoryTransport.make({ address: endpoint.address, port: endpoint.port, mode })
    const layer = yield* TransactionLayer.make.pipe(Effect.provideService(SipTransport, transport))
    const events = yield* inbox(layer.incoming)
    return { transport, layer, events }
  })

/** A bare memory transport: the test reads what arrives and sends by hand. */
export const rawNode = (endpoint: Endpoint, mode: TransportMode = TransportMode.UDP) =>
  Effect.gen(function*() {
    const transport = yield* MemoryTransport.make({ address: endpoint.address, port: endpoint.port, mode })
    const received = yield* inbox(transport.incoming)
    return { transport, received }
  })

/** A client node (transaction layer) at ALICE, a bare transport at BOB that answers by hand, and the network tap. */
export const clientAndPeer = (mode: TransportMode = TransportMode.UDP) =>
  Effect.gen(function*() {
    const tap = yield* (yield* MemoryTransport.MemoryNetwork).tap
    const alice = yield* layerNode(ALICE, mode)
    const bob = yield* rawNode(BOB, mode)
    return { tap, alice, bob }
  })

/** Lets the fibers already woken (readers, routers) run to their next wait; the clock does not move. */
export const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

/** Collects a stream into a queue for as long as the test's scope lasts. */
export const inbox = <A>(stream: Stream.Stream<A>) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<A>()
    yield* stream.pipe(Stream.runForEach((item) => Queue.offer(queue, item)), Effect.forkScoped)
    return {
      /**
       * The next item, once the fibers already woken have run; dies when none
       * comes (the clock does not move meanwhile).
       */
      next: Effect.gen(function*() {
        for (let turn = 0; turn < 100; turn++) {
          const item = yield* Queue.poll(queue)
          if (item._tag === "Some") return item.value
          yield* Effect.yieldNow
        }
        return yield* Effect.die(new Error("nothing arrived"))
      }),
      /** Everything that arrived so far (possibly nothing). */
      all: Queue.clear(queue),
      size: Queue.size(queue)
    }
  })

export type Inbox<A> = Effect.Success<ReturnType<typeof inbox<A>>>

/** The next TU event, which must be a new request. */
export const nextTransaction = (events: Inbox<TransactionUserEvent>) =>
  Effect.map(events.next, (event): ServerTransaction => {
    if (event._tag !== "Request") throw new Error(`expected a request, got ${event._tag}`)
    return event.transaction
  })

/** The tapped packets sent from `from` whose message satisfies `matches`. */
export const sentFrom = (
  packets: ReadonlyArray<MemoryTransport.TappedPacket>,
  from: Endpoint,
  matches: (message: SIPMessage.SIPMessage) => boolean = () => true
) =>
  packets.filter((packet) =>
    packet.from.address === from.address && packet.from.port === from.port && packet.message !== undefined &&
    matches(packet.message)
  )

/** Send times of the matching packets. */
export const sendTimes = (
  packets: ReadonlyArray<MemoryTransport.TappedPacket>,
  from: Endpoint,
  matches: (message: SIPMessage.SIPMessage) => boolean = () => true
): ReadonlyArray<number> => sentFrom(packets, from, matches).map((packet) => packet.sentAt)

export const isRequest = (method: string) => (message: SIPMessage.SIPMessage) =>
  message.type === SIPMessage.SIPMessageType.REQUEST && message.method === method

export const isResponse = (status: number) => (message: SIPMessage.SIPMessage) =>
  message.status !== 0 && message.status.value === status

/** Asserts that `transaction` stays in `state` for `millis` of virtual time and is Terminated the millisecond after. */
export const terminatesAfter = (transaction: { readonly state: string }, state: string, millis: number) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(Duration.millis(millis - 1))
    expect(transaction.state).toBe(state)
    yield* TestClock.adjust(Duration.millis(1))
    expect(transaction.state).toBe("Terminated")
  })

/** Times of a schedule of intervals starting at `start`. */
export const cumulative = (start: number, intervals: ReadonlyArray<number>): ReadonlyArray<number> => {
  const out = [start]
  for (const interval of intervals) out.push(out[out.length - 1]! + interval)
  return out
}

export const millis = (duration: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(duration))

export type IncomingQueue = Inbox<IncomingMessage>
