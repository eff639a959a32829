/**
 * fast-check generators for SIP/SIPS/tel URIs and the pieces header
 * generators reuse (tokens, hosts).
 */
import * as fc from "fast-check"
import { make, type SIPURI } from "../../src/sip/Uri.ts"

const TOKEN_CHARS = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"]

export const tokenArb = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 12 })

export const lowerTokenArb = tokenArb.map((value) => value.toLowerCase())

/** Characters that matter to SIP grammars, to reach deep into the parsers with random input. */
const GRAMMAR_CHARS = [..." \t\"\\<>;,:=@[]%?&/+*.-_!~'`()$#abcsipAZ0129"]

const textUnit = fc.oneof(
  fc.constantFrom(...GRAMMAR_CHARS),
  fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 })
)

/** Any text without lone surrogates (so UTF-8 escaping can give it back exactly), rich in grammar characters. */
export const textArb = (minLength = 0) => fc.string({ unit: textUnit, minLength, maxLength: 12 })

export const hostArb = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6())

const portArb = fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined })

const uniqueEntries = <V>(name: fc.Arbitrary<string>, value: fc.Arbitrary<V>) =>
  fc.uniqueArray(fc.tuple(name, value), { selector: ([key]) => key, maxLength: 4 }).map((pairs) => new Map(pairs))

const uriParamName = textArb(1).map((name) => name.toLowerCase()).filter((name) => name.length > 0 && name === name.toLowerCase())

const uriParamsArb = uniqueEntries(uriParamName, fc.option(textArb(1), { nil: null }))

const sipUriArb: fc.Arbitrary<SIPURI> = fc
  .record({
    scheme: fc.constantFrom("sip" as const, "sips" as const),
    userinfo: fc.option(fc.tuple(textArb(1), fc.option(textArb(), { nil: undefined })), { nil: undefined }),
    host: hostArb,
    port: portArb,
    params: uriParamsArb,
    headers: uniqueEntries(textArb(1), textArb())
  })
  .map(({ userinfo, ...fields }) => make({ ...fields, user: userinfo?.[0], password: userinfo?.[1] }))

const digits = (chars: string, minLength: number) =>
  fc.string({ unit: fc.constantFrom(...chars), minLength, maxLength: 10 })

const telNumberArb = fc.oneof(
  fc.tuple(digits("0123456789", 1), digits("0123456789-.()", 0)).map(([a, b]) => `+${a}${b}`),
  fc.tuple(digits("0123456789abcdefABCDEF*#", 1), digits("0123456789-.()", 0)).map(([a, b]) => `${a}${b}`)
)

const telUriArb: fc.Arbitrary<SIPURI> = fc
  .record({ user: telNumberArb, params: uriParamsArb })
  .map((fields) => make({ scheme: "tel", host: "", ...fields }))

export const uriArb: fc.Arbitrary<SIPURI> = fc.oneof({ arbitrary: sipUriArb, weight: 4 }, { arbitrary: telUriArb, weight: 1 })

/** Random input: grammar characters, any code point, any UTF-16 code unit (lone surrogates too). */
export const grammarTextArb = fc.oneof(
  fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS), maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 20 }),
  fc.tuple(fc.constantFrom("sip:", "sips:", "tel:", "<sip:", "\"a\" <sip:", "SIP/2.0/UDP ", "Digest "), fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS), maxLength: 60 }))
    .map(([prefix, rest]) => prefix + rest)
)
