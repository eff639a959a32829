/**
 * SIP over TLS. The server side listens with the certificate and key from
 * `certFile`/`keyFile` (pyVoIP's `cert_file`, `key_file`, `key_password`) and
 * can ask clients for certificates; the client side verifies the server's
 * certificate and host name as `TLS_VERIFY_MODE` and `TLS_CHECK_HOSTNAME` say
 * (on by default), trusting `caFile` or else Node's bundled authorities. When a
 * handshake fails and `ALLOW_TLS_FALLBACK` is on, the connection is retried
 * over plain TCP to the same address.
 *
 * @since 0.1.0
 */
import { NodeSocket, NodeSocketServer } from "@effect/platform-node"
import { Duration, Effect, Layer, Option, Redacted, Result, type Scope } from "effect"
import { Dns, NetAddress } from "effect/net"
import * as Fs from "node:fs"
import * as NodeTls from "node:tls"
import { type Settings, TlsVerifyMode, VoIPSettings } from "../Config.ts"
import * as Connections from "./Connections.ts"
import { makeCounters, type TransportCounters } from "./DebugDump.ts"
import { formatEndpoint, SipTransport, SipTransportError } from "./SipTransport.ts"
import * as Tcp from "./Tcp.ts"
import { TransportMode } from "./TransportMode.ts"
import type { BindOptions } from "./Udp.ts"

/**
 * pyVoIP's `KEY_PASSWORD`: the key's passphrase as text or bytes, or a
 * function returning either (called when the transport starts), optionally
 * wrapped in `Redacted` so it never shows in logs.
 *
 * @category models
 * @since 0.1.0
 */
export type KeyPassword =
  | string
  | Uint8Array
  | Redacted.Redacted<string | Uint8Array>
  | (() => string | Uint8Array)

/**
 * Whether the server asks TLS clients for a certificate: not at all, asks
 * but accepts clients without a valid one, or refuses them.
 *
 * @category models
 * @since 0.1.0
 */
export type ClientCertificates = "none" | "request" | "require"

/**
 * @category models
 * @since 0.1.0
 */
export interface TlsOptions extends BindOptions {
  /** PEM certificate chain; with `keyFile`, the transport also listens. */
  readonly certFile?: string | undefined
  /** PEM private key. */
  readonly keyFile?: string | undefined
  readonly keyPassword?: KeyPassword | undefined
  /** PEM certificates of the authorities to trust; Node's bundled ones when absent. */
  readonly caFile?: string | undefined
  readonly clientCertificates?: ClientCertificates | undefined
}

/** The certificate, key, passphrase and trust anchors of a TLS transport. */
interface Credentials {
  readonly key: Buffer | undefined
  readonly cert: Buffer | undefined
  readonly passphrase: string | undefined
  readonly ca: Buffer | undefined
}

const setupError = (detail: string) => new SipTransportError({ reason: "TlsSetupFailed", target: "-", detail })

const readPem = (path: string | undefined, what: string): Effect.Effect<Buffer | undefined, SipTransportError> =>
  path === undefined ? Effect.succeed(undefined) : Effect.try({
    try: () => Fs.readFileSync(path),
    catch: (error) => setupError(`cannot read the ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`)
  })

const passphraseOf = (password: KeyPassword | undefined): Effect.Effect<string | undefined, SipTransportError> =>
  Effect.try({
    try: () => {
      const value = password === undefined
        ? undefined
        : typeof password === "function"
        ? password()
        : Redacted.isRedacted(password)
        ? Redacted.value(password)
        : password
      return typeof value === "object" ? new TextDecoder().decode(value) : value
    },
    // the message of a password function's error could carry the password
    catch: () => setupError("the key password function failed")
  })

const loadCredentials = (options: TlsOptions): Effect.Effect<Credentials, SipTransportError> =>
  Effect.gen(function*() {
    if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
      return yield* setupError("certFile and keyFile go together")
    }
    const credentials: Credentials = {
      cert: yield* readPem(options.certFile, "certificate"),
      key: yield* readPem(options.keyFile, "key"),
      ca: yield* readPem(options.caFile, "CA file"),
      passphrase: yield* passphraseOf(options.keyPassword)
    }
    // checked once here, so a wrong password or a key that does not match is a typed error
    yield* Effect.try({
      try: () => NodeTls.createSecureContext(credentials),
      catch: (error) => setupError(`invalid certificate or key: ${error instanceof Error ? error.message : String(error)}`)
    })
    return credentials
  })

const isIpLiteral = (host: string): boolean =>
  Result.isSuccess(NetAddress.ipFromString(host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host))

/**
 * Dials a TLS connection, verifying the server as the settings say. A
 * failure after the TCP connection is up is a `TlsHandshakeFailed`.
 */
const dial = (
  destination: Connections.ResolvedDestination,
  credentials: Credentials,
  settings: Settings
): Effect.Effect<Connections.OpenedStream, SipTransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const target = formatEndpoint({ address: destination.host, port: destination.port })
    const { connection, socket } = yield* Tcp.openSocket((ready, failed) => {
      let connected = false
      const tls = NodeTls.connect({
        host: destination.address,
        port: destination.port,
        // SNI and the name to check carry the host as the caller named it; an IP is checked against IP SANs
        ...(isIpLiteral(destination.host) ? {} : { servername: destination.host }),
        ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
        ...(credentials.cert === undefined ? {} : { cert: credentials.cert, key: credentials.key }),
        ...(credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase }),
        rejectUnauthorized: settings.tlsVerifyMode !== TlsVerifyMode.NONE,
        checkServerIdentity: settings.tlsCheckHostname ? NodeTls.checkServerIdentity : () => undefined
      })
      tls.once("connect", () => (connected = true))
      tls.once("secureConnect", ready)
      tls.once("error", (error) =>
        failed(connected ? new SipTransportError({ reason: "TlsHandshakeFailed", target, detail: error.message }) : error))
      return tls
    }, settings.connectTimeout)
    const reader = yield* Effect.mapError(socket.reader, Tcp.openError(target))
    const writer = yield* socket.writer
    const tls = connection()
    return {
      reader,
      writer,
      transport: TransportMode.TLS,
      local: Tcp.endpointOf(tls?.localAddress, tls?.localPort),
      remote: { address: destination.address, port: destination.port }
    }
  })

/** A TLS dial that counts handshake failures and, when allowed, falls back to TCP. */
const dialWithFallback = (credentials: Credentials, settings: Settings, counters: TransportCounters) =>
(
  destination: Connections.ResolvedDestination
): Effect.Effect<Connections.OpenedStream, SipTransportError, Scope.Scope> =>
  dial(destination, credentials, settings).pipe(
    Effect.catch((error) => {
      if (error.reason !== "TlsHandshakeFailed") return Effect.fail(error)
      counters.tlsFailures++
      if (!settings.allowTlsFallback) return Effect.fail(error)
      counters.tlsFallbacks++
      return Effect.logWarning(`SIP TLS to ${error.target} failed (${error.detail}); falling back to TCP`).pipe(
        Effect.andThen(Tcp.dial(destination, settings.connectTimeout))
      )
    })
  )

/** The listening side, when the transport has a certificate. */
const listen = (
  options: TlsOptions,
  credentials: Credentials,
  settings: Settings,
  counters: TransportCounters
): Effect.Effect<Connections.Listener | undefined, SipTransportError, Scope.Scope> =>
  Effect.gen(function*() {
    if (credentials.cert === undefined) return undefined
    const bindTarget = formatEndpoint({ address: options.host, port: options.port ?? 0 })
    const clientCertificates = options.clientCertificates ?? "none"
    const server = yield* NodeSocketServer.makeTls({
      host: options.host,
      port: options.port ?? 0,
      cert: credentials.cert,
      ...(credentials.key === undefined ? {} : { key: credentials.key }),
      ...(credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase }),
      ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
      requestCert: clientCertificates !== "none",
      // refused below instead, where it can be counted and logged
      rejectUnauthorized: false,
      handshakeTimeout: Duration.toMillis(settings.connectTimeout)
    }).pipe(Effect.mapError(Tcp.listenError(bindTarget)))
    const address = server.address
    const local = address._tag === "UnixPathAddress"
      ? { address: options.host, port: 0 }
      : { address: NetAddress.formatIp(address.address), port: address.port }
    const openAccepted = (socket: Parameters<Parameters<typeof server.run>[0]>[0]) =>
      Effect.gen(function*() {
        const opened = yield* Tcp.accepted(socket, TransportMode.TLS)
        const tls = Option.getOrUndefined(yield* Effect.serviceOption(NodeSocket.NetSocket)) as
          | NodeTls.TLSSocket
          | undefined
        if (clientCertificates === "require" && tls?.authorized !== true) {
          counters.tlsFailures++
          const presented = tls !== undefined && Object.keys(tls.getPeerCertificate()).length > 0
          return yield* new SipTransportError({
            reason: "TlsHandshakeFailed",
            target: formatEndpoint(opened.remote),
            detail: presented
              ? `client certificate refused: ${String(tls.authorizationError)}`
              : "the client presented no certificate"
          })
        }
        return opened
      })
    const listener: Connections.Listener = {
      local,
      run: (handler) =>
        server.run((socket) => handler(openAccepted(socket))).pipe(
          Effect.catch((error) => Effect.logError(`SIP TLS listener on ${bindTarget} stopped: ${error.message}`))
        )
    }
    return listener
  })

/**
 * Loads the credentials, binds the listening socket when there is a
 * certificate (a transport without one only dials out), and starts
 * accepting; everything is released with the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: TlsOptions
): Effect.Effect<SipTransport["Service"], SipTransportError, Scope.Scope | VoIPSettings | Dns.Dns> =>
  Effect.gen(function*() {
    const settings = yield* VoIPSettings
    const dns = yield* Dns.Dns
    const counters = makeCounters()
    const credentials = yield* loadCredentials(options)
    const listener = (yield* listen(options, credentials, settings, counters)) ?? {
      local: { address: options.host, port: options.port ?? 0 },
      run: () => Effect.void
    }
    return yield* Connections.makeStreamTransport({
      mode: TransportMode.TLS,
      settings,
      counters,
      dns,
      listener,
      dial: dialWithFallback(credentials, settings, counters)
    })
  })

/**
 * The TLS transport as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: TlsOptions): Layer.Layer<SipTransport, SipTransportError, VoIPSettings | Dns.Dns> =>
  Layer.effect(SipTransport, make(options))
