/**
 * A redirected call against SIPp over real UDP on 127.0.0.1: our phone
 * calls `uas-redirect.xml`, which answers 302 with the Contact of a second
 * SIPp running the lab's `uas-answer.xml`; we ACK the 302, call the target
 * (CSeq + 1, same Call-ID), it answers, and our BYE ends the call. Both
 * SIPps exit 0 (each checked what it expected); the capture passes
 * `capture.sh check`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import * as path from "node:path"
import { CallState } from "../../src/voip/CallState.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import { capture, checkCapture, freePort, labOut, labPhone, sippOk, sippUas, within } from "./lab.ts"

describe("redirected by SIPp", () => {
  it.live("uas-redirect.xml's 302 leads our INVITE to a SIPp UAS, which answers; our BYE ends it; the wire is clean", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const ourPort = yield* freePort
      const target = yield* sippUas("uas-answer.xml", ["-d", "100"])
      const redirector = yield* sippUas(path.join(import.meta.dirname, "sipp", "uas-redirect.xml"), [
        "-key", "redirect_user", "carol", "-key", "redirect_host", `127.0.0.1:${target.port}`
      ])
      const sipPorts = [ourPort, redirector.port, target.port]
      const recording = yield* capture(out, "redirected", [...sipPorts, target.mediaPort])
      const phone = yield* labPhone(ourPort)

      const call = yield* phone.call(`sip:bob@127.0.0.1:${redirector.port}`)
      const redirected = yield* call.events.pipe(
        Stream.filter((event): event is Extract<CallEvent, { readonly _tag: "Redirected" }> => event._tag === "Redirected"),
        Stream.runHead,
        Effect.forkChild
      )
      const answered = yield* within(
        call.states.pipe(Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED), Stream.runHead),
        "the target's answer"
      )
      expect(answered).toEqual(Option.some(CallState.ANSWERED))
      yield* call.hangup
      expect(yield* within(Fiber.join(redirected), "the Redirected event")).toEqual(
        Option.some({ _tag: "Redirected", status: 302, target: `sip:carol@127.0.0.1:${target.port}` })
      )
      sippOk({ code: yield* within(redirector.proc.exited, "the redirect server"), output: redirector.proc.output() })
      sippOk({ code: yield* within(target.proc.exited, "the target"), output: target.proc.output() })
      expect(yield* phone.rtpPortsInUse).toBe(0)

      yield* recording.stop
      const checked = yield* checkCapture(out, recording.pcap, sipPorts)
      expect(checked.output).toMatch(/302 Moved Temporarily/)
      expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
