/**
 * baresip puts a call with our phone on hold and resumes it, over real
 * UDP on 127.0.0.1, peer to peer (no registrar): baresip dials us, then
 * its `hold` command sends a re-INVITE with a=sendonly and `resume` one
 * with a=sendrecv (driven through ctrl_tcp by the lab's baresip-ctrl.py).
 * Our call reports `Held` and then `Resumed`, both by "remote", and
 * baresip's prompt is heard again after the resume. The SIP of the
 * capture passes `capture.sh check`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { concat } from "../../src/rtp/Audio.ts"
import { rms } from "../../src/testing/Recording.ts"
import type { EndReason } from "../../src/voip/CallState.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import { BARESIP_RTP, controlledBaresip, exitsOk, freePortPair } from "./baresip.ts"
import { capture, checkCapture, freePort, labMedia, labOut, labPhone, within } from "./lab.ts"

interface Outcome {
  readonly holds: ReadonlyArray<CallEvent>
  readonly heardAfterResume: number
  readonly end: EndReason
}

describe("the phone against baresip: hold and resume", () => {
  it.live("baresip's hold and resume re-INVITEs give Held and Resumed by remote, and its audio comes back", () =>
    Effect.gen(function*() {
      yield* labMedia
      const out = yield* labOut
      const ourPort = yield* freePort
      const sipPort = yield* freePortPair
      const recording = yield* capture(out, "baresip-holds", [ourPort, sipPort])
      const outcome = yield* Deferred.make<Outcome>()
      const phone = yield* labPhone(ourPort, (call) =>
        Effect.gen(function*() {
          const events = yield* call.events.pipe(Stream.runCollect, Effect.forkChild)
          // from the resume on, 2 s of what baresip sends
          const heard = yield* call.events.pipe(
            Stream.filter((event) => event._tag === "Resumed" || event._tag === "Ended"),
            Stream.runHead,
            Effect.andThen(call.audio.pipe(Stream.take(100), Stream.runCollect)),
            Effect.forkChild
          )
          yield* call.answer
          const end = yield* call.ended
          const all = Array.from(yield* Fiber.join(events))
          yield* Deferred.succeed(outcome, {
            holds: all.filter((event) => event._tag === "Held" || event._tag === "Resumed"),
            // as a fraction of full scale
            heardAfterResume: rms(concat(Array.from(yield* Fiber.join(heard)))) / 32768,
            end
          })
        }))

      const { controller, proc: bob } = yield* controlledBaresip({
        out,
        name: "bob-holds",
        account: { user: "bob" },
        rtpPorts: BARESIP_RTP.hold,
        sipPort,
        timeoutSeconds: 40
      }, [
        `cmd:dial sip:lab@127.0.0.1:${ourPort}`, "wait:CALL_ESTABLISHED:10",
        "sleep:2000", "cmd:hold",
        "sleep:2000", "cmd:resume",
        "sleep:3000", "cmd:hangup", "wait:CALL_CLOSED:10", "cmd:quit"
      ])
      yield* exitsOk(controller, "the controller", 40, () => `${controller.output()}\n${bob.output()}`)

      const result = yield* within(Deferred.await(outcome), "our handler")
      expect(result.holds).toEqual([{ _tag: "Held", by: "remote" }, { _tag: "Resumed", by: "remote" }])
      expect(result.end).toEqual({ _tag: "RemoteHangup" })
      // the prompt is speech at about 0.07 RMS; silence would be 0
      expect(result.heardAfterResume).toBeGreaterThan(0.01)
      expect(yield* phone.rtpPortsInUse).toBe(0)

      yield* recording.stop
      const checked = yield* checkCapture(out, recording.pcap, [ourPort, sipPort])
      // the first INVITE and the two re-INVITEs
      expect(checked.output.match(/INVITE sip:/g)?.length).toBe(3)
      expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
