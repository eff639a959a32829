/**
 * The `voip` command line behind kamailio (the lab's registrar and proxy,
 * digest auth on REGISTER and 407 on every INVITE and MESSAGE), over UDP on
 * 127.0.0.1, with the lab's users (alice, bob, carol):
 * - `register`: `registered`; a MESSAGE sent through kamailio by user name
 *   is printed; SIGINT sends the unREGISTER (kamailio then finds alice not
 *   registered) and exits 0. A wrong password exits 3 (auth).
 * - two CLIs: `answer --echo --calls 1` as alice, `call alice --dtmf 12#
 *   --hangup-after 3` as bob: both answered, the digits arrive exactly,
 *   RTP flows both ways, both exit 0.
 * - baresip (bob) calls `answer --record --calls 1`: its 1234# is read
 *   exactly and its prompt recorded, not silent.
 * - `call bob --play` to baresip: baresip answers and records our prompt;
 *   our BYE ends it. baresip's ctrl_tcp (1.0.0) reports no received
 *   MESSAGE, so `message bob` is checked by its answer: only baresip can
 *   give the 200.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Wav from "../../src/rtp/Wav.ts"
import { rms } from "../../src/testing/Recording.ts"
import { kamailio } from "../sip/client/lab.ts"
import { BARESIP_RTP, exitsOk, registeredBob, runBaresip } from "../voip/baresip.ts"
import { freePort, labDir, labMedia, labOut, within } from "../voip/lab.ts"
import { type CliProcess, expectExit, names, rtpPorts, voip } from "./cli.ts"

/** kamailio on a free port, stopped with the scope. */
const registrar = Effect.gen(function*() {
  const out = yield* labOut
  const kamPort = yield* freePort
  const { log } = yield* kamailio(out, kamPort)
  return { out, kamPort, log }
})

/**
 * `voip COMMAND ARGS` as `user` of kamailio on `kamPort` (password from
 * `VOIP_PASSWORD`, the lab's `<user>pw` unless given), on 127.0.0.1 and a
 * SIP port of the system's choice.
 */
const asUser = (
  kamPort: number,
  user: string,
  command: string,
  args: ReadonlyArray<string>,
  password = `${user}pw`
) =>
  voip([
    command, ...args,
    "--server", `127.0.0.1:${kamPort}`, "--user", user,
    "--bind", "127.0.0.1:0", "--rtp-ports", rtpPorts()
  ], { env: { VOIP_PASSWORD: password } })

/** baresip as bob registered at kamailio. */
const bobAt = registeredBob(BARESIP_RTP.cli, 25)

/** RMS as a fraction of full scale. */
const level = (samples: Int16Array) => rms(samples) / 32768

const digits = (proc: CliProcess) => proc.events().filter((event) => event.event === "dtmf").map((event) => event.digit).join("")

describe("voip behind kamailio (digest auth)", () => {
  it.live("register: registered, a MESSAGE is printed, SIGINT unregisters and exits 0", () =>
    Effect.gen(function*() {
      const { kamPort, log } = yield* registrar
      const alice = yield* asUser(kamPort, "alice", "register", [])
      expect(yield* alice.waitFor("registered")).toMatchObject({ aor: "sip:alice@127.0.0.1", expires: 300 })

      const sent = yield* asUser(kamPort, "bob", "message", ["alice", "hello through kamailio"])
      yield* expectExit(sent, 0)
      expect(yield* sent.waitFor("message-sent")).toMatchObject({ to: "alice", status: 200 })
      expect(yield* alice.waitFor("message")).toMatchObject({
        from: "sip:bob@127.0.0.1",
        text: "hello through kamailio",
        contentType: "text/plain"
      })

      yield* alice.signal("SIGINT")
      yield* expectExit(alice, 0)
      expect(names(alice)).toEqual(["listening", "registered", "message", "unregistered"])
      // kamailio dropped the binding. Its 404 never leaves it (the lab's
      // kamailio.cfg calls t_reply without a transaction), so its log tells
      const probe = yield* asUser(kamPort, "bob", "message", ["alice", "still there?", "--timeout", "1"])
      yield* within(probe.exited, "the probe to exit")
      expect(log()).toMatch(/lab: alice is not registered/)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("register with a wrong password exits 3 (auth)", () =>
    Effect.gen(function*() {
      const { kamPort } = yield* registrar
      const alice = yield* asUser(kamPort, "alice", "register", [], "wrong")
      yield* expectExit(alice, 3)
      expect(alice.events().map(({ time: _, ...event }) => event)).toEqual([{
        event: "error",
        code: 3,
        kind: "auth",
        message: `credentials rejected by kamailio.lab: 401 Unauthorized (user "alice")`
      }])
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("answer --echo (alice) and call alice --dtmf 12# --hangup-after 3 (bob): digits exact, RTP both ways", () =>
    Effect.gen(function*() {
      const { kamPort } = yield* registrar
      const alice = yield* asUser(kamPort, "alice", "answer", ["--echo", "--calls", "1"])
      yield* alice.waitFor("registered")
      const bob = yield* asUser(kamPort, "bob", "call", ["alice", "--dtmf", "12#", "--dtmf-delay", "0.5", "--hangup-after", "3"])
      yield* expectExit(bob, 0)
      yield* expectExit(alice, 0)

      expect(names(bob)).toEqual(["listening", "registered", "dialing", "ringing", "answered", "ended", "stats", "unregistered"])
      const ended = yield* bob.waitFor("ended")
      expect(ended).toMatchObject({ reason: "local-hangup" })
      expect(yield* bob.waitFor("dialing")).toMatchObject({ to: `sip:alice@127.0.0.1:${kamPort}` })
      const bobStats = yield* bob.waitFor("stats")
      expect(bobStats).toMatchObject({ dtmfSent: 3, packetsLost: 0 })
      expect(bobStats.packetsReceived).toBeGreaterThan(100)

      expect(names(alice)).toEqual([
        "listening", "registered", "incoming", "answered", "dtmf", "dtmf", "dtmf", "ended", "stats", "unregistered"
      ])
      expect(digits(alice)).toBe("12#")
      expect(yield* alice.waitFor("incoming")).toMatchObject({ callId: ended.callId, from: "sip:bob@127.0.0.1" })
      expect(yield* alice.waitFor("ended")).toMatchObject({ callId: ended.callId, reason: "remote-hangup" })
      const aliceStats = yield* alice.waitFor("stats")
      expect(aliceStats).toMatchObject({ dtmfReceived: 3, packetsLost: 0 })
      expect(aliceStats.packetsReceived).toBeGreaterThan(100)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("baresip calls answer --record --calls 1: its 1234# read exactly, its prompt recorded", () =>
    Effect.gen(function*() {
      const { kamPort, out } = yield* registrar
      const recording = path.join(out, "from-baresip.wav")
      const alice = yield* asUser(kamPort, "alice", "answer", ["--record", recording, "--calls", "1"])
      yield* alice.waitFor("registered")
      const bob = yield* runBaresip({
        ...bobAt(out, "bob-calls", kamPort),
        env: {
          BS_DTMF: "1234#",
          BS_HOLD_MS: "2500",
          BS_AFTER_MS: "1000",
          // we send silence: what baresip records of us is not the point here
          BS_MIN_RMS: "0"
        }
      }, ["call", `sip:alice@127.0.0.1:${kamPort}`])
      yield* exitsOk(bob.proc, "baresip to finish", 30)
      yield* expectExit(alice, 0)

      expect(names(alice).filter((name) => name !== "dtmf")).toEqual([
        "listening", "registered", "incoming", "answered", "ended", "stats", "recorded", "unregistered"
      ])
      expect(digits(alice)).toBe("1234#")
      expect(yield* alice.waitFor("incoming")).toMatchObject({ from: `sip:bob@127.0.0.1:${kamPort}` })
      expect(yield* alice.waitFor("ended")).toMatchObject({ reason: "remote-hangup" })
      const recorded = yield* alice.waitFor("recorded")
      expect(recorded).toMatchObject({ file: recording })
      const wav = yield* Wav.decode(new Uint8Array(fs.readFileSync(recording)))
      expect(wav.samples.length / 8000).toBeCloseTo(recorded.seconds as number, 2)
      expect(wav.samples.length).toBeGreaterThan(2 * 8000)
      expect(level(wav.samples)).toBeGreaterThan(0.01)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("call bob --play (baresip answers): it records our prompt, our BYE ends it; message bob is accepted", () =>
    Effect.gen(function*() {
      yield* labMedia
      const { kamPort, out } = yield* registrar
      const bob = yield* runBaresip({ ...bobAt(out, "bob-answers", kamPort), env: { BS_CALLS: "1" } }, ["answer"])
      yield* bob.ready

      const message = yield* asUser(kamPort, "alice", "message", ["bob", "hello baresip"])
      yield* expectExit(message, 0)
      expect(yield* message.waitFor("message-sent")).toMatchObject({ to: "bob", status: 200, reason: "OK" })

      const alice = yield* asUser(kamPort, "alice", "call", [
        "bob", "--play", path.join(labDir, "media", "prompt.wav"), "--hangup-after", "3"
      ])
      yield* expectExit(alice, 0)
      expect(names(alice)).toEqual(["listening", "registered", "dialing", "ringing", "answered", "ended", "stats", "unregistered"])
      expect(yield* alice.waitFor("ended")).toMatchObject({ reason: "local-hangup", duration: 3 })
      const stats = yield* alice.waitFor("stats")
      expect(stats).toMatchObject({ packetsLost: 0 })
      // baresip plays its prompt to us
      expect(stats.packetsReceived).toBeGreaterThan(100)
      expect(stats.packetsSent).toBeGreaterThan(100)

      yield* exitsOk(bob.proc, "baresip to finish", 30)
      expect(bob.controlLog()).toMatch(/"type": "CALL_CLOSED"/)
      const received = yield* bob.received
      expect(received.length).toBeGreaterThan(2 * 8000)
      expect(level(received)).toBeGreaterThan(0.01)
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
