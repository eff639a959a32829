/**
 * Retry-After in the registration loop (RFC 3261 §20.33, §21.5.4): a
 * failure response that says when to come back sets the next attempt,
 * instead of the backoff, on the in-memory network and TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { SIPClient } from "../../../src/sip/client/SIPClient.ts"
import { clientLayer, registrar, reply, settle, world } from "./helpers.ts"

const registering = Effect.gen(function*() {
  const client = yield* Effect.provideContext(Effect.service(SIPClient), yield* Layer.build(clientLayer()))
  yield* settle
  return client
})

const times = (exchanges: ReadonlyArray<{ readonly at: number }>) => exchanges.map(({ at }) => at)

describe("Retry-After", () => {
  it.effect("a 503 with Retry-After: 30 → the next REGISTER exactly 30 s later, not after the 5 s backoff", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next((request) => reply(request, 503, [["Retry-After", "30"]]))
      const client = yield* registering
      const registered = yield* Effect.forkChild(client.registered)
      yield* TestClock.adjust("29999 millis")
      yield* settle
      expect(times(server.requests())).toEqual([0])
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(registered)
      // at 30 s: the REGISTER, challenged, and again with credentials
      expect(times(server.requests())).toEqual([0, 30_000, 30_000])
    }).pipe(Effect.provide(world())))

  it.effect("a comment and parameters may follow the seconds (§20.33)", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next((request) => reply(request, 500, [["Retry-After", "120 (maintenance);duration=600"]]))
      const client = yield* registering
      const registered = yield* Effect.forkChild(client.registered)
      yield* TestClock.adjust("119 seconds")
      yield* settle
      expect(times(server.requests())).toEqual([0])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(registered)
      expect(times(server.requests())).toEqual([0, 120_000, 120_000])
    }).pipe(Effect.provide(world())))

  it.effect("a wild Retry-After is capped at an hour", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next((request) => reply(request, 503, [["Retry-After", "4000000000"]]))
      const client = yield* registering
      const registered = yield* Effect.forkChild(client.registered)
      yield* TestClock.adjust("59 minutes")
      yield* settle
      expect(times(server.requests())).toEqual([0])
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(registered)
      expect(times(server.requests())).toEqual([0, 3_600_000, 3_600_000])
    }).pipe(Effect.provide(world())))

  it.effect("after a Retry-After, a failure without one backs off as usual", () =>
    Effect.gen(function*() {
      const server = yield* registrar()
      yield* server.next(
        (request) => reply(request, 503, [["Retry-After", "30"]]),
        (request) => reply(request, 500)
      )
      const client = yield* registering
      const registered = yield* Effect.forkChild(client.registered)
      yield* TestClock.adjust("30 seconds")
      yield* settle
      expect(times(server.requests())).toEqual([0, 30_000])
      // second consecutive failure: the 10 s step of the backoff
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(registered)
      expect(times(server.requests())).toEqual([0, 30_000, 40_000, 40_000])
    }).pipe(Effect.provide(world())))
})
