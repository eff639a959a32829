/**
 * The `voip` command line at a terminal: run under a pseudo-terminal
 * (util-linux `script`), the keys typed into it, the screen read back.
 * - `register` without `VOIP_PASSWORD`, refused by the SIPp digest
 *   registrar: the password prompt, the password typed is not echoed, a
 *   second REGISTER with it is accepted; Ctrl-C deregisters and exits 0.
 * - A wrong password typed at the prompt exits 3 (auth); with `--json` and
 *   stdout to a file the prompt is still on the terminal and the file holds
 *   the JSON events only. Ctrl-C at the prompt exits 3 too.
 * - `call` to `answer --echo`: the status line at the bottom shows the call
 *   ANSWERED, its elapsed time and the packet counters, growing between
 *   redraws.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { registrar, unregisterAnswered } from "../sip/client/lab.ts"
import { freePort, labOut, within } from "../voip/lab.ts"
import { type CliEvent, expectExit, rtpPorts, voip, voipAtTerminal } from "./cli.ts"

const local = ["--bind", "127.0.0.1", "--rtp-ports"]

/** What precedes each redraw of the status line and each event line (`Output.ts`). */
const CLEAR_LINE = "\r\u001b[2K"

/**
 * The SIPp registrar for the refused attempt without a password and the
 * one with the password typed (a Call-ID each), and `voip register` at a
 * terminal, once it shows the password prompt.
 */
const registerAtPrompt = (options: { readonly json?: boolean; readonly stdoutTo?: string } = {}) =>
  Effect.gen(function*() {
    const out = yield* labOut
    const port = yield* freePort
    const sippRegistrar = yield* registrar(out, port, [], { REGS: "2" })
    const phone = yield* voipAtTerminal(
      ["register", "--server", `127.0.0.1:${port}`, "--user", "alice", ...local, rtpPorts(), ...(options.json ? ["--json"] : [])],
      options.stdoutTo === undefined ? {} : { stdoutTo: options.stdoutTo }
    )
    yield* phone.waitFor(/password for alice/)
    return { phone, sippRegistrar, out }
  })

describe("voip at a terminal", () => {
  it.live("register asks for the password, hides it, registers with it; Ctrl-C deregisters and exits 0", () =>
    Effect.gen(function*() {
      const { phone, sippRegistrar } = yield* registerAtPrompt()
      yield* phone.type("alicepw\r")
      yield* phone.waitFor(/registered sip:alice@127\.0\.0\.1 \(expires 300 s\)/)
      // the status line: the registration's state
      yield* phone.waitFor(/\r\u001b\[2KREGISTERED/)
      yield* phone.type("\u0003")
      yield* expectExit(phone, 0)
      const screen = phone.screen()
      expect(screen).toContain("unregistered sip:alice@127.0.0.1")
      expect(screen).not.toContain("alicepw")
      // the refused attempt without a password is the prompt's cue, not an error to show
      expect(screen).not.toContain("ERROR")
      // one mask character per key typed
      expect(screen).toMatch(/password for alice.*\*{7}/)
      yield* within(sippRegistrar.proc.exited, "the registrar to exit")
      expect(unregisterAnswered(sippRegistrar.messages())).toBe(true)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("a wrong password at the prompt exits 3; with --json to a file the prompt stays on the terminal", () =>
    Effect.gen(function*() {
      const file = path.join(yield* labOut, "events.jsonl")
      const { phone } = yield* registerAtPrompt({ json: true, stdoutTo: file })
      yield* phone.type("wrong\r")
      yield* expectExit(phone, 3)
      expect(phone.screen()).not.toContain("wrong")
      const lines = fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "")
      const events = lines.map((line) => JSON.parse(line) as CliEvent)
      expect(events.map(({ time: _, ...event }) => event)).toEqual([{
        event: "error",
        code: 3,
        kind: "auth",
        message: `credentials rejected by sipp.lab: 403 Forbidden (user "alice")`
      }])
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("Ctrl-C at the prompt exits 3 (auth), saying no password was given", () =>
    Effect.gen(function*() {
      const { phone } = yield* registerAtPrompt()
      yield* phone.type("\u0003")
      yield* expectExit(phone, 3)
      expect(phone.screen()).toContain("error (auth): the server asks for a password and none was given at the prompt")
      expect(phone.screen()).not.toContain("registered")
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("call: the status line shows ANSWERED, the elapsed time and packet counters that grow", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const callee = yield* voip(["answer", "--bind", `127.0.0.1:${port}`, "--rtp-ports", rtpPorts(), "--echo", "--calls", "1"])
      yield* callee.waitFor("listening")
      const uri = `sip:bob@127.0.0.1:${port}`
      const call = yield* voipAtTerminal(["call", uri, ...local, rtpPorts(), "--hangup-after", "3"])
      yield* expectExit(call, 0)
      yield* expectExit(callee, 0)
      const screen = call.screen()
      expect(screen).toContain("answered\r\n")
      expect(screen).toMatch(/ended local-hangup after \d+\.\d s/)
      const line = new RegExp(
        `^peer-to-peer \\| ${uri.replaceAll(".", "\\.")} ANSWERED (\\d\\d):(\\d\\d) rx (\\d+) tx (\\d+) lost (\\d+) jitter \\d+\\.\\d ms$`
      )
      const redraws = screen.split(CLEAR_LINE).flatMap((text) => {
        const found = line.exec(text)
        return found === null ? [] : [{
          seconds: Number(found[1]) * 60 + Number(found[2]),
          rx: Number(found[3]),
          tx: Number(found[4]),
          lost: Number(found[5])
        }]
      })
      expect(redraws.length, JSON.stringify(screen)).toBeGreaterThanOrEqual(2)
      const first = redraws[0]!
      const last = redraws[redraws.length - 1]!
      expect(last.rx).toBeGreaterThan(first.rx)
      expect(last.tx).toBeGreaterThan(first.tx)
      expect(last.seconds).toBeGreaterThan(first.seconds)
      expect(redraws.every(({ lost }) => lost === 0)).toBe(true)
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
