/**
 * SIPp (Debian's sip-tester) from the interop lab as the remote RTP peer,
 * with the lab's own scenarios and media:
 * - `uas-answer.xml -rtp_echo` answers our call and echoes every RTP packet:
 *   the audio and the DTMF we send must come back intact.
 * - `uac-call.xml` calls us, streams `media/prompt.ul` and plays the lab's
 *   RFC 4733 pcap of `1234#`: we must hear the prompt and read exactly those
 *   digits.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Audio from "../../../src/rtp/Audio.ts"
import * as PCMU from "../../../src/rtp/PCMU.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import * as OfferAnswer from "../../../src/sdp/OfferAnswer.ts"
import * as Sdp from "../../../src/sdp/Sdp.ts"
import { labDir } from "../../support/vectors.ts"
import { chirp, concat, missingFrames, sessionsLayer } from "../session/helpers.ts"
import { body, call, freeUdpPort, response, runSipp, sipSocket } from "./sip.ts"

const scenario = (name: string) => path.join(labDir, "sipp", name)

const parseSdp = (text: string) => {
  const parsed = Sdp.parse(text)
  if (parsed._tag === "Failure") throw parsed.failure
  return parsed.success
}

/** The lab's prompt, DTMF pcap and its play time (make-media.sh, idempotent: it only fills in what is missing). */
const labMedia = Effect.sync(() => {
  execFileSync("bash", [path.join(labDir, "make-media.sh")], { stdio: "ignore", timeout: 60_000 })
  return {
    prompt: PCMU.decode(new Uint8Array(fs.readFileSync(path.join(labDir, "media", "prompt.ul")))),
    dtmfMs: Number(fs.readFileSync(path.join(labDir, "media", "dtmf.ms"), "utf8"))
  }
})

describe("SIPp as the RTP peer", () => {
  it.live("uas-answer.xml with -rtp_echo sends our audio and DTMF back intact", () =>
    Effect.gen(function*() {
      const session = yield* RTPClient.make({ address: "127.0.0.1" })
      const sip = yield* sipSocket
      const sippPort = yield* freeUdpPort
      const mediaPort = yield* freeUdpPort
      const sipp = yield* Effect.forkChild(runSipp([
        "-sf", scenario("uas-answer.xml"),
        "-i", "127.0.0.1", "-p", String(sippPort),
        "-mi", "127.0.0.1", "-mp", String(mediaPort),
        "-m", "1", "-d", "200", "-rtp_echo"
      ]))
      yield* Effect.sleep("300 millis")
      const offer = OfferAnswer.createOffer({ address: "127.0.0.1", port: session.localPort })
      const { answer, hangUp } = yield* call(sip, sippPort, Sdp.serialize(offer))
      const media = OfferAnswer.readAnswer(offer, parseSdp(answer))
      if (media._tag === "Failure") throw media.failure
      expect(media.success[0]).toMatchObject({ remotePort: mediaPort, dtmf: 101, codec: { number: 0 } })
      yield* session.update(media.success[0]!)

      const signal = chirp(1.5)
      const echoed = yield* session.audio.pipe(Stream.take(125), Stream.runCollect, Effect.forkChild)
      const digits = yield* session.dtmf.pipe(Stream.take(5), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("50 millis")
      yield* session.play(Audio.fromSamples(signal))
      yield* session.sendDtmf("1234#")
      expect(missingFrames(signal, concat(yield* Fiber.join(echoed)))).toEqual([])
      expect((yield* Fiber.join(digits)).join("")).toBe("1234#")
      const stats = yield* session.stats
      expect(stats).toMatchObject({ foreignPackets: 0, malformedPackets: 0, packetsLost: 0 })

      yield* hangUp
      const result = yield* Fiber.join(sipp)
      expect({ code: result.code, output: result.code === 0 ? "" : result.output }).toEqual({ code: 0, output: "" })
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())), { timeout: 60_000 })

  it.live("uac-call.xml calls us: we hear its prompt and read exactly 1234# from its DTMF pcap", () =>
    Effect.gen(function*() {
      const { dtmfMs, prompt } = yield* labMedia
      const session = yield* RTPClient.make({ address: "127.0.0.1" })
      const sip = yield* sipSocket
      const sippPort = yield* freeUdpPort
      const mediaPort = yield* freeUdpPort
      const sipp = yield* Effect.forkChild(runSipp([
        `127.0.0.1:${sip.port}`,
        "-sf", scenario("uac-call.xml"),
        "-i", "127.0.0.1", "-p", String(sippPort),
        "-mi", "127.0.0.1", "-mp", String(mediaPort),
        "-s", "lab", "-m", "1", "-d", "2000",
        "-key", "dtmf_ms", String(dtmfMs + 200), "-key", "from_user", "sipp"
      ], labDir))

      const invite = yield* sip.expect(/^INVITE /)
      const answer = OfferAnswer.createAnswer(parseSdp(body(invite)), { address: "127.0.0.1", port: session.localPort })
      if (answer._tag === "Failure") throw answer.failure
      yield* session.update(answer.success.media[0]!)
      const digits: Array<string> = []
      const heard: Array<Int16Array> = []
      yield* Effect.forkChild(Stream.runForEach(session.dtmf, (digit) => Effect.sync(() => digits.push(digit))))
      yield* Effect.forkChild(Stream.runForEach(session.audio, (frame) => Effect.sync(() => heard.push(frame))))
      yield* sip.send(
        response(invite, "200 OK", {
          toTag: "rtp-test",
          contact: `sip:lab@127.0.0.1:${sip.port}`,
          sdp: Sdp.serialize(answer.success.description)
        }),
        sippPort
      )
      yield* sip.expect(/^ACK /)
      const bye = yield* sip.expect(/^BYE /)
      yield* sip.send(response(bye, "200 OK"), sippPort)
      const result = yield* Fiber.join(sipp)
      expect({ code: result.code, output: result.code === 0 ? "" : result.output }).toEqual({ code: 0, output: "" })

      expect(digits.join("")).toBe("1234#")
      // One second of speech from the prompt, found in what we played out.
      const speech = prompt.subarray(8000, 16000)
      expect(missingFrames(speech, concat(heard))).toEqual([])
      const stats = yield* session.stats
      expect(stats).toMatchObject({ foreignPackets: 0, malformedPackets: 0, unknownPayloadPackets: 0, dtmfReceived: 5 })
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer())), { timeout: 60_000 })
})
