/**
 * Our phone as the transferee, against SIPp over real UDP on 127.0.0.1:
 * `uac-refer.xml` calls us and after the ACK REFERs us to a second SIPp
 * running the lab's `uas-answer.xml`. We answer 202, call that target
 * (which answers; our BYE ends that call later), and report to the
 * transferor in NOTIFYs: sipfrag 100 Trying, then 200 OK terminating the
 * subscription (the scenario checks both); then the transferor's BYE ends
 * the first call. The SIP of the capture passes `capture.sh check`.
 * Attended: the Refer-To URI carries a Replaces header, which our INVITE
 * to the target carries (read back from the capture with tshark).
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { CallState, type EndReason } from "../../src/voip/CallState.ts"
import type { CallEvent, VoIPCall } from "../../src/voip/VoIPCall.ts"
import { capture, checkCapture, freePort, labOut, labPhone, sipp, sippUas, within } from "./lab.ts"

const ourScenario = (name: string) => path.join(import.meta.dirname, "sipp", name)

const sippOk = (what: string, exit: { readonly code: number | null; readonly output: string }) =>
  expect({ what, code: exit.code, output: exit.code === 0 ? "" : exit.output }).toEqual({ what, code: 0, output: "" })

interface Outcome {
  readonly end: EndReason
  readonly transferred: {
    readonly target: string
    readonly direction: string
    readonly states: ReadonlyArray<CallState>
    readonly end: EndReason
  }
}

/**
 * `uac-refer.xml` REFERs our phone to a SIPp UAS (`uas-answer.xml`) at
 * `127.0.0.1:port` followed by `query` (URI headers of the Refer-To); the
 * outcome is checked, and the capture's pcap given back.
 */
const referredBySipp = (query: string) =>
  Effect.gen(function*() {
    const out = yield* labOut
    const ourPort = yield* freePort
    const transferorPort = yield* freePort
    const transferorMedia = yield* freePort
    // the target answers only once called, so the capture still sees the whole transfer
    const { mediaPort: targetMedia, port: targetPort, proc: target } = yield* sippUas("uas-answer.xml", ["-d", "200"])
    const sipPorts = [ourPort, transferorPort, targetPort]
    const recording = yield* capture(out, "referred", [...sipPorts, transferorMedia, targetMedia])

    const outcome = yield* Deferred.make<Outcome>()
    const phone = yield* labPhone(ourPort, (call) =>
      Effect.gen(function*() {
        const transferredTo = yield* call.events.pipe(
          Stream.filter((event): event is Extract<CallEvent, { readonly _tag: "Transferred" }> => event._tag === "Transferred"),
          Stream.map((event) => event.call),
          Stream.runHead,
          Effect.forkChild
        )
        yield* call.answer
        const found = yield* within(Fiber.join(transferredTo), "the Transferred event")
        if (Option.isNone(found)) return yield* Effect.die(new Error(`no Transferred event; the call ended: ${JSON.stringify(yield* call.endReason)}`))
        const next: VoIPCall = found.value
        const states = yield* next.states.pipe(Stream.runCollect, Effect.forkChild)
        yield* within(next.states.pipe(Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED), Stream.runHead), "the target's answer")
        // the transferor hangs up once it has the NOTIFYs; then we end the new call
        const end = yield* within(call.ended, "the transferor's BYE")
        if ((yield* next.state) === CallState.ANSWERED) yield* next.hangup
        yield* Deferred.succeed(outcome, {
          end,
          transferred: {
            target: next.request.requestUriText,
            direction: next.direction,
            states: Array.from(yield* Fiber.join(states)),
            end: yield* next.ended
          }
        })
      }))

    const transferor = yield* sipp([
      "-sf", ourScenario("uac-refer.xml"),
      `127.0.0.1:${ourPort}`,
      "-i", "127.0.0.1", "-p", String(transferorPort),
      "-mi", "127.0.0.1", "-mp", String(transferorMedia),
      "-s", "lab", "-m", "1",
      "-key", "refer_user", "carol", "-key", "refer_host", `127.0.0.1:${targetPort}${query}`
    ])
    sippOk("transferor", { code: yield* within(transferor.exited, "the transferor", 40), output: transferor.output() })
    const result = yield* within(Deferred.await(outcome), "our handler")
    expect(result).toEqual({
      end: { _tag: "RemoteHangup" },
      transferred: {
        target: `sip:carol@127.0.0.1:${targetPort}`,
        direction: "outgoing",
        states: expect.arrayContaining([CallState.ANSWERED, CallState.ENDED]),
        end: { _tag: "LocalHangup" }
      }
    })
    sippOk("transfer target", { code: yield* within(target.exited, "the transfer target", 20), output: target.output() })
    expect(yield* phone.rtpPortsInUse).toBe(0)

    yield* recording.stop
    const checked = yield* checkCapture(out, recording.pcap, sipPorts)
    expect(checked.output).toMatch(/REFER sip:/)
    expect(checked.output).toMatch(/202 Accepted/)
    expect(checked.output.match(/NOTIFY sip:/g)?.length).toBe(2)
    expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    return { pcap: recording.pcap, targetPort }
  })

/** The Replaces header of each INVITE sent to `port` in `pcap`, "" for one without. */
const replacesTo = (pcap: string, port: number): ReadonlyArray<string> =>
  execFileSync("tshark", ["-r", pcap, "-Y", `sip.Method == "INVITE" && udp.dstport == ${port}`, "-T", "fields", "-e", "sip.Replaces"], {
    encoding: "utf8"
  }).split("\n").filter((line, index, lines) => index < lines.length - 1 || line !== "")

describe("transferred by SIPp (we are the transferee)", () => {
  it.live("uac-refer.xml REFERs us to a SIPp UAS: 202, we call it, NOTIFY 100 then 200, its BYE ends the call; the wire is clean", () =>
    Effect.gen(function*() {
      const { pcap, targetPort } = yield* referredBySipp("")
      expect(replacesTo(pcap, targetPort)).toEqual([""])
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("attended (RFC 5589 §7): the Replaces of the Refer-To URI goes into our INVITE to the target, unescaped", () =>
    Effect.gen(function*() {
      const { pcap, targetPort } = yield* referredBySipp("?Replaces=consult%40sipp.lab%3Bto-tag%3Dt1%3Bfrom-tag%3Df1")
      expect(replacesTo(pcap, targetPort)).toEqual(["consult@sipp.lab;to-tag=t1;from-tag=f1"])
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
