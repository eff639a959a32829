/**
 * `npm start`: a whole phone system on one machine in a few seconds, over
 * real UDP on 127.0.0.1 and nothing else.
 *
 * - the embedded registrar/proxy of `effect-voip/testing` serves the domain
 *   demo.local with digest users `bot` and `caller`;
 * - an IVR bot registers and answers with the menu of examples/ivr.ts
 *   (barge-in on): a tonal prompt (440, 660, 880 Hz), then a tone per key
 *   (`1` 300 Hz, `2` 400 Hz, ...), and it hangs up on `#`;
 * - a caller registers, calls `bot` by user name through the proxy, says
 *   hello (a 1000 Hz tone), presses 1 during the prompt, then 2, then #.
 *
 * It prints a transcript, one line per event with the time since the start,
 * then what each side heard, measured from its recorded audio (Goertzel),
 * and writes both recordings to `$VOIP_OUT/bot.wav` and `caller.wav`
 * (default ./out). It checks that the tones heard are the ones played, and
 * exits 0 after deregistering both phones and closing every socket; any
 * failure, or a run over 20 seconds, prints one line and exits 1.
 *
 *   npm start
 *   VOIP_OUT=/tmp/demo node --conditions=source examples/demo.ts
 */
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import {
  Cause,
  Clock,
  Config,
  Console,
  Context,
  Deferred,
  Effect,
  FileSystem,
  Fiber,
  Layer,
  Queue,
  Schema,
  Stream
} from "effect"
import { Dns } from "effect/net"
import {
  Audio,
  CallState,
  CredentialsManager,
  formatEndReason,
  SipTransport,
  Udp,
  type VoIPCall,
  VoIPPhone,
  VoIPPhoneParameter,
  VoIPSettings
} from "effect-voip"
import { Recording, Registrar } from "effect-voip/testing"
import * as path from "node:path"
import { tone } from "./common.ts"
import { menu } from "./ivr.ts"

const DOMAIN = "demo.local"
const USERS = { bot: "bot-secret", caller: "caller-secret" }
/** The prompt's notes, and the tone the menu answers each key with (examples/ivr.ts). */
const PROMPT_NOTES = [440, 660, 880]
const KEY_TONES: Record<string, number> = { "1": 300, "2": 400 }
const HELLO_HZ = 1000
const TOLERANCE_HZ = 15

class DemoError extends Schema.TaggedError<DemoError>()("DemoError", { reason: Schema.String }) {
  override get message(): string {
    return this.reason
  }
}

/**
 * The transcript: lines from every part of the demo (the bot's prints
 * included) go through one queue and are stamped with the time since the
 * start as they are printed, so they come out in order.
 */
const makeTranscript = Effect.gen(function*() {
  const start = yield* Clock.currentTimeMillis
  const lines = yield* Queue.unbounded<readonly [string, string], Cause.Done>()
  const printer = yield* Stream.fromQueue(lines).pipe(
    Stream.runForEach(([who, text]) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Console.log(`[${((now - start) / 1000).toFixed(3).padStart(6)}s] ${who.padEnd(10)} ${text}`))
    ),
    Effect.forkChild
  )
  const say = (who: string, text: string) => Queue.offer(lines, [who, text])
  /** A console whose lines go to the transcript as `who`'s (for code that prints, like the IVR menu). */
  const consoleOf = (who: string): Console.Console =>
    Object.assign(Object.create(console) as Console.Console, {
      log: (...args: ReadonlyArray<unknown>) => void Queue.offerUnsafe(lines, [who, args.join(" ")])
    })
  const close = Effect.andThen(Queue.end(lines), Fiber.join(printer))
  /** Milliseconds since the start, on the transcript's clock. */
  const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - start)
  return { say, consoleOf, close, elapsed }
})

type Transcript = Effect.Success<typeof makeTranscript>

/**
 * Records what `call` receives from now until it ends into a WAV file; the
 * fiber gives the recording with transcript times.
 */
const recordCall = (call: VoIPCall, file: string, transcript: Transcript) =>
  Effect.gen(function*() {
    const startedAt = yield* transcript.elapsed
    const frames: Array<Int16Array> = []
    const audio = call.audio.pipe(Stream.tap((frame) => Effect.sync(() => void frames.push(frame.slice()))))
    return yield* Audio.recordWav(file, audio).pipe(
      Effect.map((): Recording.Recording => ({
        frames: frames.map((samples, i) => ({ at: startedAt + i * 20, samples }))
      })),
      Effect.forkChild
    )
  })

/** The tones heard; a gap of up to 300 ms in one tone (a late packet on a busy machine) does not split it. */
const describeTones = (heard: Recording.Recording) =>
  Recording.tones(heard, { minDurationMillis: 100, bridgeMillis: 300 }).map((each) => ({
    hz: Math.round(each.frequency),
    text: `heard ${Math.round(each.frequency)} Hz from ${(each.startMillis / 1000).toFixed(2)}s to ${(each.endMillis / 1000).toFixed(2)}s`
  }))

const near = (hz: number, expected: number) => Math.abs(hz - expected) <= TOLERANCE_HZ

const describeEvent = (event: Registrar.RegistrarEvent): string | undefined => {
  const user = (aor: string) => aor.replace(/^sip:/, "")
  switch (event._tag) {
    case "Registered":
      return event.refreshed ? undefined : `registered ${user(event.aor)} at ${event.contact} for ${event.expires} s`
    case "Unregistered":
      return `unregistered ${user(event.aor)} (${event.reason})`
    case "Forwarded":
      return event.requestUri === event.target
        ? `${event.method} ${event.target} (in dialog, via Record-Route)`
        : `${event.method} ${event.requestUri} -> ${event.target}`
    case "Refused":
      return `${event.status} ${event.reason} to ${event.method}${event.status === 401 || event.status === 407 ? " (digest challenge)" : ""}`
  }
}

const phone = (user: keyof typeof USERS, proxyPort: number, rtpLow: number, onIncomingCall?: (call: VoIPCall) => Effect.Effect<unknown, unknown, FileSystem.FileSystem>) =>
  Effect.gen(function*() {
    const credentials = new CredentialsManager()
    credentials.add(user, USERS[user])
    const parameters = yield* VoIPPhoneParameter.make({
      server: DOMAIN,
      user,
      credentialsManager: credentials,
      outboundProxy: `127.0.0.1:${proxyPort}`,
      bindIp: "127.0.0.1",
      bindPort: 0,
      bindNetwork: "127.0.0.0/8",
      rtpPortLow: rtpLow,
      rtpPortHigh: rtpLow + 199
    })
    return Context.get(yield* Layer.build(VoIPPhone.layer(parameters, { onIncomingCall })), VoIPPhone)
  })

const run = (out: string, transcript: Transcript) => Effect.gen(function*() {
  const { say } = transcript

  // the PBX
  const transport = yield* Udp.make({ host: "127.0.0.1", port: 0 })
  const registrar = yield* Registrar.make({ domain: DOMAIN, users: USERS }).pipe(Effect.provideService(SipTransport, transport))
  const proxyPort = transport.localAddress.port
  const deregistered = yield* Deferred.make<void>()
  let unregistrations = 0
  yield* registrar.events.pipe(
    Stream.runForEach((event) =>
      Effect.gen(function*() {
        const line = describeEvent(event)
        if (line !== undefined) yield* say("registrar", line)
        if (event._tag === "Unregistered" && ++unregistrations === 2) yield* Deferred.succeed(deregistered, undefined)
      })
    ),
    Effect.forkChild({ startImmediately: true })
  )
  yield* say("registrar", `listening on udp 127.0.0.1:${proxyPort}, domain ${DOMAIN}`)

  // the bot: the IVR menu of examples/ivr.ts, its prints in the transcript, what it hears recorded
  const prompt = Int16Array.from(PROMPT_NOTES.flatMap((hz, i) => Array.from(tone(hz, i === PROMPT_NOTES.length - 1 ? 1 : 1.5))))
  const botHeard = yield* Deferred.make<Recording.Recording>()
  const bot = yield* phone("bot", proxyPort, 24000, (call) =>
    Effect.gen(function*() {
      const recording = yield* recordCall(call, path.join(out, "bot.wav"), transcript)
      yield* menu(prompt, true)(call)
      yield* Deferred.succeed(botHeard, yield* Fiber.join(recording))
    }).pipe(Effect.provideService(Console.Console, transcript.consoleOf("bot"))))
  yield* say("bot", `registered as bot@${DOMAIN}`)
  const caller = yield* phone("caller", proxyPort, 24200)
  yield* say("caller", `registered as caller@${DOMAIN}`)

  // the call
  yield* say("caller", "calling bot")
  const call = yield* caller.call("bot")
  const state = yield* call.states.pipe(
    Stream.filter((each) => each === CallState.ANSWERED || each === CallState.ENDED),
    Stream.runHead
  )
  if (state._tag === "None" || state.value !== CallState.ANSWERED) {
    return yield* new DemoError({ reason: `the bot did not answer (${formatEndReason(yield* call.ended)})` })
  }
  yield* say("caller", "call answered")
  const callerRecording = yield* recordCall(call, path.join(out, "caller.wav"), transcript)
  yield* say("caller", `says hello (${HELLO_HZ} Hz, 0.4 s)`)
  yield* call.play(Audio.fromSamples(tone(HELLO_HZ, 0.4)))
  for (const [pause, key] of [["1600 millis", "1"], ["800 millis", "2"], ["800 millis", "#"]] as const) {
    yield* Effect.sleep(pause)
    yield* say("caller", `pressed ${key}`)
    // the bot may hang up on "#" before the digit's last packets are out
    yield* call.sendDtmf(key).pipe(
      Effect.catch((error) => Effect.flatMap(call.state, (now) => now === CallState.ENDED ? Effect.void : Effect.fail(error)))
    )
  }
  const reason = yield* call.ended
  yield* say("caller", `call ended (${reason._tag === "RemoteHangup" ? "bot hung up" : formatEndReason(reason)})`)

  // what each side heard
  const callerTones = describeTones(yield* Fiber.join(callerRecording))
  const botTones = describeTones(yield* Deferred.await(botHeard))
  for (const heard of callerTones) yield* say("caller", heard.text)
  for (const heard of botTones) yield* say("bot", heard.text)
  const expected = [PROMPT_NOTES[0]!, PROMPT_NOTES[1]!, KEY_TONES["1"]!, KEY_TONES["2"]!]
  const heardHz = callerTones.map((each) => each.hz)
  if (heardHz.length !== expected.length || !expected.every((hz, i) => near(heardHz[i]!, hz))) {
    return yield* new DemoError({ reason: `the caller heard ${heardHz.join(", ") || "nothing"} Hz, expected ${expected.join(", ")} Hz` })
  }
  if (botTones.length !== 1 || !near(botTones[0]!.hz, HELLO_HZ)) {
    return yield* new DemoError({ reason: `the bot heard ${botTones.map((each) => each.hz).join(", ") || "nothing"} Hz, expected ${HELLO_HZ} Hz` })
  }

  // stop: both phones deregister, then every socket closes with the scope
  yield* caller.stop
  yield* bot.stop
  yield* Deferred.await(deregistered)
  yield* say("demo", `recordings in ${path.join(out, "bot.wav")} and ${path.join(out, "caller.wav")}`)
})

const demo = Effect.gen(function*() {
  const out = yield* Config.String("VOIP_OUT").pipe(Config.withDefault("out"))
  const fs = yield* FileSystem.FileSystem
  yield* fs.makeDirectory(out, { recursive: true })
  const transcript = yield* makeTranscript
  // whatever happens, the lines so far are printed
  return yield* run(out, transcript).pipe(Effect.ensuring(transcript.close))
})

const main = demo.pipe(
  Effect.scoped,
  Effect.timeoutOrElse({
    duration: "20 seconds",
    orElse: () => Effect.fail(new DemoError({ reason: "the demo took longer than 20 seconds" }))
  }),
  Effect.provide(Layer.mergeAll(
    VoIPSettings.layer,
    NodeFileSystem.layer,
    // every name the phones look up is answered here: nothing leaves the machine
    Dns.layerStatic({ hosts: { [DOMAIN]: ["127.0.0.1"] } })
  )),
  Effect.tapCause((cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.void
    const error = Cause.squash(cause)
    const text = error instanceof Error ? error.message : String(error)
    return Console.error(`demo failed: ${text.replace(/\s*\n\s*/g, " ")}`)
  })
)

NodeRuntime.runMain(main, { disableErrorReporting: true })
