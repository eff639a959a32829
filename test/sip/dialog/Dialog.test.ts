import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as Dialog from "../../../src/sip/dialog/Dialog.ts"
import * as Forks from "../../../src/sip/dialog/Forks.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"

const invite = (extra: ReadonlyArray<readonly [string, string]> = [], uri = "sip:bob@biloxi.example.com") =>
  Result.getOrThrow(SIPMessage.request({
    method: "INVITE",
    uri,
    headers: [
      ["Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"],
      ["Max-Forwards", "70"],
      ["From", "\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774"],
      ["To", "Bob <sip:bob@biloxi.example.com>"],
      ["Call-ID", "a84b4c76e66710@pc33.atlanta.example.com"],
      ["CSeq", "314159 INVITE"],
      ["Contact", "<sip:alice@pc33.atlanta.example.com>"],
      ...extra
    ]
  }))

const answer = (
  request: SIPMessage.SIPMessage,
  status: number,
  toTag: string,
  headers: ReadonlyArray<readonly [string, string]> = []
) => Result.getOrThrow(SIPMessage.response(request, status, { toTag, headers }))

const proxies: ReadonlyArray<readonly [string, string]> = [
  ["Record-Route", "<sip:p2.biloxi.example.com;lr>"],
  ["Record-Route", "<sip:p1.atlanta.example.com;lr>"]
]

describe("dialogs (§12)", () => {
  it("the UAC's early dialog from a 1xx with a To tag: route set reversed, remote target from Contact", () => {
    const request = invite(proxies)
    const ringing = answer(request, 180, "bob-tag", [["Contact", "<sip:bob@192.0.2.4>"]])
    const dialog = Result.getOrThrow(Dialog.fromResponse(request, ringing))
    expect(dialog).toMatchObject({
      role: "UAC",
      state: "early",
      callId: "a84b4c76e66710@pc33.atlanta.example.com",
      localTag: "1928301774",
      remoteTag: "bob-tag",
      localSeq: 314159,
      remoteSeq: undefined,
      secure: false,
      localContact: "<sip:alice@pc33.atlanta.example.com>"
    })
    expect(dialog.remoteTarget.host).toBe("192.0.2.4")
    expect(dialog.routeSet.map((route) => route.uri.host)).toEqual(["p1.atlanta.example.com", "p2.biloxi.example.com"])
    expect(Dialog.keyOf(dialog)).toBe(Dialog.keyOfResponse(ringing))
  })

  it("a 2xx confirms the early dialog and recomputes its route set and target (§13.2.2.4)", () => {
    const request = invite(proxies)
    const early = Result.getOrThrow(Dialog.fromResponse(request, answer(request, 183, "t", [["Contact", "<sip:bob@192.0.2.4>"]])))
    const ok = answer(request, 200, "t", [["Contact", "<sip:bob@192.0.2.5>"]])
    const confirmed = Dialog.onResponse(early, Result.getOrThrow(SIPMessage.withoutHeader(ok, "Record-Route")))
    expect(confirmed.state).toBe("confirmed")
    expect(confirmed.remoteTarget.host).toBe("192.0.2.5")
    expect(confirmed.routeSet).toEqual([])
    // a response of another dialog changes nothing
    expect(Dialog.onResponse(early, answer(request, 200, "other"))).toBe(early)
  })

  it("no dialog from 100, a non-2xx final, or a response without To tag", () => {
    const request = invite()
    expect(Result.isFailure(Dialog.fromResponse(request, answer(request, 100, "x")))).toBe(true)
    expect(Result.isFailure(Dialog.fromResponse(request, answer(request, 486, "x")))).toBe(true)
    const untagged = Result.getOrThrow(SIPMessage.response(request, 180))
    expect(Dialog.fromResponse(request, untagged)).toMatchObject({ failure: { reason: "the response has no To tag" } })
  })

  it("a sips Request-URI makes the dialog secure", () => {
    const request = invite([], "sips:bob@biloxi.example.com")
    expect(Result.getOrThrow(Dialog.fromResponse(request, answer(request, 200, "t"))).secure).toBe(true)
  })

  it("the UAS's dialog: route set in Record-Route order, remote CSeq from the request, local CSeq chosen when it first sends", () => {
    const request = invite(proxies)
    const ok = answer(request, 200, "bob-tag", [["Contact", "<sip:bob@192.0.2.4>"]])
    const dialog = Result.getOrThrow(Dialog.fromRequest(request, ok))
    expect(dialog).toMatchObject({
      role: "UAS",
      state: "confirmed",
      localTag: "bob-tag",
      remoteTag: "1928301774",
      localSeq: undefined,
      remoteSeq: 314159,
      localContact: "<sip:bob@192.0.2.4>"
    })
    expect(dialog.routeSet.map((route) => route.uri.host)).toEqual(["p2.biloxi.example.com", "p1.atlanta.example.com"])
    expect(dialog.remoteTarget.host).toBe("pc33.atlanta.example.com")
    expect(Dialog.keyOf(dialog)).toBe(Dialog.keyOfRequest(
      Result.getOrThrow(SIPMessage.withHeader(request, "To", "Bob <sip:bob@biloxi.example.com>;tag=bob-tag"))
    ))
    const bye = Result.getOrThrow(Dialog.createRequest(dialog, "BYE"))
    expect(bye.dialog.localSeq).toBeGreaterThan(0)
    expect(bye.dialog.localSeq).toBeLessThan(2 ** 31)
    expect(bye.request.from?.tag).toBe("bob-tag")
    expect(bye.request.to?.tag).toBe("1928301774")
    expect(bye.request.to?.uri.user).toBe("alice")
    const next = Result.getOrThrow(Dialog.createRequest(bye.dialog, "INFO"))
    expect(next.request.cseq).toEqual({ seq: bye.dialog.localSeq! + 1, method: "INFO" })
  })

  it("in-dialog requests with a loose route set: Request-URI is the remote target, Route is the route set (§12.2.1.1)", () => {
    const request = invite(proxies)
    const dialog = Result.getOrThrow(Dialog.fromResponse(request, answer(request, 200, "t", [["Contact", "<sip:bob@192.0.2.4:5070>"]])))
    const { dialog: after, request: bye } = Result.getOrThrow(Dialog.createRequest(dialog, "BYE"))
    expect(bye.requestUriText).toBe("sip:bob@192.0.2.4:5070")
    expect(bye.headers.getAll("Route")).toEqual(["<sip:p1.atlanta.example.com;lr>", "<sip:p2.biloxi.example.com;lr>"])
    expect(bye.cseq).toEqual({ seq: 314160, method: "BYE" })
    expect(after.localSeq).toBe(314160)
    expect(bye.from?.tag).toBe("1928301774")
    expect(bye.from?.displayName).toBe("Alice")
    expect(bye.to?.tag).toBe("t")
    expect(bye.callId).toBe(request.callId)
    expect(bye.via).toEqual([])
    expect(bye.headers.has("Contact")).toBe(false)
    expect(Dialog.nextHop(dialog)).toEqual({ host: "p1.atlanta.example.com", port: 5060, locate: true })
    // a target refresh request carries our Contact
    const reinvite = Result.getOrThrow(Dialog.createRequest(after, "INVITE", { body: "v=0", contentType: "application/sdp" }))
    expect(reinvite.request.headers.get("Contact")).toBe("<sip:alice@pc33.atlanta.example.com>")
    expect(reinvite.request.cseq?.seq).toBe(314161)
    expect(reinvite.request.headers.get("Content-Type")).toBe("application/sdp")
  })

  it("a strict router first: it becomes the Request-URI, the remote target the last Route", () => {
    const request = invite([
      ["Record-Route", "<sip:p2.biloxi.example.com;lr>"],
      ["Record-Route", "<sip:strict.atlanta.example.com;method=INVITE;transport=udp>"]
    ])
    const dialog = Result.getOrThrow(Dialog.fromResponse(request, answer(request, 200, "t", [["Contact", "<sip:bob@192.0.2.4>"]])))
    const { request: bye } = Result.getOrThrow(Dialog.createRequest(dialog, "BYE"))
    expect(bye.requestUriText).toBe("sip:strict.atlanta.example.com;transport=udp")
    expect(bye.headers.getAll("Route")).toEqual(["<sip:p2.biloxi.example.com;lr>", "<sip:bob@192.0.2.4>"])
    expect(Dialog.nextHop(dialog)).toEqual({ host: "strict.atlanta.example.com", port: 5060, locate: true })
  })

  it("without a route set the request goes to the remote target", () => {
    const request = invite()
    const dialog = Result.getOrThrow(
      Dialog.fromResponse(request, answer(request, 200, "t", [["Contact", "<sips:bob@192.0.2.4;maddr=192.0.2.99>"]]))
    )
    const { request: bye } = Result.getOrThrow(Dialog.createRequest(dialog, "BYE"))
    expect(bye.headers.has("Route")).toBe(false)
    expect(Dialog.nextHop(dialog)).toEqual({ host: "192.0.2.99", port: 5061 })
    expect(Dialog.requestNextHop(bye)).toEqual({ host: "192.0.2.99", port: 5061 })
  })

  it("the remote CSeq only moves forward: a lower one is refused (500), ACK and CANCEL are not checked", () => {
    const request = invite()
    const dialog = Result.getOrThrow(Dialog.fromRequest(request, answer(request, 200, "bob-tag")))
    const inDialog = (method: string, seq: number, contact?: string) =>
      Result.getOrThrow(SIPMessage.request({
        method,
        uri: "sip:bob@192.0.2.4",
        headers: [
          ["From", "<sip:alice@atlanta.example.com>;tag=1928301774"],
          ["To", "<sip:bob@biloxi.example.com>;tag=bob-tag"],
          ["Call-ID", request.callId!],
          ["CSeq", `${seq} ${method}`],
          ...(contact === undefined ? [] : [["Contact", contact] as const])
        ]
      }))
    expect(Result.getOrThrow(Dialog.receiveRequest(dialog, inDialog("ACK", 314159))).remoteSeq).toBe(314159)
    const later = Result.getOrThrow(Dialog.receiveRequest(dialog, inDialog("INFO", 314160, "<sip:alice@elsewhere>")))
    expect(later.remoteSeq).toBe(314160)
    expect(later.remoteTarget.host).toBe("pc33.atlanta.example.com")
    const refreshed = Result.getOrThrow(Dialog.receiveRequest(later, inDialog("INVITE", 314161, "<sip:alice@198.51.100.7>")))
    expect(refreshed.remoteTarget.host).toBe("198.51.100.7")
    expect(Dialog.receiveRequest(refreshed, inDialog("BYE", 314160))).toMatchObject({
      failure: { _tag: "RequestOutOfOrderError", seq: 314160, remoteSeq: 314161 }
    })
    expect(Result.isSuccess(Dialog.receiveRequest(refreshed, inDialog("CANCEL", 1)))).toBe(true)
  })

  it("the ACK of a 2xx has the INVITE's CSeq number and credentials (§13.2.2.4)", () => {
    const request = invite([...proxies, ["Proxy-Authorization", "Digest username=\"alice\", realm=\"atlanta.example.com\""]])
    const dialog = Result.getOrThrow(Dialog.fromResponse(request, answer(request, 200, "t", [["Contact", "<sip:bob@192.0.2.4>"]])))
    const ack = Result.getOrThrow(Dialog.ack(dialog, request, { body: "v=0", contentType: "application/sdp" }))
    expect(ack.method).toBe("ACK")
    expect(ack.cseq).toEqual({ seq: 314159, method: "ACK" })
    expect(ack.requestUriText).toBe("sip:bob@192.0.2.4")
    expect(ack.headers.getAll("Route")).toHaveLength(2)
    expect(ack.headers.get("Proxy-Authorization")).toContain("Digest")
    expect(ack.headers.has("Contact")).toBe(false)
    expect(Result.isFailure(Dialog.createRequest(dialog, "ACK"))).toBe(true)
    expect(Result.isFailure(Dialog.createRequest(dialog, "CANCEL"))).toBe(true)
  })

  it("tags and Call-IDs are random tokens", () => {
    const tags = new Set(Array.from({ length: 1000 }, Dialog.newTag))
    expect(tags.size).toBe(1000)
    expect(Dialog.newTag()).toMatch(/^[0-9A-Za-z.-]{10}$/)
    expect(Dialog.newCallId("host.example")).toMatch(/^[0-9A-Za-z.-]{22}@host\.example$/)
  })
})

describe("forked INVITE responses (§13.2.2.4)", () => {
  it("several early dialogs, one confirmed, a late 2xx from another fork is an extra to BYE, retransmissions are recognised", () => {
    const request = invite()
    let state = Forks.start(request)
    const step = (response: SIPMessage.SIPMessage) => {
      const { event, state: next } = Result.getOrThrow(Forks.onResponse(state, response))
      state = next
      return event._tag === "Failed" || event._tag === "Ignored" ? [event._tag] : [event._tag, event.dialog.remoteTag]
    }
    expect(step(Result.getOrThrow(SIPMessage.response(request, 100)))).toEqual(["Ignored"])
    expect(step(answer(request, 180, "a"))).toEqual(["Early", "a"])
    expect(step(answer(request, 183, "b"))).toEqual(["Early", "b"])
    expect(step(answer(request, 180, "a", [["Contact", "<sip:a@192.0.2.1>"]]))).toEqual(["Updated", "a"])
    expect(state.dialogs.get("a")?.remoteTarget.host).toBe("192.0.2.1")
    expect(step(answer(request, 200, "b"))).toEqual(["Confirmed", "b"])
    expect(state.confirmedTag).toBe("b")
    expect(step(answer(request, 200, "b"))).toEqual(["Retransmission", "b"])
    expect(step(answer(request, 180, "b"))).toEqual(["Ignored"])
    expect(step(answer(request, 200, "a"))).toEqual(["Extra", "a"])
    expect(step(answer(request, 200, "c"))).toEqual(["Extra", "c"])
    expect(state.confirmedTag).toBe("b")
    expect([...state.dialogs.values()].map((dialog) => [dialog.remoteTag, dialog.state])).toEqual([
      ["a", "confirmed"],
      ["b", "confirmed"],
      ["c", "confirmed"]
    ])
  })

  it("a non-2xx final ends every early dialog", () => {
    const request = invite()
    const early = Result.getOrThrow(Forks.onResponse(Forks.start(request), answer(request, 180, "a"))).state
    const failed = Result.getOrThrow(Forks.onResponse(early, answer(request, 486, "a")))
    expect(failed.event).toEqual({ _tag: "Failed" })
    expect(failed.state.dialogs.size).toBe(0)
  })
})
