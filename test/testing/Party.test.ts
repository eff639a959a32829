/**
 * Scripted parties against a bot on the test world, all under TestClock:
 * hold, resume, transfer and hangup reach the bot as real SIP; a party
 * answers the bot's call and hears its audio and digits; a bot's warm
 * transfer joins two parties (`transferred`, `replaced`); `run` gives up at
 * its limit; with a PBX, parties and bot register and call by user name.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Audio from "../../src/rtp/Audio.ts"
import { Party, Recording, TestWorld } from "../../src/testing/index.ts"
import { CallState } from "../../src/voip/CallState.ts"
import type { CallEvent, VoIPCall } from "../../src/voip/VoIPCall.ts"
import type { VoIPPhoneShape } from "../../src/voip/VoIPPhone.ts"

const sine = (frequency: number, millis: number): Int16Array => Audio.tone(frequency, millis)

/** A bot that answers every call and hands over the call and everything that happens to it until it ends. */
const answeringBot = Effect.gen(function*() {
  const calls = yield* Deferred.make<{ readonly call: VoIPCall; readonly events: Deferred.Deferred<ReadonlyArray<CallEvent>> }>()
  const bot = yield* TestWorld.phone({ user: "bot" }, {
    onIncomingCall: (call) =>
      Effect.gen(function*() {
        const events = yield* Deferred.make<ReadonlyArray<CallEvent>>()
        yield* call.events.pipe(
          Stream.runCollect,
          Effect.flatMap((all) => Deferred.succeed(events, Array.from(all))),
          Effect.forkChild({ startImmediately: true })
        )
        yield* Deferred.succeed(calls, { call, events })
        yield* call.answer
        yield* Deferred.await(events)
      })
  })
  return { bot, calls }
})

describe("Party", () => {
  it.effect("hold, unhold and hangup by a party reach the bot as re-INVITEs and BYE", () =>
    Effect.gen(function*() {
      const { bot, calls } = yield* answeringBot
      const alice = yield* Party.make("alice")
      const aliceEvents = yield* TestWorld.run(Effect.gen(function*() {
        const call = yield* alice.call(TestWorld.uriOf(bot))
        yield* call.answered
        yield* Effect.sleep("1 second")
        yield* call.hold
        yield* Effect.sleep("1 second")
        yield* call.unhold
        yield* Effect.sleep("1 second")
        yield* call.hangup
        return yield* call.events
      }))
      const botEvents = yield* Deferred.await((yield* Deferred.await(calls)).events)
      expect(botEvents.filter((event) => event._tag !== "State")).toEqual([
        { _tag: "Held", by: "remote" },
        { _tag: "Resumed", by: "remote" },
        { _tag: "Ended", reason: { _tag: "RemoteHangup" } }
      ])
      expect(aliceEvents.filter(({ event }) => event._tag === "Held" || event._tag === "Resumed").map(({ at, event }) => [event._tag, at]))
        .toEqual([["Held", expect.any(Number)], ["Resumed", expect.any(Number)]])
      expect(aliceEvents.at(-1)?.event).toEqual({ _tag: "Ended", reason: { _tag: "LocalHangup" } })
    }).pipe(Effect.provide(TestWorld.layer())))

  it.effect("the bot calls a party: the party answers, hears the bot's tone and digits, and the bot's hangup", () =>
    Effect.gen(function*() {
      const bot = yield* TestWorld.phone({ user: "bot" })
      const alice = yield* Party.make("alice")
      const { digits, ended, heard } = yield* TestWorld.run(Effect.gen(function*() {
        const calling = yield* bot.call(alice.uri)
        const call = yield* alice.answerNext
        expect(yield* calling.state).toBe(CallState.ANSWERED)
        yield* calling.play(Audio.fromSamples(sine(600, 500)))
        yield* calling.sendDtmf("42")
        yield* Effect.sleep("200 millis")
        yield* calling.hangup
        return { digits: yield* call.digits, ended: yield* call.ended, heard: yield* call.heard }
      }))
      expect(Recording.tones(heard).map((tone) => Math.round(tone.frequency))).toEqual([600])
      expect(Recording.tones(heard)[0]!.durationMillis).toBeCloseTo(500, -2)
      expect(digits).toBe("42")
      expect(ended).toEqual({ _tag: "RemoteHangup" })
    }).pipe(Effect.provide(TestWorld.layer())))

  it.effect("a party transfers the bot to another party (blind REFER): the bot's phone calls Carol", () =>
    Effect.gen(function*() {
      const { bot, calls } = yield* answeringBot
      const alice = yield* Party.make("alice")
      const carol = yield* Party.make("carol")
      const { accepted, carolCall } = yield* TestWorld.run(Effect.gen(function*() {
        const call = yield* alice.call(TestWorld.uriOf(bot))
        yield* call.answered
        const accepted = yield* call.transfer(carol.uri)
        const carolCall = yield* carol.answerNext
        return { accepted, carolCall }
      }))
      expect(accepted).toBe(true)
      // Alice hangs up once the REFER is accepted (blind)
      const botEvents = yield* Deferred.await((yield* Deferred.await(calls)).events)
      expect(botEvents.at(-1)).toEqual({ _tag: "Ended", reason: { _tag: "RemoteHangup" } })
      expect(carolCall.call.remote?.uri.user).toBe("bot")
      expect(yield* carolCall.state).toBe(CallState.ANSWERED)
    }).pipe(Effect.provide(TestWorld.layer())))

  // attended: the bot waits for the outcome, so Alice's call lasts until her new call is answered;
  // blind: the bot hangs up as soon as the REFER is accepted, and Alice's phone still reports her new call
  it.effect.each([
    { transfer: "waiting for the outcome", blind: false },
    { transfer: "blind", blind: true }
  ])("the bot transfers a party ($transfer): the party's `transferred` is the call its phone placed to Carol", ({ blind }) =>
    Effect.gen(function*() {
      const alice = yield* Party.make("alice")
      const carol = yield* Party.make("carol")
      const bot = yield* TestWorld.phone({ user: "bot" }, {
        onIncomingCall: (call) => Effect.andThen(call.answer, call.transfer(undefined, carol.uri, blind))
      })
      const { first, second } = yield* TestWorld.run(Effect.gen(function*() {
        const first = yield* alice.call(TestWorld.uriOf(bot))
        const second = yield* first.transferred
        yield* carol.answerNext
        yield* second.answered
        return { first, second }
      }))
      expect(yield* first.ended).toEqual({ _tag: "RemoteHangup" })
      expect((yield* first.events).some(({ event }) => event._tag === "Transferred")).toBe(true)
      expect(second.call.remote?.uri.user).toBe("carol")
      expect(yield* second.state).toBe(CallState.ANSWERED)
    }).pipe(Effect.provide(TestWorld.layer())))

  it.effect("a warm transfer by the bot: Alice's `transferred` and the agent's `replaced` are one call, and they hear each other", () =>
    Effect.gen(function*() {
      const alice = yield* Party.make("alice")
      const agent = yield* Party.make("agent")
      const itself = yield* Deferred.make<VoIPPhoneShape>()
      const botPhone = yield* TestWorld.phone({ user: "bot" }, {
        onIncomingCall: (caller) =>
          Effect.gen(function*() {
            yield* caller.answer
            const consultation = yield* (yield* Deferred.await(itself)).call(agent.uri)
            yield* consultation.states.pipe(Stream.filter((state) => state === CallState.ANSWERED), Stream.runHead)
            yield* caller.transferTo(consultation)
          })
      })
      yield* Deferred.succeed(itself, botPhone)
      const { aliceHeard, agentHeard, first } = yield* TestWorld.run(Effect.gen(function*() {
        const first = yield* alice.call(TestWorld.uriOf(botPhone))
        const consulted = yield* agent.answerNext
        const toAgent = yield* first.transferred
        const fromAlice = yield* consulted.replaced
        expect(fromAlice.call.callId).toBe(toAgent.call.callId)
        yield* Effect.all([toAgent.say(sine(500, 1000)), fromAlice.say(sine(900, 1000))], { concurrency: "unbounded" })
        yield* toAgent.hangup
        return { first, aliceHeard: yield* toAgent.heard, agentHeard: yield* fromAlice.heard }
      }))
      expect(yield* first.ended).toEqual({ _tag: "RemoteHangup" })
      expect(Recording.tones(agentHeard).map((tone) => Math.round(tone.frequency))).toContain(500)
      expect(Recording.tones(aliceHeard).map((tone) => Math.round(tone.frequency))).toContain(900)
    }).pipe(Effect.provide(TestWorld.layer())))

  it.effect("run interrupts a script still running at its limit, the clock stopped there", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(TestWorld.run(Effect.never, { limit: "3 seconds" }))
      expect(error).toMatchObject({ _tag: "ScriptTimeoutError", limitMillis: 3000 })
      expect(error.message).toBe("the script did not finish within 3000 ms of virtual time")
      expect(yield* TestClock.testClockWith((clock) => clock.currentTimeMillis)).toBe(3000)
    }))

  it.effect("with a PBX: phones register with their passwords, and a party calls the bot by user name through the proxy", () =>
    Effect.gen(function*() {
      const world = yield* TestWorld.TestWorld
      const { bot, calls } = yield* answeringBot
      const alice = yield* Party.make("alice")
      const bindings = yield* world.pbx!.registrar.lookup("bot")
      expect(bindings.map((binding) => binding.contact.host)).toEqual([bot.parameters.bindIp])
      const state = yield* TestWorld.run(Effect.gen(function*() {
        const call = yield* alice.call("bot")
        yield* call.answered
        yield* call.hangup
        return yield* call.state
      }))
      expect(state).toBe(CallState.ENDED)
      const { call } = yield* Deferred.await(calls)
      expect(call.request.requestUri).toMatchObject({ user: "bot", host: bot.parameters.bindIp })
      expect(call.request.headers.get("Record-Route")).toContain(TestWorld.PBX_ADDRESS.address)
    }).pipe(Effect.provide(TestWorld.layer({ pbx: { users: { alice: "alice-pw", bot: "bot-pw" } } }))))
})
