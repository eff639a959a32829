import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as Redirect from "../../../src/sip/client/Redirect.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import { formatUri, parseUri } from "../../../src/sip/Uri.ts"

const invite = Result.getOrThrow(SIPMessage.request({
  method: "INVITE",
  uri: "sip:bob@a.example",
  headers: [
    ["Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfirst"],
    ["Max-Forwards", "70"],
    ["From", "<sip:alice@example>;tag=f1"],
    ["To", "<sip:bob@example>"],
    ["Call-ID", "c1@example"],
    ["CSeq", "7 INVITE"],
    ["Contact", "<sip:alice@10.0.0.1>"]
  ],
  body: "v=0\r\n",
  contentType: "application/sdp"
}))

const answer = (status: number, contacts: ReadonlyArray<string>) =>
  Result.getOrThrow(SIPMessage.response(invite, status, { toTag: "t", headers: contacts.map((value) => ["Contact", value] as const) }))

const targets = (set: Redirect.TargetSet) => set.waiting.map(formatUri)

describe("Redirect", () => {
  it("300-302 add their Contacts by q, each URI once; 305, 380 and a 2xx add nothing", () => {
    const start = Redirect.start(invite)
    const set = Redirect.addContacts(start, answer(300, ["<sip:low@b.example>;q=0.1, <sip:bob@a.example>", "<sip:high@c.example>;q=0.9, <sip:none@d.example>"]))
    // no q counts as 1; the original Request-URI is never added again
    expect(targets(set)).toEqual(["sip:none@d.example", "sip:high@c.example", "sip:low@b.example"])
    expect(targets(Redirect.addContacts(set, answer(302, ["<sip:high@c.example>", "<sip:new@e.example>"])))).toEqual([
      "sip:none@d.example",
      "sip:high@c.example",
      "sip:low@b.example",
      "sip:new@e.example"
    ])
    for (const status of [305, 380, 200]) expect(Redirect.addContacts(start, answer(status, ["<sip:x@f.example>"]))).toBe(start)
    expect(Redirect.addContacts(start, answer(302, []))).toBe(start)
  })

  it("next: only after a failure, in order, at most MAX_TARGETS tried", () => {
    let set = Redirect.addContacts(
      Redirect.start(invite),
      answer(302, Array.from({ length: 12 }, (_, i) => `<sip:t${i}@x.example>`))
    )
    expect(Redirect.next(set, answer(200, []))).toBeUndefined()
    const tried: Array<string> = []
    for (let step = Redirect.next(set, answer(486, [])); step !== undefined; step = Redirect.next(set, answer(486, []))) {
      tried.push(formatUri(step[0]))
      set = step[1]
    }
    expect(tried).toEqual(Array.from({ length: Redirect.MAX_TARGETS - 1 }, (_, i) => `sip:t${i}@x.example`))
  })

  it("retarget: the new Request-URI, CSeq + 1, no branch; Call-ID, From, To and the body stay", () => {
    const moved = Result.getOrThrow(Redirect.retarget(invite, Result.getOrThrow(parseUri("sip:carol@c.example:5070"))))
    expect(moved.requestUriText).toBe("sip:carol@c.example:5070")
    expect(moved.cseq).toEqual({ seq: 8, method: "INVITE" })
    expect(moved.headers.get("Via")).toBe("SIP/2.0/UDP 10.0.0.1:5060")
    expect([moved.callId, moved.from?.tag, moved.headers.get("To"), new TextDecoder().decode(moved.rawBody)]).toEqual([
      "c1@example",
      "f1",
      "<sip:bob@example>",
      "v=0\r\n"
    ])
  })
})
