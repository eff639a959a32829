/**
 * fast-check generators for Via, name-addr, Contact and authentication
 * header values, built from the URI generators.
 */
import * as fc from "fast-check"
import type { AuthHeader, Contact, NameAddr, Via } from "../../src/sip/HeaderValues.ts"
import { hostArb, lowerTokenArb, textArb, tokenArb, uriArb } from "./UriArbitraries.ts"

/** Text that a quoted-string can carry: anything but CR and LF. */
const quotableArb = textArb().map((value) => value.replace(/[\r\n]/g, ""))

/** A quoted-string as written on the wire: `"`, `\` and control characters (but HTAB) as quoted-pairs. */
const rawQuotedArb = quotableArb.map((value) => `"${value.replace(/["\\\x00-\x08\x0b-\x1f\x7f]/g, "\\$&")}"`)

const genericValueArb = fc.option(fc.oneof(tokenArb, rawQuotedArb, fc.ipV6().map((address) => `[${address}]`)), { nil: null })

const headerParamsArb = (typed: ReadonlyArray<string>) =>
  fc
    .uniqueArray(fc.tuple(lowerTokenArb.filter((name) => !typed.includes(name)), genericValueArb), {
      selector: ([name]) => name,
      maxLength: 3
    })
    .map((pairs) => new Map(pairs))

const optional = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })

export const viaArb: fc.Arbitrary<Via> = fc.record({
  protocol: fc.oneof(fc.constant("SIP/2.0"), fc.tuple(tokenArb, tokenArb).map(([name, version]) => `${name.toUpperCase()}/${version}`)),
  transport: tokenArb.map((transport) => transport.toUpperCase()),
  host: hostArb,
  port: optional(fc.integer({ min: 0, max: 65535 })),
  branch: optional(tokenArb),
  received: optional(fc.oneof(fc.ipV4(), fc.ipV6())),
  rport: fc.option(fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }), { nil: undefined }),
  maddr: optional(hostArb),
  ttl: optional(fc.integer({ min: 0, max: 255 })),
  params: headerParamsArb(["branch", "received", "rport", "maddr", "ttl"])
})

export const nameAddrArb: fc.Arbitrary<NameAddr> = fc.record({
  displayName: optional(quotableArb),
  uri: uriArb,
  params: headerParamsArb(["tag"]),
  tag: optional(tokenArb)
})

export const contactArb: fc.Arbitrary<Contact> = fc.record({
  displayName: optional(quotableArb),
  uri: uriArb,
  params: headerParamsArb(["tag", "q", "expires"]),
  tag: optional(tokenArb),
  expires: optional(fc.integer({ min: 0, max: 4294967295 })),
  q: optional(fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000))
})

export const authArb: fc.Arbitrary<AuthHeader> = fc.oneof(
  fc.record({
    scheme: tokenArb,
    params: fc.uniqueArray(fc.tuple(lowerTokenArb, quotableArb), { selector: ([name]) => name, maxLength: 6 }).map((pairs) => new Map(pairs)),
    token68: fc.constant(undefined)
  }),
  fc.record({
    scheme: tokenArb,
    params: fc.constant(new Map<string, string>()),
    token68: fc.tuple(fc.string({ unit: fc.constantFrom(..."abcXYZ019-._~+/"), minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 2 }))
      .map(([body, padding]) => body + "=".repeat(padding))
  })
)
