/**
 * Shared pieces of the transport tests: requests to send, the settings and
 * DNS layers, and a collector for a transport's incoming messages.
 */
import { NodeDns } from "@effect/platform-node"
import { Effect, Layer, Logger, Queue, Result, Stream } from "effect"
import * as Net from "node:net"
import { type Settings, VoIPSettings } from "../../src/Config.ts"
import * as SIPMessage from "../../src/sip/SIPMessage.ts"
import { formatEndpoint, type IncomingMessage, type SipTransport } from "../../src/transport/SipTransport.ts"

/** Settings and the system resolver, as every transport needs them. */
export const environment = (overrides: Partial<Settings> = {}) =>
  Layer.mergeAll(VoIPSettings.layerWith(overrides), NodeDns.layer)

/** Sleeps on the real clock, whatever `Clock` the test runs on (sockets live in real time). */
export const realSleep = (millis: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/** Fails the test when `effect` takes more than 5 real seconds. */
export const within = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.raceFirst(effect, Effect.andThen(realSleep(5000), Effect.die(new Error(`${what}: not within 5 s`))))

let sequence = 0

/** An OPTIONS request from `from` (its sent-by) to `to`, over `transport`. */
export const options = (params: {
  readonly transport: string
  readonly sentBy: { readonly address: string; readonly port: number }
  readonly to: { readonly address: string; readonly port: number }
  readonly body?: string
}): SIPMessage.SIPMessage => {
  const n = ++sequence
  const target = formatEndpoint(params.to)
  const built = SIPMessage.request({
    method: "OPTIONS",
    uri: `sip:bob@${target}`,
    headers: [
      ["Via", `SIP/2.0/${params.transport} ${formatEndpoint(params.sentBy)};branch=z9hG4bK-test-${n}`],
      ["Max-Forwards", "70"],
      ["From", `<sip:alice@${formatEndpoint(params.sentBy)}>;tag=from-${n}`],
      ["To", `<sip:bob@${target}>`],
      ["Call-ID", `call-${n}@test`],
      ["CSeq", `${n} OPTIONS`]
    ],
    ...(params.body === undefined ? {} : { body: params.body, contentType: "text/plain" })
  })
  return Result.getOrThrow(built)
}

/** The 200 OK to `request`. */
export const ok = (request: SIPMessage.SIPMessage): SIPMessage.SIPMessage =>
  Result.getOrThrow(SIPMessage.response(request, 200, { toTag: "answer" }))

/**
 * Collects a transport's incoming messages into a queue for the test to take
 * one at a time, for as long as the test's scope lasts.
 */
export const collect = (transport: SipTransport["Service"]) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<IncomingMessage>()
    yield* transport.incoming.pipe(Stream.runForEach((message) => Queue.offer(queue, message)), Effect.forkScoped)
    return {
      next: within("a message to arrive", Queue.take(queue)),
      pending: Queue.size(queue)
    }
  })

export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
export const encode = (text: string): Uint8Array => new TextEncoder().encode(text)

/**
 * A plain TCP client for feeding a stream transport bytes exactly as a test
 * wants them, closed with the test's scope.
 */
export const rawClient = (to: { readonly address: string; readonly port: number }) =>
  Effect.gen(function*() {
    const socket = yield* Effect.acquireRelease(
      Effect.callback<Net.Socket, Error>((resume) => {
        const socket = Net.createConnection({ host: to.address, port: to.port })
        socket.once("connect", () => resume(Effect.succeed(socket)))
        socket.once("error", (error) => resume(Effect.fail(error)))
      }),
      (socket) => Effect.sync(() => socket.destroy())
    )
    socket.on("error", () => {})
    let received = ""
    let closed = false
    socket.on("data", (data: Buffer) => (received += data.toString("latin1")))
    socket.on("close", () => (closed = true))
    const waitFor = (what: string, condition: () => boolean) =>
      within(
        what,
        Effect.callback<void>((resume) => {
          const timer = setInterval(() => {
            if (condition()) resume(Effect.void)
          }, 5)
          return Effect.sync(() => clearInterval(timer))
        })
      )
    return {
      socket,
      write: (data: string | Uint8Array) =>
        Effect.callback<void>((resume) => {
          socket.write(data, () => resume(Effect.void))
        }),
      received: () => received,
      closed: () => closed,
      waitForText: (text: string) => waitFor(`receiving ${JSON.stringify(text)}`, () => received.includes(text)),
      waitForClose: waitFor("close", () => closed)
    }
  })

/** Polls `check` on the real clock until `condition` holds (tests on `TestClock` included). */
export const eventually = <A>(what: string, check: Effect.Effect<A>, condition: (value: A) => boolean) =>
  within(
    what,
    Effect.gen(function*() {
      while (true) {
        const value = yield* check
        if (condition(value)) return value
        yield* realSleep(10)
      }
    })
  )

/** Records log lines (level, message, annotations) instead of printing them. */
export const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly message: unknown; readonly annotations: Record<string, unknown> }> = []
  const logger = Logger.map(Logger.formatStructured, (entry) => {
    lines.push({ level: entry.level, message: entry.message, annotations: entry.annotations })
  })
  return { lines, layer: Logger.layer([logger]) }
}
