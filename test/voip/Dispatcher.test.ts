/**
 * Several bot processes behind kamailio's dispatcher (an existing SIP load
 * balancer, `test/voip/kamailio/dispatcher.cfg`), over real UDP on
 * 127.0.0.1: two `voip answer --echo` processes in one dispatcher set, and
 * SIPp's `uac-load.xml` calling the dispatcher. Ten calls are shared out
 * round robin, five each. Then one bot is killed (SIGKILL, a crash): the
 * next ten calls all succeed on the other, those sent to the dead bot
 * failed over by kamailio when it did not answer within 2 s. Nothing a bot holds is needed
 * by another: each call lives in the process that answered it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { rtpPorts, voip } from "../cli/cli.ts"
import { start, waitUntil } from "../sip/client/lab.ts"
import { freePort, labOut, listeningOn, sippOk, sippUac, within } from "./lab.ts"

const config = path.join(import.meta.dirname, "kamailio", "dispatcher.cfg")
const modules = execFileSync("bash", ["-c", "dpkg -L kamailio | grep -m1 '/kamailio/modules$'"], { encoding: "utf8" }).trim()

/** A `voip answer --echo` bot on a free port of 127.0.0.1, listening. */
const bot = Effect.gen(function*() {
  const port = yield* freePort
  const proc = yield* voip(["answer", "--bind", `127.0.0.1:${port}`, "--rtp-ports", rtpPorts(), "--echo"], { limitSeconds: 90 })
  yield* proc.waitFor("listening")
  return { proc, port, calls: () => proc.events().filter((event) => event.event === "incoming").length }
})

/** kamailio with the dispatcher set `ports`, on a free port; its log. */
const dispatcher = (ports: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const out = yield* labOut
    const run = fs.mkdtempSync(path.join(out, "dispatcher-"))
    const list = path.join(run, "dispatcher.list")
    fs.writeFileSync(list, ports.map((port) => `1 sip:127.0.0.1:${port}\n`).join(""))
    const port = yield* freePort
    const proc = yield* start("kamailio", [
      "-f", config, "-L", modules, "-Y", run, "-E", "-DD",
      "-A", `LISTEN=udp:127.0.0.1:${port}`,
      "-A", `DS_LIST="${list}"`
    ], { limitMillis: 90_000 })
    // its log stays in out/ for a failed run
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.writeFileSync(path.join(run, "kamailio.log"), proc.output())))
    yield* listeningOn(port)
    return { port, proc }
  })

/** `count` SIPp calls of `uac-load.xml` (200 ms each) through the dispatcher at `port`, 10 a second; asserts all succeeded. */
const calls = (port: number, count: number) =>
  Effect.gen(function*() {
    const uac = yield* sippUac(port, "uac-load.xml", ["-r", "10", "-d", "200"], { calls: count })
    sippOk({ code: yield* within(uac.proc.exited, "SIPp's calls", 60), output: uac.proc.output() })
  })

describe("bots behind kamailio's dispatcher", () => {
  it.live("calls are shared round robin; when one bot dies, every next call goes to the other", () =>
    Effect.gen(function*() {
      const first = yield* bot
      const second = yield* bot
      const kamailio = yield* dispatcher([first.port, second.port])
      // the probes have found both up
      yield* Effect.sleep("1500 millis")

      yield* calls(kamailio.port, 10)
      yield* waitUntil(() => first.calls() + second.calls() === 10, 5000, () => "the bots to print their calls")
      expect([first.calls(), second.calls()]).toEqual([5, 5])

      yield* first.proc.signal("SIGKILL")
      yield* first.proc.exited
      yield* calls(kamailio.port, 10)
      expect(kamailio.proc.output()).toMatch(/failing over INVITE to sip:127\.0\.0\.1:\d+/)
      // every call the surviving bot took ended
      const ended = () => second.proc.events().filter((event) => event.event === "ended")
      yield* waitUntil(() => ended().length === 15, 5000, () => `15 ended calls; the bot printed:\n${second.proc.stdout()}`)
      expect(second.calls()).toBe(15)
      expect(ended().every((event) => event.reason === "remote-hangup")).toBe(true)
    }).pipe(Effect.scoped), { timeout: 120_000 })
})
