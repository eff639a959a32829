import { describe, expect, it } from "@effect/vitest"
import { Option, Result } from "effect"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { statelessReply } from "../../src/transport/BadRequest.ts"
import { learnedAddress, responseDestination, stampReceived, withRport } from "../../src/transport/ViaRouting.ts"
import { decode, encode } from "./helpers.ts"

const withVia = (via: string, status?: number): SIPMessage.SIPMessage => {
  const request = Result.getOrThrow(SIPMessage.request({
    method: "OPTIONS",
    uri: "sip:bob@example.com",
    headers: [["Via", via], ["From", "<sip:a@b>;tag=1"], ["To", "<sip:bob@example.com>"], ["Call-ID", "c@d"], ["CSeq", "1 OPTIONS"]]
  }))
  return status === undefined ? request : Result.getOrThrow(SIPMessage.response(request, status))
}

describe("Via routing", () => {
  it("stamps received when the sent-by is not the packet's source, and fills a bare rport (RFC 3261 §18.2.1, RFC 3581 §4)", () => {
    const source = { address: "203.0.113.7", port: 40001 }
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1", "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;received=203.0.113.7"],
      ["SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport", "SIP/2.0/UDP 10.0.0.2:5060;rport=40001;branch=z9hG4bK1;received=203.0.113.7"],
      ["SIP/2.0/UDP phone.example.com;branch=z9hG4bK1", "SIP/2.0/UDP phone.example.com;branch=z9hG4bK1;received=203.0.113.7"],
      // from its sent-by without rport: nothing to add
      ["SIP/2.0/UDP 203.0.113.7:40001;branch=z9hG4bK1", "SIP/2.0/UDP 203.0.113.7:40001;branch=z9hG4bK1"],
      // rport asks for received even when the address matches
      ["SIP/2.0/TCP 203.0.113.7;branch=z9hG4bK1;rport", "SIP/2.0/TCP 203.0.113.7;rport=40001;branch=z9hG4bK1;received=203.0.113.7"]
    ]
    for (const [via, expected] of cases) {
      expect(stampReceived(withVia(via), source).headers.get("Via")).toBe(expected)
    }
    const v6 = stampReceived(withVia("SIP/2.0/UDP [2001:db8:0::1]:5060;branch=z9hG4bK1"), { address: "2001:db8::1", port: 5060 })
    expect(v6.via[0]?.received).toBeUndefined()
    const stacked = stampReceived(withVia("SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1, SIP/2.0/UDP proxy.example.com;branch=z9hG4bK0"), source)
    expect(stacked.via.map((via) => via.received)).toEqual(["203.0.113.7", undefined])
  })

  it("asks for rport unless the request already does (RFC 3581 §3)", () => {
    expect(withRport(withVia("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1")).via[0]?.rport).toBeNull()
    const filled = withVia("SIP/2.0/UDP 10.0.0.2:5060;rport=7;branch=z9hG4bK1")
    expect(withRport(filled)).toBe(filled)
  })

  it("sends a response to maddr, received and rport (UDP only), or the sent-by (RFC 3261 §18.2.2)", () => {
    const cases: ReadonlyArray<readonly [string, { host: string; port: number }]> = [
      ["SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK1", { host: "10.0.0.2", port: 5070 }],
      ["SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1;received=203.0.113.7", { host: "203.0.113.7", port: 5060 }],
      ["SIP/2.0/UDP 10.0.0.2;rport=40001;branch=z9hG4bK1;received=203.0.113.7", { host: "203.0.113.7", port: 40001 }],
      ["SIP/2.0/TCP 10.0.0.2:5070;rport=40001;branch=z9hG4bK1;received=203.0.113.7", { host: "203.0.113.7", port: 5070 }],
      ["SIP/2.0/TLS sip.example.com;branch=z9hG4bK1", { host: "sip.example.com", port: 5061 }],
      ["SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK1;maddr=239.1.2.3;received=203.0.113.7", { host: "239.1.2.3", port: 5070 }],
      ["SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK1", { host: "2001:db8::1", port: 5070 }]
    ]
    for (const [via, expected] of cases) expect([via, responseDestination(withVia(via, 200))]).toEqual([via, expected])
  })

  it("learns our public address from a UDP response's received/rport", () => {
    expect(learnedAddress(withVia("SIP/2.0/UDP 10.0.0.2:5060;rport=40001;branch=z9hG4bK1;received=203.0.113.7", 200)))
      .toEqual({ address: "203.0.113.7", port: 40001 })
    expect(learnedAddress(withVia("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;received=203.0.113.7", 200)))
      .toEqual({ address: "203.0.113.7", port: 5060 })
    expect(learnedAddress(withVia("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1", 200))).toBeUndefined()
    expect(learnedAddress(withVia("SIP/2.0/TCP 10.0.0.2:5060;rport=40001;branch=z9hG4bK1;received=203.0.113.7", 200)))
      .toBeUndefined()
  })
})

describe("stateless 400 / 513", () => {
  const reply = { status: 400 as const, reason: "bad \"quote\"\r\n", warnAgent: "127.0.0.1:5060", toTag: "t1" }

  it("copies Via (all, in order), From, To with a new tag, Call-ID and CSeq, and explains itself in a Warning", () => {
    const broken = "INVITE sip:bob@[::1 SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK0\r\n" +
      "f: <sip:a@b>;tag=9\r\nt: <sip:bob@c>\r\ni: call@x\r\nCSeq: 7\r\n INVITE\r\nContent-Length: 0\r\n\r\n"
    const answer = decode(Option.getOrThrow(statelessReply(encode(broken), reply)))
    expect(answer).toBe(
      "SIP/2.0 400 Bad Request\r\n" +
        "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b;branch=z9hG4bK0\r\n" +
        "From: <sip:a@b>;tag=9\r\nTo: <sip:bob@c>;tag=t1\r\nCall-ID: call@x\r\nCSeq: 7 INVITE\r\n" +
        "Warning: 399 127.0.0.1:5060 \"bad  quote   \"\r\nContent-Length: 0\r\n\r\n"
    )
    expect(Result.isSuccess(SIPMessage.parseResult(answer))).toBe(true)
  })

  it("does not answer responses, ACKs, requests without Via, Call-ID or CSeq, or an unfinished header block", () => {
    const cases = [
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
      "ACK sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nCall-ID: x\r\nCSeq: 1 ACK\r\n\r\n",
      "OPTIONS sip:bob@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n",
      "OPTIONS sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nCSeq: 1 OPTIONS\r\n\r\n",
      "OPTIONS sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nCall-ID: x\r\n\r\n",
      "OPTIONS sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n",
      "\u0016\u0003\u0001 binary"
    ]
    for (const message of cases) expect([message, Option.isNone(statelessReply(encode(message), reply))]).toEqual([message, true])
  })

  it("answers 513 Message Too Large with the same headers", () => {
    const big = "MESSAGE sip:bob@b SIP/2.0\r\nVia: SIP/2.0/TCP a\r\nTo: <sip:bob@b>;tag=x\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n\r\n"
    const answer = decode(Option.getOrThrow(statelessReply(encode(big), { ...reply, status: 513 })))
    expect(answer).toMatch(/^SIP\/2\.0 513 Message Too Large\r\n/)
    expect(answer).toContain("To: <sip:bob@b>;tag=x\r\n")
  })
})
