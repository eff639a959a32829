/**
 * REFER (RFC 3515) under TestClock: the phone as transferor against a bare
 * peer (blind, NOTIFY with a 2xx sipfrag, NOTIFY with a failure), as
 * transferee (202, the new call, NOTIFY 100 then the outcome), and two
 * phones where one transfers the other to a third party.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import type { Endpoint } from "../../src/transport/SipTransport.ts"
import { sipfragStatus } from "../../src/voip/CallSession.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { VoIPCall } from "../../src/voip/VoIPCall.ts"
import { answered, type Answered, answeredWith, byeAnswered, PEER_RTP, sdpOf, sendInDialog, statusOf } from "./answered.ts"
import { ALICE, answering, BOB, hangupAnswered, nextRequest, outOfDialog, type Peer, peerAt, peerResponse, phoneAt, rtpNetwork, settle, toPhone, world } from "./helpers.ts"

const CAROL: Endpoint = { address: "10.0.0.3", port: 5060 }
const CAROL_URI = `sip:carol@${CAROL.address}:${CAROL.port}`

const sipfrag = (status: string) => ({ body: `SIP/2.0 ${status}\r\n`, contentType: "message/sipfrag;version=2.0" })

/** The peer's NOTIFY about the phone's REFER; the phone's answer. */
const notify = (setup: Answered, status: string, state: string) =>
  Effect.gen(function*() {
    const sent = yield* sendInDialog(setup, "NOTIFY", {
      headers: [["Event", "refer"], ["Subscription-State", state]],
      ...sipfrag(status)
    })
    return statusOf(yield* sent.responses.next)
  })

/** The REFER the phone sent, answered `status`. */
const takeRefer = (peer: Peer, status: number, toTag: string) =>
  Effect.gen(function*() {
    const refer = yield* nextRequest(peer)
    expect(refer.request.method).toBe("REFER")
    yield* refer.respond(peerResponse(refer.request, status, { toTag }))
    return refer.request
  })

/** Carol answers the INVITE she gets with `status` (200 with an SDP answer). */
const carolAnswers = (carol: Peer, status: number) =>
  Effect.gen(function*() {
    const dialed = yield* nextRequest(carol)
    expect(dialed.request.method).toBe("INVITE")
    const sdp = status === 200
      ? Sdp.serialize(Result.getOrThrow(OfferAnswer.createAnswer(sdpOf(dialed.request), { address: CAROL.address, port: PEER_RTP + 50 })).description)
      : undefined
    yield* dialed.respond(peerResponse(dialed.request, status, { contact: CAROL, ...(sdp === undefined ? {} : { sdp }) }))
    if (status === 200) yield* dialed.ack
    return dialed.request
  })

describe("transfer as transferor", () => {
  it("reads the status of a sipfrag", () => {
    expect(sipfragStatus("SIP/2.0 200 OK\r\n")).toBe(200)
    expect(sipfragStatus("SIP/2.0 100 Trying")).toBe(100)
    expect(sipfragStatus("hello")).toBeUndefined()
  })

  it.effect("blind: REFER with Refer-To and Referred-By, true at the 202, then BYE", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const transferring = yield* Effect.forkChild(setup.call.transfer(undefined, CAROL_URI))
      const refer = yield* takeRefer(setup.peer, 202, setup.dialog.get().localTag)
      expect(refer.headers.get("Refer-To")).toBe(`<${CAROL_URI}>`)
      expect(refer.headers.get("Referred-By")).toBe(`<sip:phone@${ALICE.address}:${ALICE.port}>`)
      expect(yield* Fiber.join(transferring)).toBe(true)
      expect(yield* byeAnswered(setup)).toEqual({ _tag: "LocalHangup" })
    }).pipe(Effect.provide(world())))

  it.effect("a REFER challenged 407 goes again with credentials and CSeq + 1; the BYE after it continues the CSeq", () =>
    Effect.gen(function*() {
      const setup = yield* answeredWith([], { password: "secret", authUser: "alice" })
      const toTag = setup.dialog.get().localTag
      const transferring = yield* Effect.forkChild(setup.call.transfer(undefined, CAROL_URI))
      const first = yield* nextRequest(setup.peer)
      expect(first.request.method).toBe("REFER")
      yield* first.respond(peerResponse(first.request, 407, {
        toTag,
        headers: [["Proxy-Authenticate", `Digest realm="peer.test", nonce="n1", qop="auth", algorithm=MD5`]]
      }))
      const second = yield* takeRefer(setup.peer, 202, toTag)
      expect(second.headers.get("Proxy-Authorization")).toContain(`username="alice"`)
      expect(second.cseq!.seq).toBe(first.request.cseq!.seq + 1)
      expect(yield* Fiber.join(transferring)).toBe(true)
      const bye = yield* nextRequest(setup.peer)
      expect(bye.request.method).toBe("BYE")
      expect(bye.request.cseq!.seq).toBe(second.cseq!.seq + 1)
      yield* bye.respond(peerResponse(bye.request, 200))
      yield* setup.call.ended
    }).pipe(Effect.provide(world())))

  it.effect("attended-style: waits past 100 Trying for the 2xx sipfrag, answers every NOTIFY 200, true, then BYE", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const transferring = yield* Effect.forkChild(setup.call.transfer(undefined, CAROL_URI, false))
      yield* takeRefer(setup.peer, 202, setup.dialog.get().localTag)
      expect(yield* notify(setup, "100 Trying", "active;expires=60")).toBe(200)
      yield* settle
      expect(transferring.pollUnsafe()).toBeUndefined()
      expect(yield* notify(setup, "200 OK", "terminated;reason=noresource")).toBe(200)
      expect(yield* Fiber.join(transferring)).toBe(true)
      yield* byeAnswered(setup)
    }).pipe(Effect.provide(world())))

  it.effect("attended-style: a failure sipfrag gives false and the call goes on", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const transferring = yield* Effect.forkChild(setup.call.transfer(undefined, CAROL_URI, false))
      yield* takeRefer(setup.peer, 202, setup.dialog.get().localTag)
      expect(yield* notify(setup, "486 Busy Here", "terminated;reason=noresource")).toBe(200)
      expect(yield* Fiber.join(transferring)).toBe(false)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* hangupAnswered(setup.call, setup.peer)
    }).pipe(Effect.provide(world())))

  it.effect("a refused REFER fails the transfer and the call goes on; transfer needs an answered call", () =>
    Effect.gen(function*() {
      const setup = yield* answered
      const transferring = yield* Effect.forkChild(Effect.flip(setup.call.transfer(undefined, CAROL_URI)))
      yield* takeRefer(setup.peer, 403, setup.dialog.get().localTag)
      const error = yield* Fiber.join(transferring)
      expect(error._tag === "CallError" && error.message).toContain("403")
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      yield* hangupAnswered(setup.call, setup.peer)
      yield* setup.call.ended
      const late = yield* Effect.flip(setup.call.transfer(undefined, CAROL_URI))
      expect(late._tag === "InvalidStateError" && [late.state, late.allowed]).toEqual([CallState.ENDED, [CallState.ANSWERED]])
    }).pipe(Effect.provide(world())))
})

describe("transfer as transferee", () => {
  const referred = (carolStatus: number, expected: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const setup = yield* answered
      const carol = yield* peerAt(CAROL)
      const events = setup.events
      const sent = yield* sendInDialog(setup, "REFER", {
        headers: [["Refer-To", `<${CAROL_URI}>`], ["Referred-By", `<sip:peer@${BOB.address}:${BOB.port}>`]]
      })
      expect(statusOf(yield* sent.responses.next)).toBe(202)
      const notifies: Array<SIPMessage.SIPMessage> = []
      const answerNotify = Effect.gen(function*() {
        const request = yield* nextRequest(setup.peer)
        expect(request.request.method).toBe("NOTIFY")
        notifies.push(request.request)
        yield* request.respond(peerResponse(request.request, 200, { toTag: setup.dialog.get().localTag }))
      })
      yield* answerNotify
      const invite = yield* carolAnswers(carol, carolStatus)
      expect(invite.requestUriText).toBe(CAROL_URI)
      let event = yield* events.next
      while (event._tag !== "Transferred") event = yield* events.next
      const transferred: VoIPCall = event.call
      yield* settle
      yield* answerNotify
      expect(notifies.map((request) => [
        request.headers.get("Event"),
        request.headers.get("Subscription-State"),
        request.headers.get("Content-Type"),
        new TextDecoder().decode(request.rawBody).trim()
      ])).toEqual([
        ["refer", "active;expires=60", "message/sipfrag;version=2.0", "SIP/2.0 100 Trying"],
        ["refer", "terminated;reason=noresource", "message/sipfrag;version=2.0", expected[0]]
      ])
      expect(notifies[1]!.cseq!.seq).toBe(notifies[0]!.cseq!.seq + 1)
      expect(yield* setup.call.state).toBe(CallState.ANSWERED)
      return { setup, transferred, carol }
    })

  it.effect("202, a new call to the Refer-To target, NOTIFY 100 Trying then 200 OK when it is answered", () =>
    Effect.gen(function*() {
      const { setup, transferred, carol } = yield* referred(200, ["SIP/2.0 200 OK"])
      expect(yield* transferred.state).toBe(CallState.ANSWERED)
      yield* hangupAnswered(transferred, carol)
      yield* hangupAnswered(setup.call, setup.peer)
    }).pipe(Effect.provide(world())))

  it.effect("a target that answers 486 is reported in the final NOTIFY", () =>
    Effect.gen(function*() {
      const { setup, transferred } = yield* referred(486, ["SIP/2.0 486 Busy"])
      expect(yield* transferred.ended).toEqual({ _tag: "Busy", status: 486 })
      yield* hangupAnswered(setup.call, setup.peer)
    }).pipe(Effect.provide(world())))

  it.effect("INFO, REFER and NOTIFY outside any dialog are answered 481", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const peer = yield* peerAt(BOB)
      for (const method of ["INFO", "REFER", "NOTIFY"]) {
        const transaction = yield* peer.layer.request(outOfDialog(method, BOB, ALICE), toPhone)
        const response = yield* transaction.responses.pipe(Stream.ignore, Stream.runHead)
        expect(response._tag === "Some" && statusOf(response.value)).toBe(481)
      }
    }).pipe(Effect.provide(world())))
})

describe("transfer between two phones", () => {
  it.effect("Alice transfers Bob to Carol: Bob calls Carol, Alice gets true from the NOTIFY and hangs up", () =>
    Effect.gen(function*() {
      const rtp = yield* rtpNetwork
      const bobCalls = yield* answering
      yield* phoneAt(BOB, rtp, { rtpLow: 20100, onIncomingCall: bobCalls.handler })
      const alice = yield* phoneAt(ALICE, rtp, { rtpLow: 20000 })
      const carol = yield* peerAt(CAROL)
      const call = yield* alice.call(`sip:phone@${BOB.address}:${BOB.port}`)
      const bobCall = yield* bobCalls.next
      const bobEvents = yield* Stream.runCollect(bobCall.events).pipe(Effect.forkChild)
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      const transferring = yield* Effect.forkChild(call.transfer(undefined, CAROL_URI, false))
      yield* settle
      yield* carolAnswers(carol, 200)
      yield* TestClock.adjust("10 millis")
      yield* settle
      expect(yield* Fiber.join(transferring)).toBe(true)
      expect(yield* call.ended).toEqual({ _tag: "LocalHangup" })
      expect(yield* bobCall.ended).toEqual({ _tag: "RemoteHangup" })
      const transferred = Array.from(yield* Fiber.join(bobEvents)).flatMap((event) => event._tag === "Transferred" ? [event.call] : [])
      expect(transferred.length).toBe(1)
      expect(yield* transferred[0]!.state).toBe(CallState.ANSWERED)
      yield* transferred[0]!.hangup
      const bye = yield* nextRequest(carol)
      yield* bye.respond(peerResponse(bye.request, 200))
    }).pipe(Effect.provide(world())))
})
