import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Result } from "effect"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import { CredentialsManager, makeCredentials } from "../../../src/Credentials.ts"
import {
  answerChallenges,
  type AuthPolicy,
  type AuthRequest,
  authorize,
  authorizeAgain,
  type Challenge,
  type ChallengeHeader,
  type CredentialsHeader,
  isStale,
  MalformedChallengeError,
  parseChallenge,
  randomCnonce,
  selectChallenges,
  UnsupportedAuthError
} from "../../../src/sip/auth/Digest.ts"
import { type AuthHeader, parseAuth } from "../../../src/sip/HeaderValues.ts"

const PASSWORD = "zanzibar-S3cret"
const bob = makeCredentials("bob", PASSWORD)
const defaults: AuthPolicy = { allowBasicAuth: false, allowMd5Auth: true }
const register: AuthRequest = { method: "REGISTER", uri: "sip:biloxi.com" }

const auth = (scheme: string, params: Record<string, string>): AuthHeader => ({
  scheme,
  params: new Map(Object.entries(params)),
  token68: undefined
})
const digest = (params: Record<string, string>): AuthHeader =>
  auth("Digest", { realm: "biloxi.com", nonce: "n1", qop: "auth", ...params })

const challenge = (header: AuthHeader, from: ChallengeHeader = "WWW-Authenticate"): Challenge =>
  Result.getOrThrow(parseChallenge(header, from))

const answer = (
  header: AuthHeader,
  request: AuthRequest = register,
  options: Partial<Parameters<typeof authorize>[3]> = {}
): CredentialsHeader =>
  Result.getOrThrow(authorize(challenge(header), bob, request, { policy: defaults, cnonce: "c0ffee", ...options }))

const sent = (header: CredentialsHeader): ReadonlyMap<string, string> => Result.getOrThrow(parseAuth(header.value)).params

const md5 = (text: string | Uint8Array) => createHash("md5").update(text).digest("hex")

const failureOf = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

describe("parseChallenge", () => {
  it("reads a Digest challenge with RFC defaults: MD5, not stale, no userhash", () => {
    expect(challenge(auth("digest", { realm: "r", nonce: "n" }), "Proxy-Authenticate")).toEqual({
      _tag: "DigestChallenge",
      header: "Proxy-Authenticate",
      realm: "r",
      nonce: "n",
      algorithm: "MD5",
      qop: [],
      opaque: undefined,
      stale: false,
      userhash: false
    })
  })

  it("reads algorithm, qop list, opaque, stale and userhash case-insensitively", () => {
    expect(
      challenge(digest({ algorithm: "sha-256-SESS", qop: " Auth-Int , auth-conf,auth", opaque: "o", stale: "TRUE", userhash: "true" }))
    ).toMatchObject({ algorithm: "SHA-256-sess", qop: ["auth-int", "auth"], opaque: "o", stale: true, userhash: true })
  })

  it("rejects challenges without realm or nonce, or with control characters to echo", () => {
    const reasons = [
      auth("Digest", { nonce: "n" }),
      auth("Digest", { realm: "r" }),
      auth("Basic", {}),
      digest({ opaque: "a\r\nVia: evil" })
    ].map((header) => failureOf(parseChallenge(header, "WWW-Authenticate")))
    for (const error of reasons) expect(error).toBeInstanceOf(MalformedChallengeError)
    expect(reasons.map((error) => error.message)).toEqual([
      "malformed WWW-Authenticate challenge: Digest challenge without realm",
      "malformed WWW-Authenticate challenge: Digest challenge without nonce",
      "malformed WWW-Authenticate challenge: Basic challenge without realm",
      "malformed WWW-Authenticate challenge: control character in opaque"
    ])
  })

  it("refuses unknown schemes, algorithms and qop values with UnsupportedAuthError", () => {
    const errors = [auth("NTLM", { realm: "r" }), digest({ algorithm: "SHA-1" }), digest({ qop: "auth-conf" })].map(
      (header) => failureOf(parseChallenge(header, "WWW-Authenticate"))
    )
    expect(errors.map((error) => [error._tag, error.message])).toEqual([
      ["UnsupportedAuthError", "cannot authenticate: WWW-Authenticate uses the unsupported scheme \"NTLM\""],
      ["UnsupportedAuthError", "cannot authenticate: WWW-Authenticate uses the unsupported algorithm \"SHA-1\""],
      ["UnsupportedAuthError", "cannot authenticate: WWW-Authenticate offers only unsupported qop \"auth-conf\""]
    ])
  })
})

describe("selectChallenges", () => {
  const algorithms = (headers: ReadonlyArray<AuthHeader>, policy = defaults) =>
    Result.getOrThrow(selectChallenges(headers, "WWW-Authenticate", policy)).map((c) =>
      c._tag === "DigestChallenge" ? c.algorithm : "Basic"
    )

  it("chooses the strongest algorithm, whatever the order: SHA-512-256 > SHA-256 > MD5", () => {
    const offers = ["MD5", "SHA-256", "SHA-512-256", "MD5-sess"].map((algorithm) => digest({ algorithm }))
    expect(algorithms(offers)).toEqual(["SHA-512-256"])
    expect(algorithms([...offers].reverse())).toEqual(["SHA-512-256"])
    expect(algorithms([digest({ algorithm: "MD5" }), digest({ algorithm: "SHA-256" })])).toEqual(["SHA-256"])
    // RFC 7616's example order: SHA-256 first, MD5 second.
    expect(algorithms([digest({ algorithm: "SHA-256" }), digest({})])).toEqual(["SHA-256"])
  })

  it("keeps the server's order among equally strong algorithms", () => {
    expect(algorithms([digest({ algorithm: "SHA-256-sess" }), digest({ algorithm: "SHA-256" })])).toEqual([
      "SHA-256-sess"
    ])
    expect(algorithms([digest({ algorithm: "SHA-256" }), digest({ algorithm: "SHA-256-sess" })])).toEqual(["SHA-256"])
  })

  it("skips challenges it cannot answer and picks one per realm, in order", () => {
    const selected = Result.getOrThrow(
      selectChallenges(
        [
          digest({ realm: "proxy-a", algorithm: "SHA-1" }),
          digest({ realm: "proxy-a" }),
          auth("Negotiate", {}),
          digest({ realm: "proxy-b", algorithm: "SHA-256" }),
          digest({ realm: "proxy-a", algorithm: "SHA-256" })
        ],
        "Proxy-Authenticate",
        defaults
      )
    )
    expect(selected.map((c) => [c.realm, c._tag === "DigestChallenge" ? c.algorithm : "Basic"])).toEqual([
      ["proxy-a", "SHA-256"],
      ["proxy-b", "SHA-256"]
    ])
  })

  it("answers Basic only when ALLOW_BASIC_AUTH is on, and prefers any Digest to it", () => {
    const basic = auth("Basic", { realm: "biloxi.com" })
    const refused = failureOf(selectChallenges([basic], "WWW-Authenticate", defaults))
    expect(refused).toBeInstanceOf(UnsupportedAuthError)
    expect(refused.message).toBe(
      "cannot authenticate: no usable WWW-Authenticate challenge: Basic authentication is disabled (ALLOW_BASIC_AUTH)"
    )
    const allowBasic = { ...defaults, allowBasicAuth: true }
    expect(algorithms([basic], allowBasic)).toEqual(["Basic"])
    expect(algorithms([basic, digest({})], allowBasic)).toEqual(["MD5"])
    expect(failureOf(authorize(challenge(basic), bob, register, { policy: defaults, cnonce: "c" })).message).toContain(
      "ALLOW_BASIC_AUTH"
    )
  })

  it("refuses MD5 and MD5-sess when ALLOW_MD5_AUTH is off, falling back to SHA-256 when offered", () => {
    const noMd5 = { ...defaults, allowMd5Auth: false }
    const error = failureOf(selectChallenges([digest({}), digest({ algorithm: "MD5-sess" })], "WWW-Authenticate", noMd5))
    expect(error._tag).toBe("UnsupportedAuthError")
    expect(error.message).toContain("MD5 digest is disabled (ALLOW_MD5_AUTH)")
    expect(error.message).toContain("MD5-sess digest is disabled (ALLOW_MD5_AUTH)")
    expect(algorithms([digest({}), digest({ algorithm: "SHA-256" })], noMd5)).toEqual(["SHA-256"])
    expect(Result.isFailure(authorize(challenge(digest({})), bob, register, { policy: noMd5, cnonce: "c" }))).toBe(true)
  })

  it("fails with a typed error when there is no challenge at all", () => {
    expect(failureOf(selectChallenges([], "Proxy-Authenticate", defaults)).message).toBe(
      "cannot authenticate: no Proxy-Authenticate challenge"
    )
  })
})

describe("authorize", () => {
  it("answers a 401 with Authorization and a 407 with Proxy-Authorization", () => {
    const header = digest({})
    const www = Result.getOrThrow(
      authorize(challenge(header, "WWW-Authenticate"), bob, register, { policy: defaults, cnonce: "c" })
    )
    const proxy = Result.getOrThrow(
      authorize(challenge(header, "Proxy-Authenticate"), bob, { method: "INVITE", uri: "sip:alice@atlanta.com" }, {
        policy: defaults,
        cnonce: "c"
      })
    )
    expect([www.name, proxy.name]).toEqual(["Authorization", "Proxy-Authorization"])
    expect(sent(proxy).get("uri")).toBe("sip:alice@atlanta.com")
  })

  it("computes the RFC 2617 response and echoes opaque", () => {
    const header = answer(digest({ opaque: "5ccc069c403ebaf9f0171e9517f40e41" }))
    const ha1 = md5(`bob:biloxi.com:${PASSWORD}`)
    const ha2 = md5("REGISTER:sip:biloxi.com")
    expect(Object.fromEntries(sent(header))).toEqual({
      username: "bob",
      realm: "biloxi.com",
      nonce: "n1",
      uri: "sip:biloxi.com",
      response: md5(`${ha1}:n1:00000001:c0ffee:auth:${ha2}`),
      algorithm: "MD5",
      cnonce: "c0ffee",
      opaque: "5ccc069c403ebaf9f0171e9517f40e41",
      qop: "auth",
      nc: "00000001"
    })
  })

  it("uses RFC 2069 mode without qop: no nc, no cnonce", () => {
    const params = sent(answer(digest({ qop: "" })))
    expect(params.get("response")).toBe(
      md5(`${md5(`bob:biloxi.com:${PASSWORD}`)}:n1:${md5("REGISTER:sip:biloxi.com")}`)
    )
    expect([params.has("qop"), params.has("nc"), params.has("cnonce")]).toEqual([false, false, false])
  })

  it("prefers qop auth when both are offered, auth-int when told to or when it is the only one", () => {
    expect(sent(answer(digest({ qop: "auth-int,auth" }))).get("qop")).toBe("auth")
    expect(sent(answer(digest({ qop: "auth,auth-int" }), register, { policy: { ...defaults, preferAuthInt: true } })).get("qop"))
      .toBe("auth-int")
    expect(sent(answer(digest({ qop: "auth-int" }))).get("qop")).toBe("auth-int")
  })

  it("auth-int hashes the real SDP body octets", () => {
    const sdp = new TextEncoder().encode(
      "v=0\r\no=bob 2890844527 2890844527 IN IP4 192.0.2.4\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\n" +
        "m=audio 3456 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
    )
    const invite: AuthRequest = { method: "INVITE", uri: "sip:alice@atlanta.com", body: sdp }
    const header = digest({ qop: "auth-int" })
    const ha1 = md5(`bob:biloxi.com:${PASSWORD}`)
    const ha2 = md5(`INVITE:sip:alice@atlanta.com:${md5(sdp)}`)
    expect(sent(answer(header, invite)).get("response")).toBe(md5(`${ha1}:n1:00000001:c0ffee:auth-int:${ha2}`))

    const changed = sdp.slice()
    changed[changed.length - 3] = "4".charCodeAt(0)
    expect(sent(answer(header, { ...invite, body: changed })).get("response")).not.toBe(
      sent(answer(header, invite)).get("response")
    )
    // With qop=auth the body is not covered.
    expect(sent(answer(digest({}), { ...invite, body: changed })).get("response")).toBe(
      sent(answer(digest({}), invite)).get("response")
    )
  })

  it("auth-int of an empty body hashes the empty string", () => {
    const params = sent(answer(digest({ qop: "auth-int" })))
    const ha2 = md5(`REGISTER:sip:biloxi.com:${md5("")}`)
    expect(params.get("response")).toBe(md5(`${md5(`bob:biloxi.com:${PASSWORD}`)}:n1:00000001:c0ffee:auth-int:${ha2}`))
  })

  it("sends H(username \":\" realm) as the username with userhash=true", () => {
    const params = sent(answer(digest({ algorithm: "SHA-256", userhash: "true" })))
    expect(params.get("username")).toBe(createHash("sha256").update("bob:biloxi.com").digest("hex"))
    expect(params.get("userhash")).toBe("true")
  })

  it("sends the cnonce of an -sess algorithm even without qop, as HA1 needs it", () => {
    const params = sent(answer(digest({ algorithm: "MD5-sess", qop: "" })))
    const ha1 = md5(`${md5(`bob:biloxi.com:${PASSWORD}`)}:n1:c0ffee`)
    expect(params.get("cnonce")).toBe("c0ffee")
    expect(params.get("response")).toBe(md5(`${ha1}:n1:${md5("REGISTER:sip:biloxi.com")}`))
    expect(params.has("nc")).toBe(false)
  })

  it("escapes quotes in the username instead of breaking the header", () => {
    const odd = makeCredentials("bo\"b\\", PASSWORD)
    const header = Result.getOrThrow(authorize(challenge(digest({})), odd, register, { policy: defaults, cnonce: "c" }))
    expect(sent(header).get("username")).toBe("bo\"b\\")
  })

  it("answers Basic with base64(user:password) and refuses a user-id with ':'", () => {
    const policy = { ...defaults, allowBasicAuth: true }
    const basic = challenge(auth("Basic", { realm: "biloxi.com" }))
    const header = Result.getOrThrow(authorize(basic, bob, register, { policy, cnonce: "c" }))
    expect(header.value).toBe(`Basic ${Buffer.from(`bob:${PASSWORD}`).toString("base64")}`)
    expect(authorizeAgain(header.session, register).value).toBe(header.value)
    const colon = failureOf(authorize(basic, makeCredentials("a:b", PASSWORD), register, { policy, cnonce: "c" }))
    expect(colon.message).toBe("cannot authenticate: a Basic user-id cannot contain ':' (RFC 7617 §2)")
    expect(colon.message).not.toContain(PASSWORD)
  })

  it("never shows the password when a header or its session is printed or serialized", () => {
    const header = answer(digest({}))
    for (const shown of [header.value, JSON.stringify(header), String(header.session.credentials.password)]) {
      expect(shown).not.toContain(PASSWORD)
    }
  })
})

describe("nonce count and stale nonces", () => {
  it("counts requests per nonce: nc goes up with authorizeAgain and keeps the cnonce", () => {
    const first = answer(digest({}))
    const second = authorizeAgain(first.session, register)
    const third = authorizeAgain(second.session, { method: "INVITE", uri: "sip:alice@atlanta.com" })
    expect([first, second, third].map((h) => [sent(h).get("nc"), sent(h).get("cnonce")])).toEqual([
      ["00000001", "c0ffee"],
      ["00000002", "c0ffee"],
      ["00000003", "c0ffee"]
    ])
    const ha1 = md5(`bob:biloxi.com:${PASSWORD}`)
    expect(sent(third).get("response")).toBe(
      md5(`${ha1}:n1:00000003:c0ffee:auth:${md5("INVITE:sip:alice@atlanta.com")}`)
    )
    // Sessions are values: re-using an old one does not see later counts.
    expect(sent(authorizeAgain(first.session, register)).get("nc")).toBe("00000002")
  })

  it("starts again at 1 with a new cnonce for a new nonce, and goes on when a challenge repeats the nonce", () => {
    const first = answer(digest({}))
    const again = authorizeAgain(first.session, register)
    const newNonce = answer(digest({ nonce: "n2" }), register, { cnonce: "beef", previous: again.session })
    expect([sent(newNonce).get("nc"), sent(newNonce).get("cnonce")]).toEqual(["00000001", "beef"])
    const sameNonce = answer(digest({}), register, { cnonce: "beef", previous: again.session })
    expect([sent(sameNonce).get("nc"), sent(sameNonce).get("cnonce")]).toEqual(["00000003", "c0ffee"])
  })

  it("stale=true is a retry with the new nonce, not a failure", () => {
    const first = answer(digest({}))
    const staleChallenge = challenge(digest({ nonce: "n2", stale: "true" }))
    expect(isStale(staleChallenge)).toBe(true)
    expect(isStale(challenge(digest({ nonce: "n2", stale: "false" })))).toBe(false)
    expect(isStale(challenge(auth("Basic", { realm: "r" })))).toBe(false)
    const retry = Result.getOrThrow(
      authorize(staleChallenge, bob, register, { policy: defaults, cnonce: "beef", previous: first.session })
    )
    expect([sent(retry).get("nonce"), sent(retry).get("nc")]).toEqual(["n2", "00000001"])
  })

  it.effect("randomCnonce gives 128 fresh random bits", () =>
    Effect.gen(function*() {
      const cnonces = yield* Effect.all([randomCnonce, randomCnonce, randomCnonce])
      for (const cnonce of cnonces) expect(cnonce).toMatch(/^[0-9a-f]{32}$/)
      expect(new Set(cnonces).size).toBe(3)
    }))
})

describe("answerChallenges", () => {
  it("answers each proxy realm with its own credentials from the CredentialsManager", () => {
    const manager = new CredentialsManager()
    manager.add("alice-at-a", "pa", undefined, "proxy-a")
    manager.add("alice-at-b", "pb", undefined, "proxy-b")
    const invite = { method: "INVITE", uri: "sip:carol@chicago.com" }
    const options = {
      policy: defaults,
      cnonce: "c",
      credentialsFor: (realm: string) => manager.get("chicago.com", realm, "alice")
    }
    const headers = Result.getOrThrow(
      answerChallenges(
        [digest({ realm: "proxy-a", nonce: "na" }), digest({ realm: "proxy-b", nonce: "nb" })],
        "Proxy-Authenticate",
        invite,
        options
      )
    )
    expect(headers.map((h) => [h.name, sent(h).get("realm"), sent(h).get("username"), sent(h).get("nc")])).toEqual([
      ["Proxy-Authorization", "proxy-a", "alice-at-a", "00000001"],
      ["Proxy-Authorization", "proxy-b", "alice-at-b", "00000001"]
    ])

    // proxy-a repeats its nonce, proxy-b sends a new one.
    const next = Result.getOrThrow(
      answerChallenges(
        [digest({ realm: "proxy-a", nonce: "na" }), digest({ realm: "proxy-b", nonce: "nb2" })],
        "Proxy-Authenticate",
        invite,
        { ...options, previous: headers.map((h) => h.session) }
      )
    )
    expect(next.map((h) => sent(h).get("nc"))).toEqual(["00000002", "00000001"])
  })

  it("fails with UnsupportedAuthError when nothing can be answered", () => {
    const error = failureOf(
      answerChallenges([auth("Basic", { realm: "r" })], "WWW-Authenticate", register, {
        policy: defaults,
        cnonce: "c",
        credentialsFor: () => bob
      })
    )
    expect(error).toBeInstanceOf(UnsupportedAuthError)
  })
})

describe("properties", () => {
  const anyText = fc.string({ unit: "binary" })
  const known = <A extends string>(...values: ReadonlyArray<A>) =>
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: anyText })
  const optional = <A>(arbitrary: fc.Arbitrary<A>) => fc.option(arbitrary, { nil: undefined })
  // Mostly plausible Digest challenges with arbitrary values, plus arbitrary schemes and parameters.
  const plausible = fc.record({
    scheme: fc.constantFrom("Digest", "digest", "Basic"),
    realm: anyText,
    nonce: anyText,
    algorithm: optional(known("MD5", "md5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess")),
    qop: optional(known("auth", "auth-int", "auth,auth-int", " auth-int , auth", "auth-conf")),
    opaque: optional(anyText),
    stale: optional(known("true", "FALSE")),
    userhash: optional(known("true", "false"))
  }).map(({ scheme, ...params }): AuthHeader => ({
    scheme,
    params: new Map(Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    token68: undefined
  }))
  const arbitrary = fc.record({
    scheme: anyText,
    params: fc.array(fc.tuple(fc.constantFrom("realm", "nonce", "algorithm", "qop", "x"), anyText), { maxLength: 6 })
      .map((entries) => new Map(entries)),
    token68: optional(anyText)
  })
  const policy = fc.record({ allowBasicAuth: fc.boolean(), allowMd5Auth: fc.boolean(), preferAuthInt: fc.boolean() })
  const credentials = fc.record({
    username: fc.oneof({ weight: 4, arbitrary: fc.string() }, { weight: 1, arbitrary: anyText }),
    password: anyText
  })

  it("arbitrary challenges never throw; every answer is one well-formed header line", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary }), { maxLength: 4 }),
        policy,
        credentials,
        fc.uint8Array({ maxLength: 64 }),
        (headers, policy, { password, username }, body) => {
          const request = { method: "MESSAGE", uri: "sip:a@b", body }
          const result = answerChallenges(headers, "Proxy-Authenticate", request, {
            policy,
            cnonce: "c",
            credentialsFor: () => ({ username, password: Redacted.make(password) })
          })
          if (Result.isFailure(result)) {
            expect(result.failure).toBeInstanceOf(UnsupportedAuthError)
            return
          }
          for (const header of result.success) {
            expect(header.value).not.toMatch(/[\r\n]/)
            const reparsed = Result.getOrThrow(parseAuth(header.value))
            if (header.session._tag === "BasicSession") {
              expect(reparsed.token68).toBe(Buffer.from(`${username}:${password}`).toString("base64"))
              continue
            }
            const { challenge, qop } = header.session
            expect([reparsed.params.get("realm"), reparsed.params.get("nonce")]).toEqual([challenge.realm, challenge.nonce])
            const again = Result.getOrThrow(parseAuth(authorizeAgain(header.session, request).value))
            expect(again.params.get("nc")).toBe(qop === undefined ? undefined : "00000002")
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})
