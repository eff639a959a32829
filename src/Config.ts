/**
 * The library's settings: pyVoIP's module globals (`DEBUG`, `ALLOW_BASIC_AUTH`,
 * `TLS_VERIFY_MODE`, ...) as one immutable service read from `Config`, plus the
 * RFC 3261 timers and the transport limits. Each setting is read from an
 * environment variable named `VOIP_<NAME>`; tests and embedders replace the
 * whole service with `VoIPSettings.layerWith(...)` instead of mutating globals.
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Context, Duration, Layer } from "effect"

/**
 * How a TLS client checks the peer's certificate, as Python's
 * `ssl.VerifyMode`: `none` accepts any certificate, `optional` and `required`
 * both verify it (for a client they mean the same, as in Python).
 *
 * @category models
 * @since 0.1.0
 */
export const TlsVerifyMode = {
  NONE: "none",
  OPTIONAL: "optional",
  REQUIRED: "required"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type TlsVerifyMode = (typeof TlsVerifyMode)[keyof typeof TlsVerifyMode]

/**
 * Every setting, with pyVoIP 2.0's defaults where pyVoIP has the setting.
 *
 * @category models
 * @since 0.1.0
 */
export interface Settings {
  /** `DEBUG`: log every message sent and received. */
  readonly debug: boolean
  /** `TRANSMIT_DELAY_REDUCTION`: fraction of the RTP packet interval to send early (0.0 .. 1.0). */
  readonly transmitDelayReduction: number
  /** `ALLOW_BASIC_AUTH`: answer a Basic challenge (sends the password in clear). */
  readonly allowBasicAuth: boolean
  /** `ALLOW_MD5_AUTH`: answer a Digest challenge that uses MD5 (RFC 8760 deprecates it). */
  readonly allowMd5Auth: boolean
  /** `REGISTER_FAILURE_THRESHOLD`: consecutive failed registrations before the phone gives up. */
  readonly registerFailureThreshold: number
  /** `ALLOW_TLS_FALLBACK`: retry over TCP when a TLS handshake fails. */
  readonly allowTlsFallback: boolean
  /** `TLS_CHECK_HOSTNAME`: the server certificate must name the host we dialled. */
  readonly tlsCheckHostname: boolean
  /** `TLS_VERIFY_MODE`: whether a TLS client verifies the server's certificate chain. */
  readonly tlsVerifyMode: TlsVerifyMode
  /** `SIP_STATE_DB_LOCATION`: where dialog state is kept (`:memory:` by default). */
  readonly sipStateDbLocation: string
  /** RFC 3261 T1: round-trip time estimate. */
  readonly t1: Duration.Duration
  /** RFC 3261 T2: longest retransmit interval for non-INVITE requests and INVITE responses. */
  readonly t2: Duration.Duration
  /** RFC 3261 T4: longest time a message stays in the network. */
  readonly t4: Duration.Duration
  /** Longest header block (start line + headers + blank line) accepted on any transport. */
  readonly maxHeaderBytes: number
  /** Longest message (headers + body) accepted on any transport. */
  readonly maxMessageBytes: number
  /** A TCP/TLS connection with no traffic for this long is closed. */
  readonly connectionIdleTimeout: Duration.Duration
  /** Longest time to open a TCP connection or finish a TLS handshake. */
  readonly connectTimeout: Duration.Duration
  /** Received messages held for the upper layer before new ones are dropped. */
  readonly incomingQueueCapacity: number
}

/**
 * The values used when no variable is set.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaults: Settings = {
  debug: false,
  transmitDelayReduction: 0.0,
  allowBasicAuth: false,
  allowMd5Auth: true,
  registerFailureThreshold: 3,
  allowTlsFallback: false,
  tlsCheckHostname: true,
  tlsVerifyMode: TlsVerifyMode.REQUIRED,
  sipStateDbLocation: ":memory:",
  t1: Duration.millis(500),
  t2: Duration.seconds(4),
  t4: Duration.seconds(5),
  maxHeaderBytes: 16 * 1024,
  maxMessageBytes: 64 * 1024 - 1,
  connectionIdleTimeout: Duration.minutes(5),
  connectTimeout: Duration.seconds(10),
  incomingQueueCapacity: 4096
}

/**
 * pyVoIP's `set_tls_security(verify_mode)`: sets the verify mode and turns
 * hostname checking off exactly when verification is off, the only
 * combinations Python's `SSLContext` accepts.
 *
 * @category combinators
 * @since 0.1.0
 */
export const setTlsSecurity = (verifyMode: TlsVerifyMode) => (settings: Settings): Settings => ({
  ...settings,
  tlsVerifyMode: verifyMode,
  tlsCheckHostname: verifyMode !== TlsVerifyMode.NONE
})

const positiveInt = (name: string, fallback: number) =>
  Config.Int(name).pipe(
    Config.withDefault(fallback),
    Config.flatMap((value) =>
      value > 0
        ? Config.succeed(value)
        : Config.fail(new ConfigProvider.SourceError({ message: `VOIP_${name} must be positive, got ${value}` }))
    )
  )

const duration = (name: string, fallback: Duration.Duration) => Config.Duration(name).pipe(Config.withDefault(fallback))

/**
 * The `Config` behind {@link VoIPSettings}: every key is `VOIP_<NAME>`, e.g.
 * `VOIP_ALLOW_BASIC_AUTH=true`, `VOIP_TLS_VERIFY_MODE=none`,
 * `VOIP_SIP_T1="250 millis"`. Without `VOIP_TLS_CHECK_HOSTNAME`, hostname
 * checking follows the verify mode (as `set_tls_security` does); asking for it
 * while verification is off is an error, as it is in Python.
 *
 * @category config
 * @since 0.1.0
 */
export const settingsConfig: Config.Config<Settings> = Config.all({
  debug: Config.Boolean("DEBUG").pipe(Config.withDefault(defaults.debug)),
  transmitDelayReduction: Config.Finite("TRANSMIT_DELAY_REDUCTION").pipe(
    Config.withDefault(defaults.transmitDelayReduction)
  ),
  allowBasicAuth: Config.Boolean("ALLOW_BASIC_AUTH").pipe(Config.withDefault(defaults.allowBasicAuth)),
  allowMd5Auth: Config.Boolean("ALLOW_MD5_AUTH").pipe(Config.withDefault(defaults.allowMd5Auth)),
  registerFailureThreshold: positiveInt("REGISTER_FAILURE_THRESHOLD", defaults.registerFailureThreshold),
  allowTlsFallback: Config.Boolean("ALLOW_TLS_FALLBACK").pipe(Config.withDefault(defaults.allowTlsFallback)),
  tlsCheckHostname: Config.option(Config.Boolean("TLS_CHECK_HOSTNAME")),
  tlsVerifyMode: Config.Literals([TlsVerifyMode.NONE, TlsVerifyMode.OPTIONAL, TlsVerifyMode.REQUIRED], "TLS_VERIFY_MODE")
    .pipe(Config.withDefault(defaults.tlsVerifyMode)),
  sipStateDbLocation: Config.String("SIP_STATE_DB_LOCATION").pipe(Config.withDefault(defaults.sipStateDbLocation)),
  t1: duration("SIP_T1", defaults.t1),
  t2: duration("SIP_T2", defaults.t2),
  t4: duration("SIP_T4", defaults.t4),
  maxHeaderBytes: positiveInt("MAX_HEADER_BYTES", defaults.maxHeaderBytes),
  maxMessageBytes: positiveInt("MAX_MESSAGE_BYTES", defaults.maxMessageBytes),
  connectionIdleTimeout: duration("CONNECTION_IDLE_TIMEOUT", defaults.connectionIdleTimeout),
  connectTimeout: duration("CONNECT_TIMEOUT", defaults.connectTimeout),
  incomingQueueCapacity: positiveInt("INCOMING_QUEUE_CAPACITY", defaults.incomingQueueCapacity)
}).pipe(
  Config.flatMap(({ tlsCheckHostname, ...rest }): Config.Config<Settings> => {
    const verifying = rest.tlsVerifyMode !== TlsVerifyMode.NONE
    if (tlsCheckHostname._tag === "Some" && tlsCheckHostname.value && !verifying) {
      return Config.fail(
        new ConfigProvider.SourceError({
          message: "VOIP_TLS_CHECK_HOSTNAME=true needs VOIP_TLS_VERIFY_MODE optional or required"
        })
      )
    }
    return Config.succeed({
      ...rest,
      tlsCheckHostname: tlsCheckHostname._tag === "Some" ? tlsCheckHostname.value : verifying
    })
  }),
  Config.nested("VOIP")
)

/**
 * The settings service. `layer` reads the environment (or whatever
 * `ConfigProvider` is installed); `layerWith` starts from the defaults and
 * applies overrides, for tests and embedders.
 *
 * @category services
 * @since 0.1.0
 */
export class VoIPSettings extends Context.Service<VoIPSettings, Settings>()("effect-voip/VoIPSettings") {
  static readonly layer: Layer.Layer<VoIPSettings, Config.ConfigError> = Layer.effect(VoIPSettings, settingsConfig)

  static readonly layerWith = (overrides: Partial<Settings> = {}): Layer.Layer<VoIPSettings> =>
    Layer.succeed(VoIPSettings, VoIPSettings.of({ ...defaults, ...overrides }))
}
