/**
 * A SIP account, as pyVoIP's `VoIPPhoneParameter` describes it (server,
 * port, user, credentials, transport), plus what pyVoIP lacks: an outbound
 * proxy, the requested expiry, and a mode without registration
 * (peer-to-peer). {@link resolve} checks the settings once; the builders
 * here turn an account into the addresses and requests the client sends.
 *
 * Addresses follow pyVoIP where RFC 3261 allows it: the registrar's
 * Request-URI is `sip:server[:port]` (`sips:` over TLS, the port written
 * when it is not the transport's default), our address-of-record is
 * `sip:user@server`, and credentials are looked up by the From host (the
 * server), the challenge's realm and the From user.
 *
 * @since 0.1.0
 */
import { Duration, Option, type Redacted, Result, Schema } from "effect"
import { CredentialsManager } from "../../Credentials.ts"
import type { Destination, Endpoint } from "../../transport/SipTransport.ts"
import { TransportMode } from "../../transport/TransportMode.ts"
import { formatNameAddr } from "../HeaderValues.ts"
import * as SIPMessage from "../SIPMessage.ts"
import type { SIPParseError } from "../SIPParseError.ts"
import { formatUri, make as makeUri, parseUri, type SIPURI } from "../Uri.ts"

/**
 * A host and an optional port, as `host[:port]` settings give them.
 *
 * @category models
 * @since 0.1.0
 */
export interface HostPort {
  readonly host: string
  readonly port?: number | undefined
}

/**
 * The account as the user gives it.
 *
 * @category models
 * @since 0.1.0
 */
export interface AccountOptions {
  /** The registrar and domain (host name or IP literal); optional without registration. */
  readonly server?: string | undefined
  /** The server's port. Absent: a server that is a name is located by DNS SRV (RFC 3263), else 5060 (5061 over TLS). */
  readonly port?: number | undefined
  /** The user part of our address-of-record. */
  readonly user: string
  readonly displayName?: string | undefined
  /** The username to authenticate as, when it differs from `user`. */
  readonly authUser?: string | undefined
  /** Shorthand for credentials `(authUser ?? user, password)` valid for any server and realm. */
  readonly password?: string | Redacted.Redacted<string> | undefined
  /** pyVoIP's credentials manager, for credentials per server, realm or user; wins over `password`. */
  readonly credentials?: CredentialsManager | undefined
  /** Every request goes there first, with a `Route: <sip:proxy;lr>` header (RFC 3261 §8.1.2). */
  readonly outboundProxy?: HostPort | undefined
  /** The expiry asked for in REGISTER, in seconds (default 300). */
  readonly expires?: number | undefined
  /** `false`: no registration, peer-to-peer (default `true`). */
  readonly register?: boolean | undefined
  /** How long closing the client waits for the deregistration's response (default 5 s). */
  readonly deregisterTimeout?: Duration.Input | undefined
}

/**
 * A checked account, for one transport.
 *
 * @category models
 * @since 0.1.0
 */
export interface Account {
  readonly server: string | undefined
  /**
   * The server's port as given. Absent, a server that is a name is located
   * by DNS SRV (RFC 3263), falling back to the transport's default port; an
   * explicit port, even the default one, is never looked up by SRV.
   */
  readonly port: number | undefined
  readonly user: string
  readonly displayName: string | undefined
  readonly credentials: CredentialsManager
  readonly outboundProxy: Destination | undefined
  readonly expires: number
  readonly register: boolean
  readonly deregisterTimeout: Duration.Duration
  readonly mode: TransportMode
}

/**
 * Account settings that cannot work: registration without a server, an
 * expiry that is not a positive whole number, an empty user.
 *
 * @category errors
 * @since 0.1.0
 */
export class AccountSettingsError extends Schema.TaggedError<AccountSettingsError>()("AccountSettingsError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid account settings: ${this.reason}`
  }
}

/**
 * The default expiry asked for, in seconds.
 *
 * @category constants
 * @since 0.1.0
 */
export const DEFAULT_EXPIRES = 300

const DEFAULT_DEREGISTER_TIMEOUT = Duration.seconds(5)

const invalid = (reason: string) => Result.fail(new AccountSettingsError({ reason }))

const isPort = (port: number) => Number.isInteger(port) && port > 0 && port < 65536

/**
 * Checks the settings for a client on a transport of `mode`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (options: AccountOptions, mode: TransportMode): Result.Result<Account, AccountSettingsError> => {
  const register = options.register ?? true
  const expires = options.expires ?? DEFAULT_EXPIRES
  if (options.user.length === 0) return invalid("the user is empty")
  if (register && (options.server === undefined || options.server.length === 0)) {
    return invalid("registration needs a server (or register: false)")
  }
  if (!Number.isInteger(expires) || expires < 1) return invalid(`expires must be a positive whole number, got ${expires}`)
  const port = options.port
  if (port !== undefined && !isPort(port)) return invalid(`the server port must be 1-65535, got ${port}`)
  const proxy = options.outboundProxy
  if (proxy !== undefined && proxy.port !== undefined && !isPort(proxy.port)) {
    return invalid(`the outbound proxy port must be 1-65535, got ${proxy.port}`)
  }
  const deregisterTimeout = options.deregisterTimeout === undefined
    ? Option.some(DEFAULT_DEREGISTER_TIMEOUT)
    : Duration.fromInput(options.deregisterTimeout)
  if (Option.isNone(deregisterTimeout)) return invalid("deregisterTimeout is not a duration")
  return Result.succeed({
    server: options.server,
    port,
    user: options.user,
    displayName: options.displayName,
    credentials: options.credentials ?? passwordCredentials(options.authUser ?? options.user, options.password),
    outboundProxy: proxy === undefined
      ? undefined
      : { host: proxy.host, port: proxy.port ?? mode.defaultPort, locate: proxy.port === undefined },
    expires,
    register,
    deregisterTimeout: deregisterTimeout.value,
    mode
  })
}

const passwordCredentials = (
  username: string,
  password: string | Redacted.Redacted<string> | undefined
): CredentialsManager => {
  const manager = new CredentialsManager()
  if (password !== undefined) manager.add(username, password)
  return manager
}

/**
 * Reads `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address is
 * a host without port. Port 0 (any port, for a bind address) is allowed.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseHostPort = (text: string): Result.Result<HostPort, AccountSettingsError> => {
  const trimmed = text.trim()
  if ((trimmed.match(/:/g) ?? []).length > 1 && !trimmed.startsWith("[")) {
    return /^[0-9A-Fa-f:.]+$/.test(trimmed) ? Result.succeed({ host: trimmed }) : invalid(`"${text}" is not host[:port]`)
  }
  const match = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(trimmed) ?? /^([^:[\]\s]+)(?::(\d{1,5}))?$/.exec(trimmed)
  if (match === null) return invalid(`"${text}" is not host[:port]`)
  const port = match[2] === undefined ? undefined : Number(match[2])
  if (port !== undefined && port > 65535) return invalid(`"${text}": the port must be 0-65535`)
  return Result.succeed({ host: match[1]!, port })
}

const schemeOf = (account: Account): "sip" | "sips" => account.mode === TransportMode.TLS ? "sips" : "sip"

/**
 * The registrar's Request-URI: `sip:server[:port]`.
 *
 * @category addresses
 * @since 0.1.0
 */
export const registrarUri = (account: Account): SIPURI =>
  makeUri({
    scheme: schemeOf(account),
    host: account.server ?? "",
    port: account.port
  })

/**
 * Our address-of-record, `sip:user@server`; without a server, at
 * `localHost` (the host of our Contact).
 *
 * @category addresses
 * @since 0.1.0
 */
export const addressOfRecord = (account: Account, localHost: string): SIPURI =>
  makeUri({ scheme: schemeOf(account), user: account.user, host: account.server ?? localHost })

/**
 * Our Contact URI at `endpoint`: `sip:user@host:port`, with
 * `;transport=tcp` over TCP, `sips:` over TLS.
 *
 * @category addresses
 * @since 0.1.0
 */
export const contactUri = (account: Account, endpoint: Endpoint): SIPURI =>
  makeUri({
    scheme: schemeOf(account),
    user: account.user,
    host: endpoint.address,
    port: endpoint.port,
    params: account.mode === TransportMode.TCP ? { transport: "tcp" } : undefined
  })

/**
 * Whether two contact URIs name the same binding: user, host and port (the
 * transport's default port when absent), whatever their parameters.
 *
 * @category addresses
 * @since 0.1.0
 */
export const sameContact = (a: SIPURI, b: SIPURI, defaultPort: number): boolean =>
  a.user === b.user && a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? defaultPort) === (b.port ?? defaultPort)

const routeLines = (account: Account): Array<readonly [string, string]> => {
  const proxy = account.outboundProxy
  if (proxy === undefined) return []
  const port = proxy.locate === true ? undefined : proxy.port
  const uri = makeUri({ scheme: schemeOf(account), host: proxy.host, port, params: { lr: null } })
  return [["Route", `<${formatUri(uri)}>`]]
}

const nameAddr = (uri: SIPURI, displayName: string | undefined, tag: string | undefined) =>
  formatNameAddr({ displayName, uri, params: new Map(), tag })

/**
 * What a REGISTER carries besides the account.
 *
 * @category models
 * @since 0.1.0
 */
export interface RegisterFields {
  readonly callId: string
  readonly fromTag: string
  readonly cseq: number
  readonly contact: SIPURI
  /** 0 removes the binding. */
  readonly expires: number
}

/**
 * A REGISTER (RFC 3261 §10.2) for our Contact with `Expires`; no Via (the
 * transaction layer adds it with a fresh branch).
 *
 * @category requests
 * @since 0.1.0
 */
export const registerRequest = (account: Account, fields: RegisterFields): Result.Result<SIPMessage.SIPMessage, SIPParseError> => {
  const aor = addressOfRecord(account, fields.contact.host)
  return SIPMessage.request({
    method: "REGISTER",
    uri: registrarUri(account),
    headers: [
      ...routeLines(account),
      ["Max-Forwards", "70"],
      ["From", nameAddr(aor, account.displayName, fields.fromTag)],
      ["To", nameAddr(aor, account.displayName, undefined)],
      ["Call-ID", fields.callId],
      ["CSeq", `${fields.cseq} REGISTER`],
      ["Contact", `<${formatUri(fields.contact)}>`],
      ["Expires", String(fields.expires)]
    ]
  })
}

/**
 * The URI a target names: a `sip:`, `sips:` or `tel:` URI as it is, or a
 * user (a number) at our server.
 *
 * @category addresses
 * @since 0.1.0
 */
export const targetUri = (account: Account, target: string): Result.Result<SIPURI, SIPParseError | AccountSettingsError> => {
  if (/^(sips?|tel):/i.test(target)) return parseUri(target)
  if (account.server === undefined) {
    return invalid(`"${target}" is not a URI, and without a server there is no domain to call it at`)
  }
  return Result.succeed(makeUri({
    scheme: schemeOf(account),
    user: target,
    host: account.server,
    port: account.port
  }))
}

/** Methods whose requests create a dialog and so carry our Contact (RFC 3261 §8.1.1.8, RFC 6665, RFC 3515). */
const dialogCreating: ReadonlySet<string> = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"])

/**
 * What an out-of-dialog request carries besides the account.
 *
 * @category models
 * @since 0.1.0
 */
export interface OutOfDialogFields {
  readonly method: string
  readonly target: SIPURI
  readonly callId: string
  readonly fromTag: string
  readonly cseq: number
  /** Our Contact, written for dialog-creating methods. */
  readonly contact: SIPURI
  /** More header fields, after the ones built here. */
  readonly headers?: ReadonlyArray<readonly [string, string]> | undefined
  readonly body?: SIPMessage.Body | undefined
  readonly contentType?: string | undefined
}

/**
 * A request outside any dialog (RFC 3261 §8.1.1): From our
 * address-of-record with a new tag, To the target, the outbound proxy's
 * Route, Contact for dialog-creating methods.
 *
 * @category requests
 * @since 0.1.0
 */
export const outOfDialogRequest = (
  account: Account,
  fields: OutOfDialogFields
): Result.Result<SIPMessage.SIPMessage, SIPParseError> => {
  const headers: Array<readonly [string, string]> = [
    ...routeLines(account),
    ["Max-Forwards", "70"],
    ["From", nameAddr(addressOfRecord(account, fields.contact.host), account.displayName, fields.fromTag)],
    ["To", nameAddr(fields.target, undefined, undefined)],
    ["Call-ID", fields.callId],
    ["CSeq", `${fields.cseq} ${fields.method}`]
  ]
  if (dialogCreating.has(fields.method)) headers.push(["Contact", `<${formatUri(fields.contact)}>`])
  headers.push(...(fields.headers ?? []))
  return SIPMessage.request({
    method: fields.method,
    uri: fields.target,
    headers,
    ...(fields.body === undefined ? {} : { body: fields.body }),
    ...(fields.contentType === undefined ? {} : { contentType: fields.contentType })
  })
}
