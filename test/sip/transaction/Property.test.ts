/**
 * Properties of the transaction layer under arbitrary peers: whatever
 * responses (or request retransmissions, ACKs and CANCELs) arrive, in any
 * order, duplicated, interleaved with time passing, the layer never dies,
 * passes the TU what the state machines allow, and forgets every
 * transaction once its timers have run.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Result, type Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as UaCore from "../../../src/sip/dialog/UaCore.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import type { ClientTransaction } from "../../../src/sip/transaction/ClientTransaction.ts"
import type { ServerTransaction } from "../../../src/sip/transaction/ServerTransaction.ts"
import {
  ALICE,
  BOB,
  clientAndPeer,
  destination,
  isRequest,
  layerNode,
  rawNode,
  reply,
  request,
  sentFrom,
  settle,
  world
} from "./helpers.ts"
import { MemoryNetwork } from "../../../src/testing/MemoryTransport.ts"

const statusOf = (message: SIPMessage.SIPMessage) => message.status === 0 ? 0 : message.status.value
const empty = { clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 }

/** Runs one case on a fresh virtual clock. */
const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())))

type ClientStep =
  | { readonly kind: "respond"; readonly transaction: number; readonly status: number; readonly tag: number }
  | { readonly kind: "stray"; readonly status: number }
  | { readonly kind: "wait"; readonly millis: number }

const clientStep: fc.Arbitrary<ClientStep> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("respond" as const),
      transaction: fc.nat({ max: 3 }),
      status: fc.constantFrom(100, 180, 183, 200, 202, 302, 404, 486, 487, 500, 603),
      tag: fc.nat({ max: 2 })
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stray" as const), status: fc.constantFrom(180, 200, 481) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), millis: fc.integer({ min: 0, max: 40_000 }) }) }
)

const methods = fc.array(fc.constantFrom("INVITE", "OPTIONS", "BYE", "INVITE"), { minLength: 1, maxLength: 4 })

describe("client transactions under arbitrary responses", () => {
  it("never die, never pass up what the state machine forbids, and leave nothing behind", async () => {
    await fc.assert(
      fc.asyncProperty(methods, fc.array(clientStep, { maxLength: 40 }), (methodList, steps) =>
        run(Effect.gen(function*() {
          const { alice, bob } = yield* clientAndPeer()
          const tap = yield* (yield* MemoryNetwork).tap
          const transactions: Array<ClientTransaction> = []
          const collected: Array<Array<SIPMessage.SIPMessage>> = []
          for (const method of methodList) {
            const transaction = yield* alice.layer.request(request(method), destination(BOB))
            const responses: Array<SIPMessage.SIPMessage> = []
            transactions.push(transaction)
            collected.push(responses)
            yield* transaction.responses.pipe(
              Stream.runForEach((response) => Effect.sync(() => responses.push(response))),
              Effect.ignore,
              Effect.forkChild
            )
          }
          yield* settle
          const received = (yield* bob.received.all).map((incoming) => incoming.message)
          for (const step of steps) {
            if (step.kind === "wait") {
              yield* TestClock.adjust(step.millis)
              continue
            }
            const target = step.kind === "stray"
              ? request("INVITE", { via: "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnobody" })
              : received[step.transaction % received.length]!
            const response = reply(target, step.status, `t${step.kind === "respond" ? step.tag : 0}`)
            yield* bob.transport.send(response)
            yield* settle
          }
          // the TU's duty: an INVITE still ringing is cancelled (and given up 64·T1 later, §9.1)
          for (const transaction of transactions) {
            if (transaction.state === "Proceeding") yield* Effect.forkChild(Effect.ignore(UaCore.cancel(alice.layer, transaction)))
          }
          yield* settle
          yield* TestClock.adjust("2 minutes")
          yield* settle

          expect(yield* alice.layer.stats).toEqual(empty)
          for (const [index, transaction] of transactions.entries()) {
            const final = yield* Effect.exit(transaction.final)
            // a final response, or a typed failure: never a defect
            if (Exit.isFailure(final)) expect(final.cause.reasons.every((reason) => reason._tag === "Fail")).toBe(true)
            const responses = collected[index]!
            const firstFinal = responses.findIndex((response) => statusOf(response) >= 200)
            const after = firstFinal < 0 ? [] : responses.slice(firstFinal + 1)
            if (transaction.method === "INVITE" && firstFinal >= 0 && statusOf(responses[firstFinal]!) < 300) {
              expect(after.every((response) => statusOf(response) >= 200 && statusOf(response) < 300)).toBe(true)
            } else {
              expect(after).toEqual([])
            }
            if (Exit.isSuccess(final)) expect(final.value).toBe(responses[firstFinal])
          }
          // every ACK the layer sent acknowledges a non-2xx final of an INVITE, with its branch
          const branches = new Set(transactions.filter((t) => t.method === "INVITE").map((t) => t.branch))
          for (const packet of sentFrom(yield* tap.packets, ALICE, isRequest("ACK"))) {
            expect(branches.has(packet.message!.via[0]!.branch!)).toBe(true)
          }
          // and the layer still works
          const next = yield* alice.layer.request(request("OPTIONS"), destination(BOB))
          yield* settle
          const options = (yield* bob.received.all).map((incoming) => incoming.message).find((message) => message.callId === next.request.callId)!
          yield* bob.transport.send(reply(options, 200))
          expect(statusOf(yield* next.final)).toBe(200)
        }).pipe(Effect.provide(world())))
      ),
      { numRuns: 60 }
    )
  }, 120_000)
})

type ServerStep =
  | { readonly kind: "request"; readonly index: number }
  | { readonly kind: "ack"; readonly index: number }
  | { readonly kind: "cancel"; readonly index: number }
  | { readonly kind: "respond"; readonly index: number; readonly status: number }
  | { readonly kind: "wait"; readonly millis: number }

const serverStep: fc.Arbitrary<ServerStep> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("request" as const), index: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("ack" as const), index: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), index: fc.nat({ max: 2 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("respond" as const),
      index: fc.nat({ max: 2 }),
      status: fc.constantFrom(100, 180, 200, 486, 500)
    })
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), millis: fc.integer({ min: 0, max: 40_000 }) }) }
)

const withHeaderOrThrow = (message: SIPMessage.SIPMessage, name: string, value: string) =>
  Result.getOrThrow(SIPMessage.withHeader(message, name, value))

describe("server transactions under arbitrary requests", () => {
  it("pass each new request to the TU once, absorb the rest, and leave nothing behind", async () => {
    await fc.assert(
      fc.asyncProperty(methods, fc.array(serverStep, { maxLength: 40 }), (methodList, steps) =>
        run(Effect.gen(function*() {
          const bob = yield* layerNode(BOB)
          const alice = yield* rawNode(ALICE)
          const requests = methodList.map((method, n) =>
            request(method, { via: `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKprop${n}` })
          )
          const seen = new Map<number, ServerTransaction>()
          const sentOnce = new Set<number>()
          for (const step of steps) {
            if (step.kind === "wait") {
              yield* TestClock.adjust(step.millis)
              continue
            }
            const index = step.index % requests.length
            const original = requests[index]!
            if (step.kind === "request") {
              yield* alice.transport.send(original, destination(BOB))
              sentOnce.add(index)
            } else if (step.kind === "ack" || step.kind === "cancel") {
              const method = step.kind === "ack" ? "ACK" : "CANCEL"
              const derived = withHeaderOrThrow(
                withHeaderOrThrow(original, "CSeq", `${original.cseq!.seq} ${method}`),
                "To",
                `${original.headers.get("To")};tag=bob`
              )
              const message = Result.getOrThrow(SIPMessage.request({
                method,
                uri: derived.requestUriText,
                headers: [...derived.headers].filter(([name]) => name !== "Content-Length")
              }))
              yield* alice.transport.send(message, destination(BOB))
            } else {
              const transaction = seen.get(index)
              if (transaction !== undefined) {
                const outcome = yield* Effect.exit(transaction.respond(reply(transaction.request, step.status, "bob")))
                if (Exit.isFailure(outcome)) {
                  expect(outcome.cause.reasons.every((reason) => reason._tag === "Fail")).toBe(true)
                }
              }
            }
            yield* settle
            for (const event of yield* bob.events.all) {
              if (event._tag !== "Request") continue
              const index = requests.findIndex((message) => message.callId === event.transaction.request.callId)
              // a request reaches the TU again only after its transaction is gone
              const previous = seen.get(index)
              expect(previous === undefined || previous.state === "Terminated").toBe(true)
              seen.set(index, event.transaction)
            }
          }
          // the TU answers whatever it left open, as it must
          for (const transaction of seen.values()) yield* Effect.ignore(transaction.respond(reply(transaction.request, 486, "bob")))
          yield* TestClock.adjust("2 minutes")
          yield* settle
          expect(yield* bob.layer.stats).toEqual(empty)
          for (const index of sentOnce) expect(seen.has(index)).toBe(true)
        }).pipe(Effect.provide(world())))
      ),
      { numRuns: 60 }
    )
  }, 120_000)
})
