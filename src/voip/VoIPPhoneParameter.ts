/**
 * pyVoIP's `VoIPPhoneParameter`: every setting of a phone, validated by a
 * Schema. Field names are pyVoIP's in camel case (`bind_ip` → `bindIp`);
 * fields left out take pyVoIP's defaults. Beyond pyVoIP: an outbound proxy,
 * the registration expiry, a switch for peer-to-peer use without a
 * registrar, and the codec preference.
 *
 * pyVoIP's `call_class` and `sip_class` are not parameters here: the
 * incoming-call handler is given to `VoIPPhone.layer`, and the SIP client is
 * a service a user replaces with a Layer.
 *
 * @since 0.1.0
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import { Effect, Result, Schema } from "effect"
import { IpNetwork, NetAddress } from "effect/net"
import { CredentialsManager } from "../Credentials.ts"
import { parseHostPort } from "../sip/client/Account.ts"
import { PayloadType } from "../rtp/PayloadType.ts"
import { type InvalidRangeError, validateRange } from "../rtp/Ports.ts"
import type { KeyPassword } from "../transport/Tls.ts"
import { TransportMode } from "../transport/TransportMode.ts"
import { InvalidParameterError } from "./Errors.ts"

const Port = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))
/** A port to bind: 0 asks the system for a free one. */
const BindPort = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))

const isIpLiteral = (text: string): boolean => Result.isSuccess(NetAddress.ipFromString(text))

const IpAddress = Schema.String.check(
  Schema.makeFilter((text: string) => isIpLiteral(text) ? undefined : `${JSON.stringify(text)} is not an IP address`)
)

/** CIDR (`192.168.0.0/16`), or one address for a network of one host, as pyVoIP's `ipaddress.ip_network`. */
const Network = Schema.String.check(
  Schema.makeFilter((text: string) =>
    (text.includes("/") ? Result.isSuccess(IpNetwork.fromString(text)) : isIpLiteral(text))
      ? undefined
      : `${JSON.stringify(text)} is not a network in CIDR notation`
  )
)

const HostPort = Schema.String.check(
  Schema.makeFilter((text: string) => {
    const parsed = parseHostPort(text)
    return Result.isSuccess(parsed) ? undefined : parsed.failure.reason
  })
)

const isTransportMode = (value: unknown): value is TransportMode => Object.values(TransportMode).some((mode) => mode === value)

const isKeyPassword = (value: unknown): value is KeyPassword =>
  typeof value === "string" || value instanceof Uint8Array || typeof value === "function" ||
  (typeof value === "object" && value !== null && "_tag" in value && value._tag === "Redacted")

const supportedCodecs: ReadonlyArray<PayloadType> = [PayloadType.PCMU, PayloadType.PCMA, PayloadType.EVENT]

const isSupportedCodec = (value: unknown): value is PayloadType => supportedCodecs.some((codec) => codec === value)

const Codecs = Schema.NonEmptyArray(
  Schema.declare(isSupportedCodec, { expected: "PayloadType.PCMU, PayloadType.PCMA or PayloadType.EVENT" })
)

const withDefault = <S extends Schema.Top>(schema: S, value: S["Type"]) =>
  schema.pipe(Schema.withDecodingDefaultType(Effect.succeed(value)))

/**
 * The Schema. Decode with {@link make}, which also checks the RTP port range.
 *
 * @category schemas
 * @since 0.1.0
 */
export const VoIPPhoneParameterSchema = Schema.Struct({
  /** The registrar and domain; needed unless `register` is false. */
  server: Schema.optional(Schema.NonEmptyString),
  /** The server's port. Absent: a server that is a name is located by DNS SRV (RFC 3263), else 5060 (5061 over TLS). */
  port: Schema.optional(Port),
  /** The SIP user (the user part of our address of record). */
  user: Schema.NonEmptyString,
  /** Answers digest challenges; anonymous when absent. */
  credentialsManager: Schema.optional(Schema.instanceOf(CredentialsManager)),
  bindIp: withDefault(IpAddress, "0.0.0.0"),
  bindPort: withDefault(BindPort, 5060),
  /** Peers inside it are given `hostname`; the others `remoteHostname`. */
  bindNetwork: withDefault(Network, "0.0.0.0/0"),
  hostname: Schema.optional(Schema.NonEmptyString),
  remoteHostname: Schema.optional(Schema.NonEmptyString),
  transportMode: withDefault(
    Schema.declare(isTransportMode, { expected: "TransportMode.UDP, TransportMode.TCP or TransportMode.TLS" }),
    TransportMode.UDP
  ),
  certFile: Schema.optional(Schema.NonEmptyString),
  keyFile: Schema.optional(Schema.NonEmptyString),
  keyPassword: Schema.optional(Schema.declare(isKeyPassword, { expected: "a key password" })),
  rtpPortLow: withDefault(Schema.Int, 10000),
  rtpPortHigh: withDefault(Schema.Int, 20000),
  /** Every request outside a dialog goes through it first: `host`, `host:port`, `[v6]:port`. */
  outboundProxy: Schema.optional(HostPort),
  /** The expiry asked for in REGISTER, in seconds. */
  registerExpires: withDefault(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2 ** 31 - 1 })), 300),
  /** `false`: no registrar; the phone answers on its bound port and calls URIs directly. */
  register: withDefault(Schema.Boolean, true),
  /**
   * Codecs in order of preference, for answers and, when `call` is given no
   * payload types, for offers. Default: answers take PCMU, PCMA and
   * telephone-event; offers are PCMU and telephone-event, as pyVoIP's.
   */
  codecs: Schema.optional(Codecs)
})

/**
 * Validated phone parameters, defaults filled in.
 *
 * @category models
 * @since 0.1.0
 */
export type VoIPPhoneParameter = typeof VoIPPhoneParameterSchema.Type

/**
 * What {@link make} takes: `user` is required, and `server` unless
 * `register` is false; the rest defaults as in pyVoIP.
 *
 * @category models
 * @since 0.1.0
 */
export type VoIPPhoneParameterInput = typeof VoIPPhoneParameterSchema.Encoded

/**
 * Validates `input`: a field that does not decode, or registration without
 * a server, fails with `InvalidParameterError` (every problem listed), an
 * RTP port range with low above high or outside 1024-65535 with
 * `InvalidRangeError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (input: VoIPPhoneParameterInput): Effect.Effect<VoIPPhoneParameter, InvalidParameterError | InvalidRangeError> =>
  Effect.suspend((): Effect.Effect<VoIPPhoneParameter, InvalidParameterError | InvalidRangeError> => {
    const decoded = Schema.decodeUnknownResult(VoIPPhoneParameterSchema)(input, { errors: "all" })
    if (Result.isFailure(decoded)) return Effect.fail(new InvalidParameterError({ reason: decoded.failure.message }))
    const parameters = decoded.success
    if (parameters.register && parameters.server === undefined) {
      return Effect.fail(new InvalidParameterError({ reason: "registration needs a server (or register: false)" }))
    }
    const range = validateRange({ low: parameters.rtpPortLow, high: parameters.rtpPortHigh })
    return Result.isFailure(range) ? Effect.fail(range.failure) : Effect.succeed(parameters)
  })

/**
 * The codecs an answer accepts.
 *
 * @category accessors
 * @since 0.1.0
 */
export const answerCodecs = (parameters: VoIPPhoneParameter): NonEmptyReadonlyArray<PayloadType> =>
  parameters.codecs ?? [PayloadType.PCMU, PayloadType.PCMA, PayloadType.EVENT]

/**
 * The codecs an offer proposes when `call` is given none.
 *
 * @category accessors
 * @since 0.1.0
 */
export const offerCodecs = (parameters: VoIPPhoneParameter): NonEmptyReadonlyArray<PayloadType> =>
  parameters.codecs ?? [PayloadType.PCMU, PayloadType.EVENT]

/**
 * Whether `codec` can be offered or answered (the RTP layer's codecs).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isSupported = (codec: PayloadType): boolean => supportedCodecs.some((supported) => PayloadType.equivalent(supported, codec))
