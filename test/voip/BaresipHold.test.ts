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
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { EndReason } from "../../src/voip/CallState.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import { capture, checkCapture, freePort, labDir, labMedia, labOut, labPhone, start, within } from "./lab.ts"

/** baresip's RTP ports: away from ours, the lab's defaults and the other baresip tests' range. */
const BARESIP_RTP = "23050-23099"

/** The RMS amplitude of `frames` as a fraction of full scale. */
const rms = (frames: ReadonlyArray<Int16Array>): number => {
  let sum = 0
  let count = 0
  for (const frame of frames) {
    for (const sample of frame) sum += (sample / 32768) ** 2
    count += frame.length
  }
  return count === 0 ? 0 : Math.sqrt(sum / count)
}

/** A baresip configuration directory in `dir` (from the lab's template) for user bob on 127.0.0.1:`sipPort`, no registration. */
const configureBaresip = (dir: string, sipPort: number, ctrlPort: number) => {
  fs.mkdirSync(path.join(dir, "rec"), { recursive: true })
  const modules = execFileSync("bash", ["-c", "dpkg -L baresip-core | grep -m1 '/baresip/modules$'"], { encoding: "utf8" }).trim()
  const placeholders: Record<string, string> = {
    IP: "127.0.0.1",
    SIP_PORT: String(sipPort),
    CTRL_PORT: String(ctrlPort),
    RTP_PORTS: BARESIP_RTP,
    SRC_WAV: path.join(labDir, "media", "prompt.wav"),
    REC_DIR: path.join(dir, "rec"),
    MODULE_PATH: modules
  }
  const template = fs.readFileSync(path.join(labDir, "baresip", "config.template"), "utf8")
  fs.writeFileSync(path.join(dir, "config"), template.replace(/@([A-Z_]+)@/g, (whole, name: string) => placeholders[name] ?? whole))
  fs.writeFileSync(path.join(dir, "accounts"), `<sip:bob@127.0.0.1:${sipPort}>;regint=0;audio_codecs=PCMU\n`)
}

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
      const sipPort = yield* freePort
      const ctrlPort = yield* freePort
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
            heardAfterResume: rms(Array.from(yield* Fiber.join(heard))),
            end
          })
        }))

      const dir = path.join(out, "bob-holds")
      configureBaresip(dir, sipPort, ctrlPort)
      const bob = yield* start("baresip", ["-4", "-v", "-f", dir, "-t", "40"], { limitMillis: 45_000 })
      const control = yield* start(
        "python3",
        [
          path.join(labDir, "tools", "baresip-ctrl.py"),
          "--port", String(ctrlPort), "--timeout", "35",
          `cmd:dial sip:lab@127.0.0.1:${ourPort}`, "wait:CALL_ESTABLISHED:10",
          "sleep:2000", "cmd:hold",
          "sleep:2000", "cmd:resume",
          "sleep:3000", "cmd:hangup", "wait:CALL_CLOSED:10", "cmd:quit"
        ],
        { limitMillis: 40_000 }
      )
      const code = yield* within(control.exited, "the controller", 40)
      expect({ code, output: code === 0 ? "" : `${control.output()}\n${bob.output()}` }).toEqual({ code: 0, output: "" })

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
