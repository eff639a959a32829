/**
 * Authenticated requests through the transaction layer on the in-memory
 * network: 401 and 407 answered for any method with a new branch and CSeq+1
 * on the same Call-ID and From tag, credentials looked up by server, realm
 * and user, two realms in one exchange, stale nonces, rejected credentials,
 * and pre-emptive credentials with the next nonce count.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { CredentialsManager } from "../../../src/Credentials.ts"
import type { AuthSession } from "../../../src/sip/auth/Digest.ts"
import { type Authenticator, MAX_CHALLENGES, sendAuthenticated } from "../../../src/sip/client/Authenticated.ts"
import type { ClientTransaction } from "../../../src/sip/transaction/ClientTransaction.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import * as MemoryTransport from "../../../src/testing/MemoryTransport.ts"
import { SipTransport } from "../../../src/transport/SipTransport.ts"
import {
  CLIENT,
  credentialsOf,
  digestIsRight,
  type Exchange,
  headerOf,
  PASSWORD,
  REALM,
  REGISTRAR,
  registrar,
  reply,
  statusCode,
  world
} from "./helpers.ts"

const PEER = { host: REGISTRAR.address, port: REGISTRAR.port }

const defaultCredentials = () => {
  const manager = new CredentialsManager()
  manager.add("alice", PASSWORD)
  return manager
}

const authenticator = (credentials: CredentialsManager = defaultCredentials()) =>
  Effect.gen(function*() {
    const transport = yield* MemoryTransport.make({ address: CLIENT.address, port: CLIENT.port })
    const transactions = yield* TransactionLayer.make.pipe(Effect.provideService(SipTransport, transport))
    const result: Authenticator = { transactions, credentials, policy: { allowBasicAuth: false, allowMd5Auth: true } }
    return result
  })

const request = (method: string, body = "") =>
  Result.getOrThrow(SIPMessage.request({
    method,
    uri: "sip:bob@10.0.0.2",
    headers: [
      ["Max-Forwards", "70"],
      ["From", "<sip:alice@10.0.0.2>;tag=from-alice"],
      ["To", "<sip:bob@10.0.0.2>"],
      ["Call-ID", "call-1@test"],
      ["CSeq", `7 ${method}`],
      ["Contact", "<sip:alice@10.0.0.1:5060>"]
    ],
    ...(body === "" ? {} : { body, contentType: "text/plain" })
  }))

const challenge = (status: 401 | 407, realm: string, nonce: string, extra = "") => (message: SIPMessage.SIPMessage) =>
  reply(message, status, [[
    status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate",
    `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5${extra}`
  ]])

const ok = (message: SIPMessage.SIPMessage) => reply(message, 200)

const branches = (exchanges: ReadonlyArray<Exchange>) => exchanges.map(({ request }) => request.via[0]?.branch)

describe("sendAuthenticated", () => {
  it.effect("answers a 407 with Proxy-Authorization on a new transaction: new branch, CSeq+1, same Call-ID and tag", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      yield* peer.next(challenge(407, "proxy.realm", "n-1"), ok)
      const result = yield* sendAuthenticated(yield* authenticator(), request("MESSAGE", "hello"), { destination: PEER })
      expect(statusCode(result.response)).toBe(200)
      const [first, second] = peer.requests("MESSAGE")
      expect(first!.request.cseq?.seq).toBe(7)
      expect(second!.request.cseq?.seq).toBe(8)
      expect(new Set(branches([first!, second!])).size).toBe(2)
      expect(second!.request.callId).toBe("call-1@test")
      expect(second!.request.from?.tag).toBe("from-alice")
      expect(headerOf(second!.request, "Authorization")).toBe("")
      const params = credentialsOf(second!.request, "Proxy-Authorization")!
      expect(params).toMatchObject({ username: "alice", realm: "proxy.realm", nonce: "n-1", uri: "sip:bob@10.0.0.2", nc: "00000001" })
      expect(digestIsRight(second!.request, params, PASSWORD)).toBe(true)
      expect(second!.request.rawBody).toEqual(first!.request.rawBody)
      expect(result.request.cseq?.seq).toBe(8)
      expect(result.sessions.map((session) => session.challenge.realm)).toEqual(["proxy.realm"])
    }).pipe(Effect.provide(world())))

  for (const method of ["INVITE", "BYE", "REFER", "OPTIONS"]) {
    it.effect(`answers a 401 to ${method}`, () =>
      Effect.gen(function*() {
        const peer = yield* registrar()
        yield* peer.next(challenge(401, REALM, "n-1"), ok)
        const started: Array<ClientTransaction> = []
        const result = yield* sendAuthenticated(yield* authenticator(), request(method), {
          destination: PEER,
          onTransaction: (transaction) => Effect.sync(() => void started.push(transaction))
        })
        expect(statusCode(result.response)).toBe(200)
        expect(started.map((transaction) => transaction.request.cseq?.seq)).toEqual([7, 8])
        expect(result.transaction).toBe(started[1])
        const sent = peer.requests(method)
        expect(credentialsOf(sent[1]!.request)?.["realm"]).toBe(REALM)
        expect(digestIsRight(sent[1]!.request, credentialsOf(sent[1]!.request)!, PASSWORD)).toBe(true)
        // the INVITE transaction acknowledges the 401 itself, on the first branch
        const acks = peer.log().filter(({ request }) => request.method === "ACK")
        expect(acks.map(({ request }) => request.via[0]?.branch)).toEqual(method === "INVITE" ? [sent[0]!.request.via[0]?.branch] : [])
      }).pipe(Effect.provide(world())))
  }

  it.effect("answers a proxy's 407 and then the registrar's 401, sending both credentials", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      const credentials = new CredentialsManager()
      credentials.add("proxy-alice", "proxypw", undefined, "proxy.realm")
      credentials.add("alice", PASSWORD, "10.0.0.2", REALM, "alice")
      credentials.add("somebody-else", "x", "elsewhere.example")
      yield* peer.next(challenge(407, "proxy.realm", "p-1"), challenge(401, REALM, "r-1"), ok)
      const result = yield* sendAuthenticated(yield* authenticator(credentials), request("MESSAGE", "hi"), { destination: PEER })
      expect(statusCode(result.response)).toBe(200)
      const last = peer.requests("MESSAGE")[2]!.request
      expect(last.cseq?.seq).toBe(9)
      expect(credentialsOf(last, "Proxy-Authorization")).toMatchObject({ username: "proxy-alice", realm: "proxy.realm" })
      expect(credentialsOf(last)).toMatchObject({ username: "alice", realm: REALM })
      expect(digestIsRight(last, credentialsOf(last, "Proxy-Authorization")!, "proxypw")).toBe(true)
      expect(digestIsRight(last, credentialsOf(last)!, PASSWORD)).toBe(true)
    }).pipe(Effect.provide(world())))

  it.effect("retries a stale challenge with the new nonce", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      yield* peer.next(challenge(401, REALM, "n-1"), challenge(401, REALM, "n-2", ", stale=true"), ok)
      const result = yield* sendAuthenticated(yield* authenticator(), request("MESSAGE"), { destination: PEER })
      expect(statusCode(result.response)).toBe(200)
      expect(peer.requests("MESSAGE").map(({ request }) => credentialsOf(request)?.["nonce"])).toEqual([undefined, "n-1", "n-2"])
    }).pipe(Effect.provide(world())))

  it.effect("a second challenge for the realm just answered is InvalidAccountInfoError", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      yield* peer.next(challenge(401, REALM, "n-1"), challenge(401, REALM, "n-2"))
      const error = yield* Effect.flip(sendAuthenticated(yield* authenticator(), request("MESSAGE"), { destination: PEER }))
      expect(error._tag).toBe("InvalidAccountInfoError")
      expect(error.message).toBe(`credentials rejected by ${REALM}: 401 Unauthorized (user "alice")`)
      expect(peer.requests("MESSAGE").length).toBe(2)
    }).pipe(Effect.provide(world())))

  it.effect("a 403 to our credentials is InvalidAccountInfoError; a 403 without them is just the response", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      const client = yield* authenticator()
      yield* peer.next(challenge(407, "proxy.realm", "n-1"), (message) => reply(message, 403))
      const error = yield* Effect.flip(sendAuthenticated(client, request("MESSAGE"), { destination: PEER }))
      expect(error.message).toBe(`credentials rejected by proxy.realm: 403 Forbidden (user "alice")`)
      yield* peer.next((message) => reply(message, 403))
      const result = yield* sendAuthenticated(client, request("OPTIONS"), { destination: PEER })
      expect(statusCode(result.response)).toBe(403)
    }).pipe(Effect.provide(world())))

  it.effect(`stops after ${MAX_CHALLENGES} challenges from a server that keeps saying stale`, () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      yield* peer.next(
        ...Array.from({ length: 10 }, (_, i) => challenge(401, REALM, `n-${i}`, i === 0 ? "" : ", stale=true"))
      )
      const error = yield* Effect.flip(sendAuthenticated(yield* authenticator(), request("MESSAGE"), { destination: PEER }))
      expect(error._tag).toBe("InvalidAccountInfoError")
      expect(peer.requests("MESSAGE").length).toBe(MAX_CHALLENGES + 1)
    }).pipe(Effect.provide(world())))

  it.effect("refuses Basic unless allowed, and sends it when it is", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      const basic = (message: SIPMessage.SIPMessage) => reply(message, 401, [["WWW-Authenticate", `Basic realm="${REALM}"`]])
      const client = yield* authenticator()
      yield* peer.next(basic)
      const refused = yield* Effect.flip(sendAuthenticated(client, request("MESSAGE"), { destination: PEER }))
      expect(refused.message).toBe("cannot authenticate: no usable WWW-Authenticate challenge: Basic authentication is disabled (ALLOW_BASIC_AUTH)")
      yield* peer.next(basic, ok)
      const allowed = yield* sendAuthenticated(
        { ...client, policy: { ...client.policy, allowBasicAuth: true } },
        request("MESSAGE"),
        { destination: PEER }
      )
      expect(statusCode(allowed.response)).toBe(200)
      expect(headerOf(peer.requests("MESSAGE").at(-1)!.request, "Authorization")).toBe(
        `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`
      )
    }).pipe(Effect.provide(world())))

  it.effect("sends the sessions of an earlier exchange pre-emptively with the next nonce count", () =>
    Effect.gen(function*() {
      const peer = yield* registrar()
      const client = yield* authenticator()
      yield* peer.next(challenge(401, REALM, "n-1"), ok, ok, ok)
      let sessions: ReadonlyArray<AuthSession> = []
      for (let i = 0; i < 3; i++) {
        const result = yield* sendAuthenticated(client, request("MESSAGE", `message ${i}`), { destination: PEER, sessions })
        sessions = result.sessions
      }
      const sent = peer.requests("MESSAGE").map(({ request }) => credentialsOf(request))
      expect(sent.map((params) => params?.["nc"])).toEqual([undefined, "00000001", "00000002", "00000003"])
      expect(new Set(sent.slice(1).map((params) => params?.["cnonce"])).size).toBe(1)
      expect(peer.requests("MESSAGE").every(({ request }, i) =>
        i === 0 || digestIsRight(request, credentialsOf(request)!, PASSWORD)
      )).toBe(true)
    }).pipe(Effect.provide(world())))
})
