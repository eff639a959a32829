/**
 * The phone against the lab's SIPp scenarios over real UDP on 127.0.0.1,
 * without registration:
 * - `uac-call.xml` calls us: we answer, play a chirp that a capture shows
 *   arriving at SIPp's media port, read its RFC 4733 `1234#` exactly with
 *   `getDtmf`, hear its prompt, and its BYE ends the call; the SIP of the
 *   capture passes `capture.sh check`.
 * - `uas-answer.xml` with `-rtp_echo` answers our call: our chirp and DTMF
 *   come back through its echo, our BYE ends it.
 * - `uas-answer-bye.xml` answers, plays its prompt and hangs up: we hear the
 *   prompt and see the remote hangup.
 * - 20 SIPp calls at once (`uac-load.xml`): all answered at the same time,
 *   and every RTP port is free again afterwards.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import * as path from "node:path"
import * as Audio from "../../src/rtp/Audio.ts"
import { CallState, type EndReason } from "../../src/voip/CallState.ts"
import type { CallEvent, VoIPCall } from "../../src/voip/VoIPCall.ts"
import { bestOffset, chirp, concat } from "../rtp/session/helpers.ts"
import { capture, checkCapture, freePort, labDir, labMedia, labOut, labPhone, receivedAudio, repoRoot, sippCalls, sippOk, sippUac, sippUas, start, within } from "./lab.ts"

const reachState = (call: VoIPCall, state: CallState) =>
  within(call.states.pipe(Stream.filter((now) => now === state), Stream.runHead), `state ${state}`)

describe("the phone against SIPp", () => {
  it.live("uac-call.xml calls us: answered, our audio reaches SIPp, 1234# read exactly, SIPp's BYE ends the call", () =>
    Effect.gen(function*() {
      const { prompt } = yield* labMedia
      const out = yield* labOut
      const ourPort = yield* freePort
      const sippPort = yield* freePort
      const mediaPort = yield* freePort
      const recording = yield* capture(out, "uac-call", [ourPort, sippPort, mediaPort])
      const signal = chirp(1)
      const outcome = yield* Deferred.make<{
        readonly states: ReadonlyArray<CallState>
        readonly end: EndReason
        readonly reads: ReadonlyArray<string>
        readonly heard: Int16Array
      }>()
      const phone = yield* labPhone(ourPort, (call) =>
        Effect.gen(function*() {
          const states = yield* call.states.pipe(Stream.runCollect, Effect.forkChild)
          const heard = yield* call.audio.pipe(Stream.runCollect, Effect.forkChild)
          yield* call.answer
          yield* call.play(Audio.fromSamples(signal))
          const end = yield* call.ended
          // pyVoIP's buffer: one digit, then two, then the rest, then nothing
          const reads = [yield* call.getDtmf(), yield* call.getDtmf(2), yield* call.getDtmf(-1), yield* call.getDtmf()]
          yield* Deferred.succeed(outcome, {
            states: Array.from(yield* Fiber.join(states)),
            end,
            reads,
            heard: concat(Array.from(yield* Fiber.join(heard)))
          })
        }))

      yield* sippCalls(ourPort, 3000, { sip: sippPort, media: mediaPort })
      const result = yield* within(Deferred.await(outcome), "the handler")
      expect(result.states).toEqual([CallState.RINGING, CallState.ANSWERED, CallState.ENDED])
      expect(result.end).toEqual({ _tag: "RemoteHangup" })
      expect(result.reads).toEqual(["1", "23", "4#", ""])
      // one second of SIPp's prompt, found in what we played out
      expect(bestOffset(prompt.subarray(8000, 16000), result.heard).correlation).toBeGreaterThan(0.99)
      expect(yield* phone.rtpPortsInUse).toBe(0)

      yield* recording.stop
      expect(bestOffset(signal, receivedAudio(recording.pcap, mediaPort)).correlation).toBeGreaterThan(0.99)
      const checked = yield* checkCapture(out, recording.pcap, [ourPort, sippPort])
      expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("uas-answer.xml with -rtp_echo answers our call: our audio and DTMF come back, our BYE ends it", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const { port: sippPort, proc: uas } = yield* sippUas("uas-answer.xml", ["-d", "200", "-rtp_echo"])
      const phone = yield* labPhone(ourPort)
      const call = yield* phone.call(`sip:lab@127.0.0.1:${sippPort}`)
      const events = yield* call.events.pipe(Stream.runCollect, Effect.forkChild)
      yield* reachState(call, CallState.ANSWERED)

      const signal = chirp(1.5)
      const echoed = yield* call.audio.pipe(Stream.take(125), Stream.runCollect, Effect.forkChild)
      const digits = yield* call.dtmf.pipe(Stream.take(5), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("50 millis")
      yield* call.play(Audio.fromSamples(signal))
      yield* call.sendDtmf("1234#")
      const { correlation } = bestOffset(signal, concat(Array.from(yield* within(Fiber.join(echoed), "the echo"))))
      expect(correlation).toBeGreaterThan(0.99)
      expect(Array.from(yield* within(Fiber.join(digits), "the echoed digits")).join("")).toBe("1234#")
      const stats = yield* call.stats
      expect(Option.getOrThrow(stats)).toMatchObject({ foreignPackets: 0, malformedPackets: 0, packetsLost: 0 })

      yield* call.hangup
      sippOk({ code: yield* uas.exited, output: uas.output() })
      expect(yield* call.endReason).toEqual(Option.some({ _tag: "LocalHangup" }))
      const seen = Array.from(yield* Fiber.join(events)).map((event: CallEvent) =>
        event._tag === "State" ? event.state : event._tag === "Provisional" ? event.status : event._tag === "Ended" ? event.reason._tag : event._tag === "Dtmf" ? event.digit : event._tag
      )
      expect(seen.filter((entry) => typeof entry !== "string" || !/^[0-9#*]$/.test(entry))).toEqual([180, CallState.ANSWERED, "LocalHangup"])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("uas-answer-bye.xml answers, plays its prompt and hangs up: we hear it and see the remote hangup", () =>
    Effect.gen(function*() {
      const { prompt } = yield* labMedia
      const ourPort = yield* freePort
      const { port: sippPort, proc: uas } = yield* sippUas("uas-answer-bye.xml", ["-d", "2500"])
      const phone = yield* labPhone(ourPort)
      const call = yield* phone.call(`sip:lab@127.0.0.1:${sippPort}`)
      const heard = yield* call.audio.pipe(Stream.runCollect, Effect.forkChild)
      expect(yield* within(call.ended, "the remote hangup")).toEqual({ _tag: "RemoteHangup" })
      sippOk({ code: yield* uas.exited, output: uas.output() })
      const audio = concat(Array.from(yield* Fiber.join(heard)))
      expect(bestOffset(prompt.subarray(4000, 8000), audio).correlation).toBeGreaterThan(0.99)
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("20 SIPp calls at once are all answered, and every RTP port comes back", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      let answered = 0
      let active = 0
      let peak = 0
      let peakPorts = 0
      const phone = yield* labPhone(ourPort, (call) =>
        Effect.gen(function*() {
          yield* call.answer
          answered++
          active++
          peak = Math.max(peak, active)
          yield* call.ended
          active--
        }))
      const { proc: load } = yield* sippUac(ourPort, "uac-load.xml", ["-r", "20", "-l", "20", "-d", "3000"], { calls: 20 })
      const sampler = yield* Effect.forkChild(Effect.forever(
        Effect.flatMap(phone.rtpPortsInUse, (ports) => Effect.sync(() => void (peakPorts = Math.max(peakPorts, ports)))).pipe(
          Effect.andThen(Effect.sleep("100 millis"))
        )
      ))
      sippOk({ code: yield* load.exited, output: load.output() })
      yield* Fiber.interrupt(sampler)
      expect({ answered, peak, peakPorts }).toEqual({ answered: 20, peak: 20, peakPorts: 20 })
      expect(active).toBe(0)
      expect(yield* phone.calls).toEqual([])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("examples/phone.ts answers uac-call.xml, plays the prompt and prints one line per event", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const example = yield* start(process.execPath, ["--conditions=source", path.join(repoRoot, "examples", "phone.ts")], {
        env: {
          VOIP_NO_REGISTER: "1",
          VOIP_USER: "lab",
          VOIP_BIND: `127.0.0.1:${ourPort}`,
          VOIP_PLAY: path.join(labDir, "media", "prompt.wav")
        },
        limitMillis: 60_000
      })
      yield* example.waitFor(/status REGISTERED/, 15_000)
      const { sippPort } = yield* sippCalls(ourPort, 1000)
      yield* example.waitFor(/ended/, 10_000)
      yield* example.signal("SIGINT")
      expect(yield* within(example.exited, "the example to exit")).toBe(0)
      expect(example.output().trim().split("\n")).toEqual([
        "status REGISTERED",
        `incoming sip:sipp@127.0.0.1:${sippPort}`,
        "answered",
        ...["1", "2", "3", "4", "#"].map((digit) => `dtmf ${digit}`),
        "ended remote-hangup",
        "status DEREGISTERING",
        "status INACTIVE"
      ])
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
