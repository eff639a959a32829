/**
 * Helpers for tests against the interop lab's real peers (sipp registrar,
 * kamailio, the netem link): processes with a time limit that are killed
 * (their whole process group) when the test's scope closes, free ports,
 * a private `LAB_OUT` directory, and the lab scripts as scoped resources.
 * Every wait is bounded; nothing outlives the test.
 */
import { Effect, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Dgram from "node:dgram"
import * as fs from "node:fs"
import * as Net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { labDir, repoRoot } from "../../support/vectors.ts"

export { labDir, repoRoot }

/** A running process; its output accumulates as it comes. */
export interface LabProcess {
  readonly pid: number
  /** stdout and stderr so far, interleaved. */
  readonly output: () => string
  /** The exit code (null when a signal ended it), once it exits. */
  readonly exited: Effect.Effect<number | null>
  readonly signal: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** Waits until the output matches; dies with the output so far after `timeoutMillis`. */
  readonly waitFor: (pattern: RegExp, timeoutMillis: number) => Effect.Effect<void>
}

const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // the group is already gone
  }
}

/**
 * Starts `command` in its own process group, with `env` added to ours (an
 * undefined value removes the variable). It is killed (SIGKILL, the whole
 * group) after `limitMillis`, or when the scope closes before it ends.
 */
export const start = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly limitMillis: number; readonly cwd?: string }
): Effect.Effect<LabProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(command, args, {
        cwd: options.cwd ?? repoRoot,
        env: { ...process.env, ...options.env },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (data: Buffer) => (output += data.toString()))
      child.stderr!.on("data", (data: Buffer) => (output += data.toString()))
      const exit = new Promise<number | null>((resolve) => {
        child.on("close", (code) => resolve(code))
        child.on("error", (error) => {
          output += `spawn failed: ${error.message}\n`
          resolve(-1)
        })
      })
      const limit = setTimeout(() => killGroup(child, "SIGKILL"), options.limitMillis)
      void exit.then(() => clearTimeout(limit))
      const exited = Effect.promise(() => exit)
      const proc: LabProcess = {
        pid: child.pid ?? -1,
        output: () => output,
        exited,
        signal: (signal) => Effect.sync(() => killGroup(child, signal)),
        waitFor: (pattern, timeoutMillis) =>
          waitUntil(() => pattern.test(output), timeoutMillis, () => `${command} to print ${pattern}; it printed:\n${output}`)
      }
      return { child, proc, exited }
    }),
    // SIGTERM first: the lab scripts trap it and stop what they started (sipp runs
    // under `timeout`, in a process group of its own); SIGKILL if that takes too long
    ({ child, exited }) =>
      Effect.gen(function*() {
        killGroup(child, "SIGTERM")
        const ended = yield* Effect.timeoutOption(exited, "3 seconds")
        if (ended._tag === "Some") return
        killGroup(child, "SIGKILL")
        yield* Effect.timeoutOption(exited, "2 seconds")
      })
  ).pipe(Effect.map(({ proc }) => proc))

/** Runs `command` to its end (at most `limitMillis`) and gives its exit code and output. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly limitMillis: number; readonly cwd?: string }
) =>
  Effect.scoped(Effect.gen(function*() {
    const proc = yield* start(command, args, options)
    const code = yield* proc.exited
    return { code, output: proc.output() }
  }))

/** Polls `condition` every 50 ms; dies with `what()` when it is still false after `timeoutMillis`. */
export const waitUntil = (condition: () => boolean, timeoutMillis: number, what: () => string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMillis
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what()}`))
      yield* Effect.sleep("50 millis")
    }
  })

const bindsUdp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Dgram.createSocket("udp4")
    socket.once("error", () => resolve(false))
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)))
  })

/** A port free for both TCP and UDP on 127.0.0.1 right now (kamailio takes both). */
export const freePort: Effect.Effect<number> = Effect.promise(async () => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve) => {
      const probe = Net.createServer()
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as Net.AddressInfo
        probe.close(() => resolve(port))
      })
    })
    if (await bindsUdp(port)) return port
  }
  throw new Error("no free port")
})

/** A private `LAB_OUT` directory, removed with the scope. */
export const labOut: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-lab-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

export const labScript = (name: string) => path.join(labDir, name)

/** Reads a file of `LAB_OUT`, empty when it does not exist (yet). */
export const readOut = (out: string, name: string): string => {
  try {
    return fs.readFileSync(path.join(out, name), "utf8")
  } catch {
    return ""
  }
}

/**
 * The sipp digest registrar (`run-registrar.sh`) on `port`, running until it
 * has handled one registration or `REG_TIMEOUT`; `extra` goes to sipp (e.g.
 * `-t t1` for TCP).
 */
export const registrar = (out: string, port: number, extra: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const proc = yield* start("bash", [labScript("run-registrar.sh"), ...extra], {
      env: { LAB_OUT: out, REG_PORT: String(port), IDLE_MS: "5000", REG_TIMEOUT: "40", ...env },
      limitMillis: 45_000
    })
    yield* waitUntil(
      () => listening(port, extra.includes("t1") ? "tcp" : "udp"),
      10_000,
      () => `sipp on ${port}:\n${proc.output()}\n${readOut(out, "registrar.stdout.log")}`
    )
    return {
      proc,
      /** sipp's message trace so far. */
      messages: () => readOut(out, "registrar.msg.log")
    }
  })

/** One message of a sipp trace (`-trace_msg`). */
export interface TracedMessage {
  readonly sent: boolean
  readonly text: string
}

export const traceMessages = (trace: string): ReadonlyArray<TracedMessage> =>
  trace.split(/^-{10,}[^\n]*\n/m).flatMap((block) => {
    const heading = /^(\w+) message (sent|received)[^\n]*\n\n/.exec(block)
    return heading === null ? [] : [{ sent: heading[2] === "sent", text: block.slice(heading[0].length) }]
  })

/** Whether sipp received a REGISTER with Expires: 0 and answered it 200. */
export const unregisterAnswered = (trace: string): boolean => {
  const messages = traceMessages(trace)
  const cseq = (text: string) => /^CSeq:\s*(\d+) REGISTER/m.exec(text)?.[1]
  const unregister = messages.find(({ sent, text }) => !sent && /^REGISTER /.test(text) && /^Expires:\s*0\r?$/m.test(text))
  return unregister !== undefined &&
    messages.some(({ sent, text }) => sent && /^SIP\/2\.0 200 /.test(text) && cseq(text) === cseq(unregister.text))
}

/** Whether a socket of `protocol` is bound to `port` right now. */
export const listening = (port: number, protocol: "udp" | "tcp"): boolean => {
  // /proc/net lists bound sockets with the port in hex
  const hex = port.toString(16).toUpperCase().padStart(4, "0")
  const table = fs.readFileSync(`/proc/net/${protocol}`, "utf8")
  return table.split("\n").some((line) => line.trim().split(/\s+/)[1]?.endsWith(`:${hex}`))
}

/**
 * kamailio (`kamailio.sh start`) on `port`, stopped with the scope; `inside`
 * runs the script in a netem namespace (see {@link netem}).
 */
export const kamailio = (out: string, port: number, inside: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const env = { LAB_OUT: out, KAM_PORT: String(port), KAM_TIMEOUT: "120" }
    const script = (action: string) => [...inside, ...(inside.length === 0 ? [] : ["bash"]), labScript("kamailio.sh"), action]
    yield* Effect.acquireRelease(
      Effect.gen(function*() {
        const started = yield* run("bash", script("start"), { env, limitMillis: 20_000 })
        if (started.code !== 0) return yield* Effect.die(new Error(`kamailio did not start:\n${started.output}`))
      }),
      () => Effect.ignore(run("bash", script("stop"), { env, limitMillis: 20_000 }))
    )
    return { log: () => readOut(inside.length === 0 ? out : path.join(out, "netns-b"), "kamailio.log") }
  })

const NETEM_LOCK = path.join(os.tmpdir(), "effect-voip-netem.lock")

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * The machine has one pair of netem namespaces: tests that use them take
 * this lock (a directory holding the owner's pid; a dead owner's lock is
 * taken over).
 */
const netemLock = Effect.acquireRelease(
  Effect.gen(function*() {
    const deadline = Date.now() + 120_000
    while (true) {
      try {
        fs.mkdirSync(NETEM_LOCK)
        fs.writeFileSync(path.join(NETEM_LOCK, "pid"), String(process.pid))
        return
      } catch {
        const owner = Number(readOut(NETEM_LOCK, "pid"))
        if (owner > 0 && !isAlive(owner)) fs.rmSync(NETEM_LOCK, { recursive: true, force: true })
        else if (Date.now() > deadline) return yield* Effect.die(new Error(`${NETEM_LOCK} is held by pid ${owner}`))
        else yield* Effect.sleep("200 millis")
      }
    }
  }),
  () => Effect.sync(() => fs.rmSync(NETEM_LOCK, { recursive: true, force: true }))
)

/**
 * The impaired link (`netem.sh up ARGS`) between namespaces lab-a and
 * lab-b; `netem.sh down` when the scope closes, whatever happened. Gives
 * the prefix that runs a command inside a namespace.
 */
export const netem = (out: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* netemLock
    const env = { LAB_OUT: out }
    let stats = ""
    yield* Effect.acquireRelease(
      Effect.gen(function*() {
        const up = yield* run("bash", [labScript("netem.sh"), "up", ...args], { env, limitMillis: 20_000 })
        if (up.code !== 0) return yield* Effect.die(new Error(`netem.sh up failed:\n${up.output}`))
      }),
      () =>
        Effect.map(
          run("bash", [labScript("netem.sh"), "down"], { env, limitMillis: 20_000 }),
          (down) => {
            stats = down.output
          }
        )
    )
    return {
      inside: (side: "a" | "b") => [labScript("netem.sh"), "exec", side],
      /** What `netem.sh down` printed (link statistics), once the scope has closed. */
      stats: () => stats
    }
  })
