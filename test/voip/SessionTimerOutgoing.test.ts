/**
 * Session timers (RFC 4028) of the calls we place, under TestClock: the
 * INVITE offers Session-Expires 1800 with Min-SE 90; a 422 with Min-SE is
 * answered by the same INVITE again (new branch, CSeq + 1, same Call-ID,
 * From tag and credentials) asking for that interval, whose 2xx answers the
 * call; a 422 that cannot be met, or a third one, ends the call.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { ALICE, answerTo, BOB, nextRequest, PEER_URI, peerAt, peerResponse, phoneAt, rtpNetwork, settle, world } from "./helpers.ts"

const PEER_RTP = 30000

/** A phone at ALICE calling a bare peer at BOB: the call and the peer's transaction of the first INVITE. */
const dial = (account: Parameters<typeof phoneAt>[2]["account"] = {}) =>
  Effect.gen(function*() {
    const rtp = yield* rtpNetwork
    const phone = yield* phoneAt(ALICE, rtp, { rtpLow: 20000, account })
    const peer = yield* peerAt(BOB)
    const call = yield* phone.call(PEER_URI)
    const first = yield* nextRequest(peer)
    return { phone, peer, call, first }
  })

const tooSmall = (request: SIPMessage.SIPMessage, minSE: string) =>
  peerResponse(request, 422, { headers: [["Min-SE", minSE]] })

/** What must stay the same between an INVITE and the one sent again after it. */
const dialogIdentity = (request: SIPMessage.SIPMessage) => [request.callId, request.from?.tag, request.requestUriText]

describe("session timers of outgoing calls", () => {
  it.effect("the INVITE offers Session-Expires 1800 (the UAS picks the refresher) with Min-SE 90 and Supported: timer", () =>
    Effect.gen(function*() {
      const { call, first } = yield* dial()
      const invite = first.request
      expect(invite.headers.get("Session-Expires")).toBe("1800")
      expect(invite.headers.get("Min-SE")).toBe("90")
      expect(invite.headers.get("Supported")).toBe("timer, 100rel, replaces")
      expect(invite.headers.has("Require")).toBe(false)
      yield* Effect.forkChild(UaCore.acceptInvite(first, peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* call.hangup
    }).pipe(Effect.provide(world())))

  it.effect("a 422 with Min-SE 1900 is answered by a new INVITE asking 1900; and its 2xx answers the call", () =>
    Effect.gen(function*() {
      const { call, first, peer } = yield* dial()
      yield* first.respond(tooSmall(first.request, "1900"))
      yield* settle
      const second = yield* nextRequest(peer)
      const invite = second.request
      expect(invite.method).toBe("INVITE")
      expect(invite.cseq?.seq).toBe(first.request.cseq!.seq + 1)
      expect(invite.via[0]?.branch).not.toBe(first.request.via[0]?.branch)
      expect(dialogIdentity(invite)).toEqual(dialogIdentity(first.request))
      expect(invite.headers.get("Session-Expires")).toBe("1900")
      expect(invite.headers.get("Min-SE")).toBe("1900")
      expect(invite.rawBody).toEqual(first.request.rawBody)
      expect(yield* call.state).toBe(CallState.DIALING)

      yield* Effect.forkChild(UaCore.acceptInvite(second, peerResponse(invite, 200, {
        contact: BOB,
        sdp: answerTo(invite, BOB.address, PEER_RTP),
        headers: [["Session-Expires", "1900;refresher=uac"], ["Require", "timer"]]
      })))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* call.hangup
    }).pipe(Effect.provide(world())))

  it.effect("after a 407, the INVITE sent again for a 422 keeps the credentials (next nonce count) and goes on to CSeq + 2", () =>
    Effect.gen(function*() {
      const { call, first, peer } = yield* dial({ password: "secret", authUser: "alice" })
      yield* first.respond(peerResponse(first.request, 407, {
        headers: [["Proxy-Authenticate", `Digest realm="peer.test", nonce="n1", qop="auth", algorithm=MD5`]]
      }))
      yield* settle
      const second = yield* nextRequest(peer)
      const authorized = second.request.headers.get("Proxy-Authorization")
      expect(authorized).toContain("nc=00000001")
      yield* second.respond(tooSmall(second.request, "3600"))
      yield* settle
      const third = yield* nextRequest(peer)
      const invite = third.request
      expect(invite.cseq?.seq).toBe(first.request.cseq!.seq + 2)
      expect(dialogIdentity(invite)).toEqual(dialogIdentity(first.request))
      expect(invite.headers.get("Session-Expires")).toBe("3600")
      expect(invite.headers.get("Min-SE")).toBe("3600")
      const credentials = invite.headers.get("Proxy-Authorization")
      expect(credentials).toContain(`username="alice"`)
      expect(credentials).toContain(`nonce="n1"`)
      expect(credentials).toContain("nc=00000002")
      yield* Effect.forkChild(UaCore.acceptInvite(third, peerResponse(invite, 200, {
        contact: BOB,
        sdp: answerTo(invite, BOB.address, PEER_RTP),
        headers: [["Session-Expires", "3600;refresher=uas"]]
      })))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* call.hangup
    }).pipe(Effect.provide(world())))

  it.effect("two 422s are answered, the third ends the call Failed 422", () =>
    Effect.gen(function*() {
      const { call, first, peer } = yield* dial()
      yield* first.respond(tooSmall(first.request, "1900"))
      yield* settle
      const second = yield* nextRequest(peer)
      yield* second.respond(tooSmall(second.request, "2000"))
      yield* settle
      const third = yield* nextRequest(peer)
      expect(third.request.cseq?.seq).toBe(first.request.cseq!.seq + 2)
      expect(third.request.headers.get("Session-Expires")).toBe("2000")
      yield* third.respond(tooSmall(third.request, "2100"))
      const reason = yield* call.ended
      expect(reason).toMatchObject({ _tag: "Failed", status: 422 })
      expect(yield* peer.events.size).toBe(0)
    }).pipe(Effect.provide(world())))

  for (const [missing, headers] of [["missing", []], ["not above our 1800", [["Min-SE", "1800"]]]] as const) {
    it.effect(`a 422 whose Min-SE is ${missing} is not retried: the call ends Failed 422`, () =>
      Effect.gen(function*() {
        const { call, first, peer } = yield* dial()
        yield* first.respond(peerResponse(first.request, 422, { headers }))
        const reason = yield* call.ended
        expect(reason).toMatchObject({ _tag: "Failed", status: 422 })
        expect(yield* peer.events.size).toBe(0)
      }).pipe(Effect.provide(world())))
  }
})
