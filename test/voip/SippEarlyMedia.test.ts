/**
 * Early media against SIPp over real UDP on 127.0.0.1: the lab's
 * `uac-call.xml` calls our phone, whose handler sends 183 with its answer
 * (`progress`), plays the lab's prompt for a second while the call rings,
 * then answers. SIPp takes the 183, its call succeeds (exit 0), and the
 * capture shows our RTP reaching SIPp's media
 * port before our 200 OK, with the 183 and the 200 carrying the same SDP.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as Audio from "../../src/rtp/Audio.ts"
import { capture, freePort, labMedia, labOut, labPhone, sippCalls, within } from "./lab.ts"

/** `tshark -T fields` over `pcap` for packets matching `filter`: one array of fields per packet. */
const fields = (pcap: string, filter: string, names: ReadonlyArray<string>, decodeAs: ReadonlyArray<string> = []) =>
  execFileSync("tshark", ["-n", "-r", pcap, ...decodeAs.flatMap((d) => ["-d", d]), "-Y", filter, "-T", "fields", ...names.flatMap((n) => ["-e", n])], {
    encoding: "utf8",
    timeout: 60_000
  }).split("\n").filter((line) => line.length > 0).map((line) => line.split("\t"))

describe("early media to SIPp", () => {
  it.live("uac-call.xml gets our 183 with SDP and our prompt before the 200; the call then completes", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const { prompt } = yield* labMedia
      const ourPort = yield* freePort
      const sippSip = yield* freePort
      const sippMedia = yield* freePort
      const recording = yield* capture(out, "early-media", [ourPort, sippSip, sippMedia])
      yield* labPhone(ourPort, (call) =>
        Effect.gen(function*() {
          yield* call.progress
          yield* Effect.raceFirst(call.play(Audio.fromSamples(prompt)), Effect.sleep("1 second"))
          yield* call.answer
          yield* call.ended
        }))
      yield* within(sippCalls(ourPort, 1500, { sip: sippSip, media: sippMedia }), "SIPp's call", 60)
      yield* recording.stop

      const sip = fields(recording.pcap, `udp.srcport == ${ourPort} && sip.Status-Code`, ["frame.time_relative", "sip.Status-Code", "sdp.owner", "sdp.media"], [
        `udp.port==${ourPort},sip`
      ])
      const session = sip.find(([, status]) => status === "183")
      const ok = sip.find(([, status]) => status === "200")
      expect(session).toBeDefined()
      expect(ok).toBeDefined()
      // the same answer: o= line (same version) and m= line
      expect(ok![3]).toMatch(/^audio \d+ RTP\/AVP/)
      expect(ok!.slice(2)).toEqual(session!.slice(2))
      const rtp = fields(recording.pcap, `udp.dstport == ${sippMedia} && rtp`, ["frame.time_relative"], [`udp.port==${sippMedia},rtp`])
      const beforeAnswer = rtp.filter(([time]) => Number(time) < Number(ok![0]))
      // a second of prompt at 50 packets a second, give or take the start
      expect(beforeAnswer.length).toBeGreaterThanOrEqual(40)
    }).pipe(Effect.scoped), { timeout: 90_000 })
})
