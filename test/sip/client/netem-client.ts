/**
 * The client side of the lossy-link test (Netem.test.ts), run inside the
 * lab-a namespace with `netem.sh exec a`: registers with kamailio in lab-b,
 * sends itself a MESSAGE through it (407, then relayed back to our binding,
 * which answers 200), deregisters, and prints one line
 * `result {...}` with what happened. Exits 0 when all of that worked.
 *
 * Environment: LAB_IP (ours, set by netem.sh), NETEM_SERVER (kamailio's
 * host:port) and the library's VOIP_* settings (a short VOIP_SIP_T1).
 */
import { NodeDns, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Context, Deferred, Effect, Layer, Result, Stream } from "effect"
import { VoIPSettings } from "../../../src/Config.ts"
import { parseHostPort } from "../../../src/sip/client/Account.ts"
import { type PhoneStatus } from "../../../src/sip/client/PhoneStatus.ts"
import { SIPClient } from "../../../src/sip/client/SIPClient.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"

const BODY = "across the lossy link"

const main = Effect.gen(function*() {
  const bindHost = yield* Config.String("LAB_IP")
  const server = yield* Effect.fromResult(parseHostPort(yield* Config.String("NETEM_SERVER")))
  const statuses: Array<PhoneStatus> = []
  const deregistered = yield* Deferred.make<void>()

  const outcome = yield* Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(SIPClient.layerStack({
      server: server.host,
      port: server.port,
      user: "alice",
      password: "alicepw",
      bind: { host: bindHost },
      deregisterTimeout: "20 seconds"
    }))
    const sip = Context.get(context, SIPClient)
    // outlives this scope, to see DEREGISTERING and INACTIVE
    yield* sip.statusChanges.pipe(
      Stream.takeUntil((status) => status === "INACTIVE" || status === "FAILED"),
      Stream.runForEach((status) => Effect.sync(() => void statuses.push(status))),
      Effect.ensuring(Deferred.succeed(deregistered, undefined)),
      Effect.forkDetach
    )
    const delivered = yield* Deferred.make<string>()
    yield* sip.incoming.pipe(
      Stream.runForEach((event) => {
        if (event._tag !== "Request") return Effect.void
        const { request } = event.transaction
        const ok = Result.getOrThrow(SIPMessage.response(request, 200, { toTag: "netem" }))
        return Effect.ignore(event.transaction.respond(ok)).pipe(
          Effect.andThen(request.method === "MESSAGE"
            ? Deferred.succeed(delivered, new TextDecoder().decode(request.rawBody))
            : Effect.void)
        )
      }),
      Effect.forkScoped
    )
    yield* sip.registered
    const message = yield* sip.createRequest("MESSAGE", "alice", { body: BODY, contentType: "text/plain" })
    const sent = yield* sip.sendAuthenticated(message)
    const received = yield* Deferred.await(delivered)
    const snapshot = yield* sip.transactions.transport.snapshot
    return {
      messageStatus: sent.response.status === 0 ? 0 : sent.response.status.value,
      messageCSeq: sent.request.cseq?.seq,
      received,
      sent: snapshot.counters.sent,
      receivedMessages: snapshot.counters.received
    }
  }))
  yield* Effect.timeoutOption(Deferred.await(deregistered), "2 seconds")
  yield* Console.log(`result ${JSON.stringify({ ...outcome, statuses })}`)
  if (outcome.received !== BODY || outcome.messageStatus !== 200 || statuses.at(-1) !== "INACTIVE") {
    return yield* Effect.fail(new Error("the exchange did not complete"))
  }
}).pipe(Effect.provide(Layer.merge(VoIPSettings.layer, NodeDns.layer)))

NodeRuntime.runMain(main)
