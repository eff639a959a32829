import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Redacted, Result } from "effect"
import * as fc from "fast-check"
import { inspect } from "node:util"
import { anonymousCredentials, Credentials, CredentialsManager, makeCredentials } from "../src/Credentials.ts"
import { authorize, parseChallenge } from "../src/sip/auth/Digest.ts"

const PASSWORD = "hunter2-Sup3rSecret"

/** The username `get` returns, or "anonymous". */
const lookup = (manager: CredentialsManager, server: string, realm: string, user: string): string =>
  manager.get(server, realm, user).username

describe("CredentialsManager (pyVoIP semantics)", () => {
  it("returns anonymous credentials with an empty password when nothing matches (RFC 3261 §22.1)", () => {
    const manager = new CredentialsManager()
    const found = manager.get("pbx.example.com", "asterisk", "alice")
    expect(found).toBe(anonymousCredentials)
    expect(found.username).toBe("anonymous")
    expect(Redacted.value(found.password)).toBe("")
  })

  it("an entry without server, realm or user answers everything", () => {
    const manager = new CredentialsManager()
    manager.add("alice", PASSWORD)
    expect(lookup(manager, "a.example", "r", "u")).toBe("alice")
    expect(Redacted.value(manager.get("b.example", "other", "bob").password)).toBe(PASSWORD)
  })

  it("the docstring example: one realm on every server, for every user", () => {
    const manager = new CredentialsManager()
    manager.add("asterisk-user", PASSWORD, undefined, "asterisk")
    expect(lookup(manager, "pbx1.example", "asterisk", "alice")).toBe("asterisk-user")
    expect(lookup(manager, "pbx2.example", "asterisk", "bob")).toBe("asterisk-user")
    expect(lookup(manager, "pbx1.example", "kamailio", "alice")).toBe("anonymous")
  })

  it("a scope filters on the server, the realm and the SIP user", () => {
    const manager = new CredentialsManager()
    manager.add("by-server", "p", "pbx1.example")
    manager.add("by-user", "p", undefined, undefined, "carol")
    expect(lookup(manager, "pbx1.example", "any", "alice")).toBe("by-server")
    expect(lookup(manager, "pbx2.example", "any", "carol")).toBe("by-user")
    expect(lookup(manager, "pbx2.example", "any", "alice")).toBe("anonymous")
  })

  // Each case: the entries added (username, server?, realm?, user?), then get("s", "r", "u").
  const cases: ReadonlyArray<{
    readonly name: string
    readonly entries: ReadonlyArray<
      readonly [username: string, server?: string | undefined, realm?: string | undefined, user?: string | undefined]
    >
    readonly expected: string
  }> = [
    {
      name: "the server is the most significant: a server's catch-all beats an exact realm and user on any server",
      entries: [["any-server-exact", undefined, "r", "u"], ["server-catch-all", "s"]],
      expected: "server-catch-all"
    },
    {
      name: "within a server, an exact realm for any user beats any realm for the exact user",
      entries: [["server-user", "s", undefined, "u"], ["server-realm", "s", "r"]],
      expected: "server-realm"
    },
    {
      name: "within a server and realm, the exact user beats any user",
      entries: [["server-realm", "s", "r"], ["server-realm-user", "s", "r", "u"]],
      expected: "server-realm-user"
    },
    {
      name: "a server without the realm nor a catch-all realm falls through to any server",
      entries: [["server-other-realm", "s", "r2"], ["everywhere"]],
      expected: "everywhere"
    },
    {
      name: "a realm without the user nor a catch-all user falls through to the server's catch-all realm",
      entries: [["server-realm-other-user", "s", "r", "u2"], ["server-any-realm", "s"]],
      expected: "server-any-realm"
    },
    {
      name: "on any server, the exact realm beats any realm",
      entries: [["any-realm-user", undefined, undefined, "u"], ["realm", undefined, "r"]],
      expected: "realm"
    },
    {
      name: "other servers' entries never match",
      entries: [["other-server", "s2"], ["other-server-realm-user", "s2", "r", "u"]],
      expected: "anonymous"
    },
    {
      name: "adding the same scope again replaces the entry",
      entries: [["first", "s", "r", "u"], ["second", "s", "r", "u"]],
      expected: "second"
    }
  ]
  for (const { entries, expected, name } of cases) {
    it(name, () => {
      const manager = new CredentialsManager()
      for (const [username, server, realm, user] of entries) manager.add(username, "p", server, realm, user)
      expect(lookup(manager, "s", "r", "u")).toBe(expected)
    })
  }

  it("follows pyVoIP's lookup order for any set of entries", () => {
    // pyVoIP's get tries (server, realm, user) with each level exact before "any", server first.
    const order = (s: string, r: string, u: string) =>
      [s, undefined].flatMap((server) =>
        [r, undefined].flatMap((realm) => [u, undefined].map((user) => `${server}/${realm}/${user}`))
      )
    const scope = (values: ReadonlyArray<string>) => fc.option(fc.constantFrom(...values), { nil: undefined })
    const entry = fc.tuple(scope(["s1", "s2"]), scope(["r1", "r2"]), scope(["u1", "u2"]))
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 12 }),
        fc.tuple(fc.constantFrom("s1", "s2", "s3"), fc.constantFrom("r1", "r2", "r3"), fc.constantFrom("u1", "u2", "u3")),
        (entries, [server, realm, user]) => {
          const manager = new CredentialsManager()
          const latest = new Map<string, string>()
          entries.forEach(([s, r, u], index) => {
            manager.add(`entry-${index}`, "p", s, r, u)
            latest.set(`${s}/${r}/${u}`, `entry-${index}`)
          })
          const expected = order(server, realm, user).map((key) => latest.get(key)).find((found) => found !== undefined)
          expect(lookup(manager, server, realm, user)).toBe(expected ?? "anonymous")
        }
      )
    )
  })

  it("accepts a password already wrapped in Redacted", () => {
    const manager = new CredentialsManager()
    const password = Redacted.make(PASSWORD)
    manager.add("alice", password)
    expect(manager.get("s", "r", "u").password).toBe(password)
  })
})

describe("passwords stay hidden", () => {
  const creds = makeCredentials("alice", PASSWORD)

  it("in String, JSON and inspection of the credentials and the manager", () => {
    const manager = new CredentialsManager()
    manager.add("alice", PASSWORD, "pbx.example", "asterisk", "alice")
    const found = manager.get("pbx.example", "asterisk", "alice")
    const shown = [
      String(creds),
      `${creds.password}`,
      JSON.stringify(creds),
      inspect(creds, { depth: 10 }),
      JSON.stringify(found),
      inspect(found, { depth: 10 }),
      JSON.stringify(manager),
      inspect(manager, { depth: 10, showHidden: true })
    ]
    for (const text of shown) expect(text).not.toContain(PASSWORD)
    expect(JSON.stringify(creds)).toBe("{\"username\":\"alice\",\"password\":\"<redacted>\"}")
  })

  it("in errors raised while answering with them", () => {
    const challenge = Result.getOrThrow(
      parseChallenge({ scheme: "Basic", params: new Map([["realm", "r"]]), token68: undefined }, "WWW-Authenticate")
    )
    const result = authorize(challenge, creds, { method: "REGISTER", uri: "sip:r" }, {
      policy: { allowBasicAuth: false, allowMd5Auth: true },
      cnonce: "c"
    })
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isSuccess(result)) return
    for (const text of [result.failure.message, String(result.failure), JSON.stringify(result.failure)]) {
      expect(text).not.toContain(PASSWORD)
    }
  })

  it.effect("in logs", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.map(Logger.formatStructured, (entry) => void lines.push(JSON.stringify(entry)))
      yield* Effect.logInfo("credentials", creds).pipe(Effect.provide(Logger.layer([capture])))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("alice")
      expect(lines[0]).not.toContain(PASSWORD)
    }))
})

describe("Credentials service", () => {
  it.effect("provides the manager from context", () =>
    Effect.gen(function*() {
      const manager = new CredentialsManager()
      manager.add("alice", PASSWORD, undefined, "asterisk")
      const found = yield* Credentials.use((credentials) => Effect.succeed(credentials.get("pbx", "asterisk", "alice")))
        .pipe(Effect.provide(Credentials.layer(manager)))
      expect(found.username).toBe("alice")
      expect(Redacted.value(found.password)).toBe(PASSWORD)
    }))
})
