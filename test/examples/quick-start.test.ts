/**
 * The README's quick start as a user runs it, bound to the wildcard address
 * as by default (its Contact and SDP must name the address toward each peer
 * instead): it registers with the sipp digest registrar, SIPp's `uac-call.xml` calls it and presses `1234#`
 * during the menu, the first key stops the menu (`caller pressed 1`) and
 * the "sales" prompt plays; SIGINT deregisters it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Wav from "../../src/rtp/Wav.ts"
import { registrar, traceMessages, unregisterAnswered, waitUntil } from "../sip/client/lab.ts"
import { tone } from "../../examples/common.ts"
import { freePort, labMedia, labOut, repoRoot, scenario, sipp, sippOk, start, within } from "../voip/lab.ts"

const node = path.join(repoRoot, "node_modules", ".bin", "node")

describe("examples/quick-start.ts", () => {
  it.live("registers, answers with the menu, a key stops it and is printed, SIGINT deregisters", () =>
    Effect.gen(function*() {
      const { dtmfMs } = yield* labMedia
      const out = yield* labOut
      // the WAV files the quick start plays, from its working directory
      fs.writeFileSync(path.join(out, "menu.wav"), Wav.encode(tone(440, 20)))
      fs.writeFileSync(path.join(out, "sales.wav"), Wav.encode(tone(660, 0.5)))
      fs.writeFileSync(path.join(out, "goodbye.wav"), Wav.encode(tone(880, 0.5)))
      const registrarPort = yield* freePort
      const pbx = yield* registrar(out, registrarPort)
      const ourPort = yield* freePort
      const bot = yield* start(node, ["--conditions=source", path.join(repoRoot, "examples", "quick-start.ts")], {
        cwd: out,
        env: { VOIP_SERVER: "127.0.0.1", VOIP_PORT: String(registrarPort), VOIP_USER: "alice", VOIP_PASSWORD: "alicepw", VOIP_BIND_PORT: String(ourPort) },
        limitMillis: 60_000
      })
      const registered = () => traceMessages(pbx.messages()).some(({ sent, text }) => sent && /^SIP\/2\.0 200 /.test(text))
      yield* waitUntil(registered, 15_000, () => `the registration:\n${bot.output()}`)

      const caller = yield* sipp([
        `127.0.0.1:${ourPort}`,
        "-sf", scenario("uac-call.xml"),
        "-i", "127.0.0.1", "-p", String(yield* freePort),
        "-mi", "127.0.0.1", "-mp", String(yield* freePort),
        "-s", "lab", "-m", "1", "-d", "1000",
        "-key", "dtmf_ms", String(dtmfMs + 200), "-key", "from_user", "sipp"
      ])
      sippOk({ code: yield* within(caller.exited, "SIPp's call"), output: caller.output() })
      yield* bot.waitFor(/caller pressed/, 10_000)
      expect(bot.output().trim().split("\n")).toEqual(["caller pressed 1"])

      yield* bot.signal("SIGINT")
      yield* within(bot.exited, "the quick start to stop")
      yield* within(pbx.proc.exited, "the registrar to exit")
      expect(unregisterAnswered(pbx.messages())).toBe(true)
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
