/**
 * A transfer against SIPp over real UDP on 127.0.0.1: `uas-refer.xml`
 * answers our call, accepts our REFER (202), reports 100 Trying and then
 * 200 OK in message/sipfrag NOTIFYs; `transfer(…, blind = false)` gives
 * true and our BYE ends the call. The SIP of the capture passes
 * `capture.sh check`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import * as path from "node:path"
import { CallState } from "../../src/voip/CallState.ts"
import { capture, checkCapture, freePort, labOut, labPhone, listeningOn, sipp, within } from "./lab.ts"

const ourScenario = (name: string) => path.join(import.meta.dirname, "sipp", name)

describe("transfer against SIPp", () => {
  it.live("uas-refer.xml: REFER accepted, NOTIFY 100 then 200 sipfrag, transfer gives true, our BYE ends the call", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const sippPort = yield* freePort
      const mediaPort = yield* freePort
      const out = yield* labOut
      const recording = yield* capture(out, "transfer", [ourPort, sippPort, mediaPort])
      const uas = yield* sipp([
        "-sf", ourScenario("uas-refer.xml"),
        "-i", "127.0.0.1", "-p", String(sippPort),
        "-mi", "127.0.0.1", "-mp", String(mediaPort),
        "-m", "1"
      ])
      yield* listeningOn(sippPort)
      const phone = yield* labPhone(ourPort)
      const call = yield* phone.call(`sip:lab@127.0.0.1:${sippPort}`)
      yield* within(call.states.pipe(Stream.filter((state) => state === CallState.ANSWERED), Stream.runHead), "the answer")
      const transferred = yield* within(call.transfer(undefined, `sip:carol@127.0.0.1:${sippPort}`, false), "the transfer")
      expect(transferred).toBe(true)
      const exited = yield* uas.exited
      expect({ code: exited, output: exited === 0 ? "" : uas.output() }).toEqual({ code: 0, output: "" })
      expect(yield* call.endReason).toEqual(Option.some({ _tag: "LocalHangup" }))
      expect(yield* phone.rtpPortsInUse).toBe(0)
      yield* recording.stop
      const checked = yield* checkCapture(out, recording.pcap, [ourPort, sippPort])
      expect({ code: checked.code, output: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, output: "" })
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
