/**
 * baresip (the lab's headless softphone) as a peer of our tests on
 * 127.0.0.1, in two forms:
 * - `runBaresip`: the lab's `run-baresip.sh`, which answers or places one
 *   call, records what it receives and touches a `.ready` file;
 * - `controlledBaresip`: baresip on a configuration written here from the
 *   lab's template, driven step by step through ctrl_tcp by the lab's
 *   `baresip-ctrl.py` (for what the script cannot do: hold, MESSAGE).
 * Either registers at kamailio or runs peer to peer, per its `Account`.
 */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as Net from "node:net"
import * as path from "node:path"
import * as Wav from "../../src/rtp/Wav.ts"
import { labScript, listening, readOut, waitUntil } from "../sip/client/lab.ts"
import { freePort, labDir, start, within } from "./lab.ts"

/**
 * baresip's RTP ports, a range for each test file so the files run in
 * parallel: away from ours (22000-22199, the CLI's 24000-24799), the
 * lab's defaults (16200-16299) and the session tests' ranges.
 */
export const BARESIP_RTP = {
  /** test/voip/Baresip.test.ts */
  calls: "23000-23049",
  /** test/voip/BaresipHold.test.ts */
  hold: "23050-23099",
  /** test/cli/Kamailio.test.ts */
  cli: "23100-23149"
} as const

const bindsTcp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A free port whose successor is free too (baresip takes SIP port + 1 for TLS). */
export const freePortPair: Effect.Effect<number> = Effect.gen(function*() {
  while (true) {
    const port = yield* freePort
    if (port < 65535 && (yield* Effect.promise(() => bindsTcp(port + 1)))) return port
  }
})

/**
 * Who baresip is: `user` with `password` (the lab's `<user>pw` unless
 * given), registered at the kamailio on 127.0.0.1:`registrar`; without a
 * registrar it runs peer to peer as sip:`user`@127.0.0.1:SIP-port.
 */
export interface Account {
  readonly user: string
  readonly password?: string
  readonly registrar?: number
}

export interface Options {
  /** The test's `LAB_OUT`. */
  readonly out: string
  /** The instance's name: its directory and log names in `out`. */
  readonly name: string
  readonly account: Account
  /** One of {@link BARESIP_RTP}. */
  readonly rtpPorts: string
  /** Its SIP port and the next one; a free pair unless given (e.g. to capture it). */
  readonly sipPort?: number
  /** baresip's own time limit; the process is killed a little later. */
  readonly timeoutSeconds: number
}

/**
 * Options for baresip as the lab's bob registered at the kamailio on
 * 127.0.0.1:`kamPort`, named `name` in `out`, for a test file with these
 * `rtpPorts` and `timeoutSeconds`.
 */
export const registeredBob = (rtpPorts: string, timeoutSeconds: number) =>
  (out: string, name: string, kamPort: number): Options => ({
    out,
    name,
    account: { user: "bob", registrar: kamPort },
    rtpPorts,
    timeoutSeconds
  })

const passwordOf = (account: Account) => account.password ?? `${account.user}pw`

/**
 * `run-baresip.sh ARGS` (`answer`, or `call URI`); `env` adds or overrides
 * the script's `BS_*` settings (digits, timing, BS_MIN_RMS, BS_CALLS).
 */
export const runBaresip = (options: Options & { readonly env?: Record<string, string> }, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { account, name, out } = options
    const sipPort = options.sipPort ?? (yield* freePortPair)
    const ctrlPort = yield* freePort
    const proc = yield* start("bash", [labScript("run-baresip.sh"), ...args], {
      env: {
        LAB_OUT: out,
        BS_NAME: name,
        BS_SIP_PORT: String(sipPort),
        BS_CTRL_PORT: String(ctrlPort),
        BS_RTP_PORTS: options.rtpPorts,
        BS_USER: account.user,
        BS_PASS: passwordOf(account),
        BS_REGISTRAR: account.registrar === undefined ? "" : `127.0.0.1:${account.registrar}`,
        BS_TIMEOUT: String(options.timeoutSeconds),
        ...options.env
      },
      limitMillis: (options.timeoutSeconds + 10) * 1000
    })
    return {
      proc,
      /** Completes once baresip is up (and registered). */
      ready: waitUntil(() => fs.existsSync(path.join(out, `${name}.ready`)), 20_000, () => `baresip ${name}:\n${proc.output()}`),
      /** What the controller saw: every ctrl_tcp event and response. */
      controlLog: () => readOut(out, `${name}.ctrl.log`),
      /** The newest recording of what baresip received. */
      received: Effect.gen(function*() {
        const dir = path.join(out, name, "rec")
        const newest = fs.readdirSync(dir).filter((file) => file.endsWith("-dec.wav")).sort().at(-1)
        if (newest === undefined) return yield* Effect.die(new Error(`no recording in ${dir}`))
        return (yield* Wav.decode(new Uint8Array(fs.readFileSync(path.join(dir, newest))))).samples
      })
    }
  })

/**
 * baresip in `out`/`name` on the lab's configuration (sending the lab's
 * prompt, G.711 µ-law only) and `steps` for `baresip-ctrl.py` (see its
 * usage), both started. `contacts` (lines of baresip's contacts file)
 * loads its contact module, which its `message` command needs; `trace`
 * makes its output show the SIP it receives.
 */
export const controlledBaresip = (
  options: Options & { readonly contacts?: ReadonlyArray<string>; readonly trace?: boolean },
  steps: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const { account, contacts, timeoutSeconds } = options
    const sipPort = options.sipPort ?? (yield* freePortPair)
    const ctrlPort = yield* freePort
    const dir = path.join(options.out, options.name)
    fs.mkdirSync(path.join(dir, "rec"), { recursive: true })
    const modules = execFileSync("bash", ["-c", "dpkg -L baresip-core | grep -m1 '/baresip/modules$'"], { encoding: "utf8" }).trim()
    const placeholders: Record<string, string> = {
      IP: "127.0.0.1",
      SIP_PORT: String(sipPort),
      CTRL_PORT: String(ctrlPort),
      RTP_PORTS: options.rtpPorts,
      SRC_WAV: path.join(labDir, "media", "prompt.wav"),
      REC_DIR: path.join(dir, "rec"),
      MODULE_PATH: modules
    }
    const template = fs.readFileSync(path.join(labDir, "baresip", "config.template"), "utf8")
    fs.writeFileSync(
      path.join(dir, "config"),
      template.replace(/@([A-Z_]+)@/g, (whole, name: string) => placeholders[name] ?? whole) +
        (contacts === undefined ? "" : "module_app\tcontact.so\n")
    )
    const registration = account.registrar === undefined
      ? `<sip:${account.user}@127.0.0.1:${sipPort}>;regint=0`
      : `<sip:${account.user}@127.0.0.1:${account.registrar}>;auth_user=${account.user};auth_pass=${passwordOf(account)};regint=60`
    fs.writeFileSync(path.join(dir, "accounts"), `${registration};audio_codecs=PCMU\n`)
    if (contacts !== undefined) fs.writeFileSync(path.join(dir, "contacts"), contacts.map((line) => `${line}\n`).join(""))

    const proc = yield* start(
      "baresip",
      ["-4", "-v", ...(options.trace === true ? ["-s"] : []), "-f", dir, "-t", String(timeoutSeconds)],
      { limitMillis: (timeoutSeconds + 5) * 1000 }
    )
    // the controller gives up after 5 s of refused connections: a loaded machine can start baresip slower
    yield* waitUntil(() => listening(ctrlPort, "tcp"), 20_000, () => `baresip's ctrl_tcp on ${ctrlPort}:\n${proc.output()}`)
    const controller = yield* start(
      "python3",
      [
        path.join(labDir, "tools", "baresip-ctrl.py"),
        "--port", String(ctrlPort), "--timeout", String(timeoutSeconds - 5),
        ...steps
      ],
      { limitMillis: timeoutSeconds * 1000 }
    )
    return { proc, controller }
  })

/**
 * Asserts that `proc` (baresip, its script or its controller) exits 0
 * within `seconds`, showing `output()` (its own unless given) when not.
 */
export const exitsOk = (
  proc: { readonly exited: Effect.Effect<number | null>; readonly output: () => string },
  what: string,
  seconds: number,
  output: () => string = proc.output
) =>
  Effect.gen(function*() {
    const code = yield* within(proc.exited, what, seconds)
    expect({ code, output: code === 0 ? "" : output() }).toEqual({ code: 0, output: "" })
  })
