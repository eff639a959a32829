/**
 * The phone examples as a user runs them (`node --conditions=source
 * examples/<name>.ts`, peer-to-peer with `VOIP_NO_REGISTER=1`) against the
 * lab's SIPp over real UDP on 127.0.0.1, checked by the lines they print
 * and their exit code:
 * - announcement: SIPp's `uac-call.xml` calls it, it plays a chirp WAV once
 *   (the capture shows it arriving at SIPp) and hangs up; the SIP passes
 *   `capture.sh check`.
 * - ivr: the prompt plays to its end and the digits pressed meanwhile are
 *   kept: `1234#` is read exactly; with `VOIP_IVR_BARGE_IN=1` the first
 *   digit cuts a long prompt short. `#` hangs up.
 * - recorder: what SIPp says is in the WAV it writes.
 * - call-state: every state of the call and its end reason.
 * - dialer: calls SIPp's `uas-answer.xml`, plays its message (heard back
 *   arrives at SIPp), hangs up and exits 0; the wire is clean.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Wav from "../../src/rtp/Wav.ts"
import { bestOffset, chirp } from "../rtp/session/helpers.ts"
import { capture, checkCapture, freePort, labDir, labMedia, labOut, receivedAudio, repoRoot, sippCalls, sippOk, sippUas, start, within } from "./lab.ts"

const node = path.join(repoRoot, "node_modules", ".bin", "node")

/** `examples/<name>.ts` on 127.0.0.1:`port` without registration, with `env` added. */
const example = (name: string, port: number, env: Record<string, string> = {}) =>
  start(node, ["--conditions=source", path.join("examples", `${name}.ts`)], {
    env: { VOIP_NO_REGISTER: "1", VOIP_USER: "lab", VOIP_BIND: `127.0.0.1:${port}`, ...env },
    limitMillis: 60_000
  })

/** The lines an example printed, without the status lines of its start and stop. */
const eventLines = (output: string) => output.trim().split("\n").filter((line) => !line.startsWith("status "))

/** Stops an example with SIGINT: it deregisters, prints its last status lines and exits 0. */
const stopExample = (run: { readonly signal: (s: NodeJS.Signals) => Effect.Effect<void>; readonly exited: Effect.Effect<number | null>; readonly output: () => string }) =>
  Effect.gen(function*() {
    yield* run.signal("SIGINT")
    const code = yield* within(run.exited, "the example to exit")
    expect({ code, output: code === 0 ? "" : run.output() }).toEqual({ code: 0, output: "" })
    const lines = run.output().trim().split("\n")
    expect(lines.filter((line) => line.startsWith("status "))).toEqual([
      "status REGISTERED",
      "status DEREGISTERING",
      "status INACTIVE"
    ])
  })

const DIGITS = ["1", "2", "3", "4", "#"].map((digit) => `dtmf ${digit}`)

describe("the phone examples against SIPp", () => {
  it.live("announcement.ts answers, plays its WAV once, hangs up; SIPp hears it and the wire is clean", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const ourPort = yield* freePort
      const ports = { sip: yield* freePort, media: yield* freePort }
      const message = chirp(1)
      const wav = path.join(out, "message.wav")
      fs.writeFileSync(wav, Wav.encode(message))
      const recording = yield* capture(out, "announcement", [ourPort, ports.sip, ports.media])
      const run = yield* example("announcement", ourPort, { VOIP_PLAY: wav })
      yield* run.waitFor(/status REGISTERED/, 15_000)
      yield* sippCalls(ourPort, 3000, ports)
      yield* run.waitFor(/^ended /m, 10_000)
      yield* stopExample(run)
      expect(eventLines(run.output())).toEqual([
        `incoming sip:sipp@127.0.0.1:${ports.sip}`,
        "answered",
        "ended local-hangup"
      ])

      yield* recording.stop
      expect(bestOffset(message, receivedAudio(recording.pcap, ports.media)).correlation).toBeGreaterThan(0.99)
      const checked = yield* checkCapture(out, recording.pcap, [ourPort, ports.sip])
      expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("ivr.ts plays the whole prompt, keeps the digits pressed meanwhile, reads 1234# exactly; # hangs up", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const ourPort = yield* freePort
      const ports = { sip: yield* freePort, media: yield* freePort }
      const menu = chirp(1.5)
      const prompt = path.join(out, "menu.wav")
      fs.writeFileSync(prompt, Wav.encode(menu))
      const recording = yield* capture(out, "ivr", [ports.media])
      const run = yield* example("ivr", ourPort, { VOIP_PLAY: prompt })
      yield* run.waitFor(/status REGISTERED/, 15_000)
      // SIPp starts its digits 0.5 s after the answer, one every 0.34 s: 1, 2 and 3 come during the prompt
      yield* sippCalls(ourPort, 500, ports)
      yield* run.waitFor(/^ended /m, 10_000)
      yield* stopExample(run)
      expect(eventLines(run.output())).toEqual([
        `incoming sip:sipp@127.0.0.1:${ports.sip}`,
        "answered",
        ...DIGITS,
        "ended local-hangup"
      ])
      // the whole prompt went out
      yield* recording.stop
      expect(bestOffset(menu, receivedAudio(recording.pcap, ports.media)).correlation).toBeGreaterThan(0.99)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("ivr.ts with VOIP_IVR_BARGE_IN=1: the first digit cuts the long prompt short, 1234# read exactly", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      // the lab prompt lasts 5.9 s; the digits start after 0.5 s
      const run = yield* example("ivr", ourPort, {
        VOIP_IVR_BARGE_IN: "1",
        VOIP_PLAY: path.join(labDir, "media", "prompt.wav")
      })
      yield* run.waitFor(/status REGISTERED/, 15_000)
      const { sippPort } = yield* sippCalls(ourPort, 500)
      yield* run.waitFor(/^ended /m, 10_000)
      yield* stopExample(run)
      expect(eventLines(run.output())).toEqual([
        `incoming sip:sipp@127.0.0.1:${sippPort}`,
        "answered",
        "barge-in",
        ...DIGITS,
        "ended local-hangup"
      ])
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("recorder.ts writes what the caller said to VOIP_RECORD until the caller hangs up", () =>
    Effect.gen(function*() {
      const { prompt } = yield* labMedia
      const out = yield* labOut
      const ourPort = yield* freePort
      const file = path.join(out, "caller.wav")
      const run = yield* example("recorder", ourPort, { VOIP_RECORD: file })
      yield* run.waitFor(/status REGISTERED/, 15_000)
      const { sippPort } = yield* sippCalls(ourPort, 2000)
      yield* run.waitFor(/^recorded /m, 10_000)
      yield* stopExample(run)
      const recorded = yield* Wav.decode(new Uint8Array(fs.readFileSync(file)))
      const lines = eventLines(run.output())
      expect(lines.slice(0, 3)).toEqual([`incoming sip:sipp@127.0.0.1:${sippPort}`, "answered", "ended remote-hangup"])
      expect(lines[3]).toBe(`recorded ${(recorded.samples.length / 8000).toFixed(2)} s to ${file}`)
      // SIPp talks for 2 s, sends DTMF in silence for 1.7 s, talks for 1 s more
      expect(recorded.samples.length / 8000).toBeGreaterThan(4)
      expect(bestOffset(prompt.subarray(4000, 12000), recorded.samples).correlation).toBeGreaterThan(0.99)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("call-state.ts prints every state of the call and why it ended", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const run = yield* example("call-state", ourPort)
      yield* run.waitFor(/status REGISTERED/, 15_000)
      const { sippPort } = yield* sippCalls(ourPort, 500)
      yield* run.waitFor(/^ended /m, 10_000)
      yield* stopExample(run)
      const lines = eventLines(run.output())
      const callId = /^state (\S+) RINGING$/m.exec(run.output())?.[1]
      expect(callId).toBeDefined()
      expect(lines).toEqual([
        `incoming sip:sipp@127.0.0.1:${sippPort}`,
        `state ${callId} RINGING`,
        `state ${callId} ANSWERED`,
        `state ${callId} ENDED`,
        `ended ${callId} remote-hangup`
      ])
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("dialer.ts calls uas-answer.xml, plays its message, hangs up and exits 0; the wire is clean", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const ourPort = yield* freePort
      const message = chirp(1)
      const wav = path.join(out, "message.wav")
      fs.writeFileSync(wav, Wav.encode(message))
      // SIPp answers only once called, so the capture still sees the whole call
      const { mediaPort, port: sippPort, proc: uas } = yield* sippUas("uas-answer.xml", ["-d", "200", "-rtp_echo"])
      const recording = yield* capture(out, "dialer", [ourPort, sippPort, mediaPort])
      const run = yield* example("dialer", ourPort, { VOIP_PLAY: wav, VOIP_CALL_TO: `sip:lab@127.0.0.1:${sippPort}` })
      const code = yield* within(run.exited, "the dialer to exit")
      expect({ code, output: code === 0 ? "" : run.output() }).toEqual({ code: 0, output: "" })
      sippOk({ code: yield* uas.exited, output: uas.output() })
      expect(run.output().trim().split("\n")).toEqual([
        "status REGISTERED",
        `dialing sip:lab@127.0.0.1:${sippPort}`,
        "ringing",
        "answered",
        "ended local-hangup",
        "status DEREGISTERING",
        "status INACTIVE"
      ])
      yield* recording.stop
      expect(bestOffset(message, receivedAudio(recording.pcap, mediaPort)).correlation).toBeGreaterThan(0.99)
      const checked = yield* checkCapture(out, recording.pcap, [ourPort, sippPort])
      expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
