/**
 * The `voip` command line against the lab's SIPp peers over UDP on
 * 127.0.0.1, spawned with `--json`:
 * - `register` with the digest registrar: `registered`, SIGINT sends the
 *   unREGISTER SIPp expects and exits 0; a wrong password exits 3 (auth).
 * - `call` to `uas-answer.xml` with `-rtp_echo`, `--play`, `--dtmf 1234#`
 *   and `--hangup-after 3`: our audio and digits come back (RTP stats).
 * - `answer --calls 1 --record` with `uac-call.xml`: its RFC 4733 `1234#`
 *   read exactly, its prompt recorded to a WAV that is not silent.
 * - `call --transfer` to `uas-refer-blind.xml`: the REFER is accepted and
 *   our BYE ends the call.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Wav from "../../src/rtp/Wav.ts"
import { rms } from "../../src/testing/Recording.ts"
import { registrar, unregisterAnswered } from "../sip/client/lab.ts"
import { freePort, labDir, labMedia, labOut, scenario, sipp, sippOk, sippUas, within } from "../voip/lab.ts"
import { expectExit, names, rtpPorts, voip } from "./cli.ts"

const local = ["--bind", "127.0.0.1", "--rtp-ports"]

describe("voip against SIPp", () => {
  it.live("register with the digest registrar; SIGINT sends the unREGISTER and exits 0", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const port = yield* freePort
      const sippRegistrar = yield* registrar(out, port)
      const phone = yield* voip(["register", "--server", `127.0.0.1:${port}`, "--user", "alice", ...local, rtpPorts()], {
        env: { VOIP_PASSWORD: "alicepw" }
      })
      expect(yield* phone.waitFor("registered")).toMatchObject({ aor: "sip:alice@127.0.0.1", expires: 300 })
      yield* phone.signal("SIGINT")
      yield* expectExit(phone, 0)
      expect(names(phone)).toEqual(["listening", "registered", "unregistered"])
      const code = yield* within(sippRegistrar.proc.exited, "the registrar to exit")
      expect({ code, output: code === 0 ? "" : sippRegistrar.messages() }).toEqual({ code: 0, output: "" })
      expect(unregisterAnswered(sippRegistrar.messages())).toBe(true)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("register with a wrong password exits 3 (auth)", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const port = yield* freePort
      yield* registrar(out, port)
      const phone = yield* voip(["register", "--server", `127.0.0.1:${port}`, "--user", "alice", ...local, rtpPorts()], {
        env: { VOIP_PASSWORD: "wrong" }
      })
      yield* expectExit(phone, 3)
      expect(phone.events().map(({ time: _, ...event }) => event)).toEqual([{
        event: "error",
        code: 3,
        kind: "auth",
        message: `credentials rejected by sipp.lab: 403 Forbidden (user "alice")`
      }])
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("call uas-answer.xml (echo) with --play, --dtmf 1234# and --hangup-after 3: audio and digits come back", () =>
    Effect.gen(function*() {
      yield* labMedia
      const peer = yield* sippUas("uas-answer.xml", ["-d", "200", "-rtp_echo"])
      const call = yield* voip([
        "call", `sip:lab@127.0.0.1:${peer.port}`, ...local, rtpPorts(),
        "--play", path.join(labDir, "media", "prompt.wav"), "--dtmf", "1234#", "--hangup-after", "3"
      ])
      yield* expectExit(call, 0)
      sippOk({ code: yield* within(peer.proc.exited, "SIPp to exit"), output: peer.proc.output() })
      expect(names(call).filter((name) => name !== "dtmf")).toEqual(["listening", "dialing", "ringing", "answered", "ended", "stats"])
      expect(call.events().filter((event) => event.event === "dtmf").map((event) => event.digit).join("")).toBe("1234#")
      expect(yield* call.waitFor("ended")).toMatchObject({ reason: "local-hangup" })
      const stats = yield* call.waitFor("stats")
      expect(stats).toMatchObject({ dtmfSent: 5, dtmfReceived: 5, packetsLost: 0 })
      expect(stats.packetsReceived).toBeGreaterThan(100)
      expect(stats.packetsSent).toBeGreaterThan(100)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("answer --calls 1 --record with uac-call.xml: 1234# read exactly, the prompt recorded", () =>
    Effect.gen(function*() {
      const { dtmfMs } = yield* labMedia
      const out = yield* labOut
      const recording = path.join(out, "caller.wav")
      const port = yield* freePort
      const phone = yield* voip(["answer", "--bind", `127.0.0.1:${port}`, "--rtp-ports", rtpPorts(), "--calls", "1", "--record", recording])
      yield* phone.waitFor("listening")
      const sippPort = yield* freePort
      const mediaPort = yield* freePort
      const uac = yield* sipp([
        `127.0.0.1:${port}`,
        "-sf", scenario("uac-call.xml"),
        "-i", "127.0.0.1", "-p", String(sippPort),
        "-mi", "127.0.0.1", "-mp", String(mediaPort),
        "-s", "lab", "-m", "1", "-d", "2000",
        "-key", "dtmf_ms", String(dtmfMs + 200), "-key", "from_user", "sipp"
      ], 40_000)
      sippOk({ code: yield* uac.exited, output: uac.output() })
      yield* expectExit(phone, 0)
      expect(phone.events().filter((event) => event.event === "dtmf").map((event) => event.digit)).toEqual(["1", "2", "3", "4", "#"])
      expect(yield* phone.waitFor("incoming")).toMatchObject({ from: `sip:sipp@127.0.0.1:${sippPort}` })
      expect(yield* phone.waitFor("ended")).toMatchObject({ reason: "remote-hangup" })
      const recorded = yield* phone.waitFor("recorded")
      expect(recorded).toMatchObject({ file: recording })
      const wav = yield* Wav.decode(new Uint8Array(fs.readFileSync(recording)))
      expect(wav.samples.length / 8000).toBeCloseTo(recorded.seconds as number, 2)
      expect(wav.samples.length).toBeGreaterThan(3 * 8000)
      // RMS as a fraction of full scale
      expect(rms(wav.samples) / 32768).toBeGreaterThan(0.01)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("call --transfer to uas-refer-blind.xml: the REFER is accepted and our BYE ends the call", () =>
    Effect.gen(function*() {
      const peer = yield* sippUas(path.join(import.meta.dirname, "sipp", "uas-refer-blind.xml"))
      const target = `sip:carol@127.0.0.1:${peer.port}`
      const call = yield* voip([
        "call", `sip:lab@127.0.0.1:${peer.port}`, ...local, rtpPorts(), "--transfer", target, "--transfer-after", "0.5"
      ])
      yield* expectExit(call, 0)
      sippOk({ code: yield* within(peer.proc.exited, "SIPp to exit"), output: peer.proc.output() })
      expect(names(call)).toEqual(["listening", "dialing", "answered", "transfer", "ended", "stats"])
      expect(yield* call.waitFor("transfer")).toMatchObject({ to: target, accepted: true })
      expect(yield* call.waitFor("ended")).toMatchObject({ reason: "local-hangup" })
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
