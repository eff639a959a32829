/**
 * An incoming call answered on the in-memory network, and what the bare
 * peer does inside its dialog: requests, re-INVITEs, the phone's RTP.
 */
import { expect } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import * as OfferAnswer from "../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../src/sdp/Sdp.ts"
import * as Dialog from "../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../src/sip/dialog/UaCore.ts"
import type * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { CallState } from "../../src/voip/CallState.ts"
import {
  ALICE,
  BOB,
  handing,
  inbox,
  invite,
  nextRequest,
  offerSdp,
  peerAt,
  peerResponse,
  phoneAt,
  rtpNetwork,
  type RtpNetwork,
  settle,
  toPhone
} from "./helpers.ts"

export const PEER_RTP = 30000

export const statusOf = (response: SIPMessage.SIPMessage) => response.status === 0 ? 0 : response.status.value

export const sdpOf = (message: SIPMessage.SIPMessage) => {
  const sdp = Result.getOrThrow(message.sdp)
  if (sdp === undefined) throw new Error("no SDP")
  return sdp
}

/** The peer's offer with `direction`, RTP on `port`, the codecs given. */
export const peerOffer = (port: number, options: Partial<OfferAnswer.LocalMedia> = {}) =>
  Sdp.serialize(OfferAnswer.createOffer({ address: BOB.address, port, sessionId: 77n, ...options }))

/**
 * An answered incoming call (the INVITE carries `headers`; the phone's
 * account has `account`): the phone's
 * call, the peer's dialog, the RTP network, the call's events, the 200.
 */
export const answeredWith = (
  headers: ReadonlyArray<readonly [string, string]> = [],
  account: Parameters<typeof phoneAt>[2]["account"] = {}
) => Effect.gen(function*() {
  const calls = yield* handing
  const rtp = yield* rtpNetwork
  const phone = yield* phoneAt(ALICE, rtp, { rtpLow: 20000, onIncomingCall: calls.handler, account })
  const peer = yield* peerAt(BOB)
  const request = invite(BOB, ALICE, offerSdp(BOB.address, PEER_RTP), headers)
  const transaction = yield* peer.layer.request(request, toPhone)
  const responses = yield* inbox(Stream.ignore(transaction.responses))
  const call = yield* calls.next
  const events = yield* inbox(call.events)
  const answering = yield* Effect.forkChild(call.answer)
  let ok = yield* responses.next
  while (statusOf(ok) < 200) ok = yield* responses.next
  let dialog = Result.getOrThrow(Dialog.fromResponse(request, ok))
  yield* UaCore.acknowledge(peer.layer, transaction, dialog)
  yield* Fiber.join(answering)
  expect(yield* call.state).toBe(CallState.ANSWERED)
  expect(yield* events.next).toEqual({ _tag: "State", state: CallState.ANSWERED })
  const localPort = sdpOf(ok).media[0]!.port
  return {
    phone,
    peer,
    rtp,
    call,
    events,
    localPort,
    firstAnswer: sdpOf(ok),
    ok,
    dialog: {
      get: () => dialog,
      set: (next: Dialog.Dialog) => void (dialog = next)
    }
  }
})

export type Answered = Effect.Success<ReturnType<typeof answeredWith>>

export const answered = answeredWith()

/** The peer sends a request in the dialog; its transaction and responses. */
export const sendInDialog = (setup: Answered, method: string, init: Dialog.RequestInit = {}) =>
  Effect.gen(function*() {
    const built = Result.getOrThrow(Dialog.createRequest(setup.dialog.get(), method, init))
    setup.dialog.set(built.dialog)
    const transaction = yield* setup.peer.layer.request(built.request, toPhone)
    const responses = yield* inbox(Stream.ignore(transaction.responses))
    return { request: built.request, transaction, responses }
  })

/** The peer's re-INVITE (offer `sdp`, or none; `headers`), its final response, ACKed (with `ackSdp` when given). */
export const reinvite = (
  setup: Answered,
  sdp: string | undefined,
  ackSdp?: (ok: SIPMessage.SIPMessage) => string,
  headers: ReadonlyArray<readonly [string, string]> = []
) =>
  Effect.gen(function*() {
    const sent = yield* sendInDialog(setup, "INVITE", {
      headers,
      ...(sdp === undefined ? {} : { body: sdp, contentType: "application/sdp" })
    })
    let response = yield* sent.responses.next
    while (statusOf(response) < 200) response = yield* sent.responses.next
    if (statusOf(response) === 200) {
      const body = ackSdp?.(response)
      yield* UaCore.acknowledge(
        setup.peer.layer,
        sent.transaction,
        setup.dialog.get(),
        body === undefined ? {} : { body, contentType: "application/sdp" }
      )
    }
    yield* settle
    return response
  })

/** RTP the phone sent from its port to `port` after `since` (Clock millis). */
export const sentTo = (rtp: RtpNetwork, from: number, port: number, since: number) =>
  rtp.sent.filter((datagram) => datagram.port === from && datagram.address.port === port && datagram.at >= since)

export const payloadTypeOf = (packet: Uint8Array) => packet[1]! & 0x7f

/** The phone's BYE, which must be the peer's next request, answered 200: how the call ended. */
export const byeAnswered = (setup: Answered) =>
  Effect.gen(function*() {
    const bye = yield* nextRequest(setup.peer)
    expect(bye.request.method).toBe("BYE")
    yield* bye.respond(peerResponse(bye.request, 200))
    return yield* setup.call.ended
  })

export const peerSessionEnd = (setup: Answered) =>
  Effect.gen(function*() {
    yield* setup.call.hangup
    const bye = yield* nextRequest(setup.peer)
    yield* bye.respond(peerResponse(bye.request, 200))
    yield* setup.call.ended
    expect(yield* setup.phone.rtpPortsInUse).toBe(0)
  })

