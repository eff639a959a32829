/**
 * The SIP client against real third-party peers on 127.0.0.1, over UDP and
 * TCP: the lab's sipp digest registrar (401 + qop=auth, refresh, unREGISTER;
 * its exit code 0 proves every step was right) and kamailio (401 for
 * REGISTER, raising a too short expiry to its min_expires of 10 s; 407 for
 * MESSAGE, which it relays back to our own binding).
 */
import { NodeDns } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Layer, Result, Scope, Stream } from "effect"
import { type Settings, VoIPSettings } from "../../../src/Config.ts"
import type { PhoneStatus } from "../../../src/sip/client/PhoneStatus.ts"
import { SIPClient, type StackOptions } from "../../../src/sip/client/SIPClient.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import { TransportMode } from "../../../src/transport/TransportMode.ts"
import { freePort, kamailio, labOut, registrar, traceMessages, waitUntil } from "./lab.ts"

/**
 * A client stack, recording its statuses: `deregister` closes the client
 * (which deregisters), `close` then closes the sockets below it. Kept apart
 * because sipp over TCP fails a registration whose connection closes within
 * its 300 ms end-of-call wait.
 */
const startClient = (options: StackOptions, settings: Partial<Settings> = {}) =>
  Effect.gen(function*() {
    const environment = Layer.merge(VoIPSettings.layerWith(settings), NodeDns.layer)
    const networkScope = yield* Scope.make()
    const network = yield* Layer.buildWithScope(SIPClient.layerNetwork(options).pipe(Layer.provide(environment)), networkScope)
    const clientScope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      SIPClient.layer(options).pipe(Layer.provide(Layer.merge(Layer.succeedContext(network), environment))),
      clientScope
    )
    const sip = yield* Effect.provideContext(Effect.service(SIPClient), context)
    const statuses: Array<PhoneStatus> = []
    yield* sip.statusChanges.pipe(
      Stream.runForEach((status) => Effect.sync(() => void statuses.push(status))),
      Effect.forkScoped
    )
    const deregister = Scope.close(clientScope, Exit.void)
    yield* Effect.addFinalizer(() => Effect.andThen(deregister, Scope.close(networkScope, Exit.void)))
    return { sip, statuses, deregister, close: Effect.andThen(deregister, Scope.close(networkScope, Exit.void)) }
  })

const within = <A, E, R>(what: string, millis: number, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.millis(millis),
    orElse: () => Effect.die(new Error(`${what}: not within ${millis} ms`))
  })

/** The REGISTER requests of a sipp message trace, with their CSeq, Expires and nonce count. */
const registers = (trace: string) =>
  traceMessages(trace).filter(({ sent, text }) => !sent && /^REGISTER /.test(text)).map(({ text }) => ({
    cseq: /^CSeq:\s*(\d+)/m.exec(text)?.[1],
    expires: /^Expires:\s*(\d+)/m.exec(text)?.[1],
    nc: /nc=([0-9a-f]{8})/.exec(text)?.[1]
  }))

/** alice (password alicepw) at the lab peer on 127.0.0.1:`port`, asking for 4 s so that a refresh comes soon. */
const alice = (port: number, mode: TransportMode) => ({
  server: "127.0.0.1",
  port,
  user: "alice",
  password: "alicepw",
  expires: 4,
  transport: mode,
  bind: { host: "127.0.0.1" }
})

const transports = [
  { name: "UDP", mode: TransportMode.UDP, sippFlags: [] },
  { name: "TCP", mode: TransportMode.TCP, sippFlags: ["-t", "t1"] }
] as const

describe("the sipp digest registrar", () => {
  for (const { mode, name, sippFlags } of transports) {
    it.live(`registers, refreshes with nc=00000002 and unregisters over ${name}`, () =>
      Effect.gen(function*() {
        const out = yield* labOut
        const port = yield* freePort
        const sipp = yield* registrar(out, port, sippFlags)
        const { deregister, sip, statuses } = yield* startClient(alice(port, mode))
        yield* within("registration", 5000, sip.registered)
        // granted 4 s: the refresh goes 2 s later, pre-emptively authorized
        yield* waitUntil(() => registers(sipp.messages()).length >= 3, 5000, () => `a refresh in\n${sipp.messages()}`)
        yield* deregister
        const code = yield* within("sipp's exit", 5000, sipp.proc.exited)
        expect({ code, output: code === 0 ? "" : `${sipp.proc.output()}\n${sipp.messages()}` }).toEqual({ code: 0, output: "" })
        expect(registers(sipp.messages())).toEqual([
          { cseq: "1", expires: "4", nc: undefined },
          { cseq: "2", expires: "4", nc: "00000001" },
          { cseq: "3", expires: "4", nc: "00000002" },
          { cseq: "4", expires: "0", nc: "00000003" }
        ])
        expect(statuses).toEqual(["REGISTERING", "REGISTERED", "DEREGISTERING", "INACTIVE"])
      }), 30_000)
  }

  it.live("a wrong password is InvalidAccountInfoError from the registrar's 403", () =>
    Effect.gen(function*() {
      const out = yield* labOut
      const port = yield* freePort
      yield* registrar(out, port)
      const { sip, statuses } = yield* startClient({
        server: "127.0.0.1",
        port,
        user: "alice",
        password: "wrong",
        bind: { host: "127.0.0.1" }
      }, { registerFailureThreshold: 1 })
      const error = yield* within("the failure", 5000, Effect.flip(sip.registered))
      expect(error.message).toBe(`credentials rejected by sipp.lab: 403 Forbidden (user "alice")`)
      expect(statuses.at(-1)).toBe("FAILED")
    }), 30_000)
})

describe("kamailio", () => {
  for (const { mode, name } of transports) {
    it.live(`registers, relays an authenticated MESSAGE back to us, refreshes on the granted expiry, unregisters over ${name}`, () =>
      Effect.gen(function*() {
        const out = yield* labOut
        const port = yield* freePort
        const proxy = yield* kamailio(out, port)
        const { close, sip, statuses } = yield* startClient(alice(port, mode))
        const delivered = yield* Deferred.make<string>()
        yield* sip.incoming.pipe(
          Stream.runForEach((event) => {
            if (event._tag !== "Request") return Effect.void
            const { request } = event.transaction
            const answered = Effect.ignore(event.transaction.respond(Result.getOrThrow(SIPMessage.response(request, 200, { toTag: "me" }))))
            return request.method === "MESSAGE"
              ? Effect.andThen(answered, Deferred.succeed(delivered, new TextDecoder().decode(request.rawBody)))
              : answered
          }),
          Effect.forkScoped
        )
        yield* within("registration", 5000, sip.registered)
        const registeredAt = Date.now()
        const message = yield* sip.createRequest("MESSAGE", "alice", { body: `hello over ${name}`, contentType: "text/plain" })
        const sent = yield* within("the MESSAGE", 5000, sip.sendAuthenticated(message))
        expect(sent.response.status).toMatchObject({ value: 200 })
        expect(sent.request.cseq?.seq).toBe(2) // 407, then answered
        expect(sent.request.headers.get("Proxy-Authorization")).toMatch(/^Digest username="alice", realm="kamailio.lab"/)
        expect(yield* within("the relayed MESSAGE", 5000, Deferred.await(delivered))).toBe(`hello over ${name}`)
        // we asked for 4 s; kamailio grants its min_expires, 10 s: the refresh goes 5 s later, not 2 s
        yield* waitUntil(() => (proxy.log().match(/registered alice \(expires 4\)/g) ?? []).length >= 2, 8000, () =>
          `a refresh in\n${proxy.log()}`)
        expect(Date.now() - registeredAt).toBeGreaterThanOrEqual(4500)
        yield* close
        // kamailio writes its log line just after its 200
        yield* waitUntil(() => /registered alice \(expires 0\)/.test(proxy.log()), 3000, () => `the unREGISTER in\n${proxy.log()}`)
        expect(statuses).toEqual(["REGISTERING", "REGISTERED", "DEREGISTERING", "INACTIVE"])
      }), 30_000)
  }
})
