import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { readVectorJson } from "../support/vectors.ts"
import { formatUri, hostPort, make, parseUri, schemeOfUri, type SIPURI } from "../../src/sip/Uri.ts"
import { headerValue, readTortureMessage, requestUri } from "./HeaderTortureMessages.ts"

const parsed = (input: string): SIPURI => {
  const result = parseUri(input)
  if (Result.isFailure(result)) throw new Error(`${input}: ${result.failure.message}`)
  return result.success
}

const failure = (input: string) => {
  const result = parseUri(input)
  if (Result.isSuccess(result)) throw new Error(`${input} should not parse`)
  return result.failure
}

const entries = (map: ReadonlyMap<string, unknown>) => Object.fromEntries(map)

describe("parseUri: RFC 3261 §19.1.3 examples", () => {
  it("sip:alice@atlanta.com", () => {
    const uri = parsed("sip:alice@atlanta.com")
    expect(uri).toMatchObject({ scheme: "sip", user: "alice", password: undefined, host: "atlanta.com", port: undefined })
    expect(uri.params.size).toBe(0)
    expect(uri.headers.size).toBe(0)
  })

  it("password and transport parameter", () => {
    const uri = parsed("sip:alice:secretword@atlanta.com;transport=tcp")
    expect(uri).toMatchObject({ user: "alice", password: "secretword", host: "atlanta.com" })
    expect(entries(uri.params)).toEqual({ transport: "tcp" })
  })

  it("sips with escaped header values", () => {
    const uri = parsed("sips:alice@atlanta.com?subject=project%20x&priority=urgent")
    expect(uri.scheme).toBe("sips")
    expect(entries(uri.headers)).toEqual({ subject: "project x", priority: "urgent" })
  })

  it("telephone-subscriber user with password and user=phone", () => {
    const uri = parsed("sip:+1-212-555-1212:1234@gateway.com;user=phone")
    expect(uri).toMatchObject({ user: "+1-212-555-1212", password: "1234", host: "gateway.com" })
    expect(entries(uri.params)).toEqual({ user: "phone" })
  })

  it("IPv4 host, no user, method parameter and header", () => {
    expect(parsed("sip:alice@192.0.2.4").host).toBe("192.0.2.4")
    const uri = parsed("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com")
    expect(uri.user).toBeUndefined()
    expect(entries(uri.params)).toEqual({ method: "REGISTER" })
    expect(entries(uri.headers)).toEqual({ to: "alice@atlanta.com" })
  })

  it("';' inside the user part (alice;day=tuesday)", () => {
    const uri = parsed("sip:alice;day=tuesday@atlanta.com")
    expect(uri.user).toBe("alice;day=tuesday")
    expect(uri.params.size).toBe(0)
  })

  it("telephone-subscriber with phone-context inside the user part (§19.1.6)", () => {
    const uri = parsed("sip:+1-212-555-1212;phone-context=x@host;user=phone")
    expect(uri.user).toBe("+1-212-555-1212;phone-context=x")
    expect(entries(uri.params)).toEqual({ user: "phone" })
  })

  it("scheme is case-insensitive, parameter names are lower-cased, flag parameters are null", () => {
    const uri = parsed("SIP:bob@Biloxi.com:5060;TRANSPORT=UDP;LR")
    expect(uri).toMatchObject({ scheme: "sip", host: "Biloxi.com", port: 5060 })
    expect(entries(uri.params)).toEqual({ transport: "UDP", lr: null })
  })

  it("host names with a trailing dot, hyphens and digits", () => {
    expect(parsed("sip:a@example.com.").host).toBe("example.com.")
    expect(parsed("sip:a@chair-dnrc.example.com").host).toBe("chair-dnrc.example.com")
    expect(parsed("sip:a@1and1.com").host).toBe("1and1.com")
    expect(parsed("sip:localhost:0").port).toBe(0)
    expect(parsed("sip:localhost:65535").port).toBe(65535)
  })

  it("maddr with an IPv6 reference as a parameter value", () => {
    expect(parsed("sip:a@example.com;maddr=[2001:db8::1]").params.get("maddr")).toBe("[2001:db8::1]")
  })
})

describe("parseUri: tel URIs (RFC 3966)", () => {
  it("global number with parameters", () => {
    const uri = parsed("tel:+1-201-555-0123;ext=22")
    expect(uri).toMatchObject({ scheme: "tel", user: "+1-201-555-0123", host: "", port: undefined })
    expect(entries(uri.params)).toEqual({ ext: "22" })
  })

  it("local number with phone-context", () => {
    const uri = parsed("TEL:7042;phone-context=example.com")
    expect(uri.scheme).toBe("tel")
    expect(uri.user).toBe("7042")
    expect(uri.params.get("phone-context")).toBe("example.com")
  })

  it("rejects numbers without digits, a '+' in the middle, headers", () => {
    expect(failure("tel:+").reason).toContain("telephone number")
    expect(failure("tel:12+34").reason).toContain("telephone number")
    expect(failure("tel:").reason).toContain("telephone number")
    expect(failure("tel:+123?subject=x").offset).toBe(8)
  })
})

describe("parseUri: escapes (RFC 4475 §3.1.1.3-5, §3.1.1.9)", () => {
  it("esc01: escaped ':' and '@' in the Request-URI user part", () => {
    const message = readTortureMessage("esc01.dat")
    const uri = parsed(requestUri(message))
    expect(requestUri(message)).toBe("sip:sips%3Auser%40example.com@example.net")
    expect(uri.user).toBe("sips:user@example.com")
    expect(uri.host).toBe("example.net")
    expect(parsed("sip:%75se%72@example.com").user).toBe("user")
  })

  it("esc01: escaped parameter names and values are unescaped once", () => {
    const uri = parsed("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
    expect(uri.user).toBe("caller")
    expect(entries(uri.params)).toEqual({ lr: null, name: "value%41" })
  })

  it("escnull: %00 is kept, not a terminator", () => {
    const uri = parsed("sip:null-%00-null@example.com")
    expect(uri.user).toBe("null-\u0000-null")
    expect(parsed("sip:%00%00@host5.example.com").user).toBe("\u0000\u0000")
  })

  it("semiuri: user part 'user;par=u@example.net'", () => {
    const uri = parsed(requestUri(readTortureMessage("semiuri.dat")))
    expect(uri.user).toBe("user;par=u@example.net")
    expect(uri.host).toBe("example.com")
    expect(uri.params.size).toBe(0)
  })

  it("intmeth: every legal user and password character", () => {
    const uri = parsed(requestUri(readTortureMessage("intmeth.dat")))
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    expect(uri.host).toBe("example.com")
  })

  it("escruri / regescrt: escaped Route header inside the URI", () => {
    const uri = parsed(requestUri(readTortureMessage("escruri.dat")))
    expect(entries(uri.headers)).toEqual({ Route: "<sip:example.com>" })
  })

  it("UTF-8 escapes decode to characters; invalid UTF-8 falls back to one character per byte", () => {
    expect(parsed("sip:J%C3%B6rg@example.com").user).toBe("Jörg")
    expect(parsed("sip:%FF@example.com").user).toBe("\u00ff")
  })

  it("rejects incomplete and non-hex escapes", () => {
    expect(failure("sip:a%2@example.com").offset).toBe(5)
    expect(failure("sip:a%zz@example.com").offset).toBe(5)
    expect(failure("sip:example.com;x=%4").reason).toContain("escape")
  })
})

describe("parseUri: rejections (RFC 4475 §3.1.2, §3.3)", () => {
  it("lwsruri: no whitespace inside a URI", () => {
    expect(failure("sip:user@example.com; lr").offset).toBe(21)
    expect(failure(" sip:user@example.com").offset).toBe(0)
    expect(failure("sip:user@example.com ").offset).toBe(20)
  })

  it("ltgtruri: a Request-URI in <>", () => {
    expect(requestUri(readTortureMessage("ltgtruri.dat"))).toBe("<sip:user@example.com>")
    expect(failure("<sip:user@example.com>").offset).toBe(0)
  })

  it("unkscm / novelsc / unksm2: other schemes fail as unsupported but are recognisable", () => {
    for (const uri of ["nobodyKnowsThisScheme:totallyopaquecontent", "soap.beep://192.0.2.103:3002", "isbn:2983792873"]) {
      expect(failure(uri).reason).toMatch(/^unsupported URI scheme/)
    }
    expect(schemeOfUri("soap.beep://192.0.2.103:3002")).toBe("soap.beep")
    expect(schemeOfUri("SIP:alice@example.com")).toBe("sip")
    expect(schemeOfUri("<sip:alice@example.com>")).toBeUndefined()
    expect(schemeOfUri("no-colon")).toBeUndefined()
  })

  it("ports outside 0-65535 and empty ports", () => {
    expect(failure("sip:user@host:65536").reason).toContain("65535")
    expect(failure("sip:user@host:").offset).toBe(14)
    expect(failure("sip:user@host:5060x").offset).toBe(18)
  })

  it("empty user, empty parameters and empty parameter values", () => {
    expect(failure("sip:@example.com").offset).toBe(4)
    expect(failure("sip::pw@example.com").offset).toBe(4)
    expect(failure("sip:user@example.com;").offset).toBe(21)
    expect(failure("sip:user@example.com;;lr").offset).toBe(21)
    expect(failure("sip:user@example.com;transport=").offset).toBe(31)
  })

  it("characters the grammar does not allow unescaped", () => {
    expect(failure("sip:us<er@example.com").offset).toBe(6)
    expect(failure("sip:user@exa>mple.com").offset).toBe(12)
    expect(failure("sip:user@example.com;a=\"b\"").offset).toBe(23)
    expect(failure("sip:us\"er@example.com").offset).toBe(6)
    expect(failure("sip:user@host@host").offset).toBe(13)
  })

  it("invalid host names and IPv4 addresses", () => {
    for (const host of ["999.1.1.1", "1.2.3", "host..com", "-host.com", "host-.com", "example.123", "host_name", "a.b.c.d."]) {
      expect(Result.isFailure(parseUri(`sip:user@${host}`)), host).toBe(host !== "a.b.c.d.")
    }
    expect(failure("sip:user@").reason).toContain("host")
    expect(failure("sip:").reason).toContain("host")
    expect(failure("").reason).toContain("scheme")
    expect(failure("sip").reason).toContain(":")
  })
})

describe("parseUri: IPv6 references (RFC 5118)", () => {
  interface Vector {
    readonly file: string
    readonly expect: string
  }
  const vectors = readVectorJson<ReadonlyArray<Vector>>("sip-torture", "rfc5118", "index.json")

  it.each(vectors.map((vector) => [vector.file, vector.expect] as const))("%s Request-URI (%s)", (file, expected) => {
    const uri = requestUri(readTortureMessage("rfc5118", file))
    expect(Result.isSuccess(parseUri(uri))).toBe(expected !== "invalid")
  })

  it("ipv6-good / port-unambiguous / port-ambiguous", () => {
    expect(parsed("sip:[2001:db8::10]")).toMatchObject({ host: "2001:db8::10", port: undefined })
    expect(parsed("sip:[2001:db8::10]:5070")).toMatchObject({ host: "2001:db8::10", port: 5070 })
    expect(parsed("sip:[2001:db8::10:5070]")).toMatchObject({ host: "2001:db8::10:5070", port: undefined })
  })

  it("ipv6-bad: IPv6 without brackets is rejected", () => {
    expect(requestUri(readTortureMessage("rfc5118", "ipv6-bad.dat"))).toBe("sip:2001:db8::10")
    expect(Result.isFailure(parseUri("sip:2001:db8::10"))).toBe(true)
    expect(Result.isFailure(parseUri("sip:user@2001:db8::10"))).toBe(true)
  })

  it("IPv4 tails: ::ffff:a.b.c.d, the two-colon form, and the tolerated three-colon form (read as two)", () => {
    expect(parsed("sip:ted@[::ffff:192.0.2.2]").host).toBe("::ffff:192.0.2.2")
    expect(parsed("sip:user@[2001:db8::192.0.2.1]").host).toBe("2001:db8::192.0.2.1")
    expect(parsed("sip:user@[2001:db8:::192.0.2.1]").host).toBe("2001:db8::192.0.2.1")
    expect(parsed("sip:[:::192.0.2.1]").host).toBe("::192.0.2.1")
  })

  it("full, compressed and edge forms", () => {
    for (const ok of ["1:2:3:4:5:6:7:8", "::", "::1", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "fe80::1:2", "1:2:3:4:5:6:1.2.3.4"]) {
      expect(parsed(`sip:[${ok}]`).host).toBe(ok)
    }
    for (const bad of [
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::1",
      "1:::2",
      ":1",
      "1:",
      "g::1",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::1.2.3",
      "::256.1.1.1",
      ""
    ]) {
      expect(Result.isFailure(parseUri(`sip:[${bad}]`)), bad).toBe(true)
    }
    expect(failure("sip:[2001:db8::1").reason).toContain("unterminated")
  })
})

describe("formatUri", () => {
  it("writes parsed URIs back (escapes normalised to upper-case hex)", () => {
    for (const input of [
      "sip:alice:secretword@atlanta.com;transport=tcp",
      "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
      "sip:+1-212-555-1212;phone-context=x@host;user=phone",
      "sip:user@[2001:db8::10]:5070;lr",
      "tel:+1-201-555-0123;ext=22",
      "sip:sips%3Auser%40example.com@example.net",
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"
    ]) {
      expect(formatUri(parsed(input))).toBe(input)
    }
    expect(formatUri(parsed("sip:cal%6cer@h;n%61me=v%61lue%25%34%31"))).toBe("sip:caller@h;name=value%2541")
  })

  it("escapes what the user, password, parameter and header grammars do not allow", () => {
    const uri = make({
      user: "a b@c:d%",
      password: "p:w@",
      host: "example.com",
      params: { "Na=me": "v;a l" },
      headers: { Route: "<sip:x@y>", "a&b": "c=d" }
    })
    const text = formatUri(uri)
    expect(text).toBe("sip:a%20b%40c%3Ad%25:p%3Aw%40@example.com;na%3Dme=v%3Ba%20l?Route=%3Csip:x%40y%3E&a%26b=c%3Dd")
    expect(parsed(text)).toEqual(uri)
  })

  it("non-ASCII characters are written as UTF-8 escapes", () => {
    const uri = make({ user: "Jörg", host: "example.com" })
    expect(formatUri(uri)).toBe("sip:J%C3%B6rg@example.com")
    expect(parsed(formatUri(uri))).toEqual(uri)
  })
})

describe("make and hostPort", () => {
  it("make fills defaults, lower-cases parameter names and strips IPv6 brackets", () => {
    const uri = make({ host: "[2001:db8::1]", port: 5060, params: new Map([["Transport", "tcp"]]) })
    expect(uri).toMatchObject({ scheme: "sip", user: undefined, host: "2001:db8::1", port: 5060 })
    expect(entries(uri.params)).toEqual({ transport: "tcp" })
    expect(formatUri(uri)).toBe("sip:[2001:db8::1]:5060;transport=tcp")
    expect(formatUri(make({ scheme: "tel", user: "+15551234", host: "" }))).toBe("tel:+15551234")
  })

  it("hostPort brackets IPv6 and omits a missing port", () => {
    expect(hostPort(parsed("sip:a@[2001:db8::1]:5061"))).toBe("[2001:db8::1]:5061")
    expect(hostPort(parsed("sip:a@example.com"))).toBe("example.com")
    expect(hostPort(parsed("sip:a@192.0.2.1:5060"))).toBe("192.0.2.1:5060")
  })

  it("a repeated URI header keeps both values", () => {
    expect(entries(parsed("sip:a@b?Route=%3Csip:x%3E&Route=%3Csip:y%3E").headers)).toEqual({ Route: "<sip:x>,<sip:y>" })
  })
})

describe("torture header URIs", () => {
  it("regescrt: Contact URI with an escaped Route header", () => {
    const contact = headerValue(readTortureMessage("regescrt.dat"), "Contact", "m")
    expect(contact).toBe("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")
    expect(entries(parsed(contact.slice(1, -1)).headers)).toEqual({ Route: "<sip:sip.example.com>" })
  })
})
