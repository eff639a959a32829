import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Party, Recording, TestWorld } from "effect-voip/testing"
import { tone } from "../../../examples/common.ts"
import { menu } from "../../../examples/ivr.ts"

describe("the README's testing-kit example", () => {
  it.effect("the caller hears the prompt, a tone per key, and the bot hangs up on #", () =>
    Effect.gen(function*() {
      const bot = yield* TestWorld.phone({ user: "ivr" }, { onIncomingCall: menu(tone(440, 30), false) })
      const alice = yield* Party.make("alice")
      const { heard, ended } = yield* TestWorld.run(Effect.gen(function*() {
        const call = yield* alice.call(TestWorld.uriOf(bot))
        yield* call.answered
        yield* call.listen("31 seconds") // 31 virtual seconds
        yield* call.sendDtmf("1")
        yield* Effect.sleep("500 millis")
        // the bot may hang up on the first packets of #, before the last ones are sent
        yield* call.sendDtmf("#").pipe(Effect.catchTag("DtmfSendError", () => Effect.void))
        return { heard: yield* call.heard, ended: yield* call.ended }
      }))
      expect(Recording.tones(heard).map((t) => Math.round(t.frequency))).toEqual([440, 300])
      expect(ended).toEqual({ _tag: "RemoteHangup" })
    }).pipe(Effect.provide(TestWorld.layer())))
})
