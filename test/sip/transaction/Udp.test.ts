/**
 * The transaction layer over real UDP sockets on 127.0.0.1, in real time with
 * a short T1, behind a wrapper that loses the first transmissions of chosen
 * messages: the transactions still complete through their retransmissions.
 */
import { NodeDns } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Layer, Result, Stream } from "effect"
import { VoIPSettings } from "../../../src/Config.ts"
import * as Dialog from "../../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../../src/sip/dialog/UaCore.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import type { ServerTransaction } from "../../../src/sip/transaction/ServerTransaction.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import { SipTransport } from "../../../src/transport/SipTransport.ts"
import * as Udp from "../../../src/transport/Udp.ts"
import { reply, request } from "./helpers.ts"

const environment = Layer.mergeAll(
  VoIPSettings.layerWith({ t1: Duration.millis(50), t2: Duration.millis(400) }),
  NodeDns.layer
)

/** The transport with the first `count` sends that `matches` accepts silently lost, as on a bad link. */
const losing = (
  transport: SipTransport["Service"],
  count: number,
  matches: (message: SIPMessage.SIPMessage) => boolean
): SipTransport["Service"] & { readonly lost: () => number } => {
  let lost = 0
  return {
    ...transport,
    lost: () => lost,
    send: (message, target) => {
      if (lost < count && !(message instanceof Uint8Array) && matches(message)) {
        lost++
        return Effect.succeed({
          destination: { address: target !== undefined && "host" in target ? target.host : "", port: target !== undefined && "host" in target ? target.port : 0 },
          transport: transport.mode,
          connectionId: undefined
        })
      }
      return transport.send(message, target)
    }
  }
}

const node = (lose: { readonly count: number; readonly matches: (message: SIPMessage.SIPMessage) => boolean }) =>
  Effect.gen(function*() {
    const transport = losing(yield* Udp.make({ host: "127.0.0.1" }), lose.count, lose.matches)
    const layer = yield* TransactionLayer.make.pipe(Effect.provideService(SipTransport, transport))
    const to = { host: "127.0.0.1", port: transport.localAddress.port }
    return { transport, layer, to, endpoint: transport.localAddress }
  })

const statusIs = (status: number) => (message: SIPMessage.SIPMessage) => message.status !== 0 && message.status.value === status
const methodIs = (method: string) => (message: SIPMessage.SIPMessage) => message.type === "REQUEST" && message.method === method
const never = () => false

/** The first new request that reaches `layer`'s TU. */
const nextRequest = (layer: TransactionLayer.TransactionLayerShape) =>
  layer.incoming.pipe(
    Stream.filterMap((event) => event._tag === "Request" ? Result.succeed(event.transaction) : Result.failVoid),
    Stream.runHead,
    Effect.flatMap(Effect.fromOption),
    Effect.orDie
  ) as Effect.Effect<ServerTransaction>

describe("transactions over UDP with lost packets (T1 = 50 ms)", () => {
  it.live("a non-INVITE request lost twice gets through on its second retransmission", () =>
    Effect.gen(function*() {
      const alice = yield* node({ count: 2, matches: methodIs("OPTIONS") })
      const bob = yield* node({ count: 0, matches: never })
      const served = yield* Effect.forkChild(Effect.flatMap(nextRequest(bob.layer), (transaction) =>
        Effect.as(transaction.respond(reply(transaction.request, 200)), transaction)))
      const started = yield* Clock.currentTimeMillis
      const transaction = yield* alice.layer.request(request("OPTIONS", { from: alice.endpoint, to: bob.endpoint }), bob.to)
      const final = yield* transaction.final
      const elapsed = (yield* Clock.currentTimeMillis) - started
      expect(final.status).toMatchObject({ value: 200 })
      expect(alice.transport.lost()).toBe(2)
      // sent at 0 (lost), 50 (lost), 150 ms
      expect(elapsed).toBeGreaterThanOrEqual(140)
      expect((yield* Fiber.join(served)).state).toBe("Completed")
    }).pipe(Effect.provide(environment)))

  it.live("an INVITE whose 486 is lost twice: Timer G (and the INVITE retransmissions) bring it, the ACK confirms", () =>
    Effect.gen(function*() {
      const alice = yield* node({ count: 0, matches: never })
      const bob = yield* node({ count: 2, matches: statusIs(486) })
      const served = yield* Effect.forkChild(Effect.flatMap(nextRequest(bob.layer), (transaction) =>
        Effect.as(transaction.respond(reply(transaction.request, 486, "busy")), transaction)))
      const transaction = yield* alice.layer.request(request("INVITE", { from: alice.endpoint, to: bob.endpoint }), bob.to)
      expect((yield* transaction.final).status).toMatchObject({ value: 486 })
      expect(bob.transport.lost()).toBe(2)
      const server = yield* Fiber.join(served)
      yield* Effect.sleep("20 millis")
      expect(server.state).toBe("Confirmed")
      expect(transaction.state).toBe("Completed")
    }).pipe(Effect.provide(environment)))

  it.live("a call whose 200 is lost twice: the UA core retransmits it until the ACK, which is also lost once and re-sent", () =>
    Effect.gen(function*() {
      const alice = yield* node({ count: 1, matches: methodIs("ACK") })
      const bob = yield* node({ count: 2, matches: statusIs(200) })
      const served = yield* Effect.forkChild(Effect.flatMap(nextRequest(bob.layer), (transaction) => {
        const contact = `<sip:bob@127.0.0.1:${bob.endpoint.port}>`
        const ok = Result.getOrThrow(SIPMessage.response(transaction.request, 200, { toTag: "bob", headers: [["Contact", contact]] }))
        return UaCore.acceptInvite(transaction, ok)
      }))
      const transaction = yield* alice.layer.request(request("INVITE", { from: alice.endpoint, to: bob.endpoint }), bob.to)
      const ok = yield* transaction.final
      expect(ok.status).toMatchObject({ value: 200 })
      const dialog = Result.getOrThrow(Dialog.fromResponse(transaction.request, ok))
      expect(Dialog.nextHop(dialog)).toEqual(bob.to)
      yield* UaCore.acknowledge(alice.layer, transaction, dialog)
      const ack = yield* Fiber.join(served)
      expect(ack.method).toBe("ACK")
      expect(bob.transport.lost()).toBe(2)
      expect(alice.transport.lost()).toBe(1)
    }).pipe(Effect.provide(environment)))
})
