/**
 * examples/demo.ts, the `npm start` demo: run as a process (directly, and
 * through the npm script), it registers both phones with the embedded
 * registrar over real UDP on 127.0.0.1, the caller reaches the IVR bot by
 * user name, barges in, presses 1, 2 and #, the bot hangs up; the tones
 * each side heard (measured from its recording) are the ones played, and
 * both recordings are WAV files with sound in them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Wav from "../../src/rtp/Wav.ts"
import { rms } from "../../src/testing/Recording.ts"
import { repoRoot } from "../support/vectors.ts"

const bin = path.join(repoRoot, "node_modules/.bin")

/** Runs `command` with VOIP_OUT in a fresh directory; its exit code, output and that directory. */
const runDemo = (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-demo-"))
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, VOIP_OUT: out, ...env }
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, out }
}

/** The transcript lines of `who`, without their times. */
const linesOf = (stdout: string, who: string): ReadonlyArray<string> =>
  stdout.split("\n").flatMap((line) => {
    const match = /^\[\s*\d+\.\d{3}s\] (\S+)\s+(.*)$/.exec(line)
    return match !== null && match[1] === who ? [match[2]!] : []
  })

const heardHz = (lines: ReadonlyArray<string>): ReadonlyArray<number> =>
  lines.flatMap((line) => {
    const match = /^heard (\d+) Hz from /.exec(line)
    return match === null ? [] : [Number(match[1])]
  })

const expectNear = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>) => {
  expect(actual.length).toBe(expected.length)
  actual.forEach((hz, i) => expect(Math.abs(hz - expected[i]!)).toBeLessThanOrEqual(15))
}

/** What every run must show: the transcript and the two recordings. */
const checkRun = (run: ReturnType<typeof runDemo>) => {
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0)
  const registrar = linesOf(run.stdout, "registrar")
  const bot = linesOf(run.stdout, "bot")
  const caller = linesOf(run.stdout, "caller")
  expect(registrar[0]).toMatch(/^listening on udp 127\.0\.0\.1:\d+, domain demo\.local$/)
  expect(registrar).toContain("401 Unauthorized to REGISTER (digest challenge)")
  expect(registrar.some((line) => /^registered bot@demo\.local at sip:bot@127\.0\.0\.1:\d+ for 300 s$/.test(line))).toBe(true)
  expect(registrar.some((line) => /^registered caller@demo\.local at sip:caller@127\.0\.0\.1:\d+ for 300 s$/.test(line))).toBe(true)
  expect(registrar.some((line) => /^INVITE sip:bot@demo\.local -> sip:bot@127\.0\.0\.1:\d+$/.test(line))).toBe(true)
  expect(registrar.some((line) => /^BYE sip:caller@127\.0\.0\.1:\d+ \(in dialog, via Record-Route\)$/.test(line))).toBe(true)
  expect(registrar.slice(-2).sort()).toEqual(["unregistered bot@demo.local (removed)", "unregistered caller@demo.local (removed)"])

  expect(caller.slice(0, 4)).toEqual(["registered as caller@demo.local", "calling bot", "call answered", "says hello (1000 Hz, 0.4 s)"])
  expect(caller.filter((line) => line.startsWith("pressed"))).toEqual(["pressed 1", "pressed 2", "pressed #"])
  expect(caller).toContain("call ended (bot hung up)")
  expect(bot.filter((line) => !line.startsWith("heard"))).toEqual([
    "registered as bot@demo.local",
    "incoming sip:caller@demo.local",
    "answered",
    "barge-in",
    "dtmf 1",
    "dtmf 2",
    "dtmf #",
    "ended local-hangup"
  ])
  // the prompt's first note whole, the second cut by the barge-in, then the answers to 1 and 2
  expectNear(heardHz(caller), [440, 660, 300, 400])
  expectNear(heardHz(bot), [1000])
  expect(run.stdout.trimEnd().split("\n").at(-1)).toMatch(/demo {7}recordings in .*bot\.wav and .*caller\.wav$/)

  for (const name of ["bot.wav", "caller.wav"]) {
    const decoded = Wav.decodeResult(new Uint8Array(fs.readFileSync(path.join(run.out, name))))
    expect(Result.isSuccess(decoded)).toBe(true)
    const samples = Result.getOrThrow(decoded).samples
    // about four seconds of call, with sound in it
    expect(samples.length).toBeGreaterThan(3 * 8000)
    expect(rms(samples)).toBeGreaterThan(300)
  }
  fs.rmSync(run.out, { recursive: true, force: true })
}

describe("examples/demo.ts", () => {
  it("runs the registrar, the IVR bot and the caller end to end over UDP on 127.0.0.1", () => {
    checkRun(runDemo(path.join(bin, "node"), ["--conditions=source", "examples/demo.ts"]))
  }, 60_000)

  it("is what `npm start` runs", () => {
    const run = runDemo("npm", ["start", "--silent"], { PATH: `${bin}${path.delimiter}${process.env["PATH"] ?? ""}` })
    checkRun(run)
  }, 60_000)
})
