/**
 * `examples/register.ts` as a user runs it (Node 24, type stripping)
 * against the lab's sipp digest registrar: it prints each status as it
 * changes, deregisters on SIGINT or SIGTERM and exits 0; with a wrong
 * password it exits 1 with the error's message. Over UDP, sipp's exit code 0
 * confirms the whole registration; over TCP sipp counts a connection closed
 * within its 300 ms end-of-call wait as a failure, and the example closes
 * its connection as it exits, so there its trace shows the unREGISTER and
 * its 200.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { freePort, labOut, registrar, repoRoot, start, unregisterAnswered } from "./lab.ts"

const node = path.join(repoRoot, "node_modules", ".bin", "node")

const statusLines = (output: string) => output.split("\n").filter((line) => line.startsWith("status "))

const example = (env: Record<string, string | undefined>) =>
  start(node, ["--conditions=source", "examples/register.ts"], { env, limitMillis: 20_000 })

describe("examples/register.ts", () => {
  for (const [signal, transport, sippFlags] of [["SIGINT", "udp", []], ["SIGTERM", "tcp", ["-t", "t1"]]] as const) {
    it.live(`registers over ${transport}, deregisters on ${signal} and exits 0`, () =>
      Effect.gen(function*() {
        const out = yield* labOut
        const port = yield* freePort
        const sipp = yield* registrar(out, port, sippFlags)
        const run = yield* example({
          VOIP_SERVER: `127.0.0.1:${port}`,
          VOIP_USER: "alice",
          VOIP_PASSWORD: "alicepw",
          VOIP_TRANSPORT: transport,
          VOIP_BIND: "127.0.0.1"
        })
        yield* run.waitFor(/^status REGISTERED$/m, 10_000)
        yield* run.signal(signal)
        const code = yield* run.exited
        expect({ code, output: run.output() }).toMatchObject({ code: 0 })
        expect(statusLines(run.output())).toEqual([
          "status REGISTERING",
          "status REGISTERED",
          "status DEREGISTERING",
          "status INACTIVE"
        ])
        const sippCode = yield* sipp.proc.exited
        expect(unregisterAnswered(sipp.messages())).toBe(true)
        if (transport === "udp") expect(sippCode).toBe(0)
      }), 30_000)
  }

  it.live("exits 1 with the typed error's message when the password is wrong", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const port = yield* freePort
      yield* registrar(out, port)
      const run = yield* example({
        VOIP_SERVER: `127.0.0.1:${port}`,
        VOIP_USER: "alice",
        VOIP_PASSWORD: "wrong",
        VOIP_BIND: "127.0.0.1",
        VOIP_REGISTER_FAILURE_THRESHOLD: "1"
      })
      const code = yield* run.exited
      expect(code).toBe(1)
      expect(run.output()).toContain(`registration failed: credentials rejected by sipp.lab: 403 Forbidden (user "alice")`)
      expect(statusLines(run.output())).toEqual(["status REGISTERING", "status FAILED"])
    }), 30_000)

  it.live("exits 1 with a readable message when the settings are missing", () =>
    Effect.gen(function*() {
      const run = yield* example({ VOIP_SERVER: undefined, VOIP_USER: "alice" })
      expect(yield* run.exited).toBe(1)
      expect(run.output()).toMatch(/^registration failed: .*VOIP_SERVER/m)
    }), 30_000)
})
