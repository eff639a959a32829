/**
 * Helpers for the phone tests against the lab's SIPp scenarios over real
 * UDP on 127.0.0.1: a phone on a free port (registered at a lab registrar, or
 * not at all), SIPp runs
 * bounded in time, and a tshark capture (the lab's `capture.sh`) from which
 * the RTP a peer received is read back and the SIP is checked by
 * `capture.sh check` (Wireshark's expert info and the lab's sip-lint).
 */
import { NodeDns } from "@effect/platform-node"
import { Context, Duration, Effect, Fiber, Layer, type Scope, Stream } from "effect"
import { expect } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { VoIPSettings } from "../../src/Config.ts"
import { CredentialsManager } from "../../src/Credentials.ts"
import * as PCMU from "../../src/rtp/PCMU.ts"
import type { CallEvent } from "../../src/voip/VoIPCall.ts"
import { type IncomingCallHandler, VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"
import { freePort, labDir, labOut, repoRoot, run, start, waitUntil } from "../sip/client/lab.ts"

export { freePort, labDir, labOut, repoRoot, start }

/** Our RTP ports in these tests: below Linux's ephemeral range, away from the lab's 15000-16999. */
export const RTP_LOW = 22000
export const RTP_HIGH = 22199

/** Where a lab phone registers: a registrar on 127.0.0.1:`port`, and the account's digest credentials. */
export interface LabAccount {
  readonly port: number
  readonly user: string
  readonly password: string
}

const credentialsOf = (account: LabAccount) => {
  const credentials = new CredentialsManager()
  credentials.add(account.user, account.password)
  return credentials
}

/**
 * A started phone on 127.0.0.1:`port`, built in the current scope: registered
 * with `account` when given, otherwise the user "lab" without registration.
 */
export const labPhone = <R = never>(port: number, onIncomingCall?: IncomingCallHandler<R>, account?: LabAccount) =>
  Effect.gen(function*() {
    const parameters = yield* VoIPPhoneParameter.make({
      ...(account === undefined
        ? { user: "lab", register: false }
        : { server: "127.0.0.1", port: account.port, user: account.user, credentialsManager: credentialsOf(account) }),
      bindIp: "127.0.0.1",
      bindPort: port,
      rtpPortLow: RTP_LOW,
      rtpPortHigh: RTP_HIGH
    })
    const context = yield* Layer.build(
      VoIPPhone.layer(parameters, { onIncomingCall }).pipe(
        Layer.provide(Layer.merge(VoIPSettings.layerWith(), NodeDns.layer))
      )
    )
    return Context.get(context, VoIPPhone)
  })

/** The lab's media (make-media.sh is idempotent): the prompt as samples and the DTMF pcap's play time. */
export const labMedia = Effect.sync(() => {
  execFileSync("bash", [path.join(labDir, "make-media.sh")], { stdio: "ignore", timeout: 60_000 })
  return {
    prompt: PCMU.decode(new Uint8Array(fs.readFileSync(path.join(labDir, "media", "prompt.ul")))),
    dtmfMs: Number(fs.readFileSync(path.join(labDir, "media", "dtmf.ms"), "utf8"))
  }
})

/** SIPp with `args` (run from the lab directory, which its scenarios need), stopped after `limitMillis`. */
export const sipp = (args: ReadonlyArray<string>, limitMillis = 60_000) =>
  start("sipp", [...args, "-nostdin", "-timeout", `${Math.floor(limitMillis / 1000) - 5}s`, "-timeout_error"], {
    cwd: labDir,
    limitMillis
  })

export const scenario = (name: string) => path.join(labDir, "sipp", name)

/**
 * SIPp running the UAS scenario `name` (a lab scenario, or a path) for one
 * call on free ports of 127.0.0.1 (`extra` arguments appended), listening
 * when this returns.
 */
export const sippUas = (name: string, extra: ReadonlyArray<string> = [], limitMillis?: number) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const mediaPort = yield* freePort
    const proc = yield* sipp([
      "-sf", path.isAbsolute(name) ? name : scenario(name),
      "-i", "127.0.0.1", "-p", String(port),
      "-mi", "127.0.0.1", "-mp", String(mediaPort),
      "-m", "1", ...extra
    ], limitMillis)
    yield* listeningOn(port)
    return { proc, port, mediaPort }
  })

/**
 * SIPp running the UAC scenario `name` (a lab scenario, or a path) against
 * 127.0.0.1:`target` as the service "lab", `calls` calls (one unless told),
 * from `ports` (free ones unless given), `extra` arguments appended.
 */
export const sippUac = (
  target: number,
  name: string,
  extra: ReadonlyArray<string> = [],
  options: { readonly sip?: number; readonly media?: number; readonly calls?: number } = {}
) =>
  Effect.gen(function*() {
    const port = options.sip ?? (yield* freePort)
    const mediaPort = options.media ?? (yield* freePort)
    const proc = yield* sipp([
      `127.0.0.1:${target}`,
      "-sf", path.isAbsolute(name) ? name : scenario(name),
      "-i", "127.0.0.1", "-p", String(port),
      "-mi", "127.0.0.1", "-mp", String(mediaPort),
      "-s", "lab", "-m", String(options.calls ?? 1), ...extra
    ])
    return { proc, port, mediaPort }
  })

/**
 * One SIPp call with `uac-call.xml` to 127.0.0.1:`target` (from `ports`,
 * free ones unless given): audio for `holdMs`, then `1234#`; asserts that
 * SIPp exited 0.
 */
export const sippCalls = (target: number, holdMs: number, ports: { readonly sip?: number; readonly media?: number } = {}) =>
  Effect.gen(function*() {
    const { dtmfMs } = yield* labMedia
    const uac = yield* sippUac(target, "uac-call.xml", [
      "-d", String(holdMs),
      "-key", "dtmf_ms", String(dtmfMs + 200), "-key", "from_user", "sipp"
    ], ports)
    sippOk({ code: yield* uac.proc.exited, output: uac.proc.output() })
    return { sippPort: uac.port, mediaPort: uac.mediaPort }
  })

/** A lab phone on `port` that answers every call and keeps the calls' events in `seen` until they end. */
export const answeringLabPhone = (port: number) =>
  Effect.gen(function*() {
    const seen: Array<CallEvent> = []
    const phone = yield* labPhone(port, (call) =>
      Effect.gen(function*() {
        const events = yield* call.events.pipe(Stream.runForEach((event) => Effect.sync(() => void seen.push(event))), Effect.forkChild)
        yield* call.answer
        yield* call.ended
        yield* Fiber.join(events)
      }))
    return { phone, seen }
  })

/** Waits (at most 10 s) until something listens on UDP `port` of 127.0.0.1. */
export const listeningOn = (port: number) => {
  // /proc/net/udp lists bound sockets as hex address:port
  const entry = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`
  return waitUntil(
    () => fs.readFileSync("/proc/net/udp", "utf8").includes(entry),
    10_000,
    () => `a socket on udp/${port}`
  )
}

/**
 * A tshark capture of `ports` (UDP) on loopback into `out`, stopped when
 * the scope closes; `stop` ends it earlier so the pcap can be read.
 */
export const capture = (out: string, name: string, ports: ReadonlyArray<number>): Effect.Effect<
  { readonly stop: Effect.Effect<void>; readonly pcap: string },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const env = { LAB_OUT: out, CAPTURE_MAX_S: "120" }
    const filter = ports.map((port) => `udp port ${port}`).join(" or ")
    const script = path.join(labDir, "capture.sh")
    const started = yield* run("bash", [script, "start", name, filter], { env, limitMillis: 20_000 })
    if (started.code !== 0) return yield* Effect.die(new Error(`capture did not start:\n${started.output}`))
    let stopped = false
    const stop = Effect.suspend(() => {
      if (stopped) return Effect.void
      stopped = true
      return Effect.asVoid(run("bash", [script, "stop", name], { env, limitMillis: 20_000 }))
    })
    yield* Effect.addFinalizer(() => stop)
    return { stop, pcap: path.join(out, `${name}.pcap`) }
  })

/** `capture.sh check` on a pcap, decoding `sipPorts` as SIP: its exit code and report. */
export const checkCapture = (out: string, pcap: string, sipPorts: ReadonlyArray<number>) =>
  run("bash", [path.join(labDir, "capture.sh"), "check", pcap, sipPorts.join(",")], {
    env: { LAB_OUT: out },
    limitMillis: 120_000
  })

/** The PCMU payload sent to UDP `port` in a pcap, in arrival order, decoded to samples. */
export const receivedAudio = (pcap: string, port: number): Int16Array => {
  const lines = execFileSync(
    "tshark",
    ["-n", "-r", pcap, "-d", `udp.port==${port},rtp`, "-Y", `udp.dstport==${port} && rtp.p_type==0`, "-T", "fields", "-e", "rtp.payload"],
    { encoding: "utf8", timeout: 60_000 }
  ).trim().split("\n").filter((line) => line.length > 0)
  const codes = Buffer.concat(lines.map((line) => Buffer.from(line.replaceAll(":", ""), "hex")))
  return PCMU.decode(new Uint8Array(codes))
}

/** `effect`, or a defect naming `what` when it takes longer than `seconds`. */
export const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string, seconds = 30) =>
  effect.pipe(Effect.timeoutOrElse({
    duration: Duration.seconds(seconds),
    orElse: () => Effect.die(new Error(`timed out waiting for ${what}`))
  }))

/** Asserts a SIPp run exited 0, showing its output when it did not. */
export const sippOk = (result: { readonly code: number | null; readonly output: string }) =>
  expect({ code: result.code, output: result.code === 0 ? "" : result.output }).toEqual({ code: 0, output: "" })
