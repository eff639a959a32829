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
 *   which `run-baresip.sh` does not load, so this baresip runs on a
 *   configuration of its own) reaches our `messages`; ours reaches
 *   baresip (its SIP trace shows it) and is accepted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import * as Audio from "../../src/rtp/Audio.ts"
import { PhoneStatus } from "../../src/sip/client/PhoneStatus.ts"
import { CallState, type EndReason } from "../../src/voip/CallState.ts"
import type { IncomingCallHandler } from "../../src/voip/VoIPPhone.ts"
import { bestOffset, chirp, concat } from "../rtp/session/helpers.ts"
import { kamailio } from "../sip/client/lab.ts"
import { BARESIP_RTP, controlledBaresip, exitsOk, freePortPair, registeredBob, runBaresip } from "./baresip.ts"
import { capture, checkCapture, freePort, labMedia, labOut, labPhone, within } from "./lab.ts"

/** Our phone registered at kamailio on `kamPort` as alice, on 127.0.0.1:`port`. */
const alice = <R = never>(kamPort: number, port: number, onIncomingCall?: IncomingCallHandler<R>) =>
  Effect.gen(function*() {
    const phone = yield* labPhone(port, onIncomingCall, { port: kamPort, user: "alice", password: "alicepw" })
    expect(yield* phone.status).toBe(PhoneStatus.REGISTERED)
    return phone
  })

/** baresip as bob registered at kamailio. */
const bobAt = registeredBob(BARESIP_RTP.calls, 40)

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
      const bob = yield* runBaresip({
        ...bobAt(out, "bob-calls", kamPort),
        sipPort: bobPort,
        env: { BS_DTMF: "1234#", BS_HOLD_MS: "3000", BS_AFTER_MS: "1500" }
      }, ["call", `sip:alice@127.0.0.1:${kamPort}`])
      yield* exitsOk(bob.proc, "baresip to finish", 45)
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
      const bob = yield* runBaresip({ ...bobAt(out, "bob-answers", kamPort), env: { BS_CALLS: "1" } }, ["answer"])
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
      yield* exitsOk(bob.proc, "baresip to finish", 45)

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
      yield* kamailio(out, kamPort)
      const phone = yield* alice(kamPort, ourPort)
      const received = yield* phone.messages.pipe(Stream.take(1), Stream.runHead, Effect.forkChild)

      const { controller: control, proc: bob } = yield* controlledBaresip({
        ...bobAt(out, "bob-messages", kamPort),
        timeoutSeconds: 30,
        contacts: [`"alice" <sip:alice@127.0.0.1:${kamPort}>`],
        // baresip's output shows the SIP it receives
        trace: true
      }, ["registered:10", "cmd:message hello from baresip", "sleep:8000", "cmd:quit"])
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
