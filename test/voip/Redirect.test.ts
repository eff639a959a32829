/**
 * Redirected outgoing calls under TestClock (RFC 3261 §8.1.3.4): the phone
 * at 10.0.0.1 calls a bare peer that answers 302 with Carol's Contact; the
 * ACK of the 302 goes back to it, the INVITE goes again to Carol (same
 * Call-ID and From tag, CSeq + 1) and Carol answers. Two servers that
 * redirect to each other end the call with the last 302.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import { formatEndpoint } from "../../src/transport/SipTransport.ts"
import type { Endpoint } from "../../src/transport/SipTransport.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { PEER_RTP } from "./answered.ts"
import { answerTo, BOB, hangupAnswered, nextRequest, PEER_URI, peerAt, peerResponse, phoneAndPeer, settle, world } from "./helpers.ts"

const CAROL: Endpoint = { address: "10.0.0.3", port: 5060 }
const CAROL_URI = `sip:carol@${formatEndpoint(CAROL)}`

const redirectTo = (uri: string) => ({ headers: [["Contact", `<${uri}>`]] as const })

describe("a redirected call", () => {
  it.effect("302 to Carol: the INVITE goes to her with CSeq + 1, a Redirected event, and her 200 answers the call", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* phoneAndPeer()
      const carol = yield* peerAt(CAROL)
      const call = yield* phone.call(PEER_URI)
      const events = yield* Effect.forkChild(call.events.pipe(Stream.take(2), Stream.runCollect))
      const first = yield* nextRequest(peer)
      yield* first.respond(peerResponse(first.request, 302, redirectTo(CAROL_URI)))
      const second = yield* nextRequest(carol)
      const invite = second.request
      expect(invite.method).toBe("INVITE")
      expect(invite.requestUriText).toBe(CAROL_URI)
      expect([invite.callId, invite.from?.tag, invite.to?.uri.host, invite.cseq?.seq]).toEqual([
        first.request.callId,
        first.request.from?.tag,
        BOB.address,
        first.request.cseq!.seq + 1
      ])
      expect(invite.headers.get("Content-Type")).toBe("application/sdp")
      const ok = peerResponse(invite, 200, { contact: CAROL, sdp: answerTo(invite, CAROL.address, PEER_RTP) })
      const accepted = yield* Effect.forkChild(UaCore.acceptInvite(second, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      expect(Array.from(yield* Fiber.join(events))).toEqual([
        { _tag: "Redirected", status: 302, target: CAROL_URI },
        { _tag: "State", state: CallState.ANSWERED }
      ])
      yield* Fiber.join(accepted)
      yield* hangupAnswered(call, carol)
    }).pipe(Effect.provide(world())))

  it.effect("two servers that redirect to each other: each URI is tried once, and the last 302 ends the call", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* phoneAndPeer()
      const carol = yield* peerAt(CAROL)
      const call = yield* phone.call(PEER_URI)
      const first = yield* nextRequest(peer)
      yield* first.respond(peerResponse(first.request, 302, redirectTo(CAROL_URI)))
      const second = yield* nextRequest(carol)
      yield* second.respond(peerResponse(second.request, 302, redirectTo(PEER_URI)))
      expect(yield* call.ended).toEqual({ _tag: "Failed", status: 302, reason: "Moved Temporarily" })
    }).pipe(Effect.provide(world())))
})
