/**
 * Where a call stands, as pyVoIP's `CallState`, and why it ended.
 *
 * An outgoing call starts DIALING, moves to PROGRESS when a provisional
 * response brings early media, to ANSWERED on the 2xx, to CANCELING while
 * `cancel()` waits for the INVITE's final response. An incoming call starts
 * RINGING and is ANSWERED once our 2xx is acknowledged. Every call ends in
 * ENDED with an {@link EndReason}.
 *
 * @since 0.1.0
 */

/**
 * The states. `ANSWRED` is the spelling of pyVoIP's documentation, kept as
 * an alias: it is the same value as `ANSWERED`.
 *
 * @category models
 * @since 0.1.0
 */
export const CallState = {
  DIALING: "DIALING",
  RINGING: "RINGING",
  PROGRESS: "PROGRESS",
  ANSWERED: "ANSWERED",
  ANSWRED: "ANSWERED",
  CANCELING: "CANCELING",
  ENDED: "ENDED"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type CallState = (typeof CallState)[keyof typeof CallState]

/**
 * Why a call ended.
 *
 * - `LocalHangup` / `RemoteHangup`: a BYE from us or from the peer.
 * - `Busy`: the callee answered 486 Busy Here or 600 Busy Everywhere.
 * - `Declined`: the callee answered 603 Decline.
 * - `Denied`: we refused an incoming call (`deny()`, or a handler that
 *   returned without answering) with `status`.
 * - `Canceled`: the caller gave up before the answer: `local` when we called
 *   `cancel()`, `remote` when the peer sent CANCEL.
 * - `NoAnswer`: the INVITE timed out or was answered 408 or 480.
 * - `Replaced`: another call took this one's place (an INVITE with
 *   Replaces, RFC 3891: the far end of an attended transfer); we sent BYE.
 * - `Failed`: any other final response (`status`, `reason` its phrase), or a
 *   local failure (then `status` is the response we sent or the one the UA
 *   core put in its place: 488 for unusable SDP, 500 for a 2xx never
 *   acknowledged, 503 for a transport failure).
 *
 * @category models
 * @since 0.1.0
 */
export type EndReason =
  | { readonly _tag: "LocalHangup" }
  | { readonly _tag: "RemoteHangup" }
  | { readonly _tag: "Busy"; readonly status: number }
  | { readonly _tag: "Declined"; readonly status: number }
  | { readonly _tag: "Denied"; readonly status: number }
  | { readonly _tag: "Canceled"; readonly by: "local" | "remote" }
  | { readonly _tag: "NoAnswer"; readonly status: number }
  | { readonly _tag: "Replaced" }
  | { readonly _tag: "Failed"; readonly status: number; readonly reason: string }

/**
 * Constructors of {@link EndReason}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const EndReason = {
  localHangup: { _tag: "LocalHangup" } as EndReason,
  remoteHangup: { _tag: "RemoteHangup" } as EndReason,
  replaced: { _tag: "Replaced" } as EndReason,
  denied: (status: number): EndReason => ({ _tag: "Denied", status }),
  canceled: (by: "local" | "remote"): EndReason => ({ _tag: "Canceled", by }),
  failed: (status: number, reason: string): EndReason => ({ _tag: "Failed", status, reason }),
  /** The end reason a final non-2xx response to our INVITE means. */
  fromFinalResponse: (status: number, reason: string): EndReason => {
    switch (status) {
      case 486:
      case 600:
        return { _tag: "Busy", status }
      case 603:
        return { _tag: "Declined", status }
      case 408:
      case 480:
        return { _tag: "NoAnswer", status }
      default:
        return { _tag: "Failed", status, reason }
    }
  }
} as const

/**
 * A short text for logs and examples: `local-hangup`, `busy 486`,
 * `canceled by remote`, `failed 404 Not Found`.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatEndReason = (reason: EndReason): string => {
  switch (reason._tag) {
    case "LocalHangup":
      return "local-hangup"
    case "RemoteHangup":
      return "remote-hangup"
    case "Busy":
      return `busy ${reason.status}`
    case "Declined":
      return `declined ${reason.status}`
    case "Denied":
      return `denied ${reason.status}`
    case "Canceled":
      return `canceled by ${reason.by}`
    case "NoAnswer":
      return `no-answer ${reason.status}`
    case "Replaced":
      return "replaced"
    case "Failed":
      return `failed ${reason.status} ${reason.reason}`
  }
}
