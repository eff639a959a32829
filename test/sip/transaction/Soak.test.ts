import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Random, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Dialog from "../../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../../src/sip/dialog/UaCore.ts"
import type * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import { LinkPolicy, MemoryNetwork } from "../../../src/testing/MemoryTransport.ts"
import * as MemoryTransport from "../../../src/testing/MemoryTransport.ts"
import { SipTransport } from "../../../src/transport/SipTransport.ts"
import { ALICE, BOB, destination, layerNode, reply, request, settle, world } from "./helpers.ts"

const TRANSACTIONS = 10_000
const statusOf = (message: SIPMessage.SIPMessage) => message.status === 0 ? 0 : message.status.value

/** Bob's TU: OPTIONS and BYE get 200; INVITEs alternate between 486 and a 2xx retransmitted until its ACK. */
const answeringNode = Effect.gen(function*() {
  const transport = yield* MemoryTransport.make({ address: BOB.address, port: BOB.port })
  const layer = yield* TransactionLayer.make.pipe(Effect.provideService(SipTransport, transport))
  let invites = 0
  yield* layer.incoming.pipe(
    Stream.runForEach((event) => {
      if (event._tag !== "Request") return Effect.void
      const transaction = event.transaction
      if (transaction.method !== "INVITE") return Effect.ignore(transaction.respond(reply(transaction.request, 200, "bob")))
      if (invites++ % 2 === 0) return Effect.ignore(transaction.respond(reply(transaction.request, 486, "bob")))
      const ok = reply(transaction.request, 200, `bob${invites}`)
      return Effect.forkChild(Effect.ignore(UaCore.acceptInvite(transaction, ok)))
    }),
    Effect.forkScoped
  )
  return layer
})

describe("soak", () => {
  it.effect(`${TRANSACTIONS} transactions over a lossy link: all complete, then both layers are empty`, () =>
    Effect.gen(function*() {
      yield* (yield* MemoryNetwork).setPolicy(LinkPolicy.lossy({ loss: 0.05 }))
      const bob = yield* answeringNode
      const alice = yield* layerNode(ALICE)
      const outcomes = new Map<string, number>()
      const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1)

      const one = (n: number) =>
        Effect.gen(function*() {
          const method = n % 5 < 2 ? "OPTIONS" : "INVITE"
          const transaction = yield* alice.layer.request(request(method), destination(BOB))
          const final = yield* UaCore.finalResponse(transaction)
          const status = statusOf(final)
          count(`${method} ${status}`)
          if (method === "INVITE" && status === 200) {
            const dialog = Result.getOrThrow(Dialog.fromResponse(transaction.request, final))
            yield* UaCore.acknowledge(alice.layer, transaction, dialog)
          }
        })

      const run = yield* Effect.forkChild(Effect.forEach(Array.from({ length: TRANSACTIONS }, (_, n) => n), one, {
        concurrency: 200,
        discard: true
      }))
      while (run.pollUnsafe() === undefined) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      yield* Fiber.join(run)
      yield* TestClock.adjust("3 minutes")
      yield* settle

      const total = [...outcomes.values()].reduce((a, b) => a + b, 0)
      expect(total).toBe(TRANSACTIONS)
      // with 5 % loss each way, retransmissions get almost every transaction through
      expect((outcomes.get("OPTIONS 200") ?? 0) + (outcomes.get("INVITE 200") ?? 0) + (outcomes.get("INVITE 486") ?? 0))
        .toBeGreaterThan(TRANSACTIONS * 0.99)
      const empty = { clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 }
      expect(yield* alice.layer.stats).toEqual(empty)
      expect(yield* bob.stats).toEqual(empty)
    }).pipe(Effect.provide(world()), Random.withSeed("soak")), 120_000)
})
