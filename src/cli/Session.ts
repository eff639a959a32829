/**
 * The phone a `voip` command runs on, with everything around it: the
 * settings (the library's `VOIP_*` variables; a registration gives up at the
 * first failure unless `VOIP_REGISTER_FAILURE_THRESHOLD` says otherwise, so
 * a script learns at once that its password is wrong), the password (from
 * `VOIP_PASSWORD`, or asked for at a terminal once the server refused us
 * without one), the events of the registration and of every call it is
 * given to {@link Session.track}, the MESSAGEs received, and the status line.
 *
 * Shutting down (the command is done, or SIGINT/SIGTERM interrupted it):
 * the phone ends its calls and deregisters first, then the session waits
 * (at most 5 s) until every call's `ended` and `stats` and the
 * `unregistered` event are out.
 *
 * @since 0.1.0
 */
import { NodeDns } from "@effect/platform-node"
import {
  Cause,
  Clock,
  Config,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  FiberSet,
  Layer,
  Option,
  type Redacted,
  Schedule,
  Scope,
  Stream,
  Terminal
} from "effect"
import { Prompt } from "effect/cli"
import { settingsConfig, setTlsSecurity, TlsVerifyMode, VoIPSettings } from "../Config.ts"
import type { RTPStats } from "../rtp/Metrics.ts"
import { addressOfRecord } from "../sip/client/Account.ts"
import { PhoneStatus } from "../sip/client/PhoneStatus.ts"
import { formatUri } from "../sip/Uri.ts"
import { CallState, EndReason, formatEndReason } from "../voip/CallState.ts"
import type { CallEvent, VoIPCall } from "../voip/VoIPCall.ts"
import { VoIPPhone, type VoIPPhoneShape } from "../voip/VoIPPhone.ts"
import { type CliFailure, ExitCode, fail, ofError } from "./ExitCode.ts"
import { type AccountFlags, parameters, registers } from "./Flags.ts"
import { callStats, type CliEvent, type Output } from "./Output.ts"

/**
 * A call the session watches.
 *
 * @category models
 * @since 0.1.0
 */
export interface Tracked {
  readonly call: VoIPCall
  /** Completes once the `ended` (and `stats`) events are out. */
  readonly done: Effect.Effect<EndReason>
  /** Whether the peer sent a provisional response (see `ExitCode.ofEndReason`). */
  readonly heardBack: () => boolean
  /** The call that carries this one on: the one the peer REFERred us to, or the one that replaced it. */
  readonly continuedBy: () => VoIPCall | undefined
  /**
   * Runs `effect` and holds the `ended` event back until it is done: an
   * action that ends the call (a blind transfer) reports first.
   */
  readonly reportsBeforeEnd: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Session {
  readonly phone: VoIPPhoneShape
  readonly out: Output
  /** Prints the call's events from now on, in a fiber that outlives the call's handler. */
  readonly track: (call: VoIPCall) => Effect.Effect<Tracked>
  /** Fails when the registration fails for good while the command runs. */
  readonly failed: Effect.Effect<never, CliFailure>
}

interface Live {
  readonly call: VoIPCall
  answeredAt: number | undefined
  stats: RTPStats | undefined
  heardBack: boolean
  next: VoIPCall | undefined
  readonly pending: Set<Deferred.Deferred<void>>
}

const peerOf = (address: { readonly uri: Parameters<typeof formatUri>[0] } | undefined) =>
  address === undefined ? "unknown" : formatUri(address.uri)

/** The end reason's fields of the `ended` event. */
const endFields = (reason: EndReason) => {
  const name = formatEndReason(reason).split(" ")[0]!
  return {
    reason: name,
    ...("status" in reason ? { status: reason.status } : {}),
    ...(reason._tag === "Canceled" ? { by: reason.by } : {}),
    text: formatEndReason(reason)
  }
}

const clock = (seconds: number) => {
  const whole = Math.floor(seconds)
  return `${String(Math.floor(whole / 60)).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")}`
}

/** The settings from the environment, giving up on a registration at once unless told otherwise. */
const settingsLayer = (insecure: boolean) =>
  Layer.effect(
    VoIPSettings,
    Effect.gen(function*() {
      const settings = yield* settingsConfig
      const threshold = yield* Config.option(Config.Int("VOIP_REGISTER_FAILURE_THRESHOLD"))
      const chosen = Option.isNone(threshold) ? { ...settings, registerFailureThreshold: 1 } : settings
      return insecure ? setTlsSecurity(TlsVerifyMode.NONE)(chosen) : chosen
    })
  )

const canPrompt = () => process.stdin.isTTY === true && process.stderr.isTTY === true

/**
 * The terminal's prompts on stderr, not stdout: stdout may be a file or a
 * pipe of `--json` events even when the person typing sees stderr.
 */
const promptOnStderr = Effect.updateService(Terminal.Terminal, (terminal) =>
  Terminal.make({
    ...terminal,
    columns: Effect.sync(() => process.stderr.columns ?? 0),
    display: (text) => Effect.sync(() => void process.stderr.write(text))
  }))

/**
 * Starts the phone of `flags` in the current scope and gives the session.
 * `onIncomingCall` runs for each incoming call (without it, calls are
 * refused 486); `defaultPort` is bound when `--bind` names no port.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = <R = never>(
  flags: AccountFlags,
  out: Output,
  options: {
    readonly defaultPort: number
    readonly codec?: Option.Option<"pcmu" | "pcma"> | undefined
    readonly onIncomingCall?: ((session: Session, call: VoIPCall) => Effect.Effect<unknown, unknown, R>) | undefined
  }
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.Scope
    // made before the phone, so it closes after the phone has ended its calls: see the module doc
    const watchers = yield* FiberSet.make()
    yield* Effect.addFinalizer(() => Effect.timeoutOption(FiberSet.awaitEmpty(watchers), "5 seconds"))
    const sessionReady = yield* Deferred.make<Session>()
    const failure = yield* Deferred.make<never, CliFailure>()
    const live = new Set<Live>()
    const context = yield* Effect.context<R>()
    const handler = options.onIncomingCall
    const onIncomingCall = handler === undefined
      ? undefined
      : (call: VoIPCall) =>
        Effect.flatMap(Deferred.await(sessionReady), (session) => handler(session, call)).pipe(Effect.provideContext(context))

    const envPassword = yield* Config.option(Config.Redacted("VOIP_PASSWORD")).pipe(
      Effect.mapError((error) => fail(ExitCode.USAGE, error.message))
    )
    const settings = settingsLayer(flags.insecure).pipe(Layer.merge(NodeDns.layer))

    /** Builds the phone in a scope of its own, closed again when the build fails (its port is free again). */
    const build = (password: Option.Option<Redacted.Redacted<string>>) =>
      Effect.gen(function*() {
        const parameters_ = yield* parameters(flags, { defaultPort: options.defaultPort, password, codec: options.codec })
        const own = yield* Scope.fork(scope, "sequential")
        const built = yield* Layer.buildWithScope(
          VoIPPhone.layer(parameters_, { onIncomingCall }).pipe(Layer.provide(settings)),
          own
        ).pipe(Effect.exit)
        if (Exit.isFailure(built)) yield* Scope.close(own, built)
        return yield* built
      })

    const built = yield* build(envPassword).pipe(
      Effect.catchIf(
        (error) => ofError(error) === ExitCode.AUTH && Option.isNone(envPassword) && canPrompt(),
        () =>
          Effect.flatMap(
            Prompt.Password({ message: `password for ${Option.getOrElse(flags.user, () => "voip")}` }).pipe(
              promptOnStderr,
              // Ctrl-C, Ctrl-D or Esc at the prompt: still refused, and the error says why
              Effect.mapError(() => fail(ExitCode.AUTH, "the server asks for a password and none was given at the prompt"))
            ),
            (password) => build(Option.some(password))
          )
      ),
      Effect.mapError((error) => fail(ofError(error) === ExitCode.OK ? ExitCode.FAILURE : ofError(error) as Exclude<ExitCode, 0>, messageOf(error)))
    )
    const phone = Context.get(built, VoIPPhone)

    const client = Option.getOrUndefined(yield* phone.client)
    const local = client?.transactions.transport.localAddress
    if (client !== undefined && local !== undefined) {
      yield* out.emit({ event: "listening", transport: client.account.mode.value.toLowerCase(), address: local.address, port: local.port })
    }
    const aor = client === undefined ? "" : formatUri(addressOfRecord(client.account, local?.address ?? ""))
    if (registers(flags)) yield* out.emit({ event: "registered", aor, expires: flags.expires })

    // The registration's end: `unregistered` on the way out, a failure while running stops the command.
    yield* FiberSet.run(
      watchers,
      phone.statusChanges.pipe(
        Stream.takeUntil((status) => status === PhoneStatus.INACTIVE || status === PhoneStatus.FAILED),
        Stream.runLast,
        Effect.flatMap((last) => {
          if (Option.isSome(last) && last.value === PhoneStatus.FAILED) {
            return Deferred.fail(failure, fail(ExitCode.NETWORK, "the registration failed"))
          }
          return registers(flags) ? out.emit({ event: "unregistered", aor }) : Effect.void
        })
      )
    )

    yield* phone.messages.pipe(
      Stream.runForEach((message) =>
        out.emit({
          event: "message",
          from: peerOf(message.from),
          to: peerOf(message.to),
          text: message.text,
          contentType: message.contentType
        })
      ),
      Effect.forkScoped
    )

    const emitCallEvent = (entry: Live, event: CallEvent): Effect.Effect<void> => {
      const callId = entry.call.callId
      switch (event._tag) {
        case "State":
          if (event.state !== "ANSWERED") return Effect.void
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            entry.answeredAt = now
            return out.emit({ event: "answered", callId })
          })
        case "Provisional":
          entry.heardBack = true
          return out.emit({ event: "ringing", callId, status: event.status, reason: event.reason })
        case "Redirected":
          entry.heardBack = true
          return out.emit({ event: "redirected", callId, status: event.status, to: event.target })
        case "Dtmf":
          return out.emit({ event: "dtmf", callId, digit: event.digit })
        case "Held":
          return out.emit({ event: "held", callId, by: event.by })
        case "Resumed":
          return out.emit({ event: "resumed", callId, by: event.by })
        case "Transferred":
          entry.next = event.call
          return out.emit({
            event: "transferred",
            callId,
            newCallId: event.call.callId,
            to: peerOf(event.call.remote)
          })
        case "Replaced":
          entry.next = event.call
          return out.emit({ event: "replaced", callId, newCallId: event.call.callId, by: peerOf(event.call.remote) })
        case "Ended":
          return Effect.void
      }
    }

    const sampleStats = (entry: Live) =>
      Effect.flatMap(entry.call.stats, (stats) =>
        Effect.sync(() => {
          if (Option.isSome(stats)) entry.stats = stats.value
        })).pipe(Effect.repeat(Schedule.spaced("250 millis")))

    const track = (call: VoIPCall): Effect.Effect<Tracked> =>
      Effect.gen(function*() {
        const entry: Live = {
          call,
          answeredAt: undefined,
          stats: undefined,
          heardBack: false,
          next: undefined,
          pending: new Set()
        }
        const done = yield* Deferred.make<EndReason>()
        live.add(entry)
        // a call carried on from another (a transfer, a Replaces) is answered before we see it
        if ((yield* call.state) === CallState.ANSWERED) yield* emitCallEvent(entry, { _tag: "State", state: CallState.ANSWERED })
        yield* FiberSet.run(
          watchers,
          Effect.gen(function*() {
            const sampler = yield* Effect.forkChild(sampleStats(entry))
            yield* Stream.runForEach(call.events, (event) => emitCallEvent(entry, event))
            const reason = yield* call.ended
            yield* Fiber.interrupt(sampler)
            // the counters as the session closed, however short the call
            entry.stats = Option.getOrElse(yield* call.stats, () => entry.stats)
            yield* Effect.timeoutOption(Effect.forEach([...entry.pending], Deferred.await, { discard: true }), "5 seconds")
            const now = yield* Clock.currentTimeMillis
            const duration = entry.answeredAt === undefined ? 0 : Math.round((now - entry.answeredAt) / 100) / 10
            yield* out.emit({ event: "ended", callId: call.callId, ...endFields(reason), duration } as CliEvent)
            if (entry.answeredAt !== undefined && entry.stats !== undefined) yield* out.emit({ event: "stats", callId: call.callId, ...callStats(entry.stats) })
            return reason
          }).pipe(
            Effect.onExit((exit) => {
              live.delete(entry)
              return Deferred.done(done, Exit.isSuccess(exit) ? exit : Exit.succeed(EndReason.failed(500, "not watched to its end")))
            })
          )
        )
        return {
          call,
          done: Deferred.await(done),
          heardBack: () => entry.heardBack,
          continuedBy: () => entry.next,
          reportsBeforeEnd: (effect) =>
            Effect.flatMap(Deferred.make<void>(), (reported) => {
              entry.pending.add(reported)
              return Effect.ensuring(effect, Deferred.succeed(reported, undefined))
            })
        }
      })

    if (out.live) {
      const statusText = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const parts: Array<string> = [registers(flags) ? yield* phone.status : "peer-to-peer"]
        for (const entry of live) {
          const state: CallState = yield* entry.call.state
          const elapsed = entry.answeredAt === undefined ? "" : ` ${clock((now - entry.answeredAt) / 1000)}`
          const stats = entry.stats
          parts.push(
            `${peerOf(entry.call.remote)} ${state}${elapsed}` +
              (stats === undefined
                ? ""
                : ` rx ${stats.packetsReceived} tx ${stats.packetsSent} lost ${stats.packetsLost} jitter ${stats.jitterMs.toFixed(1)} ms`)
          )
        }
        return parts.join(" | ")
      })
      yield* statusText.pipe(
        Effect.flatMap(out.status),
        Effect.repeat(Schedule.spaced("500 millis")),
        Effect.ensuring(out.status("")),
        Effect.forkScoped
      )
    }

    const session: Session = { phone, out, track, failed: Deferred.await(failure) }
    yield* Deferred.succeed(sessionReady, session)
    return session
  })

/**
 * An error's message on one line.
 *
 * @category formatting
 * @since 0.1.0
 */
export const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : Cause.pretty(Cause.fail(error))).replace(/\s*\n\s*/g, " ")
