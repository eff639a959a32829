import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Dialog from "../../../src/sip/dialog/Dialog.ts"
import * as Forks from "../../../src/sip/dialog/Forks.ts"
import * as UaCore from "../../../src/sip/dialog/UaCore.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import { MemoryNetwork } from "../../../src/testing/MemoryTransport.ts"
import { TransportMode } from "../../../src/transport/TransportMode.ts"
import {
  ALICE,
  BOB,
  clientAndPeer,
  cumulative,
  destination,
  isRequest,
  isResponse,
  layerNode,
  nextTransaction,
  reply,
  request,
  sendTimes,
  sentFrom,
  settle,
  world
} from "../transaction/helpers.ts"

/** Two transaction layers, Alice calling Bob. */
const pair = (mode: TransportMode = TransportMode.UDP) =>
  Effect.gen(function*() {
    const tap = yield* (yield* MemoryNetwork).tap
    const alice = yield* layerNode(ALICE, mode)
    const bob = yield* layerNode(BOB, mode)
    return { tap, alice, bob }
  })

const withContact = (response: SIPMessage.SIPMessage, endpoint: { address: string; port: number }) =>
  Result.getOrThrow(SIPMessage.withHeader(response, "Contact", `<sip:bob@${endpoint.address}:${endpoint.port}>`))

describe("UAS: 2xx retransmission until the ACK (§13.3.1.4)", () => {
  it.effect("the 2xx goes out at 0, 0.5, 1.5, 3.5 s and stops when the ACK arrives", () =>
    Effect.gen(function*() {
      const { alice, bob, tap } = yield* pair()
      const call = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const incoming = yield* nextTransaction(bob.events)
      const ok = withContact(reply(incoming.request, 200, "bob"), BOB)
      const accepted = yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* TestClock.adjust("5 seconds")
      const answer = yield* call.final
      const dialog = Result.getOrThrow(Dialog.fromResponse(call.request, answer))
      const ack = yield* UaCore.acknowledge(alice.layer, call, dialog)
      expect(ack.via[0]?.branch).toMatch(/^z9hG4bK/)
      expect(ack.via[0]?.branch).not.toBe(call.branch)
      expect(ack.cseq).toEqual({ seq: call.request.cseq!.seq, method: "ACK" })
      yield* settle
      const received = yield* Fiber.join(accepted)
      expect(received.via[0]?.branch).toBe(ack.via[0]?.branch)
      yield* TestClock.adjust("1 minute")
      expect(sendTimes(yield* tap.packets, BOB, isResponse(200))).toEqual([0, 500, 1500, 3500])
      // each retransmission of the 2xx got the same ACK again
      const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK")).map((packet) => packet.message!.via[0]?.branch)
      expect(acks).toEqual([ack.via[0]?.branch])
      expect(yield* alice.layer.stats).toEqual({ clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 })
      expect(yield* bob.layer.stats).toEqual({ clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 })
    }).pipe(Effect.provide(world())))

  it.effect("without an ACK: 0.5, 1, 2, 4, 4… s apart, then a typed failure at 64·T1 (the dialog must end with BYE)", () =>
    Effect.gen(function*() {
      const { alice, bob, tap } = yield* pair()
      yield* alice.layer.request(request("INVITE"), destination(BOB))
      const incoming = yield* nextTransaction(bob.events)
      const accepted = yield* Effect.forkChild(Effect.flip(UaCore.acceptInvite(incoming, reply(incoming.request, 200, "bob"))))
      yield* TestClock.adjust("32 seconds")
      expect(yield* Fiber.join(accepted)).toMatchObject({ _tag: "TransactionTimeoutError", timer: "ack", afterMillis: 32_000 })
      expect(sendTimes(yield* tap.packets, BOB, isResponse(200))).toEqual(
        cumulative(0, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000])
      )
    }).pipe(Effect.provide(world())))

  it.effect("the 2xx is retransmitted over a reliable transport too: the ACK is end to end", () =>
    Effect.gen(function*() {
      const { alice, bob, tap } = yield* pair(TransportMode.TCP)
      yield* alice.layer.request(request("INVITE"), destination(BOB))
      const incoming = yield* nextTransaction(bob.events)
      yield* Effect.forkChild(Effect.ignore(UaCore.acceptInvite(incoming, reply(incoming.request, 200, "bob"))))
      yield* TestClock.adjust("2 seconds")
      expect(sendTimes(yield* tap.packets, BOB, isResponse(200))).toEqual([0, 500, 1500])
    }).pipe(Effect.provide(world())))
})

describe("UAC: ACK for 2xx (§13.2.2.4)", () => {
  it.effect("is re-sent, unchanged, for every retransmission of the 2xx", () =>
    Effect.gen(function*() {
      const { tap, alice, bob } = yield* clientAndPeer()
      const call = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const invite = (yield* bob.received.next).message
      const ok = withContact(reply(invite, 200, "bob"), BOB)
      yield* bob.transport.send(ok)
      const dialog = Result.getOrThrow(Dialog.fromResponse(call.request, yield* call.final))
      yield* UaCore.acknowledge(alice.layer, call, dialog)
      yield* TestClock.adjust("500 millis")
      yield* bob.transport.send(ok)
      yield* TestClock.adjust("1 second")
      yield* bob.transport.send(ok)
      yield* settle
      const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK"))
      expect(acks.map((packet) => packet.sentAt)).toEqual([0, 500, 1500])
      expect(new Set(acks.map((packet) => packet.message!.via[0]?.branch)).size).toBe(1)
      expect(acks[0]?.to).toEqual(BOB)
    }).pipe(Effect.provide(world())))
})

describe("forked INVITE (§13.2.2.4)", () => {
  it.effect("the first 2xx is the call; a 2xx from another fork is ACKed and ended with BYE; nothing is left", () =>
    Effect.gen(function*() {
      const { tap, alice, bob } = yield* clientAndPeer()
      const call = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const invite = (yield* bob.received.next).message
      for (const [status, tag] of [[180, "a"], [183, "b"], [200, "b"], [200, "a"]] as const) {
        yield* bob.transport.send(withContact(reply(invite, status, tag), BOB))
      }
      let forks = Forks.start(call.request)
      const seen: Array<string> = []
      const byes: Array<Fiber.Fiber<SIPMessage.SIPMessage, unknown>> = []
      yield* call.responses.pipe(
        Stream.take(4),
        Stream.runForEach((response) =>
          Effect.gen(function*() {
            const step = Result.getOrThrow(Forks.onResponse(forks, response))
            forks = step.state
            seen.push(`${step.event._tag}${step.event._tag === "Failed" || step.event._tag === "Ignored" ? "" : ` ${step.event.dialog.remoteTag}`}`)
            if (step.event._tag === "Confirmed") yield* UaCore.acknowledge(alice.layer, call, step.event.dialog)
            if (step.event._tag === "Extra") {
              const bye = yield* UaCore.endExtraDialog(alice.layer, call, step.event.dialog)
              byes.push(yield* Effect.forkChild(bye.final))
            }
          })
        )
      )
      expect(seen).toEqual(["Early a", "Early b", "Confirmed b", "Extra a"])
      yield* settle
      const bye = (yield* bob.received.all).map((incoming) => incoming.message).find((message) => message.method === "BYE")!
      expect(bye.to?.tag).toBe("a")
      yield* bob.transport.send(reply(bye, 200, "a"))
      expect((yield* Fiber.join(byes[0]!)).status).toMatchObject({ value: 200 })
      const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK")).map((packet) => packet.message!.to?.tag)
      expect(acks).toEqual(["b", "a"])
      yield* TestClock.adjust("1 minute")
      expect(yield* alice.layer.stats).toEqual({ clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 })
    }).pipe(Effect.provide(world())))
})

describe("a whole call between two layers", () => {
  it.effect("INVITE, 180, 200 with retransmission until ACK, BYE inside the dialog, then every transaction is gone", () =>
    Effect.gen(function*() {
      const { alice, bob } = yield* pair()
      const invite = request("INVITE", { body: "v=0\r\n" })
      const call = yield* alice.layer.request(invite, destination(BOB))
      const incoming = yield* nextTransaction(bob.events)
      expect(incoming.request.body).toBeDefined()
      const ringing = withContact(reply(incoming.request, 180, "bob"), BOB)
      yield* incoming.respond(ringing)
      const ok = withContact(reply(incoming.request, 200, "bob"), BOB)
      const uas = Result.getOrThrow(Dialog.fromRequest(incoming.request, ok))
      const accepted = yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))

      // the caller follows the responses: an early dialog, then the confirmed one
      let forks = Forks.start(call.request)
      const events: Array<string> = []
      let confirmed: Dialog.Dialog | undefined
      yield* call.responses.pipe(
        Stream.takeUntil((response) => response.status !== 0 && response.status.value >= 200),
        Stream.runForEach((response) =>
          Effect.gen(function*() {
            const step = Result.getOrThrow(Forks.onResponse(forks, response))
            forks = step.state
            events.push(step.event._tag)
            if (step.event._tag === "Confirmed") {
              confirmed = step.event.dialog
              yield* UaCore.acknowledge(alice.layer, call, step.event.dialog)
            }
          })
        )
      )
      expect(events).toEqual(["Early", "Confirmed"])
      yield* settle
      expect((yield* Fiber.join(accepted)).method).toBe("ACK")

      // BYE from the caller inside the dialog
      const { request: bye } = Result.getOrThrow(Dialog.createRequest(confirmed!, "BYE"))
      const hangup = yield* alice.layer.request(bye, Dialog.nextHop(confirmed!)!)
      const byeTransaction = yield* nextTransaction(bob.events)
      expect(Dialog.keyOfRequest(byeTransaction.request)).toBe(Dialog.keyOf(uas))
      expect(Result.isSuccess(Dialog.receiveRequest(uas, byeTransaction.request))).toBe(true)
      yield* byeTransaction.respond(reply(byeTransaction.request, 200, "bob"))
      expect((yield* hangup.final).status).toMatchObject({ value: 200 })

      yield* TestClock.adjust("1 minute")
      const empty = { clientTransactions: 0, serverTransactions: 0, awaitedAcks: 0, pendingTimers: 0 }
      expect(yield* alice.layer.stats).toEqual(empty)
      expect(yield* bob.layer.stats).toEqual(empty)
    }).pipe(Effect.provide(world())))
})

describe("CANCEL (§9)", () => {
  it.effect("the CANCEL copies Request-URI, Call-ID, To, From, CSeq number, top Via and Route", () =>
    Effect.sync(() => {
      const invite = Result.getOrThrow(SIPMessage.withHeader(
        request("INVITE", { via: "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKtop, SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKlower" }),
        "Route",
        ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
      ))
      const cancel = Result.getOrThrow(UaCore.cancelRequest(invite))
      expect(cancel.method).toBe("CANCEL")
      expect(cancel.requestUriText).toBe(invite.requestUriText)
      expect(cancel.via.map((via) => via.branch)).toEqual(["z9hG4bKtop"])
      expect(cancel.cseq).toEqual({ seq: invite.cseq!.seq, method: "CANCEL" })
      expect([cancel.callId, cancel.headers.get("From"), cancel.headers.get("To")]).toEqual([
        invite.callId,
        invite.headers.get("From"),
        invite.headers.get("To")
      ])
      expect(cancel.headers.getAll("Route")).toEqual(["<sip:p1.example;lr>", "<sip:p2.example;lr>"])
    }))

  it.effect("waits for a provisional response, cancels, and returns the 487 (which the transaction ACKs)", () =>
    Effect.gen(function*() {
      const { alice, bob, tap } = yield* pair()
      const call = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const incoming = yield* nextTransaction(bob.events)
      const cancelling = yield* Effect.forkChild(UaCore.cancel(alice.layer, call))
      yield* TestClock.adjust("1 second")
      yield* settle
      // nothing goes out before the 180 (the 100 Trying is provisional too, so answer before 200 ms is over)
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("CANCEL"))).toHaveLength(1)
      yield* settle
      const cancel = yield* incoming.cancelled
      expect(cancel.via[0]?.branch).toBe(call.branch)
      yield* incoming.respond(reply(incoming.request, 487, "bob"))
      const final = yield* Fiber.join(cancelling)
      expect(final.status).toMatchObject({ value: 487 })
      yield* settle
      expect(sendTimes(yield* tap.packets, ALICE, isRequest("CANCEL"))).toEqual([200])
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("ACK"))).toHaveLength(1)
      expect(sentFrom(yield* tap.packets, BOB, isResponse(200)).map((packet) => packet.message!.cseq?.method)).toEqual(["CANCEL"])
    }).pipe(Effect.provide(world())))

  it.effect("a final response before any provisional one: nothing is cancelled", () =>
    Effect.gen(function*() {
      const { alice, bob, tap } = yield* pair()
      const call = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const incoming = yield* nextTransaction(bob.events)
      const cancelling = yield* Effect.forkChild(UaCore.cancel(alice.layer, call))
      yield* incoming.respond(reply(incoming.request, 486, "bob"))
      expect((yield* Fiber.join(cancelling)).status).toMatchObject({ value: 486 })
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("CANCEL"))).toHaveLength(0)
    }).pipe(Effect.provide(world())))

  it.effect("no final response 64·T1 after the CANCEL: the INVITE is given up", () =>
    Effect.gen(function*() {
      const { alice, bob } = yield* clientAndPeer()
      const call = yield* alice.layer.request(request("INVITE"), destination(BOB))
      const invite = (yield* bob.received.next).message
      yield* bob.transport.send(reply(invite, 180, "bob"))
      yield* settle
      const cancelling = yield* Effect.forkChild(Effect.flip(UaCore.cancel(alice.layer, call)))
      yield* settle
      const cancel = (yield* bob.received.next).message
      expect(cancel.method).toBe("CANCEL")
      yield* bob.transport.send(reply(cancel, 200, "bob"))
      yield* TestClock.adjust("31999 millis")
      expect(cancelling.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(cancelling)).toMatchObject({ _tag: "TransactionTimeoutError", timer: "cancel", afterMillis: 32_000 })
      expect(call.state).toBe("Terminated")
    }).pipe(Effect.provide(world())))
})

describe("what the UA core tells its user", () => {
  it.effect("a timeout is a 408 and a transport failure a 503 (§8.1.3.1)", () =>
    Effect.gen(function*() {
      const alice = yield* layerNode(ALICE)
      const timedOut = yield* alice.layer.request(request("OPTIONS"), destination(BOB))
      const fiber = yield* Effect.forkChild(UaCore.finalResponse(timedOut))
      yield* TestClock.adjust("32 seconds")
      const response = yield* Fiber.join(fiber)
      expect(response.status).toMatchObject({ value: 408 })
      expect(response.reason).toBe("Request Timeout (Timer F)")
      expect(response.callId).toBe(timedOut.request.callId)
      const tcp = yield* layerNode({ address: "10.0.0.3", port: 5060 }, TransportMode.TCP)
      const refused = yield* tcp.layer.request(request("OPTIONS"), destination(BOB))
      const unavailable = yield* UaCore.finalResponse(refused)
      expect(unavailable.status).toMatchObject({ value: 503 })
      expect(unavailable.reason).toBe("Service Unavailable (ConnectFailed)")
    }).pipe(Effect.provide(world())))

  it.effect("501 for unknown methods, 405 with Allow, 481 for a dialog we do not have, nothing for ACK", () =>
    Effect.sync(() => {
      const policy: UaCore.RequestPolicy = {
        allowed: ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"],
        hasDialog: (message) => message.to?.tag === "known"
      }
      const refusal = (message: SIPMessage.SIPMessage) => Result.getOrThrow(UaCore.screen(message, policy))
      const unknown = Option.getOrThrow(refusal(request("FOO")))
      expect(unknown.status).toMatchObject({ value: 501 })
      expect(unknown.to?.tag).toBeDefined()
      const notAllowed = Option.getOrThrow(refusal(request("SUBSCRIBE")))
      expect(notAllowed.status).toMatchObject({ value: 405 })
      expect(notAllowed.headers.get("Allow")).toBe("INVITE, ACK, BYE, CANCEL, OPTIONS")
      const inDialog = (tag: string) =>
        Result.getOrThrow(SIPMessage.withHeader(request("BYE"), "To", `<sip:bob@10.0.0.2:5060>;tag=${tag}`))
      const stale = Option.getOrThrow(refusal(inDialog("gone")))
      expect(stale.status).toMatchObject({ value: 481 })
      expect(stale.to?.tag).toBe("gone")
      expect(refusal(inDialog("known"))).toEqual(Option.none())
      expect(refusal(request("ACK"))).toEqual(Option.none())
      expect(refusal(request("OPTIONS"))).toEqual(Option.none())
    }))
})
