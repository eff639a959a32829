import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { defaults, setTlsSecurity, type Settings, TlsVerifyMode } from "../../src/Config.ts"
import * as Tcp from "../../src/transport/Tcp.ts"
import * as Tls from "../../src/transport/Tls.ts"
import { collect, environment, eventually, ok, options } from "./helpers.ts"
import { makePki, type Pki } from "./pki.ts"

let pki: Pki & { readonly remove: () => void }
beforeAll(() => {
  pki = makePki()
})
afterAll(() => pki.remove())

const server = (extra: Partial<Tls.TlsOptions> = {}, host = "127.0.0.1") =>
  Tls.make({ host, certFile: pki.file("server.crt"), keyFile: pki.file("server.key"), caFile: pki.file("ca.crt"), ...extra })

/** A client-only TLS transport (no certificate, so it does not listen) trusting our CA unless told otherwise. */
const client = (extra: Partial<Tls.TlsOptions> = {}, host = "127.0.0.1") => Tls.make({ host, caFile: pki.file("ca.crt"), ...extra })

const ping = (from: { address: string; port: number }, to: { address: string; port: number }) =>
  options({ transport: "TLS", sentBy: from, to })

const roundTrip = (
  alice: Effect.Success<ReturnType<typeof client>>,
  bob: Effect.Success<ReturnType<typeof server>>,
  host = "127.0.0.1"
) =>
  Effect.gen(function*() {
    const aliceInbox = yield* collect(alice)
    const bobInbox = yield* collect(bob)
    const sent = yield* alice.send(ping(alice.localAddress, bob.localAddress), { host, port: bob.localAddress.port })
    const arrived = yield* bobInbox.next
    yield* bob.send(ok(arrived.message), { connectionId: arrived.connectionId! })
    const response = yield* aliceInbox.next
    return { sent, arrived, response }
  })

const withSettings = (overrides: Partial<Settings>) => Effect.provide(environment(overrides))

describe("TLS transport", () => {
  for (const host of ["127.0.0.1", "::1", "localhost"]) {
    it.live(`round trip with a trusted certificate, connecting to ${host}`, () =>
      Effect.gen(function*() {
        const bind = host === "::1" ? "::1" : "127.0.0.1"
        const bob = yield* server({}, bind)
        const alice = yield* client({}, bind)
        const { arrived, response, sent } = yield* roundTrip(alice, bob, host)
        expect(sent).toMatchObject({ transport: { value: "TLS" }, connectionId: expect.stringMatching(/^tls-/) })
        expect(arrived).toMatchObject({ transport: { value: "TLS" }, source: { address: bind } })
        expect(response.message.status).toMatchObject({ value: 200 })
        expect(response.connectionId).toBe(sent.connectionId)
      }).pipe(withSettings({})))
  }

  it.live("refuses a server whose certificate is not signed by a trusted authority", () =>
    Effect.gen(function*() {
      const bob = yield* server()
      // Node's bundled authorities do not know our CA
      const stranger = yield* Tls.make({ host: "127.0.0.1" })
      const to = { host: "127.0.0.1", port: bob.localAddress.port }
      const error = yield* Effect.flip(stranger.send(ping(stranger.localAddress, bob.localAddress), to))
      expect(error).toMatchObject({ reason: "TlsHandshakeFailed" })
      expect(error.detail).toMatch(/certificate/)
      expect((yield* stranger.snapshot).counters).toMatchObject({ tlsFailures: 1, connectionsOpened: 0 })
      // the server is unharmed
      const { response } = yield* roundTrip(yield* client(), bob)
      expect(response.message.status).toMatchObject({ value: 200 })
    }).pipe(withSettings({})))

  it.live("refuses a certificate for another host name, and accepts it when hostname checking is off", () =>
    Effect.gen(function*() {
      const bob = yield* server({ certFile: pki.file("other-name.crt"), keyFile: pki.file("other-name.key") })
      const to = { host: "127.0.0.1", port: bob.localAddress.port }
      const strict = yield* client()
      const error = yield* Effect.flip(strict.send(ping(strict.localAddress, bob.localAddress), to))
      expect(error).toMatchObject({ reason: "TlsHandshakeFailed" })
      expect(error.detail).toMatch(/altnames|Hostname\/IP does not match/)

      const relaxed = yield* client().pipe(withSettings({ tlsCheckHostname: false }))
      const { response } = yield* roundTrip(relaxed, bob)
      expect(response.message.status).toMatchObject({ value: 200 })
    }).pipe(withSettings({})))

  it.live("with verification off (setTlsSecurity none) accepts any certificate", () =>
    Effect.gen(function*() {
      const bob = yield* server({ certFile: pki.file("rogue.crt"), keyFile: pki.file("rogue.key") })
      const careless = yield* Tls.make({ host: "127.0.0.1" })
      const { response } = yield* roundTrip(careless, bob)
      expect(response.message.status).toMatchObject({ value: 200 })
    }).pipe(withSettings(setTlsSecurity(TlsVerifyMode.NONE)(defaults))))

  it.live("falls back to TCP when the handshake fails and ALLOW_TLS_FALLBACK is on, and not otherwise", () =>
    Effect.gen(function*() {
      const plain = yield* Tcp.make({ host: "127.0.0.1" })
      const plainInbox = yield* collect(plain)
      const to = { host: "127.0.0.1", port: plain.localAddress.port }

      const strict = yield* client()
      const refused = yield* Effect.flip(strict.send(ping(strict.localAddress, plain.localAddress), to))
      expect(refused).toMatchObject({ reason: "TlsHandshakeFailed" })

      const lenient = yield* client().pipe(withSettings({ allowTlsFallback: true }))
      const sent = yield* lenient.send(ping(lenient.localAddress, plain.localAddress), to)
      expect(sent).toMatchObject({ transport: { value: "TCP" }, connectionId: expect.stringMatching(/^tcp-/) })
      const arrived = yield* plainInbox.next
      expect(arrived.transport.value).toBe("TCP")
      expect((yield* lenient.snapshot).counters).toMatchObject({ tlsFailures: 1, tlsFallbacks: 1 })
      // the TCP side cut both handshakes off at their first byte
      expect((yield* plain.snapshot).counters).toMatchObject({ framingErrors: 2, received: 1 })
    }).pipe(withSettings({})))

  it.live("loads a key encrypted with a password given as text, bytes, a function or Redacted", () =>
    Effect.gen(function*() {
      const passwords: ReadonlyArray<Tls.KeyPassword> = [
        pki.keyPassword,
        new TextEncoder().encode(pki.keyPassword),
        () => pki.keyPassword,
        Redacted.make(pki.keyPassword)
      ]
      for (const keyPassword of passwords) {
        const bob = yield* server({ certFile: pki.file("encrypted.crt"), keyFile: pki.file("encrypted.key"), keyPassword })
        const { response } = yield* roundTrip(yield* client(), bob)
        expect(response.message.status).toMatchObject({ value: 200 })
        // the debug dump shows the connection but nothing of the credentials
        for (const dump of [yield* bob.dump(), yield* bob.dump(true)]) {
          expect(dump).toMatch(/tls-1/)
          expect(dump).not.toContain(pki.keyPassword)
          expect(dump).not.toContain("PRIVATE KEY")
        }
      }
      const error = yield* Effect.flip(server({
        certFile: pki.file("encrypted.crt"),
        keyFile: pki.file("encrypted.key"),
        keyPassword: "wrong password"
      }))
      expect(error).toMatchObject({ _tag: "SipTransportError", reason: "TlsSetupFailed" })
      expect(error.message).not.toContain("wrong password")
      const missing = yield* Effect.flip(server({ certFile: pki.file("nope.crt") }))
      expect(missing.reason).toBe("TlsSetupFailed")
    }).pipe(withSettings({})))

  it.live("a server requiring client certificates refuses untrusted clients, counts them, and keeps serving", () =>
    Effect.gen(function*() {
      const bob = yield* server({ clientCertificates: "require" })
      const to = { host: "127.0.0.1", port: bob.localAddress.port }
      const rogue = yield* client({ certFile: pki.file("rogue.crt"), keyFile: pki.file("rogue.key") })
      yield* Effect.ignore(rogue.send(ping(rogue.localAddress, bob.localAddress), to))
      const anonymous = yield* client()
      yield* Effect.ignore(anonymous.send(ping(anonymous.localAddress, bob.localAddress), to))
      const refused = yield* eventually("both clients to be refused", bob.snapshot, (s) => s.counters.tlsFailures === 2)
      expect(refused.counters).toMatchObject({ received: 0 })
      expect(refused.connections).toHaveLength(0)

      const trusted = yield* client({ certFile: pki.file("client.crt"), keyFile: pki.file("client.key") })
      const { response } = yield* roundTrip(trusted, bob)
      expect(response.message.status).toMatchObject({ value: 200 })
    }).pipe(withSettings({})))
})
