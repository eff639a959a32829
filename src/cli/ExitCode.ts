/**
 * What the `voip` process exit code says, and the failure that carries one.
 *
 * | code | name        | meaning                                                                 |
 * | ---- | ----------- | ----------------------------------------------------------------------- |
 * | 0    | `OK`        | done: registered and deregistered, calls ended normally, 2xx to a ping |
 * | 1    | `FAILURE`   | anything else that went wrong (a call failed with another status)      |
 * | 2    | `USAGE`     | bad command line, flag value, WAV file or account settings             |
 * | 3    | `AUTH`      | the server refused our credentials (401/403/407 after authenticating)  |
 * | 4    | `NETWORK`   | no response (timeout), unreachable peer, port in use, transport error  |
 * | 5    | `BUSY`      | the callee answered busy (486, 600) or declined (603)                  |
 * | 6    | `NO_ANSWER` | the call was not answered: 408/480, or `--timeout` cancelled it        |
 *
 * SIGINT and SIGTERM end the calls, deregister and exit 0.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { EndReason } from "../voip/CallState.ts"

/**
 * @category constants
 * @since 0.1.0
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  AUTH: 3,
  NETWORK: 4,
  BUSY: 5,
  NO_ANSWER: 6
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * The name of a code, as the `kind` of an `error` event.
 *
 * @category formatting
 * @since 0.1.0
 */
export const kindOf = (code: ExitCode): string => {
  switch (code) {
    case ExitCode.OK:
      return "ok"
    case ExitCode.FAILURE:
      return "failure"
    case ExitCode.USAGE:
      return "usage"
    case ExitCode.AUTH:
      return "auth"
    case ExitCode.NETWORK:
      return "network"
    case ExitCode.BUSY:
      return "busy"
    case ExitCode.NO_ANSWER:
      return "no-answer"
  }
}

/**
 * Why the command stops with a non-zero code.
 *
 * @category errors
 * @since 0.1.0
 */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  code: Schema.Literals([1, 2, 3, 4, 5, 6]),
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const fail = (code: Exclude<ExitCode, 0>, reason: string): CliFailure => new CliFailure({ code, reason })

/**
 * The code a final SIP status means for a request we sent.
 *
 * @category classification
 * @since 0.1.0
 */
export const ofStatus = (status: number): ExitCode => {
  if (status >= 200 && status < 300) return ExitCode.OK
  switch (status) {
    case 401:
    case 403:
    case 407:
      return ExitCode.AUTH
    case 486:
    case 600:
    case 603:
      return ExitCode.BUSY
    case 408:
    case 480:
      return ExitCode.NO_ANSWER
    case 503:
      return ExitCode.NETWORK
    default:
      return ExitCode.FAILURE
  }
}

/**
 * The code of a call's end. `heardBack`: whether the peer sent anything
 * (a provisional response): a 408 from a peer that never answered at all
 * means nobody is there, a network error.
 *
 * @category classification
 * @since 0.1.0
 */
export const ofEndReason = (reason: EndReason, heardBack: boolean): ExitCode => {
  switch (reason._tag) {
    case "LocalHangup":
    case "RemoteHangup":
    case "Replaced":
    case "Denied":
      return ExitCode.OK
    case "Busy":
    case "Declined":
      return ExitCode.BUSY
    case "Canceled":
      return reason.by === "local" ? ExitCode.NO_ANSWER : ExitCode.OK
    case "NoAnswer":
      return heardBack || reason.status !== 408 ? ExitCode.NO_ANSWER : ExitCode.NETWORK
    case "Failed":
      return ofStatus(reason.status)
  }
}

/**
 * The code of an error the library failed with, by its tag.
 *
 * @category classification
 * @since 0.1.0
 */
export const ofError = (error: unknown): ExitCode => {
  if (error instanceof CliFailure) return error.code
  const tag = typeof error === "object" && error !== null && "_tag" in error ? error._tag : undefined
  switch (tag) {
    case "InvalidAccountInfoError":
    case "UnsupportedAuthError":
    case "MalformedChallengeError":
      return ExitCode.AUTH
    case "RegistrationRejectedError":
      return "status" in (error as object) ? authOr((error as { readonly status: number }).status) : ExitCode.FAILURE
    case "TransactionTimeoutError":
    case "SipTransportError":
    case "NATError":
    case "NoPortsAvailableError":
      return ExitCode.NETWORK
    case "AccountSettingsError":
    case "InvalidParameterError":
    case "InvalidRangeError":
    case "WavFormatError":
    case "PlatformError":
    case "ConfigError":
      return ExitCode.USAGE
    default:
      return ExitCode.FAILURE
  }
}

const authOr = (status: number): ExitCode => ofStatus(status) === ExitCode.AUTH ? ExitCode.AUTH : ExitCode.FAILURE
