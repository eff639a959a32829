/**
 * The message layer on its own, no network: parses a SIP INVITE with an SDP
 * offer, prints its typed view, answers the offer, and builds the 200 OK a
 * phone would send back.
 */
import { Console, Effect, Result } from "effect"
import { NodeRuntime } from "@effect/platform-node"
import { OfferAnswer, Sdp, SIPMessage, SIPStatus } from "effect-voip"

const invite = [
  "INVITE sip:bob@127.0.0.1:5060 SIP/2.0",
  "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;rport",
  "From: \"Alice\" <sip:alice@127.0.0.2:5060>;tag=1928301774",
  "To: \"Bob\" <sip:bob@127.0.0.1:5060>",
  "Call-ID: demo-1700000000000000000",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@127.0.0.2:5060>",
  "Max-Forwards: 70",
  "Content-Type: application/sdp",
  "",
  "v=0",
  "o=alice 53655765 2353687637 IN IP4 127.0.0.2",
  "s=-",
  "c=IN IP4 127.0.0.2",
  "t=0 0",
  "m=audio 6000 RTP/AVP 0 8 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  ""
].join("\r\n")

const program = Effect.gen(function*() {
  const message = yield* SIPMessage.parse(invite)
  yield* Console.log(`parsed    ${message.heading}`)
  const via = message.via[0]
  yield* Console.log(`via       ${via?.transport} ${via?.host}:${via?.port} branch=${via?.branch}`)
  yield* Console.log(`from      ${message.from?.displayName} <${message.from?.uri.user}@${message.from?.uri.host}> tag=${message.from?.tag}`)
  yield* Console.log(`call-id   ${message.callId}  cseq ${message.cseq?.seq} ${message.cseq?.method}`)

  const offer = yield* Effect.fromResult(message.sdp)
  if (offer === undefined) return yield* Console.log("no SDP offer")
  for (const media of offer.media) {
    yield* Console.log(`offer     ${media.kind} ${media.connection?.address}:${media.port} ${media.payloads.map((p) => `${p.encoding}/${p.number}`).join(" ")}`)
  }
  const answer = yield* OfferAnswer.createAnswerEffect(offer, { address: "127.0.0.1", port: 10000 })
  for (const media of answer.media) {
    yield* Console.log(`answer    send ${media.codec.type.description}/${media.codec.number} to ${media.remoteAddress}:${media.remotePort}, telephone-event ${media.dtmf ?? "none"}, ${media.direction}`)
  }
  const ok = SIPMessage.response(message, SIPStatus.OK, {
    toTag: "demo",
    headers: [["Contact", "<sip:bob@127.0.0.1:5060>"]],
    contentType: "application/sdp",
    body: Sdp.serialize(answer.description)
  })
  if (Result.isFailure(ok)) return yield* Effect.fail(ok.failure)
  yield* Console.log("\n" + new TextDecoder().decode(SIPMessage.serialize(ok.success)))
})

NodeRuntime.runMain(program)
