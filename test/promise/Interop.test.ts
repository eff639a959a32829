/**
 * The Promise API against real peers over UDP on 127.0.0.1:
 * - SIPp's `uas-answer.xml` with `-rtp_echo` answers a Promise phone's
 *   call: the audio it plays and the DTMF it sends come back through the
 *   async iterables, its hangup ends the call and SIPp exits 0;
 * - examples/promise.ts run as a process: a Promise phone calls it, hears
 *   its tone, sends `12#`; the bot prints one line per event, hangs up on
 *   `#`, and SIGINT closes it (DEREGISTERING, INACTIVE) with exit 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { CallState, DtmfSendError, formatUri } from "../../src/promise/index.ts"
import { chirp } from "../rtp/session/helpers.ts"
import { freePort, repoRoot, sippOk, sippUas, start, within } from "../voip/lab.ts"
import { loudFrames, peer, reach, take } from "./helpers.ts"

/** A Promise phone (see `peer`), closed with the scope. */
const promisePhone = Effect.acquireRelease(
  Effect.promise(() => peer()),
  (phone) => Effect.promise(() => phone.close())
)

const node = path.join(repoRoot, "node_modules", ".bin", "node")

describe("the Promise API against real peers", () => {
  it.live("SIPp's uas-answer.xml with -rtp_echo: our audio and DTMF come back through the iterables, our BYE ends it", () =>
    Effect.gen(function*() {
      const { port: sippPort, proc: uas } = yield* sippUas("uas-answer.xml", ["-d", "200", "-rtp_echo"])
      const phone = yield* promisePhone
      const signal = chirp(1.5)
      const outcome = yield* within(
        Effect.promise(async () => {
          const call = await phone.call(`sip:lab@127.0.0.1:${sippPort}`)
          const answered = await reach(call.states(), CallState.ANSWERED)
          const echoed = take(call.audio(), 125)
          const digits = take(call.dtmf(), 5)
          // the echo's first packets come back after a round trip
          await sleep(50)
          await call.play(signal)
          await call.sendDtmf("1234#")
          const heard = await echoed
          const received = (await digits).join("")
          await call.hangup()
          return {
            answered,
            loudFrames: loudFrames(heard),
            received,
            end: await call.ended(),
            portsInUse: await phone.rtpPortsInUse()
          }
        }),
        "the call with SIPp"
      )
      sippOk({ code: yield* uas.exited, output: uas.output() })
      expect(outcome).toMatchObject({ answered: true, received: "1234#", end: { _tag: "LocalHangup" }, portsInUse: 0 })
      // 75 frames of chirp went out
      expect(outcome.loudFrames).toBeGreaterThanOrEqual(60)
    }).pipe(Effect.scoped), { timeout: 90_000 })

  it.live("examples/promise.ts answers, plays its tone, prints the digits, hangs up on #, closes on SIGINT", () =>
    Effect.gen(function*() {
      const botPort = yield* freePort
      const bot = yield* start(node, ["--conditions=source", path.join("examples", "promise.ts")], {
        env: { VOIP_NO_REGISTER: "1", VOIP_USER: "lab", VOIP_BIND: `127.0.0.1:${botPort}` },
        limitMillis: 60_000
      })
      yield* bot.waitFor(/status REGISTERED/, 15_000)
      const phone = yield* promisePhone
      const outcome = yield* within(
        Effect.promise(async () => {
          const call = await phone.call(`sip:lab@127.0.0.1:${botPort}`)
          const answered = await reach(call.states(), CallState.ANSWERED)
          // 1.5 s of what the bot sends: its one-second tone (amplitude 8000) in it
          const frames = await take(call.audio(), 75)
          await call.sendDtmf("12")
          // the bot hangs up on "#", maybe before the digit's last packets went out
          const hash = await call.sendDtmf("#").then(() => "sent", (error: unknown) => error instanceof DtmfSendError ? "cut" : error)
          return {
            answered,
            hash,
            from: call.request.from === undefined ? "" : formatUri(call.request.from.uri),
            loudFrames: loudFrames(frames),
            end: await call.ended()
          }
        }),
        "the call with the bot"
      )
      expect(outcome).toMatchObject({ answered: true, end: { _tag: "RemoteHangup" } })
      expect(["sent", "cut"]).toContain(outcome.hash)
      expect(outcome.loudFrames).toBeGreaterThanOrEqual(40)

      yield* bot.signal("SIGINT")
      const code = yield* within(bot.exited, "the example to exit")
      expect({ code, output: code === 0 ? "" : bot.output() }).toEqual({ code: 0, output: "" })
      const lines = bot.output().trim().split("\n")
      expect(lines.filter((line) => !line.startsWith("status "))).toEqual([
        `incoming ${outcome.from}`,
        "answered",
        "dtmf 1",
        "dtmf 2",
        "dtmf #",
        "ended local-hangup"
      ])
      // a status read right after the start may still be REGISTERING
      expect(lines.filter((line) => line.startsWith("status ") && line !== "status REGISTERING")).toEqual([
        "status REGISTERED",
        "status DEREGISTERING",
        "status INACTIVE"
      ])
      expect(lines.at(-1)).toBe("status INACTIVE")
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
