/**
 * What the load benchmarks share: one of our phones on 127.0.0.1 that
 * answers every call and keeps it until the caller hangs up, SIPp running
 * the lab's `uac-load.xml` against it (INVITE with an SDP offer, ACK, BYE
 * after the hold; SIPp sends no RTP), and SIPp's statistics file.
 */
import { NodeDns } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { VoIPSettings } from "../../src/Config.ts"
import { VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"

const here = path.dirname(fileURLToPath(import.meta.url))
const scenario = path.resolve(here, "../../../shared/lab/sipp/uac-load.xml")
const phonePort = 25060
const sippPort = 25070
const sippMediaPort = 25080

/** The phone under load, in the current scope: it answers every call and waits for its end. */
export const answeringPhone = Effect.gen(function*() {
  const parameters = yield* VoIPPhoneParameter.make({
    user: "bot",
    register: false,
    bindIp: "127.0.0.1",
    bindPort: phonePort,
    rtpPortLow: 40000,
    rtpPortHigh: 49999
  })
  const context = yield* Layer.build(VoIPPhone.layer(parameters, {
    onIncomingCall: (call) => Effect.andThen(call.answer, call.ended)
  }).pipe(Layer.provide(Layer.merge(VoIPSettings.layerWith(), NodeDns.layer))))
  return Context.get(context, VoIPPhone)
})

/** A SIPp run: `calls` calls at `rate` per second, at most `limit` at once, BYE `holdMs` after the ACK. */
export interface SippLoad {
  readonly rate: number
  readonly calls: number
  readonly limit: number
  readonly holdMs: number
}

/**
 * Runs SIPp's `uac-load.xml` against the phone; resolves when SIPp exits
 * (its exit code 1 means some calls failed: the statistics say how many)
 * with the last line of its statistics, by column name.
 */
export const runSipp = (load: SippLoad) =>
  Effect.promise(() => {
    const statFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-load-")), "stat.csv")
    return new Promise<Record<string, string>>((resolve, reject) => {
      const sipp = spawn("sipp", [
        `127.0.0.1:${phonePort}`,
        "-sf", scenario,
        "-r", String(load.rate),
        "-m", String(load.calls),
        "-l", String(load.limit),
        "-d", String(load.holdMs),
        "-i", "127.0.0.1", "-p", String(sippPort), "-mp", String(sippMediaPort),
        "-trace_stat", "-stf", statFile, "-fd", "1",
        "-timeout", "600s", "-nostdin"
      ], { stdio: "ignore" })
      sipp.on("error", reject)
      sipp.on("close", () => {
        const lines = fs.readFileSync(statFile, "utf8").trim().split("\n")
        const names = lines[0]!.split(";")
        const values = lines.at(-1)!.split(";")
        resolve(Object.fromEntries(names.map((name, i) => [name, values[i] ?? ""])))
      })
    })
  })

/** `hh:mm:ss:uuuuuu` of SIPp's statistics, in milliseconds. */
export const sippDuration = (text: string | undefined): number => {
  const [h, m, s, us] = (text ?? "0:0:0:0").split(":").map(Number)
  return ((h! * 60 + m!) * 60 + s!) * 1000 + us! / 1000
}

/** A full GC, when Node runs with `--expose-gc`. */
export const collectGarbage = () => (globalThis as { readonly gc?: () => void }).gc?.()
