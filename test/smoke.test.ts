import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { version } from "../src/index.ts"
import { SIPParseError } from "../src/sip/SIPParseError.ts"

describe("package", () => {
  it.effect("exports a version", () => Effect.sync(() => expect(version).toBe("0.1.0")))
  it.effect("SIPParseError is a typed failure with a readable message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.fail(new SIPParseError({ reason: "bad start line", offset: 3 })))
      expect(error._tag).toBe("SIPParseError")
      expect(error.message).toBe("bad start line (at byte 3)")
      expect(process.version.startsWith("v24")).toBe(true)
    }))
})
