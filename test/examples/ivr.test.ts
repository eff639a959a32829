/**
 * The IVR bot of examples/ivr.ts, tested with effect-voip/testing: a party
 * calls it, hears the 30-second prompt, presses keys and hears each answer
 * tone, and `#` makes the bot hang up. Everything runs in virtual time
 * (`it.effect`, TestClock): the half-minute call takes milliseconds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Console, Effect, Random } from "effect"
import { LinkPolicy, MemoryRtpNetwork, Party, Recording, TestWorld } from "effect-voip/testing"
import { tone } from "../../examples/common.ts"
import { menu } from "../../examples/ivr.ts"

/** ivr.ts's answer to each key: 300 Hz for `1`, 100 Hz more for each next key. */
const answerFrequency = (key: string) => 300 + 100 * "1234567890*".indexOf(key)

/** What the bot prints (one line per event), kept instead of shown. */
const printed = (lines: Array<string>): Console.Console => ({
  ...globalThis.console,
  log: (...args: ReadonlyArray<unknown>) => void lines.push(args.join(" "))
})

/**
 * The IVR with a 30-second 440 Hz prompt that plays to its end; Alice calls
 * it, listens to the prompt, presses each of `keys` half a second apart,
 * then `#`, and waits for the end of the call.
 */
const callTheMenu = (keys: string) =>
  Effect.gen(function*() {
    const bot = yield* TestWorld.phone({ user: "ivr" }, { onIncomingCall: menu(tone(440, 30), false) })
    const alice = yield* Party.make("alice")
    return yield* TestWorld.run(Effect.gen(function*() {
      const call = yield* alice.call(TestWorld.uriOf(bot))
      yield* call.answered
      const prompt = yield* call.listen("31 seconds")
      const pressed: Array<number> = []
      for (const key of keys) {
        pressed.push(yield* Clock.currentTimeMillis)
        yield* call.sendDtmf(key)
        yield* Effect.sleep("500 millis")
      }
      // the bot hangs up on the key's first packets, before the party has sent its last ones
      yield* call.sendDtmf("#").pipe(Effect.catchTag("DtmfSendError", () => Effect.void))
      const ended = yield* call.ended
      return { prompt, pressed, heard: yield* call.heard, ended }
    }))
  })

describe("examples/ivr.ts on effect-voip/testing", () => {
  it.effect("the caller hears the 30 s prompt, an answer tone for each key, and the bot hangs up on #", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const { ended, heard, pressed, prompt } = yield* callTheMenu("1357")

      const [greeting, ...others] = Recording.tones(prompt)
      expect(others).toEqual([])
      expect(greeting!.frequency).toBeCloseTo(440, 0)
      expect(greeting!.durationMillis).toBeGreaterThanOrEqual(29_980)
      expect(greeting!.durationMillis).toBeLessThanOrEqual(30_040)

      const tones = Recording.tones(heard)
      expect(tones.map((t) => Math.round(t.frequency))).toEqual([440, ...Array.from("1357", answerFrequency)])
      for (const answer of tones.slice(1)) {
        expect(answer.durationMillis).toBeGreaterThanOrEqual(180)
        expect(answer.durationMillis).toBeLessThanOrEqual(240)
      }
      // each answer is heard soon after its key was pressed: the bot answers at once
      tones.slice(1).forEach((answer, i) => {
        expect(answer.startMillis - pressed[i]!).toBeGreaterThan(0)
        expect(answer.startMillis - pressed[i]!).toBeLessThan(300)
      })
      expect(ended).toEqual({ _tag: "RemoteHangup" })
      expect(lines[0]).toMatch(/^incoming sip:alice@10\.1\.0\.2/)
      expect(lines.slice(1)).toEqual(["answered", "dtmf 1", "dtmf 3", "dtmf 5", "dtmf 7", "dtmf #", "ended local-hangup"])
    }).pipe(Effect.provide(TestWorld.layer()), Effect.provideService(Console.Console, printed(lines)))
  })

  it.effect("with 10% of the RTP packets lost both ways, every key still arrives (RFC 4733 sends each event's end three times)", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const rtp = yield* MemoryRtpNetwork
      const tap = yield* rtp.tap
      yield* rtp.setPolicy(LinkPolicy.lossy({ loss: 0.1 }))
      const { ended, heard } = yield* callTheMenu("24680*")
      // telephone-event packets (payload type 101) were among the lost ones
      const lostEvents = (yield* tap.packets).filter((p) => p.fate._tag === "Drop" && p.bytes.length > 1 && (p.bytes[1]! & 0x7f) === 101)
      expect(lostEvents.length).toBeGreaterThan(0)
      expect(lines.filter((line) => line.startsWith("dtmf"))).toEqual(Array.from("24680*#", (key) => `dtmf ${key}`))
      // lost audio packets leave holes in the tones: bridge them
      const answers = Recording.tones(heard, { bridgeMillis: 100 }).slice(1)
      expect(answers.map((t) => Math.round(t.frequency))).toEqual(Array.from("24680*", answerFrequency))
      expect(ended).toEqual({ _tag: "RemoteHangup" })
    }).pipe(
      Effect.provide(TestWorld.layer()),
      Effect.provideService(Console.Console, printed(lines)),
      Random.withSeed(4733)
    )
  })
})
