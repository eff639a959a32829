/**
 * Outgoing calls under TestClock: the phone at 10.0.0.1 calls a bare peer
 * at 10.0.0.2 whose every response the test writes: provisional responses
 * and early media, the 2xx and its ACK (to the Contact, through the route
 * set), failure responses and their end reasons, CANCEL and the 2xx that
 * crosses it, forked 2xx, a challenge, and every action the state forbids.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import * as RTPMessage from "../../src/rtp/RTPMessage.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { CallEvent, VoIPCall } from "../../src/voip/VoIPCall.ts"
import { chirp, concat } from "../rtp/session/helpers.ts"
import { destination, isRequest, sentFrom } from "../sip/transaction/helpers.ts"
import {
  ALICE,
  answerTo,
  BOB,
  nextRequest,
  PEER_URI,
  peerResponse,
  phoneAndPeer,
  phoneAt,
  refusesWhileAnswered,
  settle,
  world
} from "./helpers.ts"

const PEER_RTP = 30000
const PROXY = { address: "10.0.0.3", port: 5060 }

/** A phone at ALICE, a bare peer at BOB, a tap on the network. */
const setup = (account: Parameters<typeof phoneAt>[2]["account"] = {}) => phoneAndPeer({ account })

const statesOf = (call: VoIPCall) => Effect.forkChild(Stream.runCollect(call.states))

const summary = (events: ReadonlyArray<CallEvent>) =>
  events.map((event) =>
    event._tag === "Provisional" ? event.status : event._tag === "State" ? event.state : event._tag === "Ended" ? event.reason._tag : event._tag === "Dtmf" ? event.digit : event._tag
  )

const collected = <A>(fiber: Fiber.Fiber<ReadonlyArray<A>>) => Effect.map(Fiber.join(fiber), (all) => Array.from(all))

describe("outgoing calls", () => {
  it.effect("DIALING; 180 is an event; 183 with SDP is PROGRESS with early media; the 2xx is ACKed to its Contact and ANSWERED", () =>
    Effect.gen(function*() {
      const { peer, phone, rtp, tap } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      expect(yield* call.state).toBe(CallState.DIALING)
      expect(call.direction).toBe("outgoing")
      const states = yield* statesOf(call)
      const events = yield* Effect.forkChild(call.events.pipe(Stream.take(5), Stream.runCollect))
      const heard = yield* Effect.forkChild(call.audio.pipe(Stream.take(20), Stream.runCollect))
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      expect(invite.method).toBe("INVITE")
      expect(invite.headers.get("Content-Type")).toBe("application/sdp")
      const offered = Result.getOrThrow(invite.sdp)!.media[0]!
      expect(offered.payloads.map((payload) => payload.type?.description)).toEqual(["PCMU", "telephone-event"])

      yield* incoming.respond(peerResponse(invite, 180, { contact: BOB }))
      yield* settle
      expect(yield* call.state).toBe(CallState.DIALING)
      yield* incoming.respond(peerResponse(invite, 183, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) }))
      yield* settle
      expect(yield* call.state).toBe(CallState.PROGRESS)
      // early media: our session sends to the 183's port, and plays out what the peer sends
      const ourPort = offered.port
      const signal = chirp(0.4)
      for (let frame = 0; frame < 20; frame++) {
        const packet = RTPMessage.encode({
          payloadType: 0,
          sequence: frame,
          timestamp: frame * 160,
          ssrc: 0x1234,
          marker: frame === 0,
          payload: PCMU.encode(signal.subarray(frame * 160, (frame + 1) * 160))
        })
        yield* rtp.inject(ourPort, packet, BOB.address, PEER_RTP)
        yield* TestClock.adjust("20 millis")
      }
      yield* TestClock.adjust("200 millis")
      expect(rtp.sent.some((datagram) => datagram.port === ourPort && datagram.address.port === PEER_RTP)).toBe(true)
      const played = concat(Array.from(yield* Fiber.join(heard)))
      expect(played.some((sample) => Math.abs(sample) > 1000)).toBe(true)

      const ok = peerResponse(invite, 200, { contact: { address: BOB.address, port: 5070 }, sdp: answerTo(invite, BOB.address, PEER_RTP) })
      const accepted = yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      // the ACK goes to the 2xx's Contact (nobody listens at 5070, so the peer's transaction never sees it)
      const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK"))
      expect(acks.map((packet) => [packet.to, packet.message!.requestUriText])).toEqual([
        [{ address: BOB.address, port: 5070 }, `sip:peer@${BOB.address}:5070`]
      ])
      yield* Fiber.interrupt(accepted)
      yield* call.hangup
      expect(yield* collected(states)).toEqual([CallState.DIALING, CallState.PROGRESS, CallState.ANSWERED, CallState.ENDED])
      expect(summary(yield* collected(events))).toEqual([180, 183, CallState.PROGRESS, CallState.ANSWERED, "LocalHangup"])
    }).pipe(Effect.provide(world())))

  it.effect("with Record-Route: the ACK and the BYE go through the proxy, with the route set", () =>
    Effect.gen(function*() {
      const { peer, phone, tap } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      const ok = peerResponse(invite, 200, {
        contact: BOB,
        sdp: answerTo(invite, BOB.address, PEER_RTP),
        headers: [["Record-Route", `<sip:${PROXY.address}:${PROXY.port};lr>`]]
      })
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* call.hangup
      const sent = sentFrom(yield* tap.packets, ALICE, (message) => message.method === "ACK" || message.method === "BYE")
      expect(sent.map((packet) => ({
        method: packet.message!.method,
        to: packet.to,
        uri: packet.message!.requestUriText,
        route: packet.message!.headers.get("Route")
      }))).toEqual(["ACK", "BYE"].map((method) => ({
        method,
        to: PROXY,
        uri: `sip:peer@${BOB.address}:${BOB.port}`,
        route: `<sip:${PROXY.address}:${PROXY.port};lr>`
      })))
    }).pipe(Effect.provide(world())))

  const failures: ReadonlyArray<readonly [number, unknown]> = [
    [486, { _tag: "Busy", status: 486 }],
    [600, { _tag: "Busy", status: 600 }],
    [603, { _tag: "Declined", status: 603 }],
    [480, { _tag: "NoAnswer", status: 480 }],
    [404, { _tag: "Failed", status: 404, reason: "Not Found" }],
    [503, { _tag: "Failed", status: 503, reason: "Service Unavailable" }]
  ]
  for (const [status, reason] of failures) {
    it.effect(`a ${status} ends the call (${JSON.stringify(reason)}), ACKed by its transaction, the RTP port given back`, () =>
      Effect.gen(function*() {
        const { peer, phone, tap } = yield* setup()
        const call = yield* phone.call(PEER_URI)
        expect(yield* phone.rtpPortsInUse).toBe(1)
        const incoming = yield* nextRequest(peer)
        yield* incoming.respond(peerResponse(incoming.request, 180))
        yield* incoming.respond(peerResponse(incoming.request, status))
        yield* settle
        expect(yield* call.ended).toEqual(reason)
        expect(yield* call.state).toBe(CallState.ENDED)
        const acks = sentFrom(yield* tap.packets, ALICE, isRequest("ACK"))
        expect(acks.map((packet) => packet.message!.via[0]?.branch)).toEqual([incoming.request.via[0]?.branch])
        expect(yield* phone.rtpPortsInUse).toBe(0)
        expect(yield* phone.calls).toEqual([])
      }).pipe(Effect.provide(world())))
  }

  it.effect("no response at all: Timer B ends the call after 64·T1 as no answer (408)", () =>
    Effect.gen(function*() {
      const { phone } = yield* setup()
      const call = yield* phone.call(`sip:nobody@10.0.0.9:5060`)
      yield* TestClock.adjust("31 seconds")
      expect(yield* call.state).toBe(CallState.DIALING)
      yield* TestClock.adjust("1 second")
      expect(yield* call.ended).toEqual({ _tag: "NoAnswer", status: 408 })
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("cancel(): CANCELING, the CANCEL waits for a provisional response, 487 ends the call as canceled", () =>
    Effect.gen(function*() {
      const { peer, phone, tap } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const states = yield* statesOf(call)
      const incoming = yield* nextRequest(peer)
      yield* call.cancel
      expect(yield* call.state).toBe(CallState.CANCELING)
      yield* settle
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("CANCEL"))).toEqual([])
      yield* incoming.respond(peerResponse(incoming.request, 180))
      yield* settle
      const cancels = sentFrom(yield* tap.packets, ALICE, isRequest("CANCEL"))
      expect(cancels.map((packet) => packet.message!.via[0]?.branch)).toEqual([incoming.request.via[0]?.branch])
      yield* incoming.cancelled
      yield* incoming.respond(peerResponse(incoming.request, 487))
      yield* settle
      expect(yield* call.ended).toEqual({ _tag: "Canceled", by: "local" })
      expect(yield* collected(states)).toEqual([CallState.DIALING, CallState.CANCELING, CallState.ENDED])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.provide(world())))

  it.effect("a 2xx that crosses the CANCEL is ACKed, then the dialog ended with BYE", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      yield* incoming.respond(peerResponse(invite, 180))
      yield* settle
      yield* call.cancel
      yield* settle
      yield* incoming.cancelled
      // the callee answered before it saw the CANCEL
      const ok = peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })
      const accepted = yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      const ack = yield* Fiber.join(accepted)
      expect(ack.method).toBe("ACK")
      const bye = yield* nextRequest(peer)
      expect(bye.request.method).toBe("BYE")
      expect(bye.request.to?.tag).toBe("peer")
      yield* bye.respond(peerResponse(bye.request, 200))
      expect(yield* call.ended).toEqual({ _tag: "Canceled", by: "local" })
    }).pipe(Effect.provide(world())))

  it.effect("a BYE from the callee is answered 200 and ends the call as a remote hangup", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      const ok = peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      const dialog = Result.getOrThrow(Dialog.fromRequest(invite, ok))
      const { request: bye } = Result.getOrThrow(Dialog.createRequest(dialog, "BYE"))
      const sent = yield* peer.layer.request(bye, destination(ALICE))
      expect((yield* sent.final).status).toMatchObject({ value: 200 })
      expect(yield* call.ended).toEqual({ _tag: "RemoteHangup" })
      expect(yield* phone.rtpPortsInUse).toBe(0)
      // the dialog is gone: a second BYE is refused 481
      const again = Result.getOrThrow(Dialog.createRequest(dialog, "BYE")).request
      expect((yield* (yield* peer.layer.request(again, destination(ALICE))).final).status).toMatchObject({ value: 481 })
    }).pipe(Effect.provide(world())))

  it.effect("a 2xx from a second fork is ACKed and ended with BYE; the call stays with the first", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      const sdp = answerTo(invite, BOB.address, PEER_RTP)
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, peerResponse(invite, 200, { contact: BOB, sdp, toTag: "first" })))
      yield* settle
      yield* incoming.respond(peerResponse(invite, 200, { contact: BOB, sdp, toTag: "second" }))
      yield* settle
      const bye = yield* nextRequest(peer)
      expect([bye.request.method, bye.request.to?.tag]).toEqual(["BYE", "second"])
      yield* bye.respond(peerResponse(bye.request, 200))
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* call.hangup
      const ours = yield* nextRequest(peer)
      expect([ours.request.method, ours.request.to?.tag]).toEqual(["BYE", "first"])
    }).pipe(Effect.provide(world())))

  it.effect("a 407 is answered with credentials on a new INVITE (CSeq + 1); its 2xx is ACKed with them", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup({ password: "secret", authUser: "alice" })
      const call = yield* phone.call(PEER_URI)
      const first = yield* nextRequest(peer)
      yield* first.respond(peerResponse(first.request, 407, {
        headers: [["Proxy-Authenticate", `Digest realm="peer.test", nonce="n1", qop="auth", algorithm=MD5`]]
      }))
      yield* settle
      const second = yield* nextRequest(peer)
      const invite = second.request
      expect(invite.cseq?.seq).toBe(first.request.cseq!.seq + 1)
      expect(invite.callId).toBe(first.request.callId)
      expect(invite.headers.get("Proxy-Authorization")).toContain(`username="alice"`)
      const ok = peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })
      const ack = yield* Effect.forkChild(UaCore.acceptInvite(second, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      expect((yield* Fiber.join(ack)).headers.get("Proxy-Authorization")).toBe(invite.headers.get("Proxy-Authorization"))
      yield* call.hangup
    }).pipe(Effect.provide(world())))

  it.effect("headers of the caller go into the INVITE; one the stack writes itself is refused with CallError", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const call = yield* phone.call(PEER_URI, undefined, {
        headers: [["P-Asserted-Identity", "<sip:+15551234567@pbx.example>"], ["X-Campaign", "spring-42"]]
      })
      const incoming = yield* nextRequest(peer)
      expect([incoming.request.headers.get("P-Asserted-Identity"), incoming.request.headers.get("X-Campaign")]).toEqual([
        "<sip:+15551234567@pbx.example>",
        "spring-42"
      ])
      yield* incoming.respond(peerResponse(incoming.request, 486))
      expect(yield* call.ended).toEqual({ _tag: "Busy", status: 486 })
      for (const name of ["Call-ID", "cseq", "Contact", "f"]) {
        const refused = yield* Effect.flip(phone.call(PEER_URI, undefined, { headers: [[name, "x"]] }))
        expect(refused._tag === "CallError" && refused.message).toContain(`${name} is written by the stack`)
      }
    }).pipe(Effect.provide(world())))

  it.effect("every action the state forbids fails with InvalidStateError carrying the state (pyVoIP's table)", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const call = yield* phone.call(PEER_URI)
      const refusal = <A, E>(action: Effect.Effect<A, E>) => Effect.map(Effect.flip(action), (error) => error)
      const dialing = [
        yield* refusal(call.answer),
        yield* refusal(call.deny()),
        yield* refusal(call.hangup),
        yield* refusal(call.sendDtmf("1"))
      ]
      expect(dialing).toMatchObject([
        { _tag: "InvalidStateError", action: "answer", state: "DIALING", allowed: ["RINGING"] },
        { _tag: "InvalidStateError", action: "deny", state: "DIALING", allowed: ["RINGING"] },
        { _tag: "InvalidStateError", action: "hangup", state: "DIALING", allowed: ["ANSWERED"] },
        { _tag: "InvalidStateError", action: "send DTMF", state: "DIALING", allowed: ["ANSWERED"] }
      ])
      expect(dialing[0]!.message).toBe("Call is not ringing: cannot answer a call that is DIALING")
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })))
      yield* settle
      yield* refusesWhileAnswered(call)
      yield* call.hangup
      const ended = [
        yield* refusal(call.answer),
        yield* refusal(call.deny()),
        yield* refusal(call.hangup),
        yield* refusal(call.cancel),
        yield* refusal(call.sendDtmf("1"))
      ]
      expect(ended.map((error) => [error._tag, error._tag === "InvalidStateError" ? error.state : undefined])).toEqual(Array.from({ length: 5 }, () => ["InvalidStateError", "ENDED"]))
      expect(ended[3]!.message).toBe("Call is not dialing or in progress: cannot cancel a call that is ENDED")
      expect(ended[2]!.message).toBe("Call is not answered: cannot hangup a call that is ENDED")
    }).pipe(Effect.provide(world())))

  it.effect("PCMA can be offered alone, and an unsupported payload type is refused before anything is sent", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup()
      const call = yield* phone.call(PEER_URI, [PayloadType.PCMA, PayloadType.EVENT])
      const incoming = yield* nextRequest(peer)
      const offered = Result.getOrThrow(incoming.request.sdp)!.media[0]!
      expect(offered.payloads.map((payload) => payload.number)).toEqual([8, 101])
      const invite = incoming.request
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      const refused = yield* Effect.flip(phone.call(PEER_URI, [PayloadType.G722]))
      expect(refused).toMatchObject({ _tag: "CallError", action: "call" })
      expect(yield* phone.calls).toHaveLength(1)
      expect(yield* phone.rtpPortsInUse).toBe(1)
      yield* call.hangup
      expect(Option.isSome(yield* call.endReason)).toBe(true)
    }).pipe(Effect.provide(world())))
})
