import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as Key from "../../../src/sip/transaction/Key.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"

const message = (text: string) => Result.getOrThrow(SIPMessage.parseResult(text.replace(/\n/g, "\r\n") + "\r\n\r\n"))

const invite = (via: string, extra = "") =>
  message(`INVITE sip:bob@biloxi.example.com SIP/2.0
Via: ${via}
From: <sip:alice@atlanta.example.com>;tag=f1
To: <sip:bob@biloxi.example.com>${extra}
Call-ID: call-1@atlanta
CSeq: 7 INVITE
Content-Length: 0`)

const withMethod = (request: SIPMessage.SIPMessage, method: string, toTag?: string) => {
  const text = new TextDecoder().decode(SIPMessage.serialize(request))
    .replace(/^INVITE/, method)
    .replace("CSeq: 7 INVITE", `CSeq: 7 ${method}`)
    .replace(/(To: [^\r]*)/, toTag === undefined ? "$1" : `$1;tag=${toTag}`)
  return Result.getOrThrow(SIPMessage.parseResult(text))
}

describe("transaction keys", () => {
  it("branches: the magic cookie and 132 random bits, never twice the same", () => {
    const branches = new Set(Array.from({ length: 10_000 }, Key.newBranch))
    expect(branches.size).toBe(10_000)
    expect(Key.newBranch()).toMatch(/^z9hG4bK[0-9A-Za-z.-]{22}$/)
  })

  it("a response finds its client transaction by top Via branch and CSeq method (§17.1.3)", () => {
    const response = message(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKabc, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKlower
From: <sip:a@x>;tag=1
To: <sip:b@y>;tag=2
Call-ID: c
CSeq: 1 CANCEL
Content-Length: 0`)
    expect(Key.responseKey(response)).toBe(Key.clientKey("z9hG4bKabc", "CANCEL"))
    expect(Key.responseKey(response)).not.toBe(Key.clientKey("z9hG4bKabc", "INVITE"))
  })

  it("a request finds its server transaction by branch, sent-by and method; ACK looks up the INVITE (§17.2.3)", () => {
    const request = invite("SIP/2.0/UDP PC33.Atlanta.example.com;branch=z9hG4bKnashds8")
    const key = Key.serverKey(request)!
    // the default port and the case of the host do not matter
    expect(Key.serverKey(invite("SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds8;received=192.0.2.1"))).toBe(key)
    expect(Key.serverKey(invite("SIP/2.0/UDP pc33.atlanta.example.com:5070;branch=z9hG4bKnashds8"))).not.toBe(key)
    expect(Key.serverKey(invite("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKother"))).not.toBe(key)
    expect(Key.serverKey(invite("SIP/2.0/TLS pc33.atlanta.example.com:5061;branch=z9hG4bKnashds8")))
      .toBe(Key.serverKey(invite("SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bKnashds8")))
    expect(Key.serverKey(withMethod(request, "ACK", "t"))).toBe(key)
    const cancel = withMethod(request, "CANCEL")
    expect(Key.serverKey(cancel)).not.toBe(key)
    expect(Key.serverKey(cancel, "INVITE")).toBe(key)
  })

  it("without the magic cookie (RFC 2543): Request-URI, tags, Call-ID, CSeq and top Via", () => {
    const request = invite("SIP/2.0/UDP pc33.atlanta.example.com;branch=old1")
    const key = Key.serverKey(request)!
    expect(key.startsWith("2543")).toBe(true)
    expect(Key.serverKey(invite("SIP/2.0/UDP pc33.atlanta.example.com;branch=old1"))).toBe(key)
    expect(Key.serverKey(invite("SIP/2.0/UDP pc33.atlanta.example.com;branch=old2"))).not.toBe(key)
    expect(Key.serverKey(invite("SIP/2.0/UDP pc33.atlanta.example.com;branch=old1", ";tag=x"))).not.toBe(key)
    const other = Result.getOrThrow(SIPMessage.withHeader(request, "Call-ID", "call-2@atlanta"))
    expect(Key.serverKey(other)).not.toBe(key)
    const elsewhere = Result.getOrThrow(SIPMessage.request({ method: "INVITE", uri: "sip:carol@biloxi.example.com", headers: [...request.headers] }))
    expect(Key.serverKey(elsewhere)).not.toBe(key)
    // the ACK carries our response's tag: it is looked up under the INVITE's empty tag
    const ack = withMethod(request, "ACK", "ours")
    expect(Key.serverKey(ack)).not.toBe(key)
    expect(Key.rfc2543AckKey(ack)).toBe(key)
    expect(Key.rfc2543AckKey(withMethod(invite("SIP/2.0/UDP h;branch=z9hG4bK1"), "ACK", "t"))).toBeUndefined()
    expect(Key.serverKey(withMethod(request, "CANCEL"), "INVITE")).toBe(key)
  })

  it("the ACK of a 2xx is matched by Call-ID, CSeq number and both tags", () => {
    const ok = message(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKinv
From: <sip:a@x>;tag=from
To: <sip:b@y>;tag=to
Call-ID: c@x
CSeq: 7 INVITE
Content-Length: 0`)
    const ack = message(`ACK sip:b@10.0.0.2 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKnew
From: <sip:a@x>;tag=from
To: <sip:b@y>;tag=to
Call-ID: c@x
CSeq: 7 ACK
Content-Length: 0`)
    expect(Key.dialogAckKey(ack)).toBe(Key.dialogAckKey(ok))
    expect(Key.dialogAckKey(invite("SIP/2.0/UDP h;branch=z9hG4bK1"))).toBeUndefined()
  })
})
