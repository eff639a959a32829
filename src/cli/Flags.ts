/**
 * The flags of the `voip` commands, in groups: the account and network
 * (every command), the media and call control (`call` and `answer`), and
 * what only `answer` takes. Account flags fall back to the `VOIP_*`
 * variables the examples read; the password only ever comes from
 * `VOIP_PASSWORD` (or a prompt), never from the command line.
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, Redacted, Result } from "effect"
import { Flag } from "effect/cli"
import { CredentialsManager } from "../Credentials.ts"
import { PayloadType } from "../rtp/PayloadType.ts"
import { parseHostPort } from "../sip/client/Account.ts"
import { TransportMode } from "../transport/TransportMode.ts"
import * as VoIPPhoneParameter from "../voip/VoIPPhoneParameter.ts"
import { type CliFailure, ExitCode, fail } from "./ExitCode.ts"

/** A flag's value type. */
type ValueOf<F> = F extends Flag.Flag<infer A> ? A : never

/**
 * The parsed values of a group of flags.
 *
 * @category models
 * @since 0.1.0
 */
export type Values<Group> = { readonly [K in keyof Group]: ValueOf<Group[K]> }

const text = (name: string, metavar: string, description: string) =>
  Flag.String(name).pipe(Flag.withMetavar(metavar), Flag.withDescription(description))

const fromEnv = (variable: string) => <A>(flag: Flag.Flag<A>) =>
  flag.pipe(Flag.withFallbackConfig(Config.String(variable)), Flag.optional)

const seconds = (name: string, description: string) =>
  Flag.Finite(name).pipe(Flag.withMetavar("SECONDS"), Flag.withDescription(description), Flag.optional)

/** A delay in seconds that `fallback` fills when the flag is not given. */
const delay = (name: string, description: string, fallback: number) =>
  Flag.Finite(name).pipe(Flag.withMetavar("SECONDS"), Flag.withDescription(description), Flag.withDefault(fallback))

const toggle = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withoutNegation, Flag.withDefault(false))

/**
 * Account, network and output flags, taken by every command.
 *
 * @category flags
 * @since 0.1.0
 */
export const account = {
  server: text("server", "HOST[:PORT]", "registrar and domain (env VOIP_SERVER); without it, peer to peer").pipe(
    fromEnv("VOIP_SERVER")
  ),
  user: text("user", "USER", "user of our address of record (env VOIP_USER; default voip)").pipe(fromEnv("VOIP_USER")),
  authUser: text("auth-user", "USER", "username to authenticate as (env VOIP_AUTH_USER; default --user)").pipe(
    fromEnv("VOIP_AUTH_USER")
  ),
  transport: Flag.Literals("transport", ["udp", "tcp", "tls"]).pipe(
    Flag.withDescription("SIP transport (env VOIP_TRANSPORT; default udp)"),
    Flag.withFallbackConfig(Config.Literals(["udp", "tcp", "tls"], "VOIP_TRANSPORT")),
    Flag.withDefault("udp" as const)
  ),
  bind: text("bind", "IP[:PORT]", "local SIP address (env VOIP_BIND; default 0.0.0.0, port 5060 for answer, any otherwise)")
    .pipe(fromEnv("VOIP_BIND")),
  rtpPorts: text("rtp-ports", "LOW-HIGH", "RTP port range (env VOIP_RTP_PORTS; default 10000-20000)").pipe(
    fromEnv("VOIP_RTP_PORTS")
  ),
  noRegister: toggle("no-register", "do not register even with --server (env VOIP_NO_REGISTER=1)").pipe(
    Flag.withFallbackConfig(Config.Boolean("VOIP_NO_REGISTER"))
  ),
  expires: Flag.Int("expires").pipe(
    Flag.withMetavar("SECONDS"),
    Flag.withDescription("registration expiry asked for (env VOIP_EXPIRES; default 300)"),
    Flag.withFallbackConfig(Config.Int("VOIP_EXPIRES")),
    Flag.withDefault(300)
  ),
  proxy: text("proxy", "HOST[:PORT]", "outbound proxy for requests outside a dialog (env VOIP_PROXY)").pipe(
    fromEnv("VOIP_PROXY")
  ),
  tlsCert: text("tls-cert", "FILE", "TLS certificate (PEM) to present (env VOIP_TLS_CERT)").pipe(fromEnv("VOIP_TLS_CERT")),
  tlsKey: text("tls-key", "FILE", "its private key (PEM; passphrase from env VOIP_TLS_KEY_PASSWORD)").pipe(
    fromEnv("VOIP_TLS_KEY")
  ),
  insecure: toggle("insecure", "TLS: do not verify the server's certificate"),
  json: toggle("json", "one JSON object per event on stdout")
}

/**
 * @category models
 * @since 0.1.0
 */
export type AccountFlags = Values<typeof account>

/**
 * Media flags of `call` and `answer`.
 *
 * @category flags
 * @since 0.1.0
 */
export const media = {
  play: text("play", "FILE.wav", "WAV file to play once the call is answered (any rate, mono or stereo)").pipe(Flag.optional),
  loop: toggle("loop", "play the file again and again until the call ends"),
  record: text("record", "FILE.wav", "record what the peer sends (8 kHz mono; each call overwrites it)").pipe(Flag.optional),
  echo: toggle("echo", "send back what the peer sends"),
  dtmf: text("dtmf", "DIGITS", "RFC 4733 digits to send once answered (0-9 * # A-D)").pipe(Flag.optional),
  dtmfDelay: delay("dtmf-delay", "wait this long after the answer before --dtmf (default 1)", 1),
  hangupAfter: seconds("hangup-after", "hang up this long after the answer"),
  codec: Flag.Literals("codec", ["pcmu", "pcma"]).pipe(
    Flag.withDescription("the only audio codec to offer and accept (default: offer PCMU, accept PCMU or PCMA)"),
    Flag.optional
  )
}

/**
 * @category models
 * @since 0.1.0
 */
export type MediaFlags = Values<typeof media>

/**
 * Call-control flags of `call` and `answer`; every delay counts from the answer.
 *
 * @category flags
 * @since 0.1.0
 */
export const control = {
  transfer: text("transfer", "URI", "blind-transfer the call (REFER) to URI once answered").pipe(Flag.optional),
  transferAfter: delay("transfer-after", "wait this long after the answer before --transfer (default 0)", 0),
  holdAfter: seconds("hold-after", "put the peer on hold this long after the answer"),
  unholdAfter: seconds("unhold-after", "resume the held call this long after the answer")
}

/**
 * @category models
 * @since 0.1.0
 */
export type ControlFlags = Values<typeof control>

/**
 * The flags only `answer` takes.
 *
 * @category flags
 * @since 0.1.0
 */
export const answering = {
  calls: Flag.Int("calls").pipe(
    Flag.withMetavar("N"),
    Flag.withDescription("exit after N calls have ended (default: run until Ctrl-C)"),
    Flag.optional
  ),
  answerAfter: text("answer-after", "SECONDS|never", "ring this long before answering; never: let the caller give up")
    .pipe(Flag.withDefault("0")),
  deny: Flag.Literals("deny", ["busy", "decline"]).pipe(
    Flag.withDescription("refuse every call: 486 Busy Here or 603 Decline"),
    Flag.optional
  ),
  bridgeTo: Flag.String("bridge-to").pipe(
    Flag.withMetavar("URI|NUMBER"),
    Flag.withDescription("once a call is answered, call this target and join the two calls until one hangs up"),
    Flag.optional
  )
}

/**
 * @category models
 * @since 0.1.0
 */
export type AnsweringFlags = Values<typeof answering>

/**
 * How long to ring: seconds, or `undefined` for never.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseAnswerAfter = (value: string): Result.Result<number | undefined, CliFailure> => {
  if (value === "never") return Result.succeed(undefined)
  const number = Number(value)
  return value.trim() !== "" && Number.isFinite(number) && number >= 0
    ? Result.succeed(number)
    : Result.fail(fail(ExitCode.USAGE, `--answer-after takes seconds or never, got ${JSON.stringify(value)}`))
}

/**
 * `LOW-HIGH` as a port range.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parsePortRange = (value: string): Result.Result<{ readonly low: number; readonly high: number }, CliFailure> => {
  const match = /^(\d+)-(\d+)$/.exec(value.trim())
  return match === null
    ? Result.fail(fail(ExitCode.USAGE, `--rtp-ports takes LOW-HIGH, got ${JSON.stringify(value)}`))
    : Result.succeed({ low: Number(match[1]), high: Number(match[2]) })
}

/**
 * Checks the delays of the media and control flags: none negative, the
 * resume after the hold.
 *
 * @category validation
 * @since 0.1.0
 */
export const checkTimings = (media: MediaFlags, control: ControlFlags): Effect.Effect<void, CliFailure> => {
  const delays: ReadonlyArray<readonly [string, Option.Option<number>]> = [
    ["--dtmf-delay", Option.some(media.dtmfDelay)],
    ["--hangup-after", media.hangupAfter],
    ["--transfer-after", Option.some(control.transferAfter)],
    ["--hold-after", control.holdAfter],
    ["--unhold-after", control.unholdAfter]
  ]
  const negative = delays.find(([, value]) => Option.isSome(value) && value.value < 0)
  if (negative !== undefined) return Effect.fail(fail(ExitCode.USAGE, `${negative[0]} must not be negative`))
  if (Option.isSome(control.unholdAfter) && Option.getOrElse(control.holdAfter, () => Infinity) >= control.unholdAfter.value) {
    return Effect.fail(fail(ExitCode.USAGE, "--unhold-after needs a --hold-after before it"))
  }
  if (media.echo && Option.isSome(media.play)) return Effect.fail(fail(ExitCode.USAGE, "--echo and --play exclude each other"))
  return Effect.void
}

const transports = { udp: TransportMode.UDP, tcp: TransportMode.TCP, tls: TransportMode.TLS } as const

/**
 * Whether the phone registers: with a server, unless `--no-register`.
 *
 * @category accessors
 * @since 0.1.0
 */
export const registers = (flags: AccountFlags): boolean => Option.isSome(flags.server) && !flags.noRegister

/**
 * The phone parameters of the account flags; `defaultPort` is the SIP port
 * bound when `--bind` names none, `password` answers challenges.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parameters = (
  flags: AccountFlags,
  options: {
    readonly defaultPort: number
    readonly password: Option.Option<Redacted.Redacted<string>>
    readonly codec?: Option.Option<"pcmu" | "pcma"> | undefined
  }
): Effect.Effect<VoIPPhoneParameter.VoIPPhoneParameter, CliFailure> =>
  Effect.gen(function*() {
    const usage = (error: { readonly message: string }) => fail(ExitCode.USAGE, error.message)
    const bind = Option.isSome(flags.bind)
      ? yield* Effect.fromResult(parseHostPort(flags.bind.value)).pipe(Effect.mapError(usage))
      : { host: "0.0.0.0", port: undefined }
    const server = Option.isSome(flags.server)
      ? yield* Effect.fromResult(parseHostPort(flags.server.value)).pipe(Effect.mapError(usage))
      : undefined
    const range = Option.isSome(flags.rtpPorts) ? yield* Effect.fromResult(parsePortRange(flags.rtpPorts.value)) : undefined
    const user = Option.getOrElse(flags.user, () => "voip")
    const credentials = new CredentialsManager()
    if (Option.isSome(options.password)) credentials.add(Option.getOrElse(flags.authUser, () => user), options.password.value)
    const keyPassword = yield* Config.option(Config.Redacted("VOIP_TLS_KEY_PASSWORD")).pipe(Effect.orElseSucceed(Option.none))
    const codec = options.codec ?? Option.none()
    return yield* VoIPPhoneParameter.make({
      ...(server === undefined ? {} : { server: server.host }),
      ...(server?.port === undefined ? {} : { port: server.port }),
      user,
      credentialsManager: credentials,
      bindIp: bind.host,
      bindPort: bind.port ?? options.defaultPort,
      transportMode: transports[flags.transport],
      registerExpires: flags.expires,
      register: registers(flags),
      ...(range === undefined ? {} : { rtpPortLow: range.low, rtpPortHigh: range.high }),
      ...(Option.isSome(flags.proxy) ? { outboundProxy: flags.proxy.value } : {}),
      ...(Option.isSome(flags.tlsCert) ? { certFile: flags.tlsCert.value } : {}),
      ...(Option.isSome(flags.tlsKey) ? { keyFile: flags.tlsKey.value } : {}),
      ...(Option.isSome(keyPassword) ? { keyPassword: keyPassword.value } : {}),
      ...(Option.isSome(codec) ? { codecs: [codec.value === "pcma" ? PayloadType.PCMA : PayloadType.PCMU, PayloadType.EVENT] } : {})
    }).pipe(Effect.mapError(usage))
  })
