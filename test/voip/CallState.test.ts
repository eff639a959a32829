/**
 * pyVoIP's `CallState` with the documentation's `ANSWRED` spelling, and the
 * end reasons as failure responses map to them and as examples print them.
 */
import { describe, expect, it } from "@effect/vitest"
import { CallState, EndReason, formatEndReason } from "../../src/voip/CallState.ts"

describe("CallState", () => {
  it("has pyVoIP's states, and ANSWRED is ANSWERED", () => {
    expect(new Set(Object.values(CallState))).toEqual(new Set(["DIALING", "RINGING", "PROGRESS", "ANSWERED", "CANCELING", "ENDED"]))
    expect(CallState.ANSWRED).toBe(CallState.ANSWERED)
  })

  it("maps final responses to end reasons: busy, declined, no answer, failed with the code", () => {
    expect([486, 600, 603, 408, 480, 404, 500].map((status) => EndReason.fromFinalResponse(status, "Phrase"))).toEqual([
      { _tag: "Busy", status: 486 },
      { _tag: "Busy", status: 600 },
      { _tag: "Declined", status: 603 },
      { _tag: "NoAnswer", status: 408 },
      { _tag: "NoAnswer", status: 480 },
      { _tag: "Failed", status: 404, reason: "Phrase" },
      { _tag: "Failed", status: 500, reason: "Phrase" }
    ])
  })

  it("prints each end reason on one short line", () => {
    expect([
      EndReason.localHangup,
      EndReason.remoteHangup,
      EndReason.fromFinalResponse(486, "Busy Here"),
      EndReason.fromFinalResponse(603, "Decline"),
      EndReason.denied(486),
      EndReason.canceled("remote"),
      EndReason.fromFinalResponse(480, "Temporarily Unavailable"),
      EndReason.failed(404, "Not Found")
    ].map(formatEndReason)).toEqual([
      "local-hangup",
      "remote-hangup",
      "busy 486",
      "declined 603",
      "denied 486",
      "canceled by remote",
      "no-answer 480",
      "failed 404 Not Found"
    ])
  })
})
