/**
 * The `voip` command line against itself on 127.0.0.1, without a
 * registrar: processes spawned with `--json`, their events read back.
 * - `--help` lists the commands; an unknown flag is a usage error (2).
 * - `answer --echo` ↔ `call --dtmf 1234# --hangup-after`: the digits arrive
 *   exactly, the echo comes back (RTP stats), both exit 0.
 * - `message` (the receiver prints it) and `options` (200 and the methods
 *   allowed; a dead port is a network error, 4).
 * - `answer --deny busy`: the caller sees busy 486 and exits 5.
 * - `answer --answer-after never` with `call --timeout`: the caller cancels
 *   and exits 6 (no answer); the callee sees the CANCEL.
 * - `call --hold-after --unhold-after`: hold and resume on both sides;
 *   SIGINT ends the call with BYE and exits 0.
 * - `answer --bridge-to`: the caller's digits and audio reach the far end
 *   through the bridge, the far end's echo comes back, one hangup ends all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../voip/lab.ts"
import { expectExit, names, rtpPorts, voip } from "./cli.ts"

const local = ["--bind", "127.0.0.1"]

/** `voip answer` on a free port of 127.0.0.1, once it listens: the process and its URI. */
const answerer = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const proc = yield* voip(["answer", "--bind", `127.0.0.1:${port}`, "--rtp-ports", rtpPorts(), ...args])
    yield* proc.waitFor("listening")
    return { proc, uri: `sip:bob@127.0.0.1:${port}` }
  })

const caller = (uri: string, args: ReadonlyArray<string>) => voip(["call", uri, ...local, "--rtp-ports", rtpPorts(), ...args])

describe("voip, peer to peer", () => {
  it.live("--help lists the commands; an unknown flag is a usage error", () =>
    Effect.gen(function*() {
      const help = yield* voip(["--help"])
      yield* expectExit(help, 0)
      for (const command of ["register", "answer", "call", "message", "options"]) {
        expect(help.stdout()).toMatch(new RegExp(`^\\s+${command}\\s`, "m"))
      }
      const wrong = yield* voip(["call", "sip:x@127.0.0.1", "--no-such-flag"])
      yield* expectExit(wrong, 2)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("answer --echo and call --dtmf 1234# --hangup-after: the digits arrive exactly and the echo comes back", () =>
    Effect.gen(function*() {
      const callee = yield* answerer(["--echo", "--calls", "1"])
      const call = yield* caller(callee.uri, ["--dtmf", "1234#", "--dtmf-delay", "0.3", "--hangup-after", "2"])
      yield* expectExit(call, 0)
      yield* expectExit(callee.proc, 0)
      expect(names(call)).toEqual(["listening", "dialing", "ringing", "answered", "ended", "stats"])
      const ended = yield* call.waitFor("ended")
      expect(ended).toMatchObject({ reason: "local-hangup", text: "local-hangup" })
      const stats = yield* call.waitFor("stats")
      expect(stats).toMatchObject({ dtmfSent: 5, packetsLost: 0 })
      expect(stats.packetsReceived).toBeGreaterThan(50)

      const events = callee.proc.events()
      expect(events.filter((event) => event.event === "dtmf").map((event) => event.digit).join("")).toBe("1234#")
      expect(names(callee.proc)).toEqual(["listening", "incoming", "answered", "dtmf", "dtmf", "dtmf", "dtmf", "dtmf", "ended", "stats"])
      expect(yield* callee.proc.waitFor("ended")).toMatchObject({ reason: "remote-hangup", callId: ended.callId })
      expect(yield* callee.proc.waitFor("incoming")).toMatchObject({ callId: ended.callId, from: "sip:voip@127.0.0.1" })
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("message is printed by the receiver; options gets 200; options to a dead port is a network error", () =>
    Effect.gen(function*() {
      const callee = yield* answerer([])
      const message = yield* voip(["message", callee.uri, "hello from the CLI", ...local, "--user", "alice"])
      yield* expectExit(message, 0)
      expect(yield* message.waitFor("message-sent")).toMatchObject({ to: callee.uri, status: 200, reason: "OK" })
      expect(yield* callee.proc.waitFor("message")).toMatchObject({
        from: "sip:alice@127.0.0.1",
        text: "hello from the CLI",
        contentType: "text/plain"
      })

      const ping = yield* voip(["options", callee.uri, ...local])
      yield* expectExit(ping, 0)
      const answer = yield* ping.waitFor("options")
      expect(answer).toMatchObject({ target: callee.uri, status: 200, reason: "OK", userAgent: "effect-voip" })
      expect(answer.allow).toEqual(expect.arrayContaining(["INVITE", "BYE", "OPTIONS", "MESSAGE", "REFER"]))

      const dead = yield* freePort
      const unanswered = yield* voip(["options", `sip:nobody@127.0.0.1:${dead}`, ...local, "--timeout", "1"])
      yield* expectExit(unanswered, 4)
      expect(yield* unanswered.waitFor("error")).toMatchObject({ code: 4, kind: "network" })

      yield* callee.proc.signal("SIGINT")
      yield* expectExit(callee.proc, 0)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("answer --deny busy: the caller ends busy 486 and exits 5", () =>
    Effect.gen(function*() {
      const callee = yield* answerer(["--deny", "busy", "--calls", "1"])
      const call = yield* caller(callee.uri, [])
      yield* expectExit(call, 5)
      expect(yield* call.waitFor("ended")).toMatchObject({ reason: "busy", status: 486, duration: 0 })
      expect(yield* call.waitFor("error")).toMatchObject({ code: 5, kind: "busy" })
      yield* expectExit(callee.proc, 0)
      expect(yield* callee.proc.waitFor("ended")).toMatchObject({ reason: "denied", status: 486 })
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("answer --answer-after never: the caller's --timeout cancels, it exits 6 and the callee sees the CANCEL", () =>
    Effect.gen(function*() {
      const callee = yield* answerer(["--answer-after", "never", "--calls", "1"])
      const call = yield* caller(callee.uri, ["--timeout", "1.5"])
      yield* expectExit(call, 6)
      expect(yield* call.waitFor("ended")).toMatchObject({ reason: "canceled", by: "local" })
      expect(names(call)).toEqual(["listening", "dialing", "ringing", "ended", "error"])
      yield* expectExit(callee.proc, 0)
      expect(yield* callee.proc.waitFor("ended")).toMatchObject({ reason: "canceled", by: "remote" })
      expect(names(callee.proc)).toEqual(["listening", "incoming", "ended"])
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("call --hold-after --unhold-after: both sides see the hold and the resume; SIGINT hangs up and exits 0", () =>
    Effect.gen(function*() {
      const callee = yield* answerer(["--calls", "1"])
      const call = yield* caller(callee.uri, ["--hold-after", "0.5", "--unhold-after", "1.5"])
      yield* call.waitFor("resumed", { by: "local" })
      yield* callee.proc.waitFor("resumed", { by: "remote" })
      yield* call.signal("SIGINT")
      yield* expectExit(call, 0)
      yield* expectExit(callee.proc, 0)
      expect(names(call)).toEqual(["listening", "dialing", "ringing", "answered", "held", "resumed", "ended", "stats"])
      expect(yield* call.waitFor("held")).toMatchObject({ by: "local" })
      expect(yield* call.waitFor("ended")).toMatchObject({ reason: "local-hangup" })
      expect(names(callee.proc)).toEqual(["listening", "incoming", "answered", "held", "resumed", "ended", "stats"])
      expect(yield* callee.proc.waitFor("held")).toMatchObject({ by: "remote" })
      expect(yield* callee.proc.waitFor("ended")).toMatchObject({ reason: "remote-hangup" })
    }).pipe(Effect.scoped), { timeout: 30_000 })
})

describe("voip answer --bridge-to", () => {
  it.live("joins each answered call to a call of its own: the caller's digits and audio reach the far end, its echo comes back", () =>
    Effect.gen(function*() {
      const far = yield* answerer(["--echo", "--calls", "1"])
      const middle = yield* answerer(["--bridge-to", far.uri, "--calls", "1"])
      const call = yield* caller(middle.uri, ["--dtmf", "12#", "--dtmf-delay", "0.5", "--hangup-after", "3"])
      yield* expectExit(call, 0)
      yield* expectExit(middle.proc, 0)
      yield* expectExit(far.proc, 0)
      const farEvents = far.proc.events()
      expect(farEvents.filter((event) => event.event === "dtmf").map((event) => event.digit).join("")).toBe("12#")
      expect(farEvents.find((event) => event.event === "ended")).toMatchObject({ reason: "remote-hangup" })
      // the middle printed both calls: the caller's and its own to the far end
      const printed = names(middle.proc)
      expect(printed.filter((name) => name !== "stats" && name !== "dtmf")).toEqual([
        "listening", "incoming", "answered", "dialing", "ringing", "answered", "ended", "ended"
      ])
      expect(printed.filter((name) => name === "dtmf").length).toBe(3)
      // the far end's echo came back through the bridge
      expect((yield* call.waitFor("stats")).packetsReceived).toBeGreaterThan(80)
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
