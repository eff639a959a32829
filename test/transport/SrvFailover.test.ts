/**
 * RFC 3263 §4.3 over TCP: when the first SRV target refuses the connection,
 * the request goes to the next one, and the next request finds the targets
 * remembered, without asking the name server again. Both targets are on
 * 127.0.0.1, found through dnsmasq (the only name server asked).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { VoIPSettings } from "../../src/Config.ts"
import * as Tcp from "../../src/transport/Tcp.ts"
import { freePort } from "../sip/client/lab.ts"
import { dnsmasq } from "./dnsmasq.ts"
import { collect, environment, options } from "./helpers.ts"

describe("SRV failover", () => {
  it.live("a refused connection to the first SRV target → the next target", () =>
    Effect.gen(function*() {
      const bob = yield* Tcp.make({ host: "127.0.0.1" }).pipe(Effect.provide(environment()))
      const bobInbox = yield* collect(bob)
      // nothing listens there: the connection is refused
      const closed = yield* freePort
      const server = yield* dnsmasq({
        srv: [
          { name: "_sip._tcp.pbx.test", target: "down.pbx.test", port: closed, priority: 1 },
          { name: "_sip._tcp.pbx.test", target: "up.pbx.test", port: bob.localAddress.port, priority: 2 }
        ],
        hosts: { "down.pbx.test": "127.0.0.1", "up.pbx.test": "127.0.0.1" }
      })
      const alice = yield* Tcp.make({ host: "127.0.0.1" }).pipe(
        Effect.provide(Layer.merge(VoIPSettings.layerWith({}), server.layer))
      )
      const request = options({ transport: "TCP", sentBy: alice.localAddress, to: bob.localAddress })
      const receipt = yield* alice.send(request, { host: "pbx.test", port: 5060, locate: true })
      expect(receipt.destination).toEqual(bob.localAddress)
      const arrived = yield* bobInbox.next
      expect(arrived.message.callId).toBe(request.callId)
      expect(server.queries()).toEqual(["SRV _sip._tcp.pbx.test", "A down.pbx.test", "A up.pbx.test"])
      // the next request: the located targets are remembered (no query) and the refused one goes last
      const again = options({ transport: "TCP", sentBy: alice.localAddress, to: bob.localAddress })
      expect((yield* alice.send(again, { host: "pbx.test", port: 5060, locate: true })).destination).toEqual(bob.localAddress)
      expect((yield* bobInbox.next).message.callId).toBe(again.callId)
      expect(server.queries()).toHaveLength(3)
    }), 20_000)
})
