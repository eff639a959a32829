/**
 * The phone against baresip through kamailio over real UDP on 127.0.0.1,
 * both registered with digest auth (kamailio challenges every INVITE and
 * MESSAGE with 407): our phone is alice, baresip is bob.
 * - baresip calls alice: we answer and play a chirp that baresip records
 *   (the same audio, found in its recording), and read its RFC 4733
 *   `1234#` exactly; its BYE ends the call. The SIP of the capture passes
 *   `capture.sh check`.
 * - alice calls bob: baresip auto-answers; we hear its prompt, it records
 *   our chirp, our BYE ends the call.
 * - MESSAGE both ways: baresip's `message` command (its contact module,
 *   which `run-baresip.sh` does not load, so this baresip is configured
 *   here from the lab's template) reaches our `messages`; ours reaches
 *   baresip (its SIP trace shows it) and is accepted.
 */
import { describe, expect, it } from "@effect/vitest"
import { NodeDns } from "@effect/platform-node"
import { Context, Deferred, Effect, Fiber, Layer, Option, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as Net from "node:net"
import * as path from "node:path"
import { VoIPSettings } from "../../src/Config.ts"
import { CredentialsManager } from "../../src/Credentials.ts"
import * as Audio from "../../src/rtp/Audio.ts"
import * as Wav from "../../src/rtp/Wav.ts"
import { PhoneStatus } from "../../src/sip/client/PhoneStatus.ts"
import { CallState, type EndReason } from "../../src/voip/CallState.ts"
import { type IncomingCallHandler, VoIPPhone } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"
import { bestOffset, chirp, concat } from "../rtp/session/helpers.ts"
import { kamailio, labScript, readOut, waitUntil } from "../sip/client/lab.ts"
import { capture, checkCapture, freePort, labDir, labMedia, labOut, RTP_HIGH, RTP_LOW, start, within } from "./lab.ts"

/** baresip's RTP ports: away from ours, the lab's defaults and the session tests' ranges. */
const BARESIP_RTP = "23000-23049"

/** Our phone registered at kamailio on `kamPort` as alice, on 127.0.0.1:`port`. */
const alice = <R = never>(kamPort: number, port: number, onIncomingCall?: IncomingCallHandler<R>) =>
  Effect.gen(function*() {
    const credentials = new CredentialsManager()
    credentials.add("alice", "alicepw")
    const parameters = yield* VoIPPhoneParameter.make({
      server: "127.0.0.1",
      port: kamPort,
      user: "alice",
      credentialsManager: credentials,
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
    const phone = Context.get(context, VoIPPhone)
    expect(yield* phone.status).toBe(PhoneStatus.REGISTERED)
    return phone
  })

const bindsTcp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A free port whose successor is free too (baresip takes SIP port + 1 for TLS). */
const freePortPair: Effect.Effect<number> = Effect.gen(function*() {
  while (true) {
    const port = yield* freePort
    if (port < 65535 && (yield* Effect.promise(() => bindsTcp(port + 1)))) return port
  }
})

/** baresip (`run-baresip.sh ARGS`) registered as bob at kamailio, named `name` in `out`. */
const baresip = (
  out: string,
  name: string,
  ports: { readonly kamailio: number; readonly sip: number },
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
) =>
  Effect.gen(function*() {
    const kamPort = ports.kamailio
    const sipPort = ports.sip
    const ctrlPort = yield* freePort
    const proc = yield* start("bash", [labScript("run-baresip.sh"), ...args], {
      env: {
        LAB_OUT: out,
        BS_NAME: name,
        BS_SIP_PORT: String(sipPort),
        BS_CTRL_PORT: String(ctrlPort),
        BS_RTP_PORTS: BARESIP_RTP,
        BS_USER: "bob",
        BS_PASS: "bobpw",
        BS_REGISTRAR: `127.0.0.1:${kamPort}`,
        BS_TIMEOUT: "40",
        ...env
      },
      limitMillis: 50_000
    })
    return {
      proc,
      sipPort,
      ready: waitUntil(() => fs.existsSync(path.join(out, `${name}.ready`)), 20_000, () => `baresip ${name}:\n${proc.output()}`),
      /** baresip's own log (what its menu prints, e.g. received MESSAGEs). */
      log: () => readOut(out, `${name}.log`),
      /** The newest recording of what baresip received. */
      received: Effect.gen(function*() {
        const dir = path.join(out, name, "rec")
        const newest = fs.readdirSync(dir).filter((file) => file.endsWith("-dec.wav")).sort().at(-1)
        if (newest === undefined) return yield* Effect.die(new Error(`no recording in ${dir}`))
        return (yield* Wav.decode(new Uint8Array(fs.readFileSync(path.join(dir, newest))))).samples
      })
    }
  })

const exitedOk = (proc: { readonly exited: Effect.Effect<number | null>; readonly output: () => string }) =>
  Effect.gen(function*() {
    const code = yield* within(proc.exited, "baresip to finish", 45)
    expect({ code, output: code === 0 ? "" : proc.output() }).toEqual({ code: 0, output: "" })
  })

describe("the phone against baresip through kamailio (digest auth)", () => {
  it.live("baresip calls us: it records our audio, we read its 1234# exactly, its BYE ends the call; the wire is clean", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const kamPort = yield* freePort
      const ourPort = yield* freePort
      yield* kamailio(out, kamPort)
      const signal = chirp(1)
      const outcome = yield* Deferred.make<{ readonly end: EndReason; readonly digits: string; readonly states: ReadonlyArray<CallState> }>()
      yield* alice(kamPort, ourPort, (call) =>
        Effect.gen(function*() {
          const states = yield* call.states.pipe(Stream.runCollect, Effect.forkChild)
          yield* call.answer
          yield* call.play(Stream.forever(Audio.fromSamples(signal)))
          const end = yield* call.ended
          yield* Deferred.succeed(outcome, { end, digits: yield* call.getDtmf(-1), states: Array.from(yield* Fiber.join(states)) })
        }))
      const bobPort = yield* freePortPair
      const recording = yield* capture(out, "baresip-calls", [kamPort, ourPort, bobPort])
      const bob = yield* baresip(out, "bob-calls", { kamailio: kamPort, sip: bobPort }, ["call", `sip:alice@127.0.0.1:${kamPort}`], {
        BS_DTMF: "1234#",
        BS_HOLD_MS: "3000",
        BS_AFTER_MS: "1500"
      })
      yield* exitedOk(bob.proc)
      const result = yield* within(Deferred.await(outcome), "our handler")
      expect(result).toEqual({
        end: { _tag: "RemoteHangup" },
        digits: "1234#",
        states: [CallState.RINGING, CallState.ANSWERED, CallState.ENDED]
      })
      const received = yield* bob.received
      expect(received.length / 8000).toBeGreaterThan(3)
      expect(bestOffset(signal, received).correlation).toBeGreaterThan(0.95)

      yield* recording.stop
      const checked = yield* checkCapture(out, recording.pcap, [kamPort, ourPort, bobPort])
      // baresip's INVITE was challenged by kamailio and retried with credentials
      expect(checked.output).toMatch(/407 Proxy Authentication Required/)
      expect({ code: checked.code, report: checked.code === 0 ? "" : checked.output }).toEqual({ code: 0, report: "" })
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("we call baresip: it answers and records our audio, we hear its prompt, our BYE ends it", () =>
    Effect.gen(function*() {
      const { prompt } = yield* labMedia
      const out = yield* labOut
      const kamPort = yield* freePort
      const ourPort = yield* freePort
      yield* kamailio(out, kamPort)
      const phone = yield* alice(kamPort, ourPort)
      const bob = yield* baresip(out, "bob-answers", { kamailio: kamPort, sip: yield* freePortPair }, ["answer"], { BS_CALLS: "1" })
      yield* bob.ready

      const call = yield* phone.call("bob")
      yield* within(
        call.states.pipe(Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED), Stream.runHead),
        "the answer"
      )
      expect(yield* call.state).toBe(CallState.ANSWERED)
      const heard = yield* call.audio.pipe(Stream.take(150), Stream.runCollect, Effect.forkChild)
      const signal = chirp(1)
      yield* call.play(Audio.fromSamples(concat([signal, signal, signal])))
      yield* call.hangup
      expect(yield* call.endReason).toEqual(Option.some({ _tag: "LocalHangup" }))
      yield* exitedOk(bob.proc)

      expect(bestOffset(prompt.subarray(4000, 8000), concat(Array.from(yield* within(Fiber.join(heard), "baresip's audio")))).correlation)
        .toBeGreaterThan(0.95)
      expect(bestOffset(signal, yield* bob.received).correlation).toBeGreaterThan(0.95)
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.live("MESSAGE both ways: baresip's reaches our messages, ours reaches baresip and is accepted", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const kamPort = yield* freePort
      const ourPort = yield* freePort
      const sipPort = yield* freePortPair
      const ctrlPort = yield* freePort
      yield* kamailio(out, kamPort)
      const phone = yield* alice(kamPort, ourPort)
      const received = yield* phone.messages.pipe(Stream.take(1), Stream.runHead, Effect.forkChild)

      const dir = path.join(out, "bob-messages")
      fs.mkdirSync(path.join(dir, "rec"), { recursive: true })
      const modules = execFileSync("bash", ["-c", "dpkg -L baresip-core | grep -m1 '/baresip/modules$'"], { encoding: "utf8" }).trim()
      const placeholders: Record<string, string> = {
        IP: "127.0.0.1",
        SIP_PORT: String(sipPort),
        CTRL_PORT: String(ctrlPort),
        RTP_PORTS: BARESIP_RTP,
        SRC_WAV: path.join(labDir, "media", "prompt.wav"),
        REC_DIR: path.join(dir, "rec"),
        MODULE_PATH: modules
      }
      const template = fs.readFileSync(path.join(labDir, "baresip", "config.template"), "utf8")
      fs.writeFileSync(
        path.join(dir, "config"),
        template.replace(/@([A-Z_]+)@/g, (whole, name: string) => placeholders[name] ?? whole) + "module_app\tcontact.so\n"
      )
      fs.writeFileSync(path.join(dir, "accounts"), `<sip:bob@127.0.0.1:${kamPort}>;auth_user=bob;auth_pass=bobpw;regint=60\n`)
      fs.writeFileSync(path.join(dir, "contacts"), `"alice" <sip:alice@127.0.0.1:${kamPort}>\n`)
      // -s: baresip's log shows the SIP it receives
      const bob = yield* start("baresip", ["-4", "-v", "-s", "-f", dir, "-t", "30"], { limitMillis: 35_000 })
      const control = yield* start(
        "python3",
        [
          path.join(labDir, "tools", "baresip-ctrl.py"),
          "--port", String(ctrlPort), "--timeout", "25",
          "registered:10", "cmd:message hello from baresip", "sleep:8000", "cmd:quit"
        ],
        { limitMillis: 30_000 }
      )
      yield* control.waitFor(/STEP cmd message/, 20_000)

      const message = yield* within(Fiber.join(received), "baresip's MESSAGE")
      expect(Option.map(message, ({ text, contentType }) => ({ text, contentType }))).toEqual(
        Option.some({ text: "hello from baresip", contentType: "text/plain" })
      )
      expect(Option.map(message, ({ from }) => from?.uri.user)).toEqual(Option.some("bob"))

      expect(yield* phone.message("bob", "hello from effect-voip")).toBe(true)
      yield* bob.waitFor(/^MESSAGE sip:bob[\s\S]*hello from effect-voip/m, 5_000)
      expect(yield* within(control.exited, "the controller", 20)).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
