/**
 * Account settings and the requests built from them: host[:port] parsing,
 * the checks of `resolve`, the registrar and address-of-record URIs per
 * transport, REGISTER and out-of-dialog requests, and the client's routing
 * of requests outside any dialog.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Result } from "effect"
import * as Account from "../../../src/sip/client/Account.ts"
import { SIPClient } from "../../../src/sip/client/SIPClient.ts"
import { formatUri } from "../../../src/sip/Uri.ts"
import { TransportMode } from "../../../src/transport/TransportMode.ts"
import { clientLayer, headerOf, registrar, reply, statusCode, world } from "./helpers.ts"

const resolved = (options: Partial<Account.AccountOptions>, mode: TransportMode = TransportMode.UDP) =>
  Result.getOrThrow(Account.resolve({ server: "pbx.example.org", user: "alice", ...options }, mode))

const failure = (options: Partial<Account.AccountOptions>) =>
  Result.match(Account.resolve({ server: "pbx.example.org", user: "alice", ...options }, TransportMode.UDP), {
    onSuccess: () => "accepted",
    onFailure: (error) => error.message
  })

describe("parseHostPort", () => {
  it("reads host, host:port, IPv6 with and without brackets", () => {
    const read = (text: string) => Result.getOrThrow(Account.parseHostPort(text))
    expect(read("pbx.example.org")).toEqual({ host: "pbx.example.org", port: undefined })
    expect(read(" 127.0.0.1:15070 ")).toEqual({ host: "127.0.0.1", port: 15070 })
    expect(read("0.0.0.0:0")).toEqual({ host: "0.0.0.0", port: 0 })
    expect(read("[::1]:5062")).toEqual({ host: "::1", port: 5062 })
    expect(read("[fd00::20]")).toEqual({ host: "fd00::20", port: undefined })
    expect(read("fd00::20")).toEqual({ host: "fd00::20" })
  })

  it("refuses what is not host[:port]", () => {
    for (const text of ["", "host:abc", "host:70000", "[::1", "a b", "fd00::zz"]) {
      expect(Result.isFailure(Account.parseHostPort(text))).toBe(true)
    }
  })
})

describe("resolve", () => {
  it("fills pyVoIP's defaults; a server or proxy without port is left to be located (RFC 3263)", () => {
    const account = resolved({})
    expect(account).toMatchObject({ port: undefined, expires: Account.DEFAULT_EXPIRES, register: true, outboundProxy: undefined })
    expect(resolved({ outboundProxy: { host: "proxy" } }).outboundProxy).toEqual({ host: "proxy", port: 5060, locate: true })
    expect(resolved({ outboundProxy: { host: "proxy", port: 5060 } }, TransportMode.TLS).outboundProxy)
      .toEqual({ host: "proxy", port: 5060, locate: false })
  })

  it("keeps an explicit default port in the URIs, so that no hop looks the server up by SRV", () => {
    const explicit = resolved({ port: 5060, outboundProxy: { host: "proxy.example.org", port: 5060 } })
    expect(formatUri(Account.registrarUri(explicit))).toBe("sip:pbx.example.org:5060")
    expect(Result.map(Account.targetUri(explicit, "bob"), formatUri)).toEqual(Result.succeed("sip:bob@pbx.example.org:5060"))
    const implicit = resolved({ outboundProxy: { host: "proxy.example.org" } })
    expect(formatUri(Account.registrarUri(implicit))).toBe("sip:pbx.example.org")
    expect(Result.map(Account.targetUri(implicit, "bob"), formatUri)).toEqual(Result.succeed("sip:bob@pbx.example.org"))
    const routeOf = (account: Account.Account) => {
      const contact = Account.contactUri(account, { address: "10.0.0.1", port: 5060 })
      const register = Result.getOrThrow(Account.registerRequest(account, { callId: "c@h", fromTag: "t", cseq: 1, contact, expires: 60 }))
      return [...register.headers].find(([name]) => name === "Route")?.[1]
    }
    expect([routeOf(explicit), routeOf(implicit)]).toEqual(["<sip:proxy.example.org:5060;lr>", "<sip:proxy.example.org;lr>"])
  })

  it("refuses settings that cannot work", () => {
    expect(failure({ server: undefined })).toBe("invalid account settings: registration needs a server (or register: false)")
    expect(failure({ server: undefined, register: false })).toBe("accepted")
    expect(failure({ user: "" })).toBe("invalid account settings: the user is empty")
    expect(failure({ expires: 0 })).toBe("invalid account settings: expires must be a positive whole number, got 0")
    expect(failure({ expires: 1.5 })).toMatch(/expires must be a positive whole number/)
    expect(failure({ port: 0 })).toBe("invalid account settings: the server port must be 1-65535, got 0")
    expect(failure({ outboundProxy: { host: "p", port: 99999 } })).toMatch(/outbound proxy port/)
    expect(failure({ deregisterTimeout: "soon" as never })).toBe("invalid account settings: deregisterTimeout is not a duration")
  })

  it("turns authUser and password into credentials for any server and realm; a manager wins", () => {
    const credentials = resolved({ authUser: "1001", password: "secret" }).credentials.get("pbx", "realm", "alice")
    expect(credentials.username).toBe("1001")
    expect(Redacted.value(credentials.password)).toBe("secret")
    expect(resolved({}).credentials.get("pbx", "realm", "alice").username).toBe("anonymous")
  })
})

describe("addresses and requests", () => {
  it("names the registrar, our address-of-record and Contact per transport", () => {
    const udp = resolved({ port: 15070 })
    expect(formatUri(Account.registrarUri(udp))).toBe("sip:pbx.example.org:15070")
    expect(formatUri(Account.addressOfRecord(udp, "10.0.0.1"))).toBe("sip:alice@pbx.example.org")
    expect(formatUri(Account.contactUri(udp, { address: "10.0.0.1", port: 5070 }))).toBe("sip:alice@10.0.0.1:5070")
    const tcp = resolved({}, TransportMode.TCP)
    expect(formatUri(Account.registrarUri(tcp))).toBe("sip:pbx.example.org")
    expect(formatUri(Account.contactUri(tcp, { address: "10.0.0.1", port: 5070 }))).toBe("sip:alice@10.0.0.1:5070;transport=tcp")
    const tls = resolved({}, TransportMode.TLS)
    expect(formatUri(Account.registrarUri(tls))).toBe("sips:pbx.example.org")
    expect(formatUri(Account.contactUri(tls, { address: "fd00::1", port: 5071 }))).toBe("sips:alice@[fd00::1]:5071")
    const peerToPeer = resolved({ server: undefined, register: false })
    expect(formatUri(Account.addressOfRecord(peerToPeer, "10.0.0.1"))).toBe("sip:alice@10.0.0.1")
  })

  it("builds REGISTER with Route for the outbound proxy, Contact and Expires", () => {
    const account = resolved({ displayName: "Alice A.", outboundProxy: { host: "10.0.0.3", port: 5070 } })
    const contact = Account.contactUri(account, { address: "10.0.0.1", port: 5060 })
    const register = Result.getOrThrow(
      Account.registerRequest(account, { callId: "c@h", fromTag: "t1", cseq: 4, contact, expires: 0 })
    )
    expect(register.requestUriText).toBe("sip:pbx.example.org")
    expect([...register.headers]).toEqual([
      ["Route", "<sip:10.0.0.3:5070;lr>"],
      ["Max-Forwards", "70"],
      ["From", `"Alice A." <sip:alice@pbx.example.org>;tag=t1`],
      ["To", `"Alice A." <sip:alice@pbx.example.org>`],
      ["Call-ID", "c@h"],
      ["CSeq", "4 REGISTER"],
      ["Contact", "<sip:alice@10.0.0.1:5060>"],
      ["Expires", "0"]
    ])
  })

  it("addresses a bare number at our server, and a URI as it is", () => {
    const account = resolved({ port: 5080 })
    expect(Result.map(Account.targetUri(account, "1234"), formatUri)).toEqual(Result.succeed("sip:1234@pbx.example.org:5080"))
    expect(Result.map(Account.targetUri(account, "sips:bob@x.org"), formatUri)).toEqual(Result.succeed("sips:bob@x.org"))
    const peerToPeer = resolved({ server: undefined, register: false })
    expect(Result.isFailure(Account.targetUri(peerToPeer, "1234"))).toBe(true)
  })

  it("puts our Contact in dialog-creating requests only", () => {
    const account = resolved({})
    const contact = Account.contactUri(account, { address: "10.0.0.1", port: 5060 })
    const build = (method: string) =>
      Result.getOrThrow(Account.outOfDialogRequest(account, {
        method,
        target: Result.getOrThrow(Account.targetUri(account, "bob")),
        callId: "c@h",
        fromTag: "t",
        cseq: 1,
        contact,
        headers: [["Subject", "hi"]],
        body: "hello",
        contentType: "text/plain"
      }))
    expect(headerOf(build("INVITE"), "Contact")).toBe("<sip:alice@10.0.0.1:5060>")
    expect(headerOf(build("MESSAGE"), "Contact")).toBe("")
    expect(headerOf(build("MESSAGE"), "Subject")).toBe("hi")
    expect(new TextDecoder().decode(build("MESSAGE").rawBody)).toBe("hello")
  })
})

describe("SIPClient routing", () => {
  it.effect("sends a request outside any dialog to its Request-URI without an outbound proxy", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      yield* Effect.gen(function*() {
        const client = yield* SIPClient
        const options = yield* client.createRequest("OPTIONS", "sip:bob@10.0.0.2")
        yield* peer.next((request) => reply(request, 200))
        const transaction = yield* client.request(options)
        expect(statusCode(yield* transaction.final)).toBe(200)
        expect(peer.requests("OPTIONS").length).toBe(1)
        const tel = yield* client.createRequest("MESSAGE", "tel:+15550100")
        const error = yield* Effect.flip(client.request(tel))
        expect(error._tag).toBe("SipTransportError")
      }).pipe(Effect.provide(clientLayer({ register: false, server: undefined })))
    }).pipe(Effect.provide(world())))
})
