import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import {
  formatAuth,
  formatContact,
  formatNameAddr,
  formatVia,
  parseAuth,
  parseAuthRange,
  parseContact,
  parseContactRange,
  parseContentType,
  parseContentTypeRange,
  parseCSeq,
  parseCSeqRange,
  parseEvent,
  parseEventRange,
  parseNameAddr,
  parseNameAddrList,
  parseNameAddrListRange,
  parseNameAddrRange,
  parseNonNegativeInt,
  parseNonNegativeIntRange,
  formatReplaces,
  parseReplaces,
  parseSessionExpires,
  parseSessionExpiresRange,
  parseSubscriptionState,
  parseSubscriptionStateRange,
  parseTokenList,
  parseTokenListRange,
  parseVia,
  parseViaRange,
  splitList
} from "../../src/sip/HeaderValues.ts"
import { parseUri, parseUriRange } from "../../src/sip/Uri.ts"
import type { SIPParseError } from "../../src/sip/SIPParseError.ts"
import { headerValue, headerValues, readTortureMessage } from "./HeaderTortureMessages.ts"

const ok = <A>(result: Result.Result<A, SIPParseError>): A => {
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const err = <A>(result: Result.Result<A, SIPParseError>): SIPParseError => {
  if (Result.isSuccess(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.success)}`)
  return result.failure
}

const entries = (map: ReadonlyMap<string, unknown>) => Object.fromEntries(map)

describe("splitList", () => {
  it("splits on top-level commas only", () => {
    expect(splitList(`a, "b,c" <sip:x>, <sip:y;p=1,2>,d`)).toEqual([`a`, `"b,c" <sip:x>`, `<sip:y;p=1,2>`, `d`])
    expect(splitList(`"a\\",b" <sip:x>,  c `)).toEqual([`"a\\",b" <sip:x>`, `c`])
    expect(splitList(`Digest realm="a", qop="auth,auth-int"`)).toEqual([`Digest realm="a"`, `qop="auth,auth-int"`])
  })

  it("keeps empty elements, trims SP/HTAB, returns [] for a blank value", () => {
    expect(splitList("a,,b,")).toEqual(["a", "", "b", ""])
    expect(splitList("\t a \t")).toEqual(["a"])
    expect(splitList("")).toEqual([])
    expect(splitList("  ")).toEqual([])
    expect(splitList(";;,,;;,;")).toEqual([";;", "", ";;", ";"])
  })

  it("an unterminated quote or bracket runs to the end", () => {
    expect(splitList(`"a, b`)).toEqual([`"a, b`])
    expect(splitList(`x, <sip:a, b`)).toEqual([`x`, `<sip:a, b`])
  })
})

describe("parseVia", () => {
  it("RFC 3261 §20.42 examples", () => {
    const [via] = ok(parseVia("SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7"))
    expect(via).toMatchObject({
      protocol: "SIP/2.0",
      transport: "UDP",
      host: "erlang.bell-telephone.com",
      port: 5060,
      branch: "z9hG4bK87asdks7",
      received: undefined,
      rport: undefined
    })
    const [multicast] = ok(parseVia("SIP/2.0/UDP first.example.com:4000;ttl=16;maddr=224.2.0.1;branch=z9hG4bKa7c6a8dlze.1"))
    expect(multicast).toMatchObject({ ttl: 16, maddr: "224.2.0.1", branch: "z9hG4bKa7c6a8dlze.1" })
    expect(multicast!.params.size).toBe(0)
  })

  it("RFC 3581 rport: flag in requests, number in responses", () => {
    expect(ok(parseVia("SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff"))[0]!.rport).toBeNull()
    const [filled] = ok(parseVia("SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.1;rport=9988;branch=z9hG4bKkjshdyff"))
    expect(filled).toMatchObject({ received: "192.0.2.1", rport: 9988, port: 4540 })
  })

  it("wsinv: LWS around '/', ';', '=' and ',' and three values in two headers", () => {
    const vias = headerValues(readTortureMessage("wsinv.dat"), "Via", "v").flatMap((value) => ok(parseVia(value)))
    expect(vias.map((via) => [via.protocol, via.transport, via.host, via.branch])).toEqual([
      ["SIP/2.0", "UDP", "192.0.2.2", "390skdjuw"],
      ["SIP/2.0", "TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["SIP/2.0", "UDP", "192.168.255.111", "z9hG4bK30239"]
    ])
    expect(ok(parseVia("SIP  /   2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8  ,  SIP/2.0/UDP h"))).toHaveLength(2)
  })

  it("transports: known and unknown transports, upper-cased", () => {
    const vias = headerValues(readTortureMessage("transports.dat"), "Via").map((value) => ok(parseVia(value))[0]!)
    expect(vias.map((via) => via.transport)).toEqual(["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
    expect(ok(parseVia("sip/2.0/wss example.com;branch=z9hG4bK1"))[0]).toMatchObject({ protocol: "SIP/2.0", transport: "WSS" })
  })

  it("longreq: 34 Via values written with every spelling of the header name", () => {
    const values = headerValues(readTortureMessage("longreq.dat"), "Via", "v")
    expect(values.flatMap((value) => ok(parseVia(value)))).toHaveLength(34)
  })

  it("esc02 / badbranch / badvers / intmeth: branch and version are taken as written", () => {
    expect(ok(parseVia("SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234"))[0]!.branch).toBe("z9hG4bK209%fzsnel234")
    expect(ok(parseVia(headerValue(readTortureMessage("badbranch.dat"), "Via")))[0]!.branch).toBe("z9hG4bK")
    expect(ok(parseVia(headerValue(readTortureMessage("badvers.dat"), "Via")))[0]!.protocol).toBe("SIP/7.0")
    expect(ok(parseVia(headerValue(readTortureMessage("intmeth.dat"), "Via")))[0]!.branch).toBe("z9hG4bK-.!%66*_+`'~")
  })

  it("RFC 5118: bracketed sent-by, received with and without brackets, IPv4-mapped", () => {
    const withDelim = ok(parseVia(headerValue(readTortureMessage("rfc5118", "via-received-param-with-delim.dat"), "Via")))
    expect(withDelim[0]).toMatchObject({ host: "2001:db8::9:1", received: "2001:db8::9:255", branch: "z9hG4bKas3-111" })
    const noDelim = ok(parseVia(headerValue(readTortureMessage("rfc5118", "via-received-param-no-delim.dat"), "Via")))
    expect(noDelim[0]).toMatchObject({ received: "2001:db8::9:255", branch: "z9hG4bKas3" })
    const multiple = headerValues(readTortureMessage("rfc5118", "mult-ip-in-header.dat"), "Via").map((v) => ok(parseVia(v))[0]!)
    expect(multiple.map((via) => [via.host, via.port, via.transport, via.received])).toEqual([
      ["2001:db8::9:1", 6050, "UDP", undefined],
      ["192.0.2.1", undefined, "UDP", undefined],
      ["2001:db8::9:255", undefined, "TCP", "192.0.2.200"]
    ])
    const mapped = headerValues(readTortureMessage("rfc5118", "ipv4-mapped-ipv6.dat"), "Via").map((v) => ok(parseVia(v))[0]!)
    expect(mapped.map((via) => [via.host, via.port])).toEqual([["::ffff:192.0.2.10", 19823], ["::ffff:192.0.2.2", undefined]])
  })

  it("unknown parameters keep their value as written", () => {
    const [via] = ok(parseVia(`SIP/2.0/UDP h;branch=z9hG4bK1;Alias;x-id="a b";keep=[2001:db8::1]`))
    expect(entries(via!.params)).toEqual({ alias: null, "x-id": `"a b"`, keep: "[2001:db8::1]" })
  })

  it("badinv01: empty parameters and list elements are rejected", () => {
    expect(headerValue(readTortureMessage("badinv01.dat"), "Via")).toBe("SIP/2.0/UDP 192.0.2.15;;,;,,")
    expect(err(parseVia("SIP/2.0/UDP 192.0.2.15;;,;,,")).offset).toBe(23)
    expect(err(parseVia("SIP/2.0/UDP a;branch=z9hG4bK1,")).reason).toContain("empty")
    expect(err(parseVia("SIP/2.0/UDP a, , SIP/2.0/UDP b")).reason).toContain("empty")
    expect(err(parseVia("")).offset).toBe(0)
  })

  it("rejects malformed sent-protocol, sent-by and typed parameters", () => {
    expect(err(parseVia("SIP/2.0 UDP host")).reason).toContain("/")
    expect(err(parseVia("SIP/2.0/UDPhost")).reason).toContain("space")
    expect(err(parseVia("SIP/2.0/UDP 2001:db8::1")).offset).toBe(12)
    expect(err(parseVia("SIP/2.0/UDP host:70000")).reason).toContain("65535")
    expect(err(parseVia("SIP/2.0/UDP host;ttl=256")).reason).toContain("255")
    expect(err(parseVia("SIP/2.0/UDP host;received=host.example.com")).offset).toBe(17)
    expect(err(parseVia("SIP/2.0/UDP host;received=[192.0.2.1]")).reason).toContain("received")
    expect(err(parseVia("SIP/2.0/UDP host;branch")).reason).toContain("branch")
    expect(err(parseVia("SIP/2.0/UDP host;rport=x")).reason).toContain("rport")
    expect(err(parseVia("SIP/2.0/UDP host;maddr=exa_mple")).reason).toContain("maddr")
    expect(err(parseVia("SIP/2.0/UDP host branch=1")).offset).toBe(17)
  })

  it("formatVia writes every field and parses back to the same value", () => {
    const input = "SIP/2.0/TCP [2001:db8::9:1]:5061;branch=z9hG4bK1;received=2001:db8::9:255;rport=5061;maddr=[ff02::1];ttl=1;x=\"y\";flag"
    const via = ok(parseVia(input))[0]!
    const text = formatVia(via)
    expect(text).toBe("SIP/2.0/TCP [2001:db8::9:1]:5061;rport=5061;branch=z9hG4bK1;received=2001:db8::9:255;maddr=[ff02::1];ttl=1;x=\"y\";flag")
    expect(ok(parseVia(text))).toEqual([via])
  })
})

describe("parseNameAddr", () => {
  it("RFC 3261 §20.20 / §20.39 examples", () => {
    const bell = ok(parseNameAddr(`"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s`))
    expect(bell).toMatchObject({ displayName: "A. G. Bell", tag: "a48s" })
    expect(bell.uri).toMatchObject({ user: "agb", host: "bell-telephone.com" })
    expect(ok(parseNameAddr("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8"))).toMatchObject({ displayName: "Anonymous", tag: "hyh8" })
    expect(ok(parseNameAddr("The Operator <sip:operator@cs.columbia.edu>;tag=287447")).displayName).toBe("The Operator")
    const bare = ok(parseNameAddr("sip:+12125551212@server.phone2net.com;tag=887s"))
    expect(bare).toMatchObject({ displayName: undefined, tag: "887s" })
    expect(bare.uri.params.size).toBe(0)
  })

  it("wsinv: addr-spec To with LWS around ';' and '=', From with escaped quote and backslash", () => {
    const message = readTortureMessage("wsinv.dat")
    const to = ok(parseNameAddr(headerValue(message, "To")))
    expect(to).toMatchObject({ displayName: undefined, tag: "1918181833n" })
    expect(to.uri).toMatchObject({ user: "vivekg", host: "chair-dnrc.example.com" })
    const from = ok(parseNameAddr(headerValue(message, "From")))
    expect(from.displayName).toBe(`J Rosenberg \\"`)
    expect(from.tag).toBe("98asjd8")
  })

  it("lwsdisp: no space between a token display name and '<'", () => {
    const from = ok(parseNameAddr(headerValue(readTortureMessage("lwsdisp.dat"), "From")))
    expect(from).toMatchObject({ displayName: "caller", tag: "323" })
    expect(ok(parseNameAddr(`"Name"<sip:a@b>`)).displayName).toBe("Name")
  })

  it("intmeth: quoted-pairs of control bytes and a display name of several unusual tokens", () => {
    const message = readTortureMessage("intmeth.dat")
    const to = ok(parseNameAddr(headerValue(message, "To")))
    expect(to.displayName).toBe("BEL:\u0007 NUL:\u0000 DEL:\u007f")
    expect(to.uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    const from = ok(parseNameAddr(headerValue(message, "From")))
    expect(from.displayName).toBe("token1~` token2'+_ token3*%!.-")
    expect(from.tag).toBe("_token~1'+`*%!-.")
    expect([...from.params.keys()]).toEqual(["fromparam''~+*_!.-%"])
  })

  it("esc01 / esc02 / escnull: escapes in URIs are decoded, in display names they are not", () => {
    expect(ok(parseNameAddr(headerValue(readTortureMessage("esc01.dat"), "From"))).uri.user).toBe("I have spaces")
    expect(ok(parseNameAddr(headerValue(readTortureMessage("esc02.dat"), "To"))).displayName).toBe("%Z%45")
    const escnull = readTortureMessage("escnull.dat")
    expect(ok(parseNameAddr(headerValue(escnull, "From")))).toMatchObject({ tag: "839923423" })
    expect(ok(parseNameAddr(headerValue(escnull, "To"))).uri.user).toBe("null-\u0000-null")
  })

  it("Refer-To with an escaped Replaces header (RFC 3515, RFC 3891)", () => {
    const referTo = ok(parseNameAddr("<sip:bob@biloxi.example.net?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>"))
    expect(referTo.uri.headers.get("Replaces")).toBe("12345@192.168.118.3;to-tag=12345;from-tag=5FFE-3994")
  })

  it("an empty quoted display name is kept as empty", () => {
    expect(ok(parseNameAddr(`"" <sip:a@b>`)).displayName).toBe("")
    expect(ok(parseNameAddr(`<sip:a@b>`)).displayName).toBeUndefined()
  })

  it("unksm2: other URI schemes are rejected as unsupported", () => {
    const message = readTortureMessage("unksm2.dat")
    expect(err(parseNameAddr(headerValue(message, "To"))).reason).toBe(`unsupported URI scheme "isbn"`)
    expect(err(parseNameAddr(headerValue(message, "From"))).reason).toBe(`unsupported URI scheme "http"`)
  })

  it("baddn / badaspec / quotbal: invalid display names and addr-specs", () => {
    const baddn = readTortureMessage("baddn.dat")
    expect(Result.isFailure(parseNameAddr(headerValue(baddn, "From")))).toBe(true)
    expect(Result.isFailure(parseNameAddr(headerValue(baddn, "To")))).toBe(true)
    const badaspec = headerValue(readTortureMessage("badaspec.dat"), "To")
    expect(badaspec).toBe(`"Watson, Thomas" < sip:t.watson@example.org >`)
    expect(err(parseNameAddr(badaspec)).offset).toBe(18)
    expect(err(parseNameAddr(headerValue(readTortureMessage("quotbal.dat"), "To"))).reason).toContain("unterminated")
  })

  it("rejects a second address, a missing '>' and an invalid tag", () => {
    expect(err(parseNameAddr("<sip:a@b>, <sip:c@d>")).reason).toContain("one address")
    expect(err(parseNameAddr("<sip:a@b")).reason).toContain(">")
    expect(err(parseNameAddr("<sip:a@b>;tag")).reason).toContain("tag")
    expect(err(parseNameAddr(`"x" sip:a@b`)).reason).toContain("<")
    expect(err(parseNameAddr("<sip:a@b> junk")).offset).toBe(10)
    expect(err(parseNameAddr("Bob sip:a@b")).offset).toBe(3)
  })

  it("formatNameAddr quotes the display name and parses back to the same value", () => {
    const value = ok(parseNameAddr(`"J \\"R\\" \\\\" <sip:j@example.com;transport=tcp>;tag=1;x="q r";f`))
    const text = formatNameAddr(value)
    expect(text).toBe(`"J \\"R\\" \\\\" <sip:j@example.com;transport=tcp>;tag=1;x="q r";f`)
    expect(ok(parseNameAddr(text))).toEqual(value)
    expect(formatNameAddr(ok(parseNameAddr("sip:a@b;tag=9")))).toBe("<sip:a@b>;tag=9")
  })
})

describe("parseNameAddrList", () => {
  it("wsinv Route and a Record-Route list", () => {
    const [route] = ok(parseNameAddrList(headerValue(readTortureMessage("wsinv.dat"), "Route")))
    expect(entries(route!.uri.params)).toEqual({ lr: null, unknownwith: "value", "unknown-no-value": null })
    const list = ok(parseNameAddrList("<sip:p1.example.com;lr>,<sip:p2.example.com;lr> , \"P3\" <sip:[2001:db8::1]:5070;lr>"))
    expect(list.map((entry) => [entry.displayName, entry.uri.host, entry.uri.port])).toEqual([
      [undefined, "p1.example.com", undefined],
      [undefined, "p2.example.com", undefined],
      ["P3", "2001:db8::1", 5070]
    ])
  })

  it("rejects empty elements", () => {
    expect(err(parseNameAddrList("<sip:a@b>,,<sip:c@d>")).reason).toContain("empty")
    expect(err(parseNameAddrList("")).offset).toBe(0)
  })
})

describe("parseContact", () => {
  it("'*' alone", () => {
    expect(ok(parseContact("*"))).toEqual({ star: true })
    expect(ok(parseContact(" * "))).toEqual({ star: true })
    expect(err(parseContact("*, <sip:a@b>")).offset).toBe(1)
  })

  it("wsinv: q and other parameters with LWS", () => {
    const contact = ok(parseContact(headerValue(readTortureMessage("wsinv.dat"), "m")))
    if (contact.star) throw new Error("not a star")
    expect(contact.contacts[0]).toMatchObject({ displayName: `Quoted string ""`, q: 0.33, expires: undefined })
    expect(entries(contact.contacts[0]!.params)).toEqual({ newparam: "newvalue", secondparam: null })
  })

  it("cparam01 / cparam02: parameters after an addr-spec belong to the header, inside <> to the URI", () => {
    const header = ok(parseContact(headerValue(readTortureMessage("cparam01.dat"), "Contact")))
    const uriParam = ok(parseContact(headerValue(readTortureMessage("cparam02.dat"), "Contact")))
    if (header.star || uriParam.star) throw new Error("not a star")
    expect(entries(header.contacts[0]!.params)).toEqual({ unknownparam: null })
    expect(header.contacts[0]!.uri.params.size).toBe(0)
    expect(entries(uriParam.contacts[0]!.uri.params)).toEqual({ unknownparam: null })
    expect(uriParam.contacts[0]!.params.size).toBe(0)
  })

  it("regbadct: an addr-spec with URI headers is rejected; regescrt: inside <> it is fine", () => {
    expect(err(parseContact(headerValue(readTortureMessage("regbadct.dat"), "Contact"))).reason).toContain("<...>")
    const good = ok(parseContact(headerValue(readTortureMessage("regescrt.dat"), "m")))
    if (good.star) throw new Error("not a star")
    expect(good.contacts[0]!.uri.headers.get("Route")).toBe("<sip:sip.example.com>")
  })

  it("scalar02: an overlarge expires is taken as 2**32-1", () => {
    const contact = ok(parseContact(headerValue(readTortureMessage("scalar02.dat"), "Contact")))
    if (contact.star) throw new Error("not a star")
    expect(contact.contacts[0]!.expires).toBe(4294967295)
  })

  it("escnull / esc02: separate contacts, escaped user parts", () => {
    const values = headerValues(readTortureMessage("escnull.dat"), "Contact")
    const users = values.map((value) => {
      const contact = ok(parseContact(value))
      return contact.star ? undefined : contact.contacts[0]!.uri.user
    })
    expect(users).toEqual(["\u0000", "\u0000\u0000"])
    expect(headerValues(readTortureMessage("esc02.dat"), "Contact")).toHaveLength(2)
  })

  it("lists, addr-spec lists, GRUU-style quoted parameters, IPv6", () => {
    const contact = ok(parseContact(
      `<sip:a@b>;expires=60, "X" <sip:c@[::ffff:192.0.2.2]>;q=0.5, sip:h1, sip:b@h2;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1`
    ))
    if (contact.star) throw new Error("not a star")
    expect(contact.contacts.map((c) => [c.uri.user, c.uri.host, c.expires, c.q])).toEqual([
      ["a", "b", 60, undefined],
      ["c", "::ffff:192.0.2.2", undefined, 0.5],
      [undefined, "h1", undefined, undefined],
      ["b", "h2", undefined, undefined]
    ])
    expect(entries(contact.contacts[3]!.params)).toEqual({
      "+sip.instance": `"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"`,
      "reg-id": "1"
    })
  })

  it("qvalue grammar", () => {
    const q = (value: string) => {
      const contact = parseContact(`<sip:a@b>;q=${value}`)
      return Result.isSuccess(contact) && !contact.success.star ? contact.success.contacts[0]!.q : "invalid"
    }
    expect(["0", "0.", "0.5", "0.123", "1", "1.0", "1.000"].map(q)).toEqual([0, 0, 0.5, 0.123, 1, 1, 1])
    expect(["1.5", "0.1234", "2", ".5", "1.001", "x"].map(q)).toEqual(Array(6).fill("invalid"))
  })

  it("badinv01: empty parameters are rejected", () => {
    expect(err(parseContact(headerValue(readTortureMessage("badinv01.dat"), "Contact"))).offset).toBe(28)
    expect(err(parseContact("<sip:a@b>;expires=soon")).reason).toContain("expires")
  })

  it("formatContact writes q and expires and parses back to the same value", () => {
    const header = ok(parseContact(`"Desk" <sip:a@192.0.2.1:5060;transport=udp>;expires=3600;q=0.7;+sip.instance="<urn:x>"`))
    if (header.star) throw new Error("not a star")
    const text = formatContact(header.contacts[0]!)
    expect(text).toBe(`"Desk" <sip:a@192.0.2.1:5060;transport=udp>;q=0.7;expires=3600;+sip.instance="<urn:x>"`)
    expect(ok(parseContact(text))).toEqual(header)
  })
})

describe("parseCSeq", () => {
  it("leading zeros and LWS (wsinv), unusual methods (intmeth)", () => {
    expect(ok(parseCSeq(headerValue(readTortureMessage("wsinv.dat"), "cseq")))).toEqual({ seq: 9, method: "INVITE" })
    expect(ok(parseCSeq(headerValue(readTortureMessage("intmeth.dat"), "CSeq")))).toEqual({
      seq: 139122385,
      method: "!interesting-Method0123456789_*+`.%indeed'~"
    })
    expect(ok(parseCSeq("4711 INVITE"))).toEqual({ seq: 4711, method: "INVITE" })
    expect(ok(parseCSeq("2147483647 ACK"))).toEqual({ seq: 2147483647, method: "ACK" })
  })

  it("scalar02 / scalarlg: numbers of 2**31 and more are rejected", () => {
    expect(err(parseCSeq(headerValue(readTortureMessage("scalar02.dat"), "CSeq"))).reason).toContain("2147483647")
    expect(err(parseCSeq(headerValue(readTortureMessage("scalarlg.dat"), "CSeq"))).offset).toBe(0)
    expect(err(parseCSeq("2147483648 INVITE")).offset).toBe(0)
  })

  it("rejects missing parts and extra text", () => {
    expect(err(parseCSeq("INVITE")).offset).toBe(0)
    expect(err(parseCSeq("1INVITE")).reason).toContain("space")
    expect(err(parseCSeq("-1 INVITE")).offset).toBe(0)
    expect(err(parseCSeq("1 ")).reason).toContain("method")
    expect(err(parseCSeq("1 INVITE x")).offset).toBe(9)
  })
})

describe("parseAuth", () => {
  it("RFC 3261 §20.44 / §22.4 challenge: quoted and bare values, empty opaque", () => {
    const challenge = ok(parseAuth(
      `Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5`
    ))
    expect(challenge.scheme).toBe("Digest")
    expect(challenge.token68).toBeUndefined()
    expect(entries(challenge.params)).toEqual({
      realm: "atlanta.com",
      domain: "sip:boxesbybob.com",
      qop: "auth",
      nonce: "f84f1cec41e6cbe5aea9c8e88d359",
      opaque: "",
      stale: "FALSE",
      algorithm: "MD5"
    })
  })

  it("commas inside quoted values do not split, escapes are resolved, names are lower-cased", () => {
    const challenge = ok(parseAuth(`DIGEST Realm = "a\\"b" ,QOP="auth,auth-int",nonce="n"`))
    expect(entries(challenge.params)).toEqual({ realm: `a"b`, qop: "auth,auth-int", nonce: "n" })
  })

  it("RFC 7616 §3.9.2 credentials with SHA-512-256 and userhash", () => {
    const credentials = ok(parseAuth(
      `Digest username="488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec", realm="api@example.org", uri="/doe.json", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, response="ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", userhash=true`
    ))
    expect(credentials.params.get("algorithm")).toBe("SHA-512-256")
    expect(credentials.params.get("nc")).toBe("00000001")
    expect(credentials.params.get("userhash")).toBe("true")
    expect(credentials.params.size).toBe(11)
  })

  it("regaut01: an unknown scheme with auth-params", () => {
    const value = headerValue(readTortureMessage("regaut01.dat"), "Authorization")
    expect(ok(parseAuth(value))).toEqual({ scheme: "NoOneKnowsThisScheme", params: new Map([["opaque-data", "here"]]), token68: undefined })
  })

  it("Basic credentials as token68, and a scheme alone", () => {
    expect(ok(parseAuth("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="))).toMatchObject({ scheme: "Basic", token68: "QWxhZGRpbjpvcGVuIHNlc2FtZQ==" })
    expect(ok(parseAuth("Negotiate abc="))).toMatchObject({ token68: "abc=" })
    expect(ok(parseAuth("  Digest  "))).toMatchObject({ scheme: "Digest", token68: undefined })
    expect(ok(parseAuth("Digest")).params.size).toBe(0)
  })

  it("rejects duplicates, missing commas, unquoted non-tokens and trailing garbage", () => {
    expect(err(parseAuth(`Digest realm="a", realm="b"`)).reason).toContain("twice")
    expect(err(parseAuth(`Digest realm="a" nonce="b"`)).offset).toBe(17)
    expect(err(parseAuth(`Digest uri=sip:a@b`)).offset).toBe(14)
    expect(err(parseAuth(`Digest realm="a`)).reason).toContain("unterminated")
    expect(err(parseAuth(`Digest realm="a",`)).reason).toContain("empty")
    expect(err(parseAuth(`Basic abc def`)).offset).toBe(10)
    expect(err(parseAuth(``)).offset).toBe(0)
    expect(err(parseAuth(`Digest"realm"`)).reason).toContain("space")
  })

  it("formatAuth: RFC 7616 quoting for challenges and credentials", () => {
    const challenge = ok(parseAuth(`Digest realm="r", qop="auth,auth-int", algorithm=SHA-256, nonce="n", opaque="o", stale=true`))
    expect(formatAuth(challenge)).toBe(`Digest realm="r", qop="auth,auth-int", algorithm=SHA-256, nonce="n", opaque="o", stale=true`)
    const credentials = ok(parseAuth(
      `Digest username="bob", realm="r", nonce="n", uri="sip:a@b", response="abc", algorithm=MD5, cnonce="c", qop=auth, nc=00000001, userhash=false`
    ))
    const text = formatAuth(credentials)
    expect(text).toBe(`Digest username="bob", realm="r", nonce="n", uri="sip:a@b", response="abc", algorithm=MD5, cnonce="c", qop=auth, nc=00000001, userhash=false`)
    expect(ok(parseAuth(text))).toEqual(credentials)
  })

  it("formatAuth: custom quoted set, non-token values always quoted, token68", () => {
    const value = { scheme: "X", params: new Map([["a", "tok"], ["b", "has space"], ["c", `q"`]]), token68: undefined }
    expect(formatAuth(value)).toBe(`X a=tok, b="has space", c="q\\""`)
    expect(formatAuth(value, new Set(["a"]))).toBe(`X a="tok", b="has space", c="q\\""`)
    expect(formatAuth({ scheme: "Basic", params: new Map(), token68: "QQ==" })).toBe("Basic QQ==")
    expect(formatAuth({ scheme: "Digest", params: new Map(), token68: undefined })).toBe("Digest")
  })
})

describe("parseContentType", () => {
  it("media types with parameters", () => {
    expect(ok(parseContentType("application/sdp"))).toEqual({ type: "application", subtype: "sdp", mediaType: "application/sdp", params: new Map() })
    const multipart = ok(parseContentType(`multipart/signed; protocol="application/pkcs7-signature"; MICALG=sha1 ;boundary=boundary42`))
    expect(multipart.mediaType).toBe("multipart/signed")
    expect(entries(multipart.params)).toEqual({ protocol: "application/pkcs7-signature", micalg: "sha1", boundary: "boundary42" })
    expect(ok(parseContentType(" Application / SDP ")).mediaType).toBe("application/sdp")
    expect(ok(parseContentType(headerValue(readTortureMessage("invut.dat"), "Content-Type"))).mediaType).toBe("application/unknownformat")
  })

  it("rejects incomplete media types and parameters without values", () => {
    expect(err(parseContentType("application")).reason).toContain("/")
    expect(err(parseContentType("application/")).reason).toContain("subtype")
    expect(err(parseContentType("text/plain;charset")).reason).toContain("charset")
    expect(err(parseContentType("text/plain;charset=[x]")).reason).toContain("charset")
    expect(err(parseContentType("text/plain x")).offset).toBe(11)
  })
})

describe("parseTokenList", () => {
  it("bext01 Require / Proxy-Require, Allow, empty Supported", () => {
    const message = readTortureMessage("bext01.dat")
    expect(ok(parseTokenList(headerValue(message, "Require")))).toEqual(["nothingSupportsThis", "nothingSupportsThisEither"])
    expect(ok(parseTokenList(headerValue(message, "Proxy-Require")))).toEqual(["noProxiesSupportThis", "norDoAnyProxiesSupportThis"])
    expect(ok(parseTokenList("INVITE,ACK ,  OPTIONS\t, BYE"))).toEqual(["INVITE", "ACK", "OPTIONS", "BYE"])
    expect(ok(parseTokenList(""))).toEqual([])
    expect(ok(parseTokenList("  "))).toEqual([])
  })

  it("rejects empty elements and non-token characters", () => {
    expect(err(parseTokenList("a,,b")).reason).toContain("empty")
    expect(err(parseTokenList("a,")).reason).toContain("empty")
    expect(err(parseTokenList("a b")).offset).toBe(2)
    expect(err(parseTokenList("timer;x")).offset).toBe(5)
  })
})

describe("parseNonNegativeInt", () => {
  it("leading zeros (wsinv Max-Forwards), LWS, saturation at 2**32-1 (scalar02)", () => {
    expect(ok(parseNonNegativeInt(headerValue(readTortureMessage("wsinv.dat"), "MaX-fOrWaRdS")))).toBe(68)
    expect(ok(parseNonNegativeInt(" 150 "))).toBe(150)
    expect(ok(parseNonNegativeInt("0"))).toBe(0)
    expect(ok(parseNonNegativeInt("4294967295"))).toBe(4294967295)
    expect(ok(parseNonNegativeInt(headerValue(readTortureMessage("scalar02.dat"), "Expires")))).toBe(4294967295)
  })

  it("ncl: negative values and other text are rejected", () => {
    expect(err(parseNonNegativeInt(headerValue(readTortureMessage("ncl.dat"), "Content-Length"))).offset).toBe(0)
    expect(err(parseNonNegativeInt("")).offset).toBe(0)
    expect(err(parseNonNegativeInt("1 2")).offset).toBe(2)
    expect(err(parseNonNegativeInt("12a")).offset).toBe(2)
    expect(err(parseNonNegativeInt("1.5")).offset).toBe(1)
  })
})

describe("parseEvent", () => {
  it("event packages, templates, id and other parameters (RFC 6665, RFC 3515)", () => {
    expect(ok(parseEvent("refer"))).toEqual({ event: "refer", id: undefined, params: new Map() })
    expect(ok(parseEvent("refer;id=93809824"))).toMatchObject({ event: "refer", id: "93809824" })
    expect(ok(parseEvent("presence.winfo")).event).toBe("presence.winfo")
    const dialog = ok(parseEvent(`dialog ; call-id="abc@host" ; ID = 7 ; include-session-description`))
    expect(dialog.id).toBe("7")
    expect(entries(dialog.params)).toEqual({ "call-id": `"abc@host"`, "include-session-description": null })
  })

  it("rejects a flag id and a missing event type", () => {
    expect(err(parseEvent("refer;id")).reason).toContain("id")
    expect(err(parseEvent(";id=1")).offset).toBe(0)
    expect(err(parseEvent("refer x")).offset).toBe(6)
  })
})

describe("parseSubscriptionState", () => {
  it("states with expires, reason and retry-after", () => {
    expect(ok(parseSubscriptionState("active;expires=60"))).toMatchObject({ state: "active", expires: 60, reason: undefined })
    expect(ok(parseSubscriptionState("Terminated;Reason=NoResource"))).toMatchObject({ state: "terminated", reason: "noresource" })
    const retry = ok(parseSubscriptionState("terminated;reason=timeout;retry-after=30;x=1"))
    expect(retry).toMatchObject({ reason: "timeout", retryAfter: 30 })
    expect(entries(retry.params)).toEqual({ x: "1" })
    expect(ok(parseSubscriptionState("pending")).params.size).toBe(0)
  })

  it("rejects invalid typed parameters", () => {
    expect(err(parseSubscriptionState("active;expires")).reason).toContain("expires")
    expect(err(parseSubscriptionState("active;expires=-1")).reason).toContain("expires")
    expect(err(parseSubscriptionState("terminated;reason")).reason).toContain("reason")
    expect(err(parseSubscriptionState("")).offset).toBe(0)
  })
})

describe("parseSessionExpires", () => {
  it("RFC 4028 values, Min-SE with parameters", () => {
    expect(ok(parseSessionExpires("4000;refresher=uac"))).toEqual({ deltaSeconds: 4000, refresher: "uac", params: new Map() })
    expect(ok(parseSessionExpires("1800 ; refresher = UAS")).refresher).toBe("uas")
    expect(ok(parseSessionExpires("1800")).refresher).toBeUndefined()
    expect(entries(ok(parseSessionExpires("90;foo=bar")).params)).toEqual({ foo: "bar" })
  })

  it("rejects an unknown refresher and non-numeric values", () => {
    expect(err(parseSessionExpires("90;refresher=proxy")).reason).toContain("refresher")
    expect(err(parseSessionExpires("abc")).offset).toBe(0)
    expect(err(parseSessionExpires("90x")).offset).toBe(2)
  })
})

describe("parseReplaces", () => {
  it("RFC 3891 values: the Call-ID with its @, the tags, early-only, LWS around ';'", () => {
    expect(ok(parseReplaces("12345@192.168.118.3;to-tag=12345;from-tag=5FFE-3994"))).toEqual({
      callId: "12345@192.168.118.3",
      toTag: "12345",
      fromTag: "5FFE-3994",
      earlyOnly: false
    })
    expect(ok(parseReplaces(" 425928@bobster.example.org ; from-tag=6472 ;to-tag=7743; early-only"))).toEqual({
      callId: "425928@bobster.example.org",
      toTag: "7743",
      fromTag: "6472",
      earlyOnly: true
    })
  })

  it("needs both tags and a Call-ID; formatReplaces parses back", () => {
    expect(err(parseReplaces("abc;to-tag=1")).reason).toContain("from-tag")
    expect(err(parseReplaces(";to-tag=1;from-tag=2")).offset).toBe(0)
    expect(err(parseReplaces("a b;to-tag=1;from-tag=2")).reason).toContain("Replaces")
    const replaces = { callId: "c@h", toTag: "t", fromTag: "f", earlyOnly: true }
    expect(ok(parseReplaces(formatReplaces(replaces)))).toEqual(replaces)
  })
})

describe("the …Range parsers", () => {
  // Each value sits inside longer text, as in a message's header section.
  const cases: ReadonlyArray<readonly [string, (value: string) => Result.Result<unknown, SIPParseError>, (text: string, start: number, end: number) => Result.Result<unknown, SIPParseError>, string, string]> = [
    ["Via", parseVia, parseViaRange, "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b", "SIP/2.0/UDP a;;"],
    ["name-addr", parseNameAddr, parseNameAddrRange, "\"A\" <sip:a@b>;tag=1", "<sip:a@b> x"],
    ["name-addr list", parseNameAddrList, parseNameAddrListRange, "<sip:p1;lr>, <sip:p2;lr>", "<sip:p1>,,"],
    ["Contact", parseContact, parseContactRange, "<sip:a@b>;expires=60;q=0.5", "*, <sip:a@b>"],
    ["CSeq", parseCSeq, parseCSeqRange, "7 BYE", "7 BYE x"],
    ["Content-Type", parseContentType, parseContentTypeRange, "application/sdp;charset=utf-8", "text/plain x"],
    ["token list", parseTokenList, parseTokenListRange, "100rel, timer", "a b"],
    ["delta-seconds", parseNonNegativeInt, parseNonNegativeIntRange, "3600", "12a"],
    ["Event", parseEvent, parseEventRange, "refer;id=3", "refer x"],
    ["Subscription-State", parseSubscriptionState, parseSubscriptionStateRange, "active;expires=60", ""],
    ["Session-Expires", parseSessionExpires, parseSessionExpiresRange, "1800;refresher=uac", "90x"],
    ["auth", parseAuth, parseAuthRange, "Digest realm=\"a\", nonce=\"b\"", "Basic abc def"],
    ["URI", parseUri, parseUriRange, "sip:alice@example.com;transport=tcp", "sip:user@host:5060x"]
  ]

  for (const [name, parse, parseRange, good, bad] of cases) {
    it(`${name}: read in place, errors at positions in the text`, () => {
      const prefix = "Header: "
      const text = `${prefix}${good}\r\nOther: ${bad}\r\n`
      expect(ok(parseRange(text, prefix.length, prefix.length + good.length))).toEqual(ok(parse(good)))
      const badStart = text.indexOf(bad, prefix.length + good.length)
      expect(err(parseRange(text, badStart, badStart + bad.length)).offset).toBe(badStart + err(parse(bad)).offset)
    })
  }
})
