import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { localAddressToward } from "../../src/transport/Route.ts"

describe("Route.localAddressToward", () => {
  it.effect("the loopback address toward a loopback host, IPv4 and IPv6 (bracketed or not)", () =>
    Effect.gen(function*() {
      expect(yield* localAddressToward("127.0.0.1")).toEqual(Option.some("127.0.0.1"))
      expect(yield* localAddressToward("::1")).toEqual(Option.some("::1"))
      expect(yield* localAddressToward("[::1]")).toEqual(Option.some("::1"))
    }))

  it.effect("none for a name: it is not resolved here", () =>
    Effect.gen(function*() {
      expect(yield* localAddressToward("pbx.example.com")).toEqual(Option.none())
    }))
})
