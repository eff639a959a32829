/**
 * RFC 3262 and RFC 3311 against SIPp over real UDP on 127.0.0.1:
 * - `uas-100rel.xml` (with `-rtp_echo`) answers our INVITE with a reliable
 *   183 and SDP, checks our PRACK's RAck, then answers 200: our early
 *   media comes back through its echo before the answer, our BYE ends it.
 * - `uac-update.xml` calls us and sends a bare UPDATE (session refresh) and
 *   an UPDATE offering sendonly: SIPp checks the Session-Expires and the
 *   recvonly answer, and we see the remote hold.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
import * as path from "node:path"
import * as Audio from "../../src/rtp/Audio.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import { chirp, concat, missingFrames } from "../rtp/session/helpers.ts"
import { answeringLabPhone, freePort, labPhone, sippOk, sippUac, sippUas, within } from "./lab.ts"

const ourScenario = (name: string) => path.join(import.meta.dirname, "sipp", name)

const summary = (events: ReadonlyArray<CallEvent>) =>
  events.map((event) =>
    event._tag === "State" ? event.state : event._tag === "Provisional" ? event.status : event._tag === "Ended" ? event.reason._tag : event._tag
  )

describe("PRACK and UPDATE against SIPp", () => {
  it.live("uas-100rel.xml: the reliable 183 is PRACKed, early media echoes back before the 200, our BYE ends the call", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const { port: sippPort, proc: uas } = yield* sippUas(ourScenario("uas-100rel.xml"), ["-d", "2500", "-rtp_echo"])
      const phone = yield* labPhone(ourPort)
      const call = yield* phone.call(`sip:lab@127.0.0.1:${sippPort}`)
      const events = yield* call.events.pipe(Stream.runCollect, Effect.forkChild)
      yield* within(call.states.pipe(Stream.filter((state) => state === CallState.PROGRESS), Stream.runHead), "early media")
      const signal = chirp(1)
      const echoed = yield* call.audio.pipe(Stream.take(75), Stream.runCollect, Effect.forkChild)
      yield* call.play(Audio.fromSamples(signal))
      const heard = concat(Array.from(yield* within(Fiber.join(echoed), "the echo")))
      // frame by frame (each may shift by a frame): a loaded machine can delay one of our sends
      expect(missingFrames(signal, heard).length).toBeLessThanOrEqual(5)
      expect(yield* call.state).toBe(CallState.PROGRESS)

      yield* within(call.states.pipe(Stream.filter((state) => state === CallState.ANSWERED), Stream.runHead), "the answer")
      yield* call.hangup
      sippOk({ code: yield* uas.exited, output: uas.output() })
      expect(yield* call.endReason).toEqual(Option.some({ _tag: "LocalHangup" }))
      expect(summary(Array.from(yield* Fiber.join(events)))).toEqual([183, CallState.PROGRESS, CallState.ANSWERED, "LocalHangup"])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("uac-update.xml: a bare UPDATE is answered with Session-Expires, an UPDATE offering sendonly with recvonly", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const { phone, seen } = yield* answeringLabPhone(ourPort)
      const { proc: uac } = yield* sippUac(ourPort, ourScenario("uac-update.xml"), ["-d", "500"])
      sippOk({ code: yield* uac.exited, output: uac.output() })
      yield* within(
        Effect.repeat(phone.calls, { until: (calls) => calls.length === 0 }),
        "the call to end"
      )
      expect(summary(seen)).toEqual([CallState.ANSWERED, "Held", "RemoteHangup"])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
