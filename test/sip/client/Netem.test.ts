/**
 * Registration and transactions over the lab's impaired link (`netem.sh`:
 * 20 % loss each way, a fixed seed): kamailio runs in namespace lab-b, our
 * client (netem-client.ts) in lab-a with T1 = 200 ms. The REGISTERs, the
 * MESSAGE kamailio challenges and relays back to us, and the unREGISTER all
 * get through by retransmission. The namespaces are removed however the
 * test ends.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort, kamailio, labOut, netem, run, waitUntil } from "./lab.ts"

/** The `rx`/`dropped` counts of both directions in netem.sh's final statistics. */
const dropped = (stats: string): ReadonlyArray<number> =>
  Array.from(stats.matchAll(/dropped (\d+)/g), (match) => Number(match[1]))

describe("over a link losing 20 % of the packets each way", () => {
  it.live("registration, an authenticated MESSAGE and deregistration succeed through retransmissions", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const port = yield* freePort
      const { client, link } = yield* Effect.scoped(Effect.gen(function*() {
        const link = yield* netem(out, ["--loss", "20", "--seed", "7"])
        const proxy = yield* kamailio(out, port, link.inside("b"))
        const result = yield* run("bash", [...link.inside("a"), "node_modules/.bin/node", "test/sip/client/netem-client.ts"], {
          env: { NETEM_SERVER: `198.18.0.2:${port}`, VOIP_SIP_T1: "200 millis" },
          limitMillis: 90_000
        })
        // kamailio writes its log line just after its 200 to the unREGISTER
        if (result.code === 0) {
          yield* waitUntil(() => /registered alice \(expires 0\)/.test(proxy.log()), 3000, () => `the unREGISTER in\n${proxy.log()}`)
        }
        return { client: { ...result, log: proxy.log() }, link }
      }))
      // the link is down now: its statistics are final
      const stats = link.stats()
      expect({ code: client.code, output: client.code === 0 ? "" : client.output }).toEqual({ code: 0, output: "" })
      const line = client.output.split("\n").find((each) => each.startsWith("result "))!
      const outcome = JSON.parse(line.slice("result ".length)) as Record<string, unknown>
      expect(outcome).toMatchObject({
        messageStatus: 200,
        messageCSeq: 2,
        received: "across the lossy link",
        statuses: ["REGISTERING", "REGISTERED", "DEREGISTERING", "INACTIVE"]
      })
      expect(client.log).toMatch(/registered alice \(expires 300\)/)
      expect(client.log).toMatch(/registered alice \(expires 0\)/)
      // the link really lost packets in both directions
      expect(dropped(stats).length).toBe(2)
      expect(dropped(stats).every((count) => count > 0)).toBe(true)
    }), 120_000)
})
