/**
 * What `voip` prints: one line per event on stdout, as text for people or,
 * with `--json`, as one JSON object per line for scripts; and, for people
 * at a terminal, a status line kept at the bottom (registration, call
 * state, elapsed time, packets, loss, jitter). Logs and errors of the
 * library go to stderr, so stdout stays parseable.
 *
 * Every JSON object has `event` (its kind) and `time` (ISO 8601) first;
 * the other fields are those of {@link CliEvent}.
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import type { RTPStats } from "../rtp/Metrics.ts"

/**
 * A call's RTP counters as the `stats` event reports them.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallStats {
  readonly packetsSent: number
  readonly packetsReceived: number
  readonly bytesSent: number
  readonly bytesReceived: number
  /** Cumulative loss of the received stream (RFC 3550 A.3). */
  readonly packetsLost: number
  /** 0 to 1, over our last RTCP report interval. */
  readonly fractionLost: number
  readonly jitterMs: number
  /** From RTCP; null until the peer reported on our stream. */
  readonly roundTripMs: number | null
  readonly dtmfSent: number
  readonly dtmfReceived: number
}

/**
 * The events, by their `event` field.
 *
 * @category models
 * @since 0.1.0
 */
export type CliEvent =
  /** The SIP transport is bound: `address`/`port` are the real ones (port 0 asked for any). */
  | { readonly event: "listening"; readonly transport: string; readonly address: string; readonly port: number }
  /** The registrar accepted us; `expires` is the expiry asked for, in seconds. */
  | { readonly event: "registered"; readonly aor: string; readonly expires: number }
  /** The binding was removed on the way out. */
  | { readonly event: "unregistered"; readonly aor: string }
  | { readonly event: "incoming"; readonly callId: string; readonly from: string; readonly to: string }
  | { readonly event: "dialing"; readonly callId: string; readonly to: string }
  /** A provisional response to our INVITE (180, 183). */
  | { readonly event: "ringing"; readonly callId: string; readonly status: number; readonly reason: string }
  | { readonly event: "answered"; readonly callId: string }
  | { readonly event: "dtmf"; readonly callId: string; readonly digit: string }
  /** `by`: `local` (we held) or `remote`. */
  | { readonly event: "held"; readonly callId: string; readonly by: string }
  | { readonly event: "resumed"; readonly callId: string; readonly by: string }
  /** Our blind REFER (`--transfer`): whether the peer accepted it. */
  | { readonly event: "transfer"; readonly callId: string; readonly to: string; readonly accepted: boolean }
  /** The peer REFERred us: the phone placed `newCallId` to `to`. */
  | { readonly event: "transferred"; readonly callId: string; readonly newCallId: string; readonly to: string }
  /** Our INVITE was redirected (a 3xx, or the last target failed while others waited): it goes `to` next. */
  | { readonly event: "redirected"; readonly callId: string; readonly status: number; readonly to: string }
  /** An INVITE with Replaces from `by` took the call's place (the far end of an attended transfer): `newCallId`, answered. */
  | { readonly event: "replaced"; readonly callId: string; readonly newCallId: string; readonly by: string }
  /**
   * The end: `reason` is `local-hangup`, `remote-hangup`, `busy`, `declined`,
   * `denied`, `canceled`, `no-answer`, `replaced` or `failed`; `status` the SIP status
   * when there is one; `by` (`local`/`remote`) for `canceled`; `text` the
   * reason as one phrase; `duration` the seconds since the answer (0 if none).
   */
  | {
    readonly event: "ended"
    readonly callId: string
    readonly reason: string
    readonly status?: number
    readonly by?: string
    readonly text: string
    readonly duration: number
  }
  /** An answered call's RTP counters at its end (sampled every 250 ms while it runs). */
  | ({ readonly event: "stats"; readonly callId: string } & CallStats)
  | { readonly event: "recorded"; readonly callId: string; readonly file: string; readonly seconds: number }
  /** A MESSAGE someone sent us. */
  | { readonly event: "message"; readonly from: string; readonly to: string; readonly text: string; readonly contentType: string }
  | { readonly event: "message-sent"; readonly to: string; readonly status: number; readonly reason: string }
  /** The answer to `voip options`: `rttMs` the round trip, `allow` the methods the peer names. */
  | {
    readonly event: "options"
    readonly target: string
    readonly status: number
    readonly reason: string
    readonly rttMs: number
    readonly allow: ReadonlyArray<string>
    readonly userAgent: string | null
  }
  /** Why the command stops: `code` is the exit code, `kind` its name. */
  | { readonly event: "error"; readonly code: number; readonly kind: string; readonly message: string }

/**
 * The `stats` fields of a session's counters.
 *
 * @category constructors
 * @since 0.1.0
 */
export const callStats = (stats: RTPStats): CallStats => ({
  packetsSent: stats.packetsSent,
  packetsReceived: stats.packetsReceived,
  bytesSent: stats.bytesSent,
  bytesReceived: stats.bytesReceived,
  packetsLost: stats.packetsLost,
  fractionLost: stats.fractionLost,
  jitterMs: Math.round(stats.jitterMs * 100) / 100,
  roundTripMs: stats.roundTripMs ?? null,
  dtmfSent: stats.dtmfSent,
  dtmfReceived: stats.dtmfReceived
})

/**
 * An event as a line for people.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatText = (event: CliEvent): string => {
  switch (event.event) {
    case "listening":
      return `listening on ${event.transport} ${event.address}:${event.port}`
    case "registered":
      return `registered ${event.aor} (expires ${event.expires} s)`
    case "unregistered":
      return `unregistered ${event.aor}`
    case "incoming":
      return `incoming call ${event.callId} from ${event.from}`
    case "dialing":
      return `dialing ${event.to} (call ${event.callId})`
    case "ringing":
      return `ringing: ${event.status} ${event.reason}`
    case "answered":
      return "answered"
    case "dtmf":
      return `dtmf ${event.digit}`
    case "held":
      return `held by ${event.by}`
    case "resumed":
      return `resumed by ${event.by}`
    case "transfer":
      return `transfer to ${event.to} ${event.accepted ? "accepted" : "refused"}`
    case "transferred":
      return `transferred to ${event.to} (call ${event.newCallId})`
    case "redirected":
      return `redirected (${event.status}) to ${event.to}`
    case "replaced":
      return `replaced by ${event.by} (call ${event.newCallId})`
    case "ended":
      return `ended ${event.text} after ${event.duration.toFixed(1)} s`
    case "stats":
      return `rtp sent ${event.packetsSent} received ${event.packetsReceived} lost ${event.packetsLost} jitter ${event.jitterMs} ms`
    case "recorded":
      return `recorded ${event.seconds.toFixed(2)} s to ${event.file}`
    case "message":
      return `message from ${event.from}: ${event.text}`
    case "message-sent":
      return `message to ${event.to}: ${event.status} ${event.reason}`
    case "options":
      return `${event.target}: ${event.status} ${event.reason} in ${event.rttMs} ms${
        event.allow.length === 0 ? "" : ` (allow ${event.allow.join(", ")})`
      }`
    case "error":
      return `error (${event.kind}): ${event.message}`
  }
}

/**
 * An event as a JSON line: `event` and `time` first.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatJson = (event: CliEvent, timeMillis: number): string => {
  const { event: name, ...fields } = event
  return JSON.stringify({ event: name, time: new Date(timeMillis).toISOString(), ...fields })
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Output {
  /** Whether a status line is shown (text output to a terminal). */
  readonly live: boolean
  readonly emit: (event: CliEvent) => Effect.Effect<void>
  /** Replaces the status line (nothing without a terminal); an empty text removes it. */
  readonly status: (text: string) => Effect.Effect<void>
}

const CLEAR_LINE = "\r\u001b[2K"

/**
 * The output to `write` (stdout): JSON lines, or text lines with a status
 * line when `terminal`; text errors to `writeError`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly json: boolean
  readonly terminal: boolean
  readonly write: (text: string) => void
  /** Where the text of `error` events goes (stderr); JSON errors stay with the other events. */
  readonly writeError: (text: string) => void
}): Output => {
  const live = options.terminal && !options.json
  let statusText = ""
  const emit = (event: CliEvent) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        if (options.json) return options.write(`${formatJson(event, now)}\n`)
        const line = `${formatText(event)}\n`
        if (event.event === "error") return options.writeError(line)
        options.write(live ? `${CLEAR_LINE}${line}${statusText}` : line)
      }))
  const status = (text: string) =>
    Effect.sync(() => {
      if (!live || text === statusText) return
      statusText = text
      options.write(`${CLEAR_LINE}${text}`)
    })
  return { live, emit, status }
}
