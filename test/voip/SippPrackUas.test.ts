/**
 * RFC 3262 as the callee against SIPp over real UDP on 127.0.0.1:
 * `uac-100rel.xml` calls us with `Require: 100rel`, checks that our 180 is
 * reliable (Require, RSeq), PRACKs it and expects the 200 to the PRACK
 * before the 200 to the INVITE; then ACK and its BYE end the call.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { CallState } from "../../src/voip/CallState.ts"
import { answeringLabPhone, freePort, sippOk, sippUac, within } from "./lab.ts"

const ourScenario = (name: string) => path.join(import.meta.dirname, "sipp", name)

describe("reliable provisional responses against SIPp", () => {
  it.live("uac-100rel.xml: our 180 is reliable, its PRACK is answered 200 before the 2xx, the caller's BYE ends the call", () =>
    Effect.gen(function*() {
      const ourPort = yield* freePort
      const { phone, seen } = yield* answeringLabPhone(ourPort)
      const { proc: uac } = yield* sippUac(ourPort, ourScenario("uac-100rel.xml"), ["-d", "500"])
      sippOk({ code: yield* uac.exited, output: uac.output() })
      yield* within(Effect.repeat(phone.calls, { until: (calls) => calls.length === 0 }), "the call to end")
      expect(seen.map((event) => event._tag === "State" ? event.state : event._tag === "Ended" ? event.reason._tag : event._tag))
        .toEqual([CallState.ANSWERED, "RemoteHangup"])
      expect(yield* phone.rtpPortsInUse).toBe(0)
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
