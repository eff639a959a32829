import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import { formatUri, parseUri } from "../../src/sip/Uri.ts"
import { grammarTextArb, uriArb } from "./UriArbitraries.ts"

describe("parseUri properties", () => {
  it("never throws: any string gives a Result", () => {
    fc.assert(fc.property(grammarTextArb, (input) => {
      expect(Result.isResult(parseUri(input))).toBe(true)
    }), { numRuns: 3000 })
  })

  it("parseUri(formatUri(u)) equals u for generated URIs", () => {
    fc.assert(fc.property(uriArb, (uri) => {
      const text = formatUri(uri)
      const parsed = parseUri(text)
      if (Result.isFailure(parsed)) throw new Error(`${text}: ${parsed.failure.message}`)
      expect(parsed.success).toEqual(uri)
    }), { numRuns: 2000 })
  })

  it("formatting is stable: format(parse(format(u))) equals format(u)", () => {
    fc.assert(fc.property(uriArb, (uri) => {
      const text = formatUri(uri)
      expect(formatUri(Result.getOrThrow(parseUri(text)))).toBe(text)
    }), { numRuns: 500 })
  })
})
