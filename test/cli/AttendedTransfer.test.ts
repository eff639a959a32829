/**
 * The `voip` command line at both ends of an attended transfer (RFC 5589
 * §7) made by a phone of ours on 127.0.0.1: `voip call` (Alice) reaches
 * Bob, Bob consults Carol (`voip answer --echo`) and transfers Alice to
 * her. Alice's CLI follows the REFER (`transferred`) and calls Carol with
 * Replaces; Carol's CLI reports `replaced`, ends Bob's call and carries on
 * with Alice's, echoing her audio until she hangs up.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Option, Stream } from "effect"
import { CallState } from "../../src/voip/CallState.ts"
import type { VoIPPhoneShape } from "../../src/voip/VoIPPhone.ts"
import { freePort, labPhone, within } from "../voip/lab.ts"
import { expectExit, names, rtpPorts, voip } from "./cli.ts"

describe("voip at the ends of an attended transfer", () => {
  it.live("call follows the REFER with Replaces; answer --echo swaps Bob's call for Alice's and echoes her", () =>
    Effect.gen(function*() {
      const carolPort = yield* freePort
      const carol = yield* voip(["answer", "--bind", `127.0.0.1:${carolPort}`, "--rtp-ports", rtpPorts(), "--echo", "--calls", "1"])
      yield* carol.waitFor("listening")

      const bobPort = yield* freePort
      const bobPhone = yield* Deferred.make<VoIPPhoneShape>()
      const transferred = yield* Deferred.make<boolean>()
      const phone = yield* labPhone(bobPort, (call) =>
        Effect.gen(function*() {
          yield* call.answer
          const bob = yield* Deferred.await(bobPhone)
          const consultation = yield* bob.call(`sip:carol@127.0.0.1:${carolPort}`)
          const answered = yield* consultation.states.pipe(
            Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
            Stream.runHead
          )
          expect(Option.getOrUndefined(answered)).toBe(CallState.ANSWERED)
          yield* Deferred.succeed(transferred, yield* call.transferTo(consultation))
          yield* consultation.ended
        }))
      yield* Deferred.succeed(bobPhone, phone)

      const alice = yield* voip(["call", `sip:bob@127.0.0.1:${bobPort}`, "--bind", "127.0.0.1", "--rtp-ports", rtpPorts(), "--hangup-after", "3"])
      expect(yield* within(Deferred.await(transferred), "Bob's transfer")).toBe(true)
      yield* expectExit(alice, 0)
      yield* expectExit(carol, 0)

      const aliceEvents = alice.events()
      expect(names(alice)).toEqual(["listening", "dialing", "ringing", "answered", "transferred", "ended", "stats", "answered", "ended", "stats"])
      const newCall = aliceEvents.find((event) => event.event === "transferred")!
      expect(aliceEvents.filter((event) => event.event === "ended").map((event) => [event.callId, event.reason])).toEqual([
        [aliceEvents[1]!.callId, "remote-hangup"],
        [newCall.newCallId, "local-hangup"]
      ])
      const carolEvents = carol.events()
      const replaced = carolEvents.find((event) => event.event === "replaced")!
      expect(replaced.newCallId).toBe(newCall.newCallId)
      expect(names(carol)).toEqual(["listening", "incoming", "answered", "replaced", "ended", "stats", "answered", "ended", "stats"])
      expect(carolEvents.filter((event) => event.event === "ended").map((event) => event.reason)).toEqual(["replaced", "remote-hangup"])
      // Carol echoed Alice's audio on the new call
      const aliceStats = aliceEvents.filter((event) => event.event === "stats")
      expect(aliceStats[1]!.packetsReceived).toBeGreaterThan(100)
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
