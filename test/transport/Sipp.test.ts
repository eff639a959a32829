/**
 * SIPp (Debian's sip-tester) as a real third-party peer: its UAC sends
 * OPTIONS and REGISTER to our transport, which answers 200 through `send`
 * (on the request's connection for TCP, by Via for UDP). SIPp's exit code 0
 * means every exchange completed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Ref, Stream } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as Net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { SipTransport } from "../../src/transport/SipTransport.ts"
import * as Tcp from "../../src/transport/Tcp.ts"
import * as Udp from "../../src/transport/Udp.ts"
import { environment, ok } from "./helpers.ts"

const scenario = path.join(path.dirname(fileURLToPath(import.meta.url)), "sipp", "options-register-uac.xml")

/** A port nothing listens on right now, for SIPp's own socket. */
const freePort = Effect.callback<number>((resume) => {
  const probe = Net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const port = (probe.address() as Net.AddressInfo).port
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/** Runs SIPp to completion (at most 20 s) and gives its exit code and output; killed if the test ends first. */
const runSipp = (args: ReadonlyArray<string>) =>
  Effect.callback<{ readonly code: number | null; readonly output: string }>((resume) => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-sipp-"))
    const child = spawn("sipp", [...args, "-timeout", "20s", "-timeout_error", "-nostdin"], { cwd, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (data: Buffer) => (output += data.toString()))
    child.stderr.on("data", (data: Buffer) => (output += data.toString()))
    child.on("close", (code) => {
      fs.rmSync(cwd, { recursive: true, force: true })
      resume(Effect.succeed({ code, output }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Answers every request with 200 on the connection it came on; counts what it answered. */
const answerEverything = Effect.gen(function*() {
  const transport = yield* SipTransport
  const answered = yield* Ref.make<ReadonlyArray<string>>([])
  yield* transport.incoming.pipe(
    Stream.runForEach((incoming) =>
      incoming.message.type === SIPMessage.SIPMessageType.REQUEST
        ? transport.send(ok(incoming.message), incoming.connectionId === undefined ? undefined : { connectionId: incoming.connectionId })
          .pipe(Effect.andThen(Ref.update(answered, (methods) => [...methods, incoming.message.method])))
        : Effect.void
    ),
    Effect.forkScoped
  )
  return { transport, answered }
})

describe("SIPp against our transport", () => {
  for (const [mode, flag, layer] of [["UDP", "u1", Udp.layer], ["TCP", "t1", Tcp.layer]] as const) {
    it.live(`SIPp's UAC gets 200 to OPTIONS and REGISTER over ${mode}`, () =>
      Effect.gen(function*() {
        const { answered, transport } = yield* answerEverything
        const sippPort = yield* freePort
        const result = yield* runSipp([
          `127.0.0.1:${transport.localAddress.port}`,
          "-sf", scenario,
          "-t", flag,
          "-i", "127.0.0.1",
          "-p", String(sippPort),
          "-m", "1",
          "-s", "effect-voip"
        ]).pipe(Effect.timeoutOrElse({ duration: Duration.seconds(25), orElse: () => Effect.die(new Error("sipp hung")) }))
        expect({ code: result.code, output: result.code === 0 ? "" : result.output }).toEqual({ code: 0, output: "" })
        expect(yield* Ref.get(answered)).toEqual(["OPTIONS", "REGISTER"])
        const snapshot = yield* transport.snapshot
        expect(snapshot.counters).toMatchObject({ received: 2, sent: 2, parseErrors: 0 })
      }).pipe(Effect.provide(layer({ host: "127.0.0.1" })), Effect.provide(environment())))
  }
})
