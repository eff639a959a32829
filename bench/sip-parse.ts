/**
 * SIP message parsing and serializing, against the npm `sip` and
 * `drachtio-sip` parsers. Every parser reads the same fields after parsing:
 * the Request-URI (requests), the top Via's transport, host, port and branch,
 * the From URI and tag, the To URI, CSeq and Call-ID; URIs the comparators
 * leave as strings are parsed with their own `parseUri`. Also the top-Via
 * edit a transport makes on every request it receives, and serializing.
 */
import { bench, do_not_optimize, group, summary } from "mitata"
import { createRequire } from "node:module"
import { Result } from "effect"
import * as SIPMessage from "../src/sip/SIPMessage.ts"

const require = createRequire(import.meta.url)

interface SipJsMessage {
  readonly uri?: string
  readonly headers: {
    readonly via: ReadonlyArray<{ protocol: string; host: string; port?: number; params: Record<string, string> }>
    readonly from: { uri: string; params: Record<string, string> }
    readonly to: { uri: string }
    readonly cseq: { seq: number; method: string }
    readonly "call-id": string
  }
}
const sipJs = require("sip") as {
  parse(s: string): SipJsMessage
  parseUri(s: string): { host: string; user?: string }
  stringify(m: SipJsMessage): string
}

interface DrachtioMessage {
  readonly uri?: string
  getParsedHeader(name: "via"): ReadonlyArray<{ protocol: string; host: string; port?: number; params: Record<string, string> }>
  getParsedHeader(name: "from" | "to"): { uri: string; params: Record<string, string> }
  getParsedHeader(name: "cseq"): { seq: number; method: string }
  get(name: string): string
  toString(): string
}
const Drachtio = require("drachtio-sip") as {
  SipMessage: { new(s: string): DrachtioMessage; parseUri(s: string): { host: string; user?: string } }
}

const crlf = (lines: ReadonlyArray<string>): string => lines.join("\r\n")

const sdp = [
  "v=0",
  "o=user1 53655765 2353687637 IN IP4 127.0.0.3",
  "s=-",
  "c=IN IP4 127.0.0.3",
  "t=0 0",
  "m=audio 6000 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  ""
].join("\r\n")

const invite = crlf([
  "INVITE sip:bob@127.0.0.1:5060 SIP/2.0",
  `Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK.${"a".repeat(32)}`,
  "From: \"Alice\" <sip:alice@127.0.0.2:5060>;tag=1928301774",
  "To: \"Bob\" <sip:bob@127.0.0.1:5060>",
  "Call-ID: gotest-1700000000000000000",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@127.0.0.2:5060>",
  "Content-Type: application/sdp",
  `Content-Length: ${sdp.length}`,
  "",
  sdp
])

const registerOk = crlf([
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb;received=192.0.2.7;rport=40123",
  "From: <sip:alice@127.0.0.1>;tag=3104SIPpTagC01",
  "To: <sip:alice@127.0.0.1>;tag=3090SIPpTagR01",
  "Call-ID: gotest-1700000000000000001",
  "CSeq: 2 REGISTER",
  "Contact: <sip:alice@192.0.2.7:40123;transport=udp>;expires=3600",
  "Expires: 3600",
  "Server: kamailio-lab",
  "Content-Length: 0",
  "",
  ""
])

const trying = crlf([
  "SIP/2.0 100 Trying",
  `Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK.${"a".repeat(32)};received=127.0.0.2;rport=5060`,
  "From: \"Alice\" <sip:alice@127.0.0.2:5060>;tag=1928301774",
  "To: \"Bob\" <sip:bob@127.0.0.1:5060>",
  "Call-ID: gotest-1700000000000000000",
  "CSeq: 1 INVITE",
  "Content-Length: 0",
  "",
  ""
])

const readOurs = (input: Uint8Array | string): unknown => {
  const result = SIPMessage.parseResult(input)
  if (Result.isFailure(result)) throw result.failure
  const m = result.success
  const via = m.via[0]!
  return [
    m.requestUri?.host,
    via.transport,
    via.host,
    via.port,
    via.branch,
    m.from?.uri.host,
    m.from?.tag,
    m.to?.uri.host,
    m.cseq?.seq,
    m.cseq?.method,
    m.callId
  ]
}

const readSipJs = (input: string): unknown => {
  const m = sipJs.parse(input)
  const via = m.headers.via[0]!
  return [
    m.uri === undefined ? undefined : sipJs.parseUri(m.uri).host,
    via.protocol,
    via.host,
    via.port,
    via.params.branch,
    sipJs.parseUri(m.headers.from.uri).host,
    m.headers.from.params.tag,
    sipJs.parseUri(m.headers.to.uri).host,
    m.headers.cseq.seq,
    m.headers.cseq.method,
    m.headers["call-id"]
  ]
}

const readDrachtio = (input: string): unknown => {
  const m = new Drachtio.SipMessage(input)
  const via = m.getParsedHeader("via")[0]!
  const from = m.getParsedHeader("from")
  const cseq = m.getParsedHeader("cseq")
  return [
    m.uri === undefined ? undefined : Drachtio.SipMessage.parseUri(m.uri).host,
    via.protocol,
    via.host,
    via.port,
    via.params.branch,
    Drachtio.SipMessage.parseUri(from.uri).host,
    from.params.tag,
    Drachtio.SipMessage.parseUri(m.getParsedHeader("to").uri).host,
    cseq.seq,
    cseq.method,
    m.get("call-id")
  ]
}

const cases: ReadonlyArray<readonly [string, string]> = [
  ["INVITE with SDP", invite],
  ["200 OK to REGISTER", registerOk],
  ["100 Trying", trying]
]

// Every parser runs the same number of times before measuring, so that the
// first benchmark of a group does not carry the JIT warm-up of all of them.
for (const [, text] of cases) {
  const bytes = new TextEncoder().encode(text)
  for (let i = 0; i < 20_000; i++) {
    do_not_optimize(readOurs(bytes))
    do_not_optimize(readOurs(text))
    do_not_optimize(readSipJs(text))
    do_not_optimize(readDrachtio(text))
  }
}

for (const [name, text] of cases) {
  const bytes = new TextEncoder().encode(text)
  group(`SIP parse: ${name}`, () => {
    summary(() => {
      bench(`effect-voip parse (bytes) ${name}`, () => do_not_optimize(readOurs(bytes))).baseline(true)
      bench(`effect-voip parse (string) ${name}`, () => do_not_optimize(readOurs(text)))
      bench(`sip parse ${name}`, () => do_not_optimize(readSipJs(text)))
      bench(`drachtio-sip parse ${name}`, () => do_not_optimize(readDrachtio(text)))
    })
  })
}

// What a transport does to every request it receives (RFC 3261 §18.2.1, RFC 3581 §4).
group("SIP edit: received and rport on the top Via", () => {
  const request = Result.getOrThrow(SIPMessage.parseResult(invite))
  bench("effect-voip withTopViaParams INVITE", () =>
    do_not_optimize(SIPMessage.withTopViaParams(request, { received: "198.51.100.7", rport: 40000 })))
})

group("SIP serialize: INVITE with SDP", () => {
  const ours = Result.getOrThrow(SIPMessage.parseResult(invite))
  const theirs = sipJs.parse(invite)
  const drachtio = new Drachtio.SipMessage(invite)
  summary(() => {
    bench("effect-voip serialize INVITE", () => do_not_optimize(SIPMessage.serialize(ours))).baseline(true)
    bench("sip stringify INVITE", () => do_not_optimize(sipJs.stringify(theirs)))
    bench("drachtio-sip toString INVITE", () => do_not_optimize(drachtio.toString()))
  })
})
