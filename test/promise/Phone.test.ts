/**
 * The Promise API over real UDP on 127.0.0.1, two phones peer to peer:
 * - a call answered through `incomingCalls()`: states, DTMF both ways and
 *   audio both ways (samples, and frames from an async iterable) through
 *   the iterables, a hangup and the end reasons on both sides; answering
 *   twice rejects with the library's `InvalidStateError` itself;
 * - the `onIncomingCall` option: a handler that denies, one that answers
 *   and returns (the call is then hung up);
 * - failures reject with the library's errors: `NoPortsAvailableError`
 *   when the RTP range is exhausted, `createPhone` with bad parameters or a
 *   SIP port in use;
 * - `stop()` and `start()`, with `status()`, `calls()`, `localAddress()`;
 * - `close()` ends the calls and the iterables, releases the SIP port and
 *   the RTP ports (a new phone binds the same ones), is idempotent, and
 *   the phone's methods reject afterwards;
 * - leaving a `for await` over `audio()` stops the subscription;
 * - three phones: an attended transfer with `transferTo`, the new calls
 *   given by `events()` as `Call`s at both ends.
 */
import { describe, expect, it } from "@effect/vitest"
import { setTimeout as sleep } from "node:timers/promises"
import {
  Call,
  CallError,
  CallState,
  InvalidParameterError,
  InvalidRangeError,
  InvalidStateError,
  NoPortsAvailableError,
  PhoneStatus,
  SipTransportError
} from "../../src/promise/index.ts"
import { chirp } from "../rtp/session/helpers.ts"
import { collect, freePortPair, loudFrames, peer, reach, rejection, sipPort, take, uriOf } from "./helpers.ts"

/** `samples` as 20 ms frames from an async generator, as a caller's own source would give them. */
async function* framesOf(samples: Int16Array): AsyncGenerator<Int16Array> {
  for (let at = 0; at < samples.length; at += 160) yield samples.subarray(at, at + 160)
}

describe("the Promise API", () => {
  it("two phones: answer, DTMF and audio both ways, hangup, end reasons; a second answer rejects", async () => {
    await using bob = await peer()
    await using alice = await peer()
    const incoming = bob.incomingCalls()[Symbol.asyncIterator]()
    const call = await alice.call(await uriOf(bob))
    const aliceStates = collect(call.states())
    expect(call.direction).toBe("outgoing")

    const next = await incoming.next()
    await incoming.return?.()
    expect(next.done).toBe(false)
    const bobCall = next.value as Call
    expect(bobCall).toBeInstanceOf(Call)
    expect(bobCall.direction).toBe("incoming")
    expect(bobCall.callId).toBe(call.callId)
    expect(bobCall.remote?.uri.user).toBe("lab")
    const bobStates = collect(bobCall.states())
    expect(await bobCall.state()).toBe(CallState.RINGING)

    await bobCall.answer()
    expect(await reach(call.states(), CallState.ANSWERED)).toBe(true)
    const twice = await rejection(bobCall.answer())
    expect(twice).toBeInstanceOf(InvalidStateError)
    expect(twice).toBeInstanceOf(Error)
    expect(twice).toMatchObject({ _tag: "InvalidStateError", action: "answer", state: CallState.ANSWERED })
    expect((twice as Error).message).toBe("Call is not ringing: cannot answer a call that is ANSWERED")

    const bobHears = take(bobCall.dtmf(), 5)
    await call.sendDtmf("1234#")
    expect((await bobHears).join("")).toBe("1234#")
    const aliceHears = take(call.dtmf(), 3)
    await bobCall.sendDtmf("*0#")
    expect((await aliceHears).join("")).toBe("*0#")

    // one second of a chirp is 50 frames
    const signal = chirp(1)
    const bobAudio = take(bobCall.audio(), 100)
    await call.play(signal)
    const heardByBob = await bobAudio
    expect(heardByBob.every((frame) => frame.length === 160)).toBe(true)
    expect(loudFrames(heardByBob)).toBeGreaterThanOrEqual(40)
    const aliceAudio = take(call.audio(), 100)
    await bobCall.play(framesOf(signal))
    expect(loudFrames(await aliceAudio)).toBeGreaterThanOrEqual(40)
    const stats = await call.stats()
    expect(stats?.packetsSent).toBeGreaterThan(0)
    expect(stats?.dtmfSent).toBeGreaterThan(0)
    expect(stats?.dtmfReceived).toBeGreaterThan(0)

    await call.hangup()
    expect(await call.ended()).toEqual({ _tag: "LocalHangup" })
    expect(await bobCall.ended()).toEqual({ _tag: "RemoteHangup" })
    expect(await aliceStates).toEqual([CallState.DIALING, CallState.ANSWERED, CallState.ENDED])
    expect(await bobStates).toEqual([CallState.RINGING, CallState.ANSWERED, CallState.ENDED])
    // the counters as the session closed
    expect((await call.stats())?.packetsSent).toBeGreaterThanOrEqual(stats!.packetsSent)
    expect(await alice.rtpPortsInUse()).toBe(0)
    expect(await bob.rtpPortsInUse()).toBe(0)
  }, 30_000)

  it("transferTo: Bob connects Alice to Carol; events() gives Alice's new call and Carol's replacement as Calls", async () => {
    await using carol = await peer()
    await using bob = await peer()
    await using alice = await peer()
    const incomingAtBob = bob.incomingCalls()[Symbol.asyncIterator]()
    const incomingAtCarol = carol.incomingCalls()[Symbol.asyncIterator]()
    const aliceToBob = await alice.call(await uriOf(bob))
    const aliceEvents = collect(aliceToBob.events())
    const bobFromAlice = (await incomingAtBob.next()).value as Call
    await incomingAtBob.return?.()
    await bobFromAlice.answer()
    const consultation = await bob.call(await uriOf(carol))
    const carolFromBob = (await incomingAtCarol.next()).value as Call
    await incomingAtCarol.return?.()
    await carolFromBob.answer()
    const carolEvents = collect(carolFromBob.events())
    expect(await reach(consultation.states(), CallState.ANSWERED)).toBe(true)
    expect(await reach(aliceToBob.states(), CallState.ANSWERED)).toBe(true)

    expect(await bobFromAlice.transferTo(consultation)).toBe(true)
    expect(await carolFromBob.ended()).toEqual({ _tag: "Replaced" })
    expect(await aliceToBob.ended()).toEqual({ _tag: "RemoteHangup" })
    expect(await consultation.ended()).toEqual({ _tag: "RemoteHangup" })
    const transferred = (await aliceEvents).find((event) => event._tag === "Transferred")
    const replaced = (await carolEvents).find((event) => event._tag === "Replaced")
    const aliceToCarol = transferred !== undefined && "call" in transferred ? transferred.call : undefined
    const carolFromAlice = replaced !== undefined && "call" in replaced ? replaced.call : undefined
    expect(aliceToCarol).toBeInstanceOf(Call)
    expect(carolFromAlice?.callId).toBe(aliceToCarol?.callId)
    expect(await carolFromAlice?.state()).toBe(CallState.ANSWERED)
    const carolHears = take(carolFromAlice!.dtmf(), 2)
    await aliceToCarol!.sendDtmf("42")
    expect((await carolHears).join("")).toBe("42")
    await aliceToCarol!.hangup()
    expect(await carolFromAlice!.ended()).toEqual({ _tag: "RemoteHangup" })
    expect(await bob.rtpPortsInUse()).toBe(0)
  }, 30_000)

  it("bridgeWith: a bot joins Alice's call to its call to Carol; Alice's digits reach Carol; Alice's hangup ends both", async () => {
    await using carol = await peer()
    await using bot = await peer()
    await using alice = await peer()
    const atBot = bot.incomingCalls()[Symbol.asyncIterator]()
    const atCarol = carol.incomingCalls()[Symbol.asyncIterator]()
    const aliceCall = await alice.call(await uriOf(bot))
    const fromAlice = (await atBot.next()).value as Call
    await atBot.return?.()
    await fromAlice.answer()
    const toCarol = await bot.call(await uriOf(carol))
    const carolCall = (await atCarol.next()).value as Call
    await atCarol.return?.()
    await carolCall.answer()
    expect(await reach(toCarol.states(), CallState.ANSWERED)).toBe(true)
    const bridged = fromAlice.bridgeWith(toCarol)
    const digits = take(carolCall.dtmf(), 3)
    await aliceCall.sendDtmf("42#")
    expect((await digits).join("")).toBe("42#")
    await aliceCall.hangup()
    expect(await bridged).toBe(fromAlice)
    expect(await carolCall.ended()).toEqual({ _tag: "RemoteHangup" })
  }, 30_000)

  it("progress(): the caller hears the callee's early media in PROGRESS; a deny ends it", async () => {
    await using bob = await peer()
    await using alice = await peer()
    const incoming = bob.incomingCalls()[Symbol.asyncIterator]()
    const call = await alice.call(await uriOf(bob))
    const bobCall = (await incoming.next()).value as Call
    await incoming.return?.()
    await bobCall.progress()
    expect(await reach(call.states(), CallState.PROGRESS)).toBe(true)
    const heard = take(call.audio(), 60)
    void bobCall.play(chirp(1))
    expect(loudFrames(await heard)).toBeGreaterThanOrEqual(30)
    expect(await bobCall.state()).toBe(CallState.RINGING)
    await bobCall.deny(603)
    expect(await call.ended()).toEqual({ _tag: "Declined", status: 603 })
  }, 30_000)

  it("onIncomingCall: a handler that denies, one that answers and returns (the call is hung up)", async () => {
    await using denying = await peer({ onIncomingCall: (call) => call.deny(603) })
    const answered: Array<string> = []
    await using answering = await peer({
      onIncomingCall: async (call) => {
        await call.answer()
        answered.push(call.callId)
      }
    })
    await using alice = await peer()
    const refused = await alice.call(await uriOf(denying))
    expect(await refused.ended()).toEqual({ _tag: "Declined", status: 603 })
    const hungUp = await alice.call(await uriOf(answering))
    expect(await hungUp.ended()).toEqual({ _tag: "RemoteHangup" })
    expect(answered).toEqual([hungUp.callId])
  }, 30_000)

  it("the library's errors: NoPortsAvailableError, InvalidRangeError, InvalidParameterError, SipTransportError", async () => {
    const low = await freePortPair()
    await using bob = await peer()
    await using alice = await peer({ rtpPortLow: low, rtpPortHigh: low + 1 })
    const first = await alice.call(await uriOf(bob))
    const exhausted = await rejection(alice.call(await uriOf(bob)))
    expect(exhausted).toBeInstanceOf(NoPortsAvailableError)
    expect(exhausted).toMatchObject({ _tag: "NoPortsAvailableError", low, high: low + 1, inUse: 1 })
    await first.cancel()
    expect(await first.ended()).toEqual({ _tag: "Canceled", by: "local" })
    expect(await alice.rtpPortsInUse()).toBe(0)

    const range = await rejection(peer({ rtpPortLow: 30000, rtpPortHigh: 20000 }))
    expect(range).toBeInstanceOf(InvalidRangeError)
    expect(range).toMatchObject({ _tag: "InvalidRangeError", low: 30000, high: 20000 })
    const parameter = await rejection(peer({ bindIp: "not an address" }))
    expect(parameter).toBeInstanceOf(InvalidParameterError)
    expect((parameter as Error).message).toContain("is not an IP address")
    const inUse = await rejection(peer({ bindPort: await sipPort(bob) }))
    expect(inUse).toBeInstanceOf(SipTransportError)
    expect(inUse).toBeInstanceOf(Error)
  }, 30_000)

  it("close() ends calls and iterables, releases the SIP and RTP ports, is idempotent", async () => {
    const low = await freePortPair()
    await using bob = await peer()
    const alice = await peer({ rtpPortLow: low, rtpPortHigh: low + 1 })
    const port = await sipPort(alice)
    const statuses = collect(alice.statusChanges())
    const messages = collect(alice.messages())
    const incoming = collect(alice.incomingCalls())

    const call = await alice.call(await uriOf(bob))
    const [bobCall] = await take(bob.incomingCalls(), 1)
    await bobCall!.answer()
    expect(await reach(call.states(), CallState.ANSWERED)).toBe(true)
    expect(await bob.message(`sip:lab@127.0.0.1:${port}`, "hello")).toBe(true)

    await Promise.all([alice.close(), alice.close()])
    await alice.close()
    expect(await call.ended()).toEqual({ _tag: "LocalHangup" })
    expect(await bobCall!.ended()).toEqual({ _tag: "RemoteHangup" })
    expect((await messages).map((message) => message.text)).toEqual(["hello"])
    expect(await incoming).toEqual([])
    const seen = await statuses
    expect(seen).toContain(PhoneStatus.REGISTERED)
    expect(seen.at(-1)).toBe(PhoneStatus.INACTIVE)
    const closed = await rejection(alice.call(await uriOf(bob)))
    expect(closed).toBeInstanceOf(CallError)
    expect((closed as Error).message).toBe("call failed: the phone is closed")

    // the same SIP port and RTP pair again
    await using again = await peer({ bindPort: port, rtpPortLow: low, rtpPortHigh: low + 1 })
    expect(await sipPort(again)).toBe(port)
    const second = await again.call(await uriOf(bob))
    expect(await second.state()).toBe(CallState.DIALING)
    expect(await again.rtpPortsInUse()).toBe(1)
  }, 30_000)

  it("stop() ends the calls and unbinds, start() starts again; status, calls() and localAddress() follow", async () => {
    await using bob = await peer()
    await using alice = await peer()
    const call = await alice.call(await uriOf(bob))
    expect((await alice.calls()).map((live) => live.callId)).toEqual([call.callId])

    await alice.stop()
    expect(await call.ended()).toEqual({ _tag: "Canceled", by: "local" })
    expect(await alice.status()).toBe(PhoneStatus.INACTIVE)
    expect(await alice.calls()).toEqual([])
    expect(await alice.localAddress()).toBeUndefined()
    const stopped = await rejection(alice.call(await uriOf(bob)))
    expect(stopped).toBeInstanceOf(CallError)
    expect((stopped as Error).message).toBe("call failed: the phone is not running")

    await alice.start()
    expect(await reach(alice.statusChanges(), PhoneStatus.REGISTERED)).toBe(true)
    // bindPort 0: a port of its own again
    expect(await alice.localAddress()).toMatchObject({ address: "127.0.0.1" })
    const again = await alice.call(await uriOf(bob))
    expect(await again.state()).toBe(CallState.DIALING)
  }, 30_000)

  it("leaving a for await over audio() stops listening; iterating again listens again", async () => {
    await using bob = await peer()
    await using alice = await peer()
    const call = await alice.call(await uriOf(bob))
    const [bobCall] = await take(bob.incomingCalls(), 1)
    await bobCall!.answer()
    expect(await reach(call.states(), CallState.ANSWERED)).toBe(true)
    const playing = call.play(chirp(4))

    expect(await take(bobCall!.audio(), 10)).toHaveLength(10)
    const left = (await bobCall!.stats())!
    await sleep(400)
    const later = (await bobCall!.stats())!
    // packets keep coming, but nobody listens: none goes to the jitter buffer
    expect(later.packetsReceived).toBeGreaterThan(left.packetsReceived)
    expect(left.jitterBuffer.received).toBeGreaterThan(0)
    expect(later.jitterBuffer.received).toBe(left.jitterBuffer.received)

    // a new listener hears the chirp again (its playout starts afresh, with a jitter buffer of its own)
    expect(loudFrames(await take(bobCall!.audio(), 25))).toBeGreaterThan(0)
    await call.hangup()
    await playing
  }, 30_000)
})
