/**
 * The phone as a whole under TestClock: what it answers outside calls
 * (OPTIONS, MESSAGE, unknown methods, requests for no dialog, Require),
 * `message()`, `stop()` and `start()` with calls in every state, the scope
 * closing with a call up, and its status through registration.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Result, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import * as RTPClient from "../../src/rtp/RTPClient.ts"
import { MemoryNetwork } from "../../src/testing/MemoryTransport.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { type IncomingCallHandler, VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"
import { registrar } from "../sip/client/helpers.ts"
import { isRequest, sentFrom } from "../sip/transaction/helpers.ts"
import {
  ALICE,
  answerTo,
  BOB,
  clientAt,
  handing,
  hangupAnswered,
  invite,
  nextRequest,
  offerSdp,
  outOfDialog,
  type Peer,
  PEER_URI,
  peerAt,
  peerResponse,
  phoneAndPeer,
  phoneAt,
  rtpNetwork,
  settle,
  toPhone,
  world
} from "./helpers.ts"
import { statusOf } from "./answered.ts"

const PEER_RTP = 30000

const setup = (handler?: IncomingCallHandler) =>
  Effect.gen(function*() {
    const { tap, rtp, phone, peer } = yield* phoneAndPeer({ onIncomingCall: handler })
    const send = (request: SIPMessage.SIPMessage) => Effect.flatMap(peer.layer.request(request, toPhone), (sent) => sent.final)
    return { tap, rtp, phone, peer, send }
  })

/** An outgoing call the peer answers; the test's peer keeps its dialog. */
const answeredCall = (phone: VoIPPhone["Service"], peer: Peer) =>
  Effect.gen(function*() {
    const call = yield* phone.call(PEER_URI)
    const incoming = yield* nextRequest(peer)
    const ok = peerResponse(incoming.request, 200, { contact: BOB, sdp: answerTo(incoming.request, BOB.address, PEER_RTP) })
    yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
    yield* settle
    expect(yield* call.state).toBe(CallState.ANSWERED)
    return call
  })

describe("the phone outside calls", () => {
  it.effect("answers OPTIONS 200 with what it allows, accepts and supports", () =>
    Effect.gen(function*() {
      const { send } = yield* setup()
      const ok = yield* send(outOfDialog("OPTIONS", BOB, ALICE))
      expect(statusOf(ok)).toBe(200)
      expect(ok.headers.get("Allow")).toBe("INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, REFER, NOTIFY, UPDATE, PRACK")
      expect(ok.headers.get("Accept")).toBe("application/sdp, text/plain, application/dtmf-relay, application/dtmf, message/sipfrag")
      expect(ok.headers.has("Supported")).toBe(true)
      expect(ok.to?.tag).toBeDefined()
    }).pipe(Effect.provide(world())))

  it.effect("answers MESSAGE 200 and hands it to `messages`", () =>
    Effect.gen(function*() {
      const { phone, send } = yield* setup()
      const received = yield* Effect.forkChild(phone.messages.pipe(Stream.take(1), Stream.runCollect))
      yield* settle
      const ok = yield* send(outOfDialog("MESSAGE", BOB, ALICE, { body: "hello, phone" }))
      expect(statusOf(ok)).toBe(200)
      const [message] = Array.from(yield* Fiber.join(received))
      expect({ text: message?.text, contentType: message?.contentType, from: message?.from?.uri.user }).toEqual({
        text: "hello, phone",
        contentType: "text/plain",
        from: "peer"
      })
    }).pipe(Effect.provide(world())))

  it.effect("refuses per RFC 3261: 501 for an unknown method, 405 with Allow, 481 for no dialog, 420 for a Require", () =>
    Effect.gen(function*() {
      const { send } = yield* setup()
      const unknown = yield* send(outOfDialog("FROB", BOB, ALICE))
      const subscribe = yield* send(outOfDialog("SUBSCRIBE", BOB, ALICE, { headers: [["Event", "presence"]] }))
      const bye = yield* send(outOfDialog("BYE", BOB, ALICE, { toTag: "no-such-dialog" }))
      const required = yield* send(invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP), [["Require", "foo"]]))
      expect([unknown, subscribe, bye, required].map(statusOf)).toEqual([501, 405, 481, 420])
      expect(subscribe.headers.get("Allow")).toBe("INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, REFER, NOTIFY, UPDATE, PRACK")
      expect(required.headers.get("Unsupported")).toBe("foo")
    }).pipe(Effect.provide(world())))

  it.effect("message() sends MESSAGE and tells whether it was accepted", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const first = yield* Effect.forkChild(phone.message(PEER_URI, "are you there?"))
      const incoming = yield* nextRequest(peer)
      expect(incoming.request.method).toBe("MESSAGE")
      expect(new TextDecoder().decode(incoming.request.rawBody)).toBe("are you there?")
      expect(incoming.request.headers.get("Content-Type")).toBe("text/plain")
      yield* incoming.respond(peerResponse(incoming.request, 202))
      expect(yield* Fiber.join(first)).toBe(true)
      const second = yield* Effect.forkChild(phone.message(PEER_URI, "<b>hi</b>", "text/html"))
      const refused = yield* nextRequest(peer)
      expect(refused.request.headers.get("Content-Type")).toBe("text/html")
      yield* refused.respond(peerResponse(refused.request, 404))
      expect(yield* Fiber.join(second)).toBe(false)
    }).pipe(Effect.provide(world())))
})

describe("stopping and starting", () => {
  it.effect("stop() sends BYE, CANCEL and 480 for the calls in each state, frees every port; start() runs it again", () =>
    Effect.gen(function*() {
      const calls = yield* handing
      const { peer, phone, tap } = yield* setup(calls.handler)
      const statuses = yield* Effect.forkChild(phone.statusChanges.pipe(Stream.take(5), Stream.runCollect))
      const answered = yield* answeredCall(phone, peer)

      const dialing = yield* phone.call(PEER_URI)
      const dialed = yield* nextRequest(peer)
      yield* dialed.respond(peerResponse(dialed.request, 180))

      const ringingTransaction = yield* peer.layer.request(invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP)), toPhone)
      const ringing = yield* calls.next
      expect(yield* phone.rtpPortsInUse).toBe(2)
      yield* settle

      const stopping = yield* Effect.forkChild(phone.stop)
      yield* settle
      const bye = yield* nextRequest(peer)
      expect(bye.request.method).toBe("BYE")
      yield* bye.respond(peerResponse(bye.request, 200))
      yield* dialed.cancelled
      yield* dialed.respond(peerResponse(dialed.request, 487))
      yield* Fiber.join(stopping)

      expect(statusOf(yield* ringingTransaction.final)).toBe(480)
      expect([yield* answered.ended, yield* dialing.ended, yield* ringing.ended]).toEqual([
        { _tag: "LocalHangup" },
        { _tag: "Canceled", by: "local" },
        { _tag: "Denied", status: 480 }
      ])
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("CANCEL"))).toHaveLength(1)
      expect(yield* phone.rtpPortsInUse).toBe(0)
      expect(yield* phone.calls).toEqual([])
      expect(yield* phone.status).toBe("INACTIVE")
      expect(yield* Effect.flip(phone.call(PEER_URI))).toMatchObject({ _tag: "CallError", reason: "the phone is not running" })

      yield* phone.start
      expect(Array.from(yield* Fiber.join(statuses))).toEqual(["REGISTERED", "DEREGISTERING", "INACTIVE", "REGISTERING", "REGISTERED"])
      const again = yield* answeredCall(phone, peer)
      yield* again.hangup
    }).pipe(Effect.provide(world())))

  it.effect("closing the phone's scope ends its calls with BYE before the transport closes", () =>
    Effect.gen(function*() {
      const tap = yield* (yield* MemoryNetwork).tap
      const rtp = yield* rtpNetwork
      const peer = yield* peerAt(BOB)
      const scope = yield* Scope.make()
      const parameters = yield* VoIPPhoneParameter.make({ user: "phone", register: false, bindIp: ALICE.address, rtpPortLow: 20000, rtpPortHigh: 20099 })
      const phone = Context.get(
        yield* Layer.buildWithScope(VoIPPhone.layerWithClient(parameters, clientAt(ALICE)), scope).pipe(
          Effect.provideService(RTPClient.RTPSocketFactory, rtp.factory)
        ),
        VoIPPhone
      )
      const call = yield* answeredCall(phone, peer)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      const bye = yield* nextRequest(peer)
      yield* bye.respond(peerResponse(bye.request, 200))
      yield* Fiber.join(closing)
      expect(yield* call.ended).toEqual({ _tag: "LocalHangup" })
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("BYE"))).toHaveLength(1)
    }).pipe(Effect.provide(world())))
})

describe("status", () => {
  it.effect("registering: REGISTERING then REGISTERED; stop deregisters (Expires: 0): DEREGISTERING then INACTIVE", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      const rtp = yield* rtpNetwork
      const building = yield* Effect.forkChild(phoneAt(ALICE, rtp, {
        rtpLow: 20000,
        account: { register: true, server: "10.0.0.2", user: "alice", password: "alicepw" }
      }))
      yield* settle
      const phone = yield* Fiber.join(building)
      expect(yield* phone.status).toBe("REGISTERED")
      const statuses = yield* Effect.forkChild(phone.statusChanges.pipe(Stream.take(3), Stream.runCollect))
      yield* settle
      yield* phone.stop
      expect(Array.from(yield* Fiber.join(statuses))).toEqual(["REGISTERED", "DEREGISTERING", "INACTIVE"])
      // challenged once; the deregistration reuses the nonce
      expect(server.requests().map(({ request }) => request.headers.get("Expires"))).toEqual(["300", "300", "0"])
    }).pipe(Effect.provide(world())))

  it.effect("a registration that fails for good fails the layer with the typed error (pyVoIP's start raising)", () =>
    Effect.gen(function*() {
      yield* registrar({ password: "not-alicepw" })
      const rtp = yield* rtpNetwork
      const failed = yield* Effect.flip(phoneAt(ALICE, rtp, {
        rtpLow: 20000,
        account: { register: true, server: "10.0.0.2", user: "alice", password: "alicepw" }
      }))
      expect(failed).toMatchObject({ _tag: "InvalidAccountInfoError", status: 403 })
    }).pipe(Effect.provide(world({ registerFailureThreshold: 1 }))))
})

describe("a dialog the phone does not know", () => {
  it.effect("a BYE after the call ended is answered 481", () =>
    Effect.gen(function*() {
      const { peer, phone, send } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const ok = peerResponse(incoming.request, 200, { contact: BOB, sdp: answerTo(incoming.request, BOB.address, PEER_RTP) })
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      yield* hangupAnswered(call, peer)
      const dialog = Result.getOrThrow(Dialog.fromRequest(incoming.request, ok))
      const late = Result.getOrThrow(Dialog.createRequest(dialog, "BYE")).request
      expect(statusOf(yield* send(late))).toBe(481)
      yield* TestClock.adjust("1 minute")
    }).pipe(Effect.provide(world())))
})
