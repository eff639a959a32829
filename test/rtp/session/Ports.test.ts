/**
 * The port allocator: range validation, even ports with RTCP on port + 1,
 * round-robin reuse, exhaustion, ports taken by other processes, and every
 * port given back when its scope closes, however it closes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Result, Scope } from "effect"
import { RTPPorts, validateRange } from "../../../src/rtp/Ports.ts"
import * as Ports from "../../../src/rtp/Ports.ts"
import * as RTPClient from "../../../src/rtp/RTPClient.ts"
import { mediaTo, sessionsLayer, rawSocket } from "./helpers.ts"

describe("RTP ports", () => {
  it("validates ranges", () => {
    const reason = (low: number, high: number) => {
      const result = validateRange({ low, high })
      return Result.isFailure(result) ? result.failure.message : "ok"
    }
    expect(reason(20000, 10000)).toBe("invalid RTP port range 20000-10000: low is above high")
    expect(reason(80, 100)).toBe("invalid RTP port range 80-100: ports must be within 1024-65535")
    expect(reason(65000, 65536)).toBe("invalid RTP port range 65000-65536: ports must be within 1024-65535")
    expect(reason(10000, 10000)).toBe("invalid RTP port range 10000-10000: no even port with port + 1 (RTCP) inside the range")
    expect(reason(10001, 10002)).toBe("invalid RTP port range 10001-10002: no even port with port + 1 (RTCP) inside the range")
    expect(reason(10000.5, 10010)).toBe("invalid RTP port range 10000.5-10010: ports must be integers")
    expect(reason(10000, 10001)).toBe("ok")
  })

  it.effect("hands out even ports round-robin, fails when used up, and reuses a released port last", () =>
    Effect.gen(function*() {
      const ports = yield* Ports.make({ low: 21501, high: 21507 })
      expect(ports.capacity).toBe(3)
      const first = yield* Scope.make()
      expect(yield* ports.acquire.pipe(Scope.provide(first))).toBe(21502)
      expect(yield* ports.acquire).toBe(21504)
      expect(yield* ports.acquire).toBe(21506)
      const exhausted = yield* Effect.flip(ports.acquire)
      expect(exhausted.message).toBe("no free RTP port pair in 21501-21507 (3 in use)")
      yield* Scope.close(first, Exit.void)
      expect(yield* ports.inUse).toBe(2)
      expect(yield* ports.acquire).toBe(21502)
    }))

  it.effect("the layer fails on an invalid range", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(RTPPorts.layer({ low: 5000, high: 4000 })))
      expect(error._tag).toBe("InvalidRangeError")
    }))

  it.live("a port another process holds is skipped: the bind moves on to the next pair", () =>
    Effect.gen(function*() {
      const ports = yield* RTPPorts
      // Another process holds the RTCP port of the first pair, so that pair's second bind fails.
      yield* rawSocket("127.0.0.1", 21601)
      const session = yield* RTPClient.make({ address: "127.0.0.1" })
      expect(session.localPort).toBe(21602)
      expect(yield* ports.inUse).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(sessionsLayer(21600, 21610))))

  it.live("100 sessions opened and closed, failed or interrupted give every port back", () =>
    Effect.gen(function*() {
      const ports = yield* RTPPorts
      for (let i = 0; i < 100; i++) {
        switch (i % 4) {
          case 0:
            yield* Effect.scoped(RTPClient.make({ address: "127.0.0.1", media: mediaTo(30000) }))
            break
          case 1: {
            // interrupted while the session runs
            const fiber = yield* Effect.forkChild(
              Effect.scoped(Effect.andThen(RTPClient.make({ address: "127.0.0.1", media: mediaTo(30000) }), Effect.never))
            )
            yield* Effect.sleep("5 millis")
            yield* Fiber.interrupt(fiber)
            break
          }
          case 2: {
            // interrupted while binding
            const fiber = yield* Effect.forkChild(Effect.scoped(RTPClient.make({ address: "127.0.0.1" })), {
              startImmediately: true
            })
            yield* Fiber.interrupt(fiber)
            break
          }
          case 3: {
            // failed after the bind: an unusable remote address
            const exit = yield* Effect.exit(
              Effect.scoped(RTPClient.make({ address: "127.0.0.1", media: mediaTo(30000, { remoteAddress: "pbx.example" }) }))
            )
            expect(Exit.isFailure(exit)).toBe(true)
            break
          }
        }
      }
      expect(yield* ports.inUse).toBe(0)
    }).pipe(Effect.provide(sessionsLayer(21700, 21799))), { timeout: 60_000 })
})
