/**
 * The pure parts of the `voip` command line: exit codes of call ends and
 * SIP statuses, the JSON line of an event, and the flag values parsed by hand.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { EndReason } from "../../src/voip/CallState.ts"
import { ExitCode, ofEndReason, ofError, ofStatus } from "../../src/cli/ExitCode.ts"
import { parseAnswerAfter, parsePortRange } from "../../src/cli/Flags.ts"
import { formatJson, formatText } from "../../src/cli/Output.ts"

describe("voip exit codes and output", () => {
  it("maps call ends and statuses to exit codes", () => {
    expect([
      ofEndReason(EndReason.localHangup, true),
      ofEndReason(EndReason.fromFinalResponse(486, "Busy Here"), true),
      ofEndReason(EndReason.fromFinalResponse(603, "Decline"), true),
      ofEndReason(EndReason.canceled("local"), true),
      ofEndReason({ _tag: "NoAnswer", status: 408 }, false),
      ofEndReason({ _tag: "NoAnswer", status: 408 }, true),
      ofEndReason(EndReason.failed(407, "Proxy Authentication Required"), true),
      ofEndReason(EndReason.failed(404, "Not Found"), true)
    ]).toEqual([
      ExitCode.OK,
      ExitCode.BUSY,
      ExitCode.BUSY,
      ExitCode.NO_ANSWER,
      ExitCode.NETWORK,
      ExitCode.NO_ANSWER,
      ExitCode.AUTH,
      ExitCode.FAILURE
    ])
    expect([200, 403, 480, 503, 500].map(ofStatus)).toEqual([0, 3, 6, 4, 1])
    expect(ofError({ _tag: "TransactionTimeoutError" })).toBe(ExitCode.NETWORK)
    expect(ofError({ _tag: "RegistrationRejectedError", status: 401 })).toBe(ExitCode.AUTH)
  })

  it("prints an event as one JSON object with event and time first, or as a line of text", () => {
    const event = { event: "registered", aor: "sip:alice@127.0.0.1", expires: 300 } as const
    expect(formatJson(event, Date.UTC(2026, 0, 2, 3, 4, 5))).toBe(
      `{"event":"registered","time":"2026-01-02T03:04:05.000Z","aor":"sip:alice@127.0.0.1","expires":300}`
    )
    expect(formatText(event)).toBe("registered sip:alice@127.0.0.1 (expires 300 s)")
  })

  it("parses --answer-after and --rtp-ports", () => {
    expect(parseAnswerAfter("2.5")).toEqual(Result.succeed(2.5))
    expect(parseAnswerAfter("never")).toEqual(Result.succeed(undefined))
    expect(Result.isFailure(parseAnswerAfter("soon"))).toBe(true)
    expect(Result.isFailure(parseAnswerAfter("-1"))).toBe(true)
    expect(parsePortRange("10000-10099")).toEqual(Result.succeed({ low: 10000, high: 10099 }))
    expect(Result.isFailure(parsePortRange("10000"))).toBe(true)
  })
})
