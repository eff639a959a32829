/**
 * Runs the `voip` command line as a process (the TypeScript sources, on the
 * Node that runs the tests) and reads its `--json` events from stdout, or
 * runs it under a pseudo-terminal and reads the screen. Each process has a
 * time limit and is killed (its process group) when the test's scope closes.
 */
import { expect } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import * as path from "node:path"
import { repoRoot, waitUntil } from "../sip/client/lab.ts"
import { within } from "../voip/lab.ts"

export interface CliEvent {
  readonly event: string
  readonly [field: string]: unknown
}

export interface CliProcess {
  /** The JSON events printed so far. */
  readonly events: () => ReadonlyArray<CliEvent>
  readonly stdout: () => string
  readonly stderr: () => string
  /** The exit code, once it exits (null when a signal ended it). */
  readonly exited: Effect.Effect<number | null>
  readonly signal: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** Waits (at most `seconds`) for an event with `name` matching `fields`, and gives it. */
  readonly waitFor: (name: string, fields?: Record<string, unknown>, seconds?: number) => Effect.Effect<CliEvent>
}

const main = path.join(repoRoot, "src", "cli", "main.ts")

const matches = (event: CliEvent, name: string, fields: Record<string, unknown>) =>
  event.event === name && Object.entries(fields).every(([key, value]) => event[key] === value)

/** Our RTP ports: each process gets `count` of its own from here up. */
let nextRtp = 24000 + (process.pid % 40) * 20

/** A port range of its own for a process's RTP, away from the lab's and the other tests' ranges. */
export const rtpPorts = (): string => {
  const low = nextRtp
  nextRtp = low + 20 >= 24800 ? 24000 : low + 20
  return `${low}-${low + 19}`
}

/** Our environment without the `VOIP_*` variables of the test run, with `env` added. */
const environment = (env: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("VOIP_"))),
  ...env
})

interface Spawned {
  readonly child: ChildProcessWithoutNullStreams
  readonly exit: Promise<number | null>
  readonly kill: (signal: NodeJS.Signals) => void
}

/**
 * `command ARGS` in a process group of its own, killed (SIGKILL) after
 * `limitSeconds`, and when the scope closes (SIGTERM first).
 */
const spawnGroup = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string> | undefined; readonly limitSeconds?: number | undefined }
): Effect.Effect<Spawned, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(command, args, { cwd: repoRoot, env: environment(options.env), detached: true, stdio: "pipe" })
      const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
      const kill = (signal: NodeJS.Signals) => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
        try {
          process.kill(-child.pid, signal)
        } catch {
          // already gone
        }
      }
      const limit = setTimeout(() => kill("SIGKILL"), (options.limitSeconds ?? 30) * 1000)
      void exit.then(() => clearTimeout(limit))
      return { child, exit, kill }
    }),
    ({ exit, kill }) =>
      Effect.gen(function*() {
        kill("SIGTERM")
        const ended = yield* Effect.timeoutOption(Effect.promise(() => exit), "3 seconds")
        if (ended._tag === "Some") return
        kill("SIGKILL")
        yield* Effect.timeoutOption(Effect.promise(() => exit), "2 seconds")
      })
  )

/** `voip ARGS --json`, with `env` added to ours (the `VOIP_*` variables of the test run are removed). */
export const voip = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly limitSeconds?: number } = {}
): Effect.Effect<CliProcess, never, Scope.Scope> =>
  Effect.map(
    spawnGroup(process.execPath, ["--conditions=source", main, ...args, "--json"], options),
    ({ child, exit, kill }) => {
      child.stdin.end()
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (data: Buffer) => (stdout += data.toString()))
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString()))
      const events = () =>
        stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as CliEvent)
      return {
        events,
        stdout: () => stdout,
        stderr: () => stderr,
        exited: Effect.promise(() => exit),
        signal: (signal) => Effect.sync(() => kill(signal)),
        waitFor: (name, fields = {}, seconds = 20) =>
          Effect.andThen(
            waitUntil(
              () => events().some((event) => matches(event, name, fields)),
              seconds * 1000,
              () => `voip ${args.join(" ")} to print ${name}; stdout:\n${stdout}\nstderr:\n${stderr}`
            ),
            Effect.sync(() => events().find((event) => matches(event, name, fields))!)
          )
      } satisfies CliProcess
    }
  )

/** `voip` under a pseudo-terminal: what it wrote to the terminal, and the keys we type into it. */
export interface TerminalProcess {
  /** Everything written to the terminal so far (stdout and stderr, with the escape sequences). */
  readonly screen: () => string
  /** Types `text` at the terminal (`\r` is Enter, `\x03` Ctrl-C). */
  readonly type: (text: string) => Effect.Effect<void>
  /** The exit code, once it exits. */
  readonly exited: Effect.Effect<number | null>
  /** Waits (at most `seconds`) until the terminal shows `pattern`. */
  readonly waitFor: (pattern: RegExp, seconds?: number) => Effect.Effect<void>
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

/**
 * `voip ARGS` (text output) with a pseudo-terminal as its stdin, stdout and
 * stderr, made by util-linux `script`, which passes on what we type and
 * exits with the command's code; `stdoutTo` sends stdout to that file
 * instead, as a shell redirection does.
 */
export const voipAtTerminal = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly limitSeconds?: number; readonly stdoutTo?: string } = {}
): Effect.Effect<TerminalProcess, never, Scope.Scope> => {
  // `exec`: dash keeps itself as the parent of `sh -c` commands and would die of the Ctrl-C itself
  const command = "exec " + [process.execPath, "--conditions=source", main, ...args].map(quote).join(" ") +
    (options.stdoutTo === undefined ? "" : ` > ${quote(options.stdoutTo)}`)
  return Effect.map(spawnGroup("script", ["-qfec", command, "/dev/null"], options), ({ child, exit }) => {
    let screen = ""
    child.stdout.on("data", (data: Buffer) => (screen += data.toString()))
    child.stderr.on("data", (data: Buffer) => (screen += data.toString()))
    return {
      screen: () => screen,
      type: (text) => Effect.sync(() => void child.stdin.write(text)),
      exited: Effect.promise(() => exit),
      waitFor: (pattern, seconds = 20) =>
        waitUntil(() => pattern.test(screen), seconds * 1000, () => `voip ${args.join(" ")} to show ${pattern}; the terminal shows:\n${JSON.stringify(screen)}`)
    }
  })
}

/** Asserts the process exits (within 20 s) with `expected`, showing its output when it does not. */
export const expectExit = (proc: CliProcess | TerminalProcess, expected: number) =>
  Effect.gen(function*() {
    const code = yield* within(proc.exited, "the voip process to exit", 20)
    const shown = () => "screen" in proc ? `terminal:\n${JSON.stringify(proc.screen())}` : `stdout:\n${proc.stdout()}\nstderr:\n${proc.stderr()}`
    const output = code === expected ? "" : shown()
    expect({ code, output }).toEqual({ code: expected, output: "" })
  })

/** The names of the events printed, in order, without `time` and the fields. */
export const names = (proc: CliProcess): ReadonlyArray<string> => proc.events().map((event) => event.event)
