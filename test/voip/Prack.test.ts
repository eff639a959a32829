/**
 * Reliable provisional responses to our INVITE (RFC 3262) under TestClock:
 * the phone at 10.0.0.1 calls a bare peer at 10.0.0.2 that sends 18x with
 * `Require: 100rel` and RSeq; each new RSeq gets one PRACK in its early
 * dialog, retransmissions and skipped RSeqs none, and forks PRACK apart.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as RTPMessage from "../../src/rtp/RTPMessage.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import type { ServerTransaction } from "../../src/sip/transaction/ServerTransaction.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { VoIPCall } from "../../src/voip/VoIPCall.ts"
import { chirp, concat } from "../rtp/session/helpers.ts"
import { isRequest, sentFrom } from "../sip/transaction/helpers.ts"
import { ALICE, answerTo, BOB, nextRequest, PEER_URI, peerResponse, phoneAndPeer, settle, world } from "./helpers.ts"

const PEER_RTP = 30000

const setup = phoneAndPeer()

/** A reliable provisional response of the peer (fork `toTag`) with RSeq `rseq`. */
const reliable = (invite: SIPMessage.SIPMessage, status: number, rseq: number, options: { readonly sdp?: string; readonly toTag?: string } = {}) =>
  peerResponse(invite, status, { contact: BOB, ...options, headers: [["Require", "100rel"], ["RSeq", String(rseq)]] })

/** The call cancelled: the peer's transaction sees the CANCEL and answers the INVITE 487. */
const cancelled = (call: VoIPCall, incoming: ServerTransaction) =>
  Effect.gen(function*() {
    yield* call.cancel
    yield* settle
    yield* incoming.cancelled
    yield* incoming.respond(peerResponse(incoming.request, 487))
    expect(yield* call.ended).toEqual({ _tag: "Canceled", by: "local" })
  })

describe("reliable provisional responses (UAC)", () => {
  it.effect("our INVITE supports 100rel; a reliable 183 with SDP gets one PRACK (RAck), early media flows; a retransmission and a skipped RSeq get none; the next RSeq does", () =>
    Effect.gen(function*() {
      const { peer, phone, rtp, tap } = yield* setup
      const call = yield* phone.call(PEER_URI)
      const events = yield* Effect.forkChild(call.events.pipe(Stream.take(4), Stream.runCollect))
      const heard = yield* Effect.forkChild(call.audio.pipe(Stream.take(20), Stream.runCollect))
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      expect(invite.headers.get("Supported")).toBe("timer, 100rel, replaces")
      const seq = invite.cseq!.seq

      const progress = reliable(invite, 183, 1, { sdp: answerTo(invite, BOB.address, PEER_RTP) })
      yield* incoming.respond(progress)
      const prack = yield* nextRequest(peer)
      expect(prack.request.method).toBe("PRACK")
      expect(prack.request.headers.get("RAck")).toBe(`1 ${seq} INVITE`)
      expect(prack.request.cseq!.seq).toBe(seq + 1)
      expect(prack.request.to?.tag).toBe("peer")
      expect(prack.request.from?.tag).toBe(invite.from?.tag)
      expect(prack.request.callId).toBe(invite.callId)
      expect(prack.request.requestUriText).toBe(`sip:peer@${BOB.address}:${BOB.port}`)
      yield* prack.respond(peerResponse(prack.request, 200))
      yield* settle
      expect(yield* call.state).toBe(CallState.PROGRESS)

      // early media both ways
      const ourPort = Result.getOrThrow(invite.sdp)!.media[0]!.port
      const signal = chirp(0.4)
      for (let frame = 0; frame < 20; frame++) {
        const payload = PCMU.encode(signal.subarray(frame * 160, (frame + 1) * 160))
        const packet = RTPMessage.encode({ payloadType: 0, sequence: frame, timestamp: frame * 160, ssrc: 0x1234, marker: frame === 0, payload })
        yield* rtp.inject(ourPort, packet, BOB.address, PEER_RTP)
        yield* TestClock.adjust("20 millis")
      }
      yield* TestClock.adjust("200 millis")
      expect(rtp.sent.some((datagram) => datagram.port === ourPort && datagram.address.port === PEER_RTP)).toBe(true)
      expect(concat(Array.from(yield* Fiber.join(heard))).some((sample) => Math.abs(sample) > 1000)).toBe(true)

      // the same 183 again, and a 180 that skips RSeq 2: no PRACK
      yield* incoming.respond(progress)
      yield* incoming.respond(reliable(invite, 180, 3))
      yield* settle
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("PRACK")).length).toBe(1)

      yield* incoming.respond(reliable(invite, 180, 2))
      const second = yield* nextRequest(peer)
      expect(second.request.method).toBe("PRACK")
      expect(second.request.headers.get("RAck")).toBe(`2 ${seq} INVITE`)
      expect(second.request.cseq!.seq).toBe(seq + 2)
      yield* second.respond(peerResponse(second.request, 200))

      const ok = peerResponse(invite, 200, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP) })
      yield* Effect.forkChild(UaCore.acceptInvite(incoming, ok))
      yield* settle
      expect(yield* call.state).toBe(CallState.ANSWERED)
      yield* call.hangup
      const bye = yield* nextRequest(peer)
      expect(bye.request.method).toBe("BYE")
      expect(bye.request.cseq!.seq).toBe(seq + 3)
      yield* bye.respond(peerResponse(bye.request, 200))
      const summary = Array.from(yield* Fiber.join(events)).map((event) =>
        event._tag === "Provisional" ? event.status : event._tag === "State" ? event.state : event._tag
      )
      expect(summary).toEqual([183, CallState.PROGRESS, 180, CallState.ANSWERED])
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("PRACK")).length).toBe(2)
    }).pipe(Effect.provide(world())))

  it.effect("forked early dialogs each get their own PRACK, in their dialog", () =>
    Effect.gen(function*() {
      const { peer, phone } = yield* setup
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      const seq = invite.cseq!.seq
      const pracks = []
      for (const toTag of ["fork-a", "fork-b"]) {
        yield* incoming.respond(reliable(invite, 180, 7, { toTag }))
        const prack = yield* nextRequest(peer)
        pracks.push(prack)
        yield* prack.respond(peerResponse(prack.request, 200))
      }
      expect(pracks.map((prack) => [prack.request.to?.tag, prack.request.headers.get("RAck"), prack.request.cseq!.seq])).toEqual([
        ["fork-a", `7 ${seq} INVITE`, seq + 1],
        ["fork-b", `7 ${seq} INVITE`, seq + 1]
      ])
      yield* cancelled(call, incoming)
    }).pipe(Effect.provide(world())))

  it.effect("a 183 without Require: 100rel gets no PRACK", () =>
    Effect.gen(function*() {
      const { peer, phone, tap } = yield* setup
      const call = yield* phone.call(PEER_URI)
      const incoming = yield* nextRequest(peer)
      const invite = incoming.request
      yield* incoming.respond(peerResponse(invite, 183, { contact: BOB, sdp: answerTo(invite, BOB.address, PEER_RTP), headers: [["RSeq", "1"]] }))
      yield* settle
      expect(yield* call.state).toBe(CallState.PROGRESS)
      expect(sentFrom(yield* tap.packets, ALICE, isRequest("PRACK"))).toEqual([])
      yield* cancelled(call, incoming)
    }).pipe(Effect.provide(world())))
})
