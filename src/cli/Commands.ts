/**
 * The `voip` subcommands:
 *
 * - `voip register`: registers and stays registered until Ctrl-C, then
 *   deregisters. Prints the MESSAGEs it receives; refuses calls (486).
 * - `voip answer`: answers calls (after `--answer-after`, or never; or
 *   refuses them with `--deny`) and runs the media and control flags on
 *   each; exits after `--calls N`, else runs until Ctrl-C.
 * - `voip call <uri|number>`: calls, runs the media and control flags once
 *   answered (`--timeout` gives up ringing) and exits when the call ends
 *   (following a transfer the peer asks for); the exit code says how it ended.
 * - `voip message <uri|number> <text>`: sends a MESSAGE, exits on its answer.
 * - `voip options <uri>`: pings with OPTIONS; any final response is a
 *   success (the peer is there), no response a network error.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Latch, Option, type Scope, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { FileSystem } from "effect"
import { formatUri } from "../sip/Uri.ts"
import type { SIPClientShape } from "../sip/client/SIPClient.ts"
import { bridge } from "../voip/Bridge.ts"
import { CallState } from "../voip/CallState.ts"
import type { VoIPCall } from "../voip/VoIPCall.ts"
import { answered, drive, loadPlay, startRecording } from "./Calls.ts"
import { CliFailure, ExitCode, fail, kindOf, ofEndReason, ofError, ofStatus } from "./ExitCode.ts"
import * as Flags from "./Flags.ts"
import * as Output from "./Output.ts"
import * as Session from "./Session.ts"

const makeOutput = (json: boolean): Output.Output =>
  Output.make({
    json,
    terminal: process.stdout.isTTY === true,
    write: (text) => void process.stdout.write(text),
    writeError: (text) => void process.stderr.write(text)
  })

/** Runs `body` in a scope with the output of `--json`; a failure is printed as an `error` event. */
const withOutput = <E, R>(
  json: boolean,
  body: (out: Output.Output) => Effect.Effect<void, E, R | Scope.Scope>
): Effect.Effect<void, CliFailure, Exclude<R, Scope.Scope>> => {
  const out = makeOutput(json)
  return body(out).pipe(
    Effect.scoped,
    Effect.mapError((error) =>
      error instanceof CliFailure
        ? error
        : fail(ofError(error) === ExitCode.OK ? ExitCode.FAILURE : ofError(error) as Exclude<ExitCode, 0>, Session.messageOf(error))
    ),
    Effect.tapError((failure) => out.emit({ event: "error", code: failure.code, kind: kindOf(failure.code), message: failure.reason }))
  )
}

const peer = (call: VoIPCall) => (call.remote === undefined ? "unknown" : formatUri(call.remote.uri))

/** A call of ours from the answer to its end, with the media and control flags; then its recording. */
const runCall = (
  session: Session.Session,
  call: VoIPCall,
  media: Flags.MediaFlags,
  control: Flags.ControlFlags,
  play: Option.Option<Int16Array>,
  answer: Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const tracked = yield* session.track(call)
    const recorded = yield* startRecording(session, call, media)
    yield* answer
    if (yield* answered(call)) yield* drive(session, tracked, media, control, play)
    const reason = yield* tracked.done
    yield* recorded
    return { reason, tracked }
  })

const register = Command.make("register", { account: Flags.account }, ({ account }) =>
  withOutput(account.json, (out) =>
    Effect.gen(function*() {
      if (!Flags.registers(account)) return yield* fail(ExitCode.USAGE, "register needs --server (or VOIP_SERVER)")
      const session = yield* Session.start(account, out, { defaultPort: 0 })
      return yield* session.failed
    }))).pipe(Command.withDescription("register and stay registered until Ctrl-C, then deregister"))

const answer = Command.make(
  "answer",
  { account: Flags.account, media: Flags.media, control: Flags.control, answering: Flags.answering },
  ({ account, answering, control, media }) =>
    withOutput(account.json, (out) =>
      Effect.gen(function*() {
        yield* Flags.checkTimings(media, control)
        const answerAfter = yield* Effect.fromResult(Flags.parseAnswerAfter(answering.answerAfter))
        const play = yield* loadPlay(media)
        const limit = Option.getOrUndefined(answering.calls)
        if (limit !== undefined && limit < 1) return yield* fail(ExitCode.USAGE, "--calls must be at least 1")
        let handled = 0
        const enough = yield* Latch.make(false)

        /** Runs the call, then the one that replaced it (the far end of an attended transfer), if any. */
        const carryOn = (
          session: Session.Session,
          call: VoIPCall,
          respond: Effect.Effect<void>
        ): Effect.Effect<void, never, FileSystem.FileSystem> =>
          Effect.flatMap(runCall(session, call, media, control, play, respond), ({ tracked }) => {
            const next = tracked.continuedBy()
            return next === undefined ? Effect.void : carryOn(session, next, Effect.void)
          })

        /** `--bridge-to`: once `call` is answered, calls the target and joins the two calls; its events are printed too. */
        const bridgeOut = (session: Session.Session, call: VoIPCall, target: string) =>
          Effect.gen(function*() {
            if (!(yield* answered(call))) return
            const outgoing = yield* session.phone.call(target).pipe(
              Effect.tapError((error) => Effect.logWarning(`--bridge-to ${target}: ${Session.messageOf(error)}`)),
              Effect.option
            )
            if (Option.isNone(outgoing)) return yield* Effect.ignore(call.hangup)
            const other = outgoing.value
            yield* out.emit({ event: "dialing", callId: other.callId, to: peer(other) })
            const tracked = yield* session.track(other)
            const reached = yield* other.states.pipe(
              Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
              Stream.runHead
            )
            if (Option.getOrUndefined(reached) === CallState.ANSWERED) {
              // the caller may have hung up meanwhile: then the new call goes too
              yield* bridge(call, other).pipe(Effect.catchTag("InvalidStateError", () => Effect.ignore(other.hangup)))
            } else {
              yield* Effect.ignore(call.hangup)
            }
            yield* tracked.done
          })

        const onIncomingCall = (session: Session.Session, call: VoIPCall) =>
          Effect.gen(function*() {
            yield* out.emit({ event: "incoming", callId: call.callId, from: peer(call), to: call.request.to === undefined ? "unknown" : formatUri(call.request.to.uri) })
            const respond = Option.isSome(answering.deny)
              ? Effect.ignore(call.deny(answering.deny.value === "busy" ? 486 : 603))
              : answerAfter === undefined
              ? Effect.void
              : Effect.sleep(`${answerAfter * 1000} millis`).pipe(
                Effect.andThen(Effect.ignore(call.answer)),
                Effect.raceFirst(Effect.asVoid(call.ended))
              )
            const bridging = Option.isSome(answering.bridgeTo)
              ? Effect.andThen(respond, Effect.asVoid(Effect.forkChild(bridgeOut(session, call, answering.bridgeTo.value))))
              : respond
            yield* carryOn(session, call, bridging)
            handled++
            if (limit !== undefined && handled >= limit) yield* enough.open
          })

        const session = yield* Session.start(account, out, { defaultPort: 5060, codec: media.codec, onIncomingCall })
        yield* Effect.raceFirst(enough.await, session.failed)
      }))
).pipe(Command.withDescription("answer incoming calls (or refuse them) and play, record, echo, send DTMF"))

const call = Command.make(
  "call",
  {
    target: Argument.String("target").pipe(Argument.withDescription("sip: URI, or a number at --server")),
    account: Flags.account,
    media: Flags.media,
    control: Flags.control,
    timeout: Flag.Finite("timeout").pipe(
      Flag.withMetavar("SECONDS"),
      Flag.withDescription("cancel the call when it is not answered within this time"),
      Flag.optional
    )
  },
  ({ account, control, media, target, timeout }) =>
    withOutput(account.json, (out) =>
      Effect.gen(function*() {
        yield* Flags.checkTimings(media, control)
        const play = yield* loadPlay(media)
        const session = yield* Session.start(account, out, { defaultPort: 0, codec: media.codec })
        const giveUp = (placed: VoIPCall) =>
          Option.match(timeout, {
            onNone: () => Effect.void,
            onSome: (seconds) =>
              Effect.sleep(`${seconds * 1000} millis`).pipe(Effect.andThen(Effect.ignore(placed.cancel)), Effect.forkChild, Effect.asVoid)
          })
        const follow = (placed: VoIPCall): Effect.Effect<ExitCode, never, FileSystem.FileSystem> =>
          Effect.gen(function*() {
            const { reason, tracked } = yield* runCall(session, placed, media, control, play, giveUp(placed))
            const next = tracked.continuedBy()
            return next === undefined ? ofEndReason(reason, tracked.heardBack()) : yield* follow(next)
          })
        const code = yield* Effect.gen(function*() {
          const placed = yield* session.phone.call(target)
          yield* out.emit({ event: "dialing", callId: placed.callId, to: peer(placed) })
          return yield* follow(placed)
        }).pipe(Effect.raceFirst(session.failed))
        if (code !== ExitCode.OK) return yield* fail(code, `the call ended: ${kindOf(code)}`)
      }))
).pipe(Command.withDescription("call a URI or number; exits when the call ends"))

/** Sends a request outside any dialog and waits at most `seconds` for its final response. */
const request = (
  session: Session.Session,
  method: string,
  target: string,
  seconds: number,
  init?: Parameters<SIPClientShape["createRequest"]>[2]
) =>
  Effect.gen(function*() {
    const client = yield* Effect.flatMap(session.phone.client, (client) =>
      Option.match(client, { onNone: () => Effect.fail(fail(ExitCode.FAILURE, "the phone is not running")), onSome: Effect.succeed }))
    const message = yield* client.createRequest(method, target, init).pipe(
      Effect.mapError((error) => fail(ExitCode.USAGE, error.message))
    )
    const started = yield* Clock.currentTimeMillis
    const { response } = yield* client.sendAuthenticated(message).pipe(
      Effect.timeoutOrElse({
        duration: `${seconds * 1000} millis`,
        orElse: () => Effect.fail(fail(ExitCode.NETWORK, `no answer from ${target} within ${seconds} s`))
      })
    )
    const rttMs = (yield* Clock.currentTimeMillis) - started
    return { status: response.status === 0 ? 0 : response.status.value, reason: response.reason, response, rttMs }
  })

const waitFlag = Flag.Finite("timeout").pipe(
  Flag.withMetavar("SECONDS"),
  Flag.withDescription("how long to wait for the answer (default 8)"),
  Flag.withDefault(8)
)

const message = Command.make(
  "message",
  {
    target: Argument.String("target").pipe(Argument.withDescription("sip: URI, or a number at --server")),
    text: Argument.String("text").pipe(Argument.withDescription("the message")),
    account: Flags.account,
    timeout: waitFlag
  },
  ({ account, target, text, timeout }) =>
    withOutput(account.json, (out) =>
      Effect.gen(function*() {
        const session = yield* Session.start(account, out, { defaultPort: 0 })
        const answer = yield* request(session, "MESSAGE", target, timeout, { body: text, contentType: "text/plain" })
        yield* out.emit({ event: "message-sent", to: target, status: answer.status, reason: answer.reason })
        const code = ofStatus(answer.status)
        if (code !== ExitCode.OK) return yield* fail(code, `MESSAGE answered ${answer.status} ${answer.reason}`)
      }))
).pipe(Command.withDescription("send a text MESSAGE (RFC 3428)"))

const options = Command.make(
  "options",
  {
    target: Argument.String("target").pipe(Argument.withDescription("sip: URI to ping")),
    account: Flags.account,
    timeout: waitFlag
  },
  ({ account, target, timeout }) =>
    withOutput(account.json, (out) =>
      Effect.gen(function*() {
        const session = yield* Session.start(account, out, { defaultPort: 0 })
        const answer = yield* request(session, "OPTIONS", target, timeout)
        const allow = answer.response.headers.get("Allow")
        yield* out.emit({
          event: "options",
          target,
          status: answer.status,
          reason: answer.reason,
          rttMs: answer.rttMs,
          allow: allow === undefined ? [] : allow.split(",").map((method) => method.trim()).filter((method) => method !== ""),
          userAgent: answer.response.headers.get("User-Agent") ?? answer.response.headers.get("Server") ?? null
        })
      }))
).pipe(Command.withDescription("ping a SIP peer with OPTIONS"))

/**
 * The `voip` command.
 *
 * @category commands
 * @since 0.1.0
 */
export const voip = Command.make("voip").pipe(
  Command.withDescription("a SIP softphone: register, answer, call, message, options"),
  Command.withSubcommands([register, answer, call, message, options])
)
