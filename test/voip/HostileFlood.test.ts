/**
 * Hostile input during a call, over real UDP on 127.0.0.1: Alice's phone is
 * in a call with Bob's, Bob sending a tone, when a socket of the test floods
 * Bob's SIP port for two seconds (2000 datagrams a second) with every RFC 4475 torture message that is
 * not plain valid (malformed, or valid but to be refused), truncated copies
 * of them and random bytes, and Alice's RTP port (1000 a second) with
 * garbage and well-formed packets from a foreign port. The call goes on untouched: Alice keeps
 * receiving Bob's packets at 50 per second with none lost, Bob answers
 * Alice's OPTIONS at once afterwards, holds no call but hers (the torture
 * INVITEs it could read were refused) and no RTP port more, and the hangup
 * gives every port back.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schedule, Stream } from "effect"
import * as crypto from "node:crypto"
import * as Dgram from "node:dgram"
import * as Audio from "../../src/rtp/Audio.ts"
import * as RTPMessage from "../../src/rtp/RTPMessage.ts"
import { CallState } from "../../src/voip/CallState.ts"
import { readVector, readVectorJson } from "../support/vectors.ts"
import { freePort, labPhone, within } from "./lab.ts"

interface TortureEntry {
  readonly file: string
  readonly expect: string
}

/** The torture messages a phone must not take as they are, their truncated copies, and random datagrams. */
const hostileDatagrams = (): ReadonlyArray<Uint8Array> => {
  const entries = readVectorJson<ReadonlyArray<TortureEntry>>("sip-torture", "index.json")
  const messages = entries.filter((entry) => entry.expect !== "valid").map((entry) => readVector("sip-torture", entry.file))
  const truncated = messages.map((message) => message.subarray(0, Math.max(1, Math.floor(message.length / 2))))
  const random = Array.from({ length: 200 }, (_, i) => crypto.randomBytes(1 + ((i * 37) % 1400)))
  return [...messages, ...truncated, ...random]
}

/** Sends `datagrams` round-robin to `port` on 127.0.0.1 for `millis`, `perTick` every 10 ms; how many went. */
const flood = (socket: Dgram.Socket, port: number, datagrams: ReadonlyArray<Uint8Array>, perTick: number, millis: number) =>
  Effect.callback<number>((resume) => {
    let sent = 0
    const started = Date.now()
    const timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) socket.send(datagrams[sent++ % datagrams.length]!, port, "127.0.0.1")
      if (Date.now() - started >= millis) {
        clearInterval(timer)
        resume(Effect.succeed(sent))
      }
    }, 10)
    return Effect.sync(() => clearInterval(timer))
  })

const udpSocket = Effect.acquireRelease(
  Effect.callback<Dgram.Socket>((resume) => {
    const socket = Dgram.createSocket("udp4")
    socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
  }),
  (socket) => Effect.sync(() => socket.close())
)

describe("a hostile flood during a call", () => {
  it.live("torture messages, random bytes and foreign RTP at Bob's ports leave Alice's call with him untouched", () =>
    Effect.gen(function*() {
      const alicePort = yield* freePort
      const bobPort = yield* freePort
      const tone = Audio.tone(600, 20_000, 6000)
      const bob = yield* labPhone(bobPort, (call) =>
        // Alice's calls only: a torture INVITE that reads as a call is refused
        (call.request.headers.get("Contact") ?? "").includes(`@127.0.0.1:${alicePort}`)
          ? Effect.andThen(call.answer, Effect.raceFirst(call.play(Audio.fromSamples(tone)), call.ended))
          : call.deny())
      const alice = yield* labPhone(alicePort)
      const call = yield* alice.call(`sip:lab@127.0.0.1:${bobPort}`)
      const answered = yield* within(
        call.states.pipe(Stream.filter((state) => state !== CallState.DIALING), Stream.runHead),
        "Bob's answer"
      )
      expect(answered).toEqual(Option.some(CallState.ANSWERED))
      yield* Effect.sleep("500 millis")

      const attacker = yield* udpSocket
      const before = Option.getOrThrow(yield* call.stats)
      const bobCall = (yield* bob.calls)[0]!
      // Alice's RTP port, from the offer in her INVITE
      const aliceRtp = Number(/m=audio (\d+)/.exec(new TextDecoder().decode(bobCall.request.rawBody))?.[1])
      const foreign = RTPMessage.encode({ payloadType: 0, sequence: 1, timestamp: 160, ssrc: 0xbad, marker: false, payload: new Uint8Array(160) })
      const started = Date.now()
      const [sipSent] = yield* Effect.all([
        flood(attacker, bobPort, hostileDatagrams(), 20, 2000),
        flood(attacker, aliceRtp, [foreign, crypto.randomBytes(12), crypto.randomBytes(300)], 10, 2000)
      ], { concurrency: "unbounded" })
      const floodSeconds = (Date.now() - started) / 1000
      expect(sipSent).toBeGreaterThan(2000)
      yield* Effect.sleep("300 millis")

      const after = Option.getOrThrow(yield* call.stats)
      expect(after.packetsLost).toBe(0)
      expect(after.foreignPackets + after.malformedPackets).toBeGreaterThan(1000)
      expect(after.packetsReceived - before.packetsReceived).toBeGreaterThanOrEqual(Math.floor(0.9 * 50 * floodSeconds))
      expect(yield* call.state).toBe(CallState.ANSWERED)

      const client = Option.getOrThrow(yield* alice.client)
      const options = yield* client.createRequest("OPTIONS", `sip:lab@127.0.0.1:${bobPort}`)
      const { response } = yield* within(client.sendAuthenticated(options), "Bob's answer to OPTIONS", 2)
      expect(response.status === 0 ? 0 : response.status.value).toBe(200)
      yield* Effect.sleep("200 millis")
      expect((yield* bob.calls).length).toBe(1)
      expect(yield* bob.rtpPortsInUse).toBe(1)

      yield* call.hangup
      yield* within(bobCall.ended, "the end of Bob's call")
      // the ports come back as the sessions close, just after the end
      const portsFree = Effect.map(Effect.all([bob.rtpPortsInUse, alice.rtpPortsInUse]), ([b, a]) => b + a === 0)
      yield* within(Effect.repeat(portsFree, { until: (free) => free, schedule: Schedule.spaced("20 millis") }), "the RTP ports", 2)
    }).pipe(Effect.scoped), { timeout: 60_000 })
})
